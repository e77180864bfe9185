"""The connected vehicles the services talk to: each one's latest BSM, in the local frame, on a lane.

Data flow: ingest ─▶ BSM ─▶ ``ConnectedVehicles.update`` (buffered) ─▶ ``states(now_ms)`` converts the
buffered BSMs in one vectorised pass (secMark → epoch ms, WGS84 → local metres, message units → m, m/s,
degrees, lane matching) and returns ``VehicleStates``, one row per vehicle heard within ``max_age_ms``;
advisories, speed advice and sensor sharing read those arrays.

A vehicle is known by its BSM id (the temporary id its OBU sends, and the device id in its downlink
topic ``vehicle/{id}/…/down``). Rows are reused when vehicles go silent, so memory follows the number of
vehicles on the road, not the number ever seen.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, fields
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from roadcloud.errors import SettingError
from roadcloud.map import GeoReference, LaneMatch
from roadcloud.messages import BSM
from roadcloud.messages.units import (
    heading_units_to_deg,
    latlon_units_to_deg,
    resolve_sec_marks,
    speed_units_to_mps,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_INITIAL_ROWS = 256
_MAX_CACHED_PHASES = 200_000


class LaneMatching(Protocol):
    """What the services need of ``roadcloud.map.LaneMatcher``."""

    @property
    def lane_ids(self) -> tuple[str, ...]: ...

    def match(self, x_m: Any, y_m: Any, heading_deg: Any = None) -> LaneMatch: ...


@dataclass(frozen=True, slots=True, eq=False)
class VehicleStates:
    """N connected vehicles at their last report. ``lane_index`` indexes ``lane_id_table`` (-1: not on a
    lane, or no lane matching); ``s_m`` is the distance along that lane (NaN where unmatched). Speed and
    heading are NaN where the BSM said 'unavailable'."""

    vehicle_id: NDArray[np.object_]
    measured_ms: IntArray
    x_m: FloatArray
    y_m: FloatArray
    speed_mps: FloatArray
    heading_deg: FloatArray
    length_m: FloatArray
    width_m: FloatArray
    lane_index: IntArray
    s_m: FloatArray
    lane_id_table: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.measured_ms)

    @classmethod
    def empty(cls) -> VehicleStates:
        return cls(
            vehicle_id=np.empty(0, dtype=object),
            measured_ms=np.empty(0, np.int64),
            x_m=np.empty(0),
            y_m=np.empty(0),
            speed_mps=np.empty(0),
            heading_deg=np.empty(0),
            length_m=np.empty(0),
            width_m=np.empty(0),
            lane_index=np.empty(0, np.int64),
            s_m=np.empty(0),
        )

    @property
    def lane_ids(self) -> NDArray[np.object_]:
        """Lane id of each vehicle, None where unmatched."""
        table = np.array([*self.lane_id_table, None], dtype=object)
        return table[self.lane_index]

    def take(self, index: IntArray | NDArray[np.bool_]) -> VehicleStates:
        values: dict[str, Any] = {
            f.name: getattr(self, f.name) if f.name == "lane_id_table" else getattr(self, f.name)[index]
            for f in fields(self)
        }
        return VehicleStates(**values)

    def predicted_xy(self, time_ms: int) -> tuple[FloatArray, FloatArray]:
        """Positions moved along each vehicle's heading to ``time_ms`` (constant speed)."""
        dt_s = (time_ms - self.measured_ms) / 1000.0
        speed = np.nan_to_num(self.speed_mps)
        heading = np.radians(np.nan_to_num(self.heading_deg))
        return self.x_m + speed * dt_s * np.sin(heading), self.y_m + speed * dt_s * np.cos(heading)

    def with_lanes(self, matcher: LaneMatching, *, rows: IntArray | None = None) -> VehicleStates:
        """The same vehicles matched to ``matcher``'s lanes; with ``rows``, only those (the others are
        left unmatched), for callers that need lanes for a few vehicles only."""
        values: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        if rows is None:
            match = matcher.match(self.x_m, self.y_m, self.heading_deg)
            lane_index, s_m = match.lane_index, match.s_m
        else:
            match = matcher.match(self.x_m[rows], self.y_m[rows], self.heading_deg[rows])
            lane_index = np.full(len(self), -1, dtype=np.int64)
            s_m = np.full(len(self), np.nan)
            lane_index[rows], s_m[rows] = match.lane_index, match.s_m
        values.update(lane_index=lane_index, s_m=s_m, lane_id_table=tuple(matcher.lane_ids))
        return VehicleStates(**values)


