"""The fusion engine: RSMs and BSMs in, one live dynamic map snapshot out every 100 ms.

Data flow: ``add`` decodes each message into ``Detections`` and buffers it; ``tick(now)`` fuses everything
measured up to the fusion horizon ``H = now - latency_budget_ms``, in measurement-time order, and returns
the snapshot at H. Per tick:

1. time alignment: each detection's time is the sender's clock minus that sender's estimated offset;
   detections at or before the previous horizon arrived too late, are dropped and counted per sender;
   those after H wait for the next tick;
2. batches: one per (sender, measurement time), routed by position to the tiles' trackers
   (``tracker.Tracker.process``), which predict, gate, assign and update;
3. clock offsets: each roadside unit's offset moves by ``gain · mean(δ)``, δ = -(r·v)/|v|² the innovation
   along the track's velocity, over its fast confirmed matches (vehicles' GNSS time is the reference);
4. life cycle per tile, then tracks that left their tile are handed over with their global id;
5. snapshot: confirmed, recently seen tracks predicted to H.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from roadcloud.bus.topics import parse_topic
from roadcloud.errors import DecodeError, InputError, ValidationError
from roadcloud.fusion import kalman
from roadcloud.fusion.config import FusionConfig
from roadcloud.fusion.detections import Detections, concatenate
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.fusion.lifecycle import reported
from roadcloud.fusion.tiles import TileGrid, route
from roadcloud.fusion.tracker import Tracker
from roadcloud.fusion.tracks import IdentityMemory, TrackTable
from roadcloud.map import GeoReference, LaneMatch
from roadcloud.messages import BSM, RSM, Message
from roadcloud.messages.json_codec import decode_named

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

VEHICLES_SOURCE = "vehicle"
"""All self-reports share source index 0: each vehicle reports only itself, and GNSS time is exact."""


class LaneMatching(Protocol):
    """What the engine needs of ``roadcloud.map.LaneMatcher``."""

    def match(self, x_m: FloatArray, y_m: FloatArray, heading_deg: FloatArray | None = None) -> LaneMatch: ...


@dataclass(frozen=True, slots=True)
class FusionCounts:
    """Per sender ("rsu/R0001", "vehicle"): detections fused and detections dropped as too late."""

    fused: dict[str, int]
    late_dropped: dict[str, int]
    rejected_messages: int
    ticks: int

    @property
    def fused_total(self) -> int:
        return sum(self.fused.values())

    @property
    def late_dropped_total(self) -> int:
        return sum(self.late_dropped.values())


class FusionEngine:
    """Tile trackers, time alignment and the LDM; feed with ``add``, drive with ``tick`` every step."""

    def __init__(
        self, config: FusionConfig, geo: GeoReference, *, lane_matcher: LaneMatching | None = None
    ) -> None:
        self.config = config
        self.geo = geo
        self.grid = TileGrid(config.tile_size_m)
        self._lane_matcher = lane_matcher
        self._source_index: dict[str, int] = {VEHICLES_SOURCE: 0}
        self._offset_ms = np.zeros(1)
        self._fused = np.zeros(1, np.int64)
        self._late = np.zeros(1, np.int64)
        self._rejected = 0
        self._ticks = 0
        self._rsm_batches: list[Detections] = []
        self._bsms: list[BSM] = []
        self._pending = Detections.empty()
        self._horizon_ms: int | None = None
        self._trackers: dict[int, Tracker] = {}
        self._memory = IdentityMemory()
        self._ids = itertools.count(1)

    # -- input ---------------------------------------------------------------------------------------

    def add(self, topic: str, payload_or_message: bytes | Message, arrival_ms: int) -> None:
        """Take one message; RSM and BSM are fused, every other message is ignored. A payload that does
        not decode is counted in ``counts.rejected_messages`` and skipped."""
        try:
            parsed = parse_topic(topic)
        except InputError:
            self._rejected += 1
            return
        if parsed.message not in ("rsm", "bsm") or parsed.direction != "up":
            return
        message: Message
        if isinstance(payload_or_message, bytes):
            try:
                message = decode_named(payload_or_message, parsed.message)
            except (DecodeError, ValidationError):
                self._rejected += 1
                return
        else:
            message = payload_or_message
        if isinstance(message, RSM):
            index = self.source_index(f"{parsed.device_kind}/{parsed.device_id}")
            self._rsm_batches.append(
                Detections.from_rsm(message, geo=self.geo, reference_ms=arrival_ms, source_index=index)
            )
        elif isinstance(message, BSM):
            self._bsms.append(message)

    def source_index(self, name: str) -> int:
        """The index of a sender, registering it on first sight."""
        index = self._source_index.get(name)
        if index is None:
            index = len(self._source_index)
            self._source_index[name] = index
            self._offset_ms = np.append(self._offset_ms, 0.0)
            self._fused = np.append(self._fused, 0)
            self._late = np.append(self._late, 0)
        return index

    # -- the frame -----------------------------------------------------------------------------------

    def tick(self, now_ms: int) -> LdmSnapshot:
        """Fuse everything measured up to ``now_ms - latency_budget_ms`` and return the map at that time."""
        horizon_ms = now_ms - self.config.latency_budget_ms
        detections = self._collect(now_ms)
        ready = self._align(detections, horizon_ms)
        for batch, time_ms in self._batches(ready):
            self._fuse_batch(batch, time_ms)
        for tracker in self._trackers.values():
            tracker.end_frame(horizon_ms)
        self._hand_over()
        self._memory.commit(self.live_track_ids())
        self._horizon_ms = horizon_ms
        self._ticks += 1
        return self.snapshot(horizon_ms)

    def _collect(self, now_ms: int) -> Detections:
        parts = [self._pending, *self._rsm_batches]
        if self._bsms:
            parts.append(Detections.from_bsms(self._bsms, geo=self.geo, reference_ms=now_ms, source_index=0))
        self._rsm_batches, self._bsms = [], []
        return concatenate(parts)

    def _align(self, detections: Detections, horizon_ms: int) -> tuple[Detections, FloatArray]:
        """Correct times, drop and count the late, keep the future for later; return what is ready."""
        corrected_ms = detections.time_ms - self._offset_ms[detections.source_index]
        sources = len(self._offset_ms)
        if self._horizon_ms is not None:
            late = corrected_ms <= self._horizon_ms
            if late.any():
                self._late += np.bincount(detections.source_index[late], minlength=sources)
                detections, corrected_ms = detections.take(~late), corrected_ms[~late]
        ready = corrected_ms <= horizon_ms
        self._pending = detections.take(~ready)
        ready_detections = detections.take(ready)
        self._fused += np.bincount(ready_detections.source_index, minlength=sources)
        return ready_detections, corrected_ms[ready]

    def _batches(self, ready: tuple[Detections, FloatArray]) -> Iterator[tuple[Detections, float]]:
        """One batch per (sender, measurement time), oldest first."""
        detections, corrected_ms = ready
        if len(detections) == 0:
            return
        order = np.lexsort((detections.source_index, corrected_ms))
        source = detections.source_index[order]
        time_ms = corrected_ms[order]
        starts = np.flatnonzero(np.r_[True, (source[1:] != source[:-1]) | (time_ms[1:] != time_ms[:-1])])
        bounds = np.r_[starts, len(order)].tolist()
        for start, stop in itertools.pairwise(bounds):
            yield detections.take(order[start:stop]), float(time_ms[start])

    def _fuse_batch(self, batch: Detections, time_ms: float) -> None:
        residuals: list[FloatArray] = []
        for key, rows in route(self.grid.key_of(batch.x_m, batch.y_m)):
            tracker = self._trackers.get(key)
            if tracker is None:
                tracker = self._trackers[key] = Tracker(self.config, self._allocate)
            part = batch if len(rows) == len(batch) else batch.take(rows)
            residuals.append(tracker.process(part, time_ms=time_ms, memory=self._memory).timing_residual_s)
        source = int(batch.source_index[0])
        residual_s = np.concatenate(residuals)
        if source != 0 and len(residual_s):
            limit = self.config.clock_offset_max_step_ms
            error_ms = float(np.clip(np.mean(residual_s) * 1000.0, -limit, limit))
            self._offset_ms[source] += self.config.clock_offset_gain * error_ms

    def _allocate(self, count: int) -> IntArray:
        return np.fromiter(itertools.islice(self._ids, count), dtype=np.int64, count=count)

    def _hand_over(self) -> None:
        """Move every track whose position left its tile to the tile it is in now (global id kept)."""
        leaving: list[TrackTable] = []
        for key, tracker in self._trackers.items():
            table = tracker.table
            if len(table) == 0:
                continue
            outside = self.grid.key_of(table.state[:, 0], table.state[:, 1]) != key
            if outside.any():
                leaving.append(table.take(outside))
                table.keep(~outside)
        for table in leaving:
            for key, rows in route(self.grid.key_of(table.state[:, 0], table.state[:, 1])):
                tracker = self._trackers.get(key)
                if tracker is None:
                    tracker = self._trackers[key] = Tracker(self.config, self._allocate)
                tracker.table.extend(table.take(rows))
        self._trackers = {key: tracker for key, tracker in self._trackers.items() if len(tracker.table)}

    # -- output --------------------------------------------------------------------------------------

    def snapshot(self, time_ms: int) -> LdmSnapshot:
        """Confirmed, recently seen tracks, each predicted to ``time_ms``."""
        tables = [
            tracker.table.take(reported(tracker.table, fusion_ms=time_ms, config=self.config))
            for tracker in self._trackers.values()
        ]
        table = TrackTable.empty()
        for part in tables:
            table.extend(part)
        if len(table) == 0:
            return LdmSnapshot.empty(time_ms)
        dt_s = (time_ms - table.time_ms) / 1000.0
        state, covariance = kalman.predict(table.state, table.covariance, dt_s, self.config.accel_density_m2ps3)
        vx, vy = state[:, 2], state[:, 3]
        lane_id: NDArray[np.object_] | None = None
        s_m = np.full(len(table), np.nan)
        if self._lane_matcher is not None:
            heading = np.rad2deg(np.arctan2(vx, vy)) % 360.0
            match = self._lane_matcher.match(state[:, 0], state[:, 1], heading)
            lane_id, s_m = match.lane_ids, match.s_m
        return LdmSnapshot(
            time_ms=time_ms,
            track_id=table.track_id,
            x_m=state[:, 0],
            y_m=state[:, 1],
            vx_mps=vx,
            vy_mps=vy,
            speed_mps=np.hypot(vx, vy),
            heading_deg=np.rad2deg(np.arctan2(vx, vy)) % 360.0,
            length_m=table.length_m,
            width_m=table.width_m,
            kind=np.argmax(table.kind_votes, axis=1).astype(np.int64),
            position_cov_m2=covariance[:, :2, :2],
            lane_id=lane_id,
            s_m=s_m,
            source_count=table.source_count,
        )

    def live_track_ids(self) -> IntArray:
        parts = [tracker.table.track_id for tracker in self._trackers.values()]
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    @property
    def counts(self) -> FusionCounts:
        names = list(self._source_index)
        return FusionCounts(
            fused={name: int(self._fused[i]) for i, name in enumerate(names)},
            late_dropped={name: int(self._late[i]) for i, name in enumerate(names)},
            rejected_messages=self._rejected,
            ticks=self._ticks,
        )

    @property
    def clock_offsets_ms(self) -> dict[str, float]:
        """Current clock-offset estimate per sender (sender clock minus true time)."""
        return {name: float(self._offset_ms[i]) for name, i in self._source_index.items()}

    @property
    def track_count(self) -> int:
        return sum(len(tracker.table) for tracker in self._trackers.values())