class ConnectedVehicles:
    """Latest state per connected vehicle. ``update`` only buffers; ``states`` does the work for all
    buffered BSMs at once. Not thread-safe: call both from one thread (the pipeline's)."""

    def __init__(
        self,
        geo: GeoReference,
        *,
        lane_matcher: LaneMatching | None = None,
        max_age_ms: int = 1_000,
    ) -> None:
        if max_age_ms <= 0:
            raise SettingError(
                f"max_age_ms = {max_age_ms}; give how long a silent vehicle is kept, e.g. 1000"
            )
        self.geo = geo
        self.lane_matcher = lane_matcher
        self.max_age_ms = max_age_ms
        self._pending: list[tuple[str, int, int, int, int, int, int, int, int]] = []
        self._row: dict[str, int] = {}
        self._free: list[int] = []
        self._ids = np.empty(_INITIAL_ROWS, dtype=object)
        self._measured = np.full(_INITIAL_ROWS, -1, dtype=np.int64)
        self._values = np.full((_INITIAL_ROWS, 7), np.nan)  # x, y, speed, heading, length, width, s
        self._lane = np.full(_INITIAL_ROWS, -1, dtype=np.int64)
        self.updates = 0

    def __len__(self) -> int:
        return len(self._row)

    def update(self, bsm: BSM, *, arrival_ms: int) -> None:
        """Take one (already validated) BSM; ``arrival_ms`` resolves its secMark to a full time."""
        self._pending.append(
            (
                bsm.id,
                bsm.sec_mark,
                bsm.pos.lat,
                bsm.pos.long,
                bsm.speed,
                bsm.heading,
                bsm.size.length,
                bsm.size.width,
                arrival_ms,
            )
        )
        self.updates += 1

    def states(self, now_ms: int) -> VehicleStates:
        """Every vehicle heard within ``max_age_ms`` of ``now_ms``, after applying the buffered BSMs."""
        if self._pending:
            self._apply(self._pending)
            self._pending = []
        self._expire(now_ms)
        rows = np.fromiter(self._row.values(), dtype=np.int64, count=len(self._row))
        if len(rows) == 0:
            return VehicleStates.empty()
        values = self._values[rows]
        return VehicleStates(
            vehicle_id=self._ids[rows],
            measured_ms=self._measured[rows],
            x_m=values[:, 0],
            y_m=values[:, 1],
            speed_mps=values[:, 2],
            heading_deg=values[:, 3],
            length_m=values[:, 4],
            width_m=values[:, 5],
            lane_index=self._lane[rows],
            s_m=values[:, 6],
            lane_id_table=tuple(self.lane_matcher.lane_ids) if self.lane_matcher is not None else (),
        )

    # -- internals ------------------------------------------------------------------------------------

    def _apply(self, pending: list[tuple[str, int, int, int, int, int, int, int, int]]) -> None:
        columns = list(zip(*pending, strict=True))
        ids = columns[0]
        raw = np.array(columns[1:], dtype=np.int64)  # (8, n)
        sec_mark, lat, lon, speed, heading, length_cm, width_cm, arrival = raw
        measured = resolve_sec_marks(sec_mark, reference_epoch_ms=arrival)
        rows = np.fromiter((self._row_for(vehicle_id) for vehicle_id in ids), dtype=np.int64, count=len(ids))
        # The newest report per vehicle wins, also within one batch (BSMs may arrive out of order).
        order = np.lexsort((measured, rows))
        last = np.concatenate([rows[order][1:] != rows[order][:-1], [True]])
        pick = order[last]
        pick = pick[measured[pick] >= self._measured[rows[pick]]]
        if len(pick) == 0:
            return
        target = rows[pick]
        x_m, y_m = self.geo.wgs84_to_local(latlon_units_to_deg(lon[pick]), latlon_units_to_deg(lat[pick]))
        heading_deg = heading_units_to_deg(heading[pick])
        self._measured[target] = measured[pick]
        self._values[target, 0] = x_m
        self._values[target, 1] = y_m
        self._values[target, 2] = speed_units_to_mps(speed[pick])
        self._values[target, 3] = heading_deg
        self._values[target, 4] = length_cm[pick] / 100.0
        self._values[target, 5] = width_cm[pick] / 100.0
        if self.lane_matcher is not None:
            match = self.lane_matcher.match(x_m, y_m, heading_deg)
            self._lane[target] = match.lane_index
            self._values[target, 6] = match.s_m

    def _row_for(self, vehicle_id: str) -> int:
        row = self._row.get(vehicle_id)
        if row is not None:
            return row
        if not self._free:
            self._grow()
        row = self._free.pop()
        self._row[vehicle_id] = row
        self._ids[row] = vehicle_id
        self._measured[row] = -1
        self._lane[row] = -1
        self._values[row] = np.nan
        return row

    def _grow(self) -> None:
        old = len(self._measured)
        new = max(_INITIAL_ROWS, old * 2)
        self._ids = np.concatenate([self._ids, np.empty(new - old, dtype=object)])
        self._measured = np.concatenate([self._measured, np.full(new - old, -1, dtype=np.int64)])
        self._values = np.concatenate([self._values, np.full((new - old, 7), np.nan)])
        self._lane = np.concatenate([self._lane, np.full(new - old, -1, dtype=np.int64)])
        # Pop from the end hands out low rows first, keeping the live rows dense.
        self._free.extend(range(new - 1, old - 1, -1))

    def _expire(self, now_ms: int) -> None:
        if not self._row:
            return
        rows = np.fromiter(self._row.values(), dtype=np.int64, count=len(self._row))
        stale = rows[self._measured[rows] < now_ms - self.max_age_ms]
        for row in stale.tolist():
            del self._row[self._ids[row]]
            self._ids[row] = None
            self._free.append(row)


class Cadence:
    """Which vehicles are due a periodic message (speed advice, shared objects) in the frame at ``now_ms``.

    Each vehicle has its own slot in the period, from a hash of its id, so the messages of a period spread
    evenly over its frames: sending every vehicle its message in the frame it first appeared would put a
    whole fleet's messages into one frame, every period, and make that frame the slowest. A vehicle is due
    once per period, in the frame whose ``now_ms // step_ms`` lands on its slot (the pipeline ticks on the
    100 ms grid). ``offset`` shifts every slot, so two services with the same period use different frames.
    """

    def __init__(self, period_ms: int, *, step_ms: int = 100, offset: int = 0) -> None:
        if period_ms < 0 or step_ms <= 0:
            raise SettingError(f"period {period_ms} ms, step {step_ms} ms: give a period >= 0 and a step > 0")
        self.slots = max(1, period_ms // step_ms)
        self.step_ms = step_ms
        self.offset = offset
        self._phase: dict[str, int] = {}

    def due(self, vehicle_ids: NDArray[np.object_], now_ms: int) -> NDArray[np.bool_]:
        if self.slots == 1:
            return np.ones(len(vehicle_ids), dtype=bool)
        if len(self._phase) > _MAX_CACHED_PHASES:  # vehicles come and go; keep the cache bounded
            self._phase.clear()
        known = self._phase
        phase = np.array(
            [known.get(vehicle_id) or self._phase_of(vehicle_id) for vehicle_id in vehicle_ids.tolist()],
            dtype=np.int64,
        )
        due: NDArray[np.bool_] = (now_ms // self.step_ms + phase + self.offset) % self.slots == 0
        return due

    def _phase_of(self, vehicle_id: str) -> int:
        phase = self._phase.get(vehicle_id)
        if phase is None:
            phase = self._phase[vehicle_id] = zlib.crc32(vehicle_id.encode()) % self.slots
        return phase
