"""Speed advice at signalised junctions (green light optimal speed advisory, GLOSA).

Data flow: SPAT ─▶ ``roadcloud.events.SignalStates`` (each signal group's light and likely change) and
BSM ─▶ ``VehicleStates`` (position on a lane) ─▶ ``SpeedAdvisor.advise`` ─▶ ``SpeedGuidance`` per vehicle
approaching a stop line, sent on ``vehicle/{id}/glosa/down``.

For a vehicle ``d`` metres before the stop line, the speeds that reach it on green are those whose
arrival time ``d / v`` falls in a green window, capped by the lane's speed limit:

- green now, likely to end in ``T``: ``v ≥ d / T`` (arrive before it ends);
- red (or red-yellow) now, green from ``T`` to ``T + G``: ``d / (T + G) ≤ v ≤ d / T``. ``G`` is the
  green's likely length (the signal states' prediction for the moment the red ends: SPAT announces the
  next state's end too), else ``glosa_min_green_s`` (a green lasts at least that long), so the lower bound
  is a safe one;
- yellow, or a window no allowed speed reaches: prepare to stop.

Speeds under ``glosa_min_speed_mps`` are not advice worth following (crawling holds up the traffic
behind), so such a window also means prepare to stop. Which movement a vehicle will take is not known;
on a lane with several signalised movements the straight one is advised (then right, then left), the
movement most vehicles on a shared lane take. The maths runs on all approaching vehicles at once; each
vehicle gets advice once per ``glosa_period_ms``, in its own frame of the period (``Cadence``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from roadcloud.map import RoadMap
from roadcloud.messages import LightState, NodeReferenceId
from roadcloud.messages.common import SPEED_UNAVAILABLE
from roadcloud.messages.guidance import GuidanceAdvice, SpeedGuidance
from roadcloud.messages.units import (
    MPS_PER_SPEED_UNIT,
    epoch_ms_to_moy,
    epoch_ms_to_sec_mark,
    seconds_to_timemark,
)
from roadcloud.services.config import ServiceConfig
from roadcloud.services.vehicles import Cadence, VehicleStates

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

GREEN_LIGHTS = frozenset({LightState.PROTECTED_GREEN, LightState.PERMISSIVE_GREEN, LightState.FLASHING_GREEN})
STOP_LIGHTS = frozenset({LightState.RED, LightState.FLASHING_RED})
_DIRECTION_PREFERENCE = {"s": 0, "r": 1, "R": 1, "l": 2, "L": 2}
_AT_STOP_LINE_M = 5.0  # closer than this the advice comes too late to matter
TIMEMARK_UNKNOWN = 36_001


class SignalLightLike(Protocol):
    """What the advisor reads of ``roadcloud.events.signal_state.SignalLight``."""

    @property
    def light(self) -> LightState: ...
    @property
    def likely_end_ms(self) -> int | None: ...
    @property
    def next_light(self) -> LightState | None: ...


class SignalLookup(Protocol):
    """What the advisor needs of ``roadcloud.events.SignalStates``."""

    def connection_light(
        self, from_lane_id: str, to_lane_id: str, time_ms: int
    ) -> SignalLightLike | None: ...


@dataclass(frozen=True, slots=True)
class GreenWindow:
    """Per vehicle: the advice and the speed range (m/s; NaN with PREPARE_TO_STOP)."""

    advice: IntArray
    speed_min_mps: FloatArray
    speed_max_mps: FloatArray


def green_window_speeds(
    *,
    distance_m: FloatArray,
    speed_mps: FloatArray,
    limit_mps: FloatArray,
    green_now: NDArray[np.bool_],
    green_next: NDArray[np.bool_],
    change_s: FloatArray,
    next_green_s: FloatArray,
    min_speed_mps: float,
) -> GreenWindow:
    """The GLOSA sum for N vehicles at once (see the module docstring).

    ``change_s``: seconds until the light changes (NaN unknown); ``green_next``: the coming light is
    green; ``next_green_s``: how long that green lasts (NaN unknown: the caller passes its assumption).
    """
    distance = np.asarray(distance_m, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Green now: arrive before it ends; an unknown end means the green holds.
        now_low = np.where(np.isnan(change_s), 0.0, distance / np.maximum(change_s, 1e-3))
        now_high = limit_mps
        # Red now, green next: arrive after it starts and before it ends.
        next_low = distance / np.maximum(change_s + next_green_s, 1e-3)
        next_high = np.minimum(distance / np.maximum(change_s, 1e-3), limit_mps)
    low = np.where(green_now, now_low, np.where(green_next, next_low, np.inf))
    high = np.where(green_now, now_high, np.where(green_next, next_high, -np.inf))
    low = np.maximum(low, min_speed_mps)
    reachable = (low <= high) & np.isfinite(low) & np.isfinite(high)
    keep = reachable & (speed_mps >= low) & (speed_mps <= high)
    advice = np.where(
        reachable,
        np.where(keep, GuidanceAdvice.KEEP_SPEED, GuidanceAdvice.ADJUST_SPEED),
        GuidanceAdvice.PREPARE_TO_STOP,
    ).astype(np.int64)
    return GreenWindow(
        advice=advice,
        speed_min_mps=np.where(reachable, low, np.nan),
        speed_max_mps=np.where(reachable, high, np.nan),
    )


@dataclass(frozen=True, slots=True)
class _Movement:
    to_lane_id: str
    node_id: int
    phase_id: int


class SpeedAdvisor:
    """Green light optimal speed for connected vehicles approaching signalised stop lines."""

    def __init__(self, road_map: RoadMap, config: ServiceConfig, *, lane_table: tuple[str, ...]) -> None:
        self.config = config
        self.road_map = road_map
        self.lane_table = lane_table
        # MAP/SPAT node ids: junctions numbered from 1 in sorted id order, as the twin's MAP numbers them.
        node_of_junction = {junction: number for number, junction in enumerate(sorted(road_map.junctions), 1)}
        direction = {(c.from_lane_id, c.to_lane_id): c.direction for c in road_map.connections}
        choices: dict[str, list[tuple[int, _Movement]]] = {}
        for controller in road_map.signal_controllers.values():
            node_id = node_of_junction[controller.junction_ids[0]]
            for group in controller.groups:
                for from_lane, to_lane in group.connections:
                    rank = _DIRECTION_PREFERENCE.get(direction.get((from_lane, to_lane), ""), 3)
                    choices.setdefault(from_lane, []).append((rank, _Movement(to_lane, node_id, group.index)))
        # The advised movement of each signalised approach lane, by index in the lane table.
        self._movement: dict[int, _Movement] = {}
        index_of = {lane_id: index for index, lane_id in enumerate(lane_table)}
        for lane_id, options in choices.items():
            index = index_of.get(lane_id)
            if index is not None and not road_map.lanes[lane_id].is_internal:
                self._movement[index] = min(options, key=lambda item: (item[0], item[1].to_lane_id))[1]
        self._signalised = np.zeros(len(lane_table) + 1, dtype=bool)  # last slot: unmatched (-1)
        self._signalised[list(self._movement)] = True
        self._length_m = np.array([road_map.lanes[lane_id].length_m for lane_id in lane_table] + [np.nan])
        self._limit_mps = np.array(
            [road_map.lanes[lane_id].speed_limit_mps for lane_id in lane_table] + [np.nan]
        )
        self._cadence = Cadence(config.glosa_period_ms)
        self._msg_cnt = 0

    def due(self, vehicle_ids: NDArray[np.object_], now_ms: int) -> NDArray[np.bool_]:
        """Which of these vehicles are due advice in this frame (if they approach a signal)."""
        return self._cadence.due(vehicle_ids, now_ms)

    def advise(self, vehicles: VehicleStates, signals: SignalLookup, now_ms: int) -> list[SpeedGuidance]:
        """Advice for every approaching vehicle due one (``vehicles`` matched to ``lane_table``)."""
        config = self.config
        if len(vehicles) == 0:
            return []
        lane = vehicles.lane_index
        slot = np.where(lane >= 0, lane, len(self.lane_table))
        speed = np.nan_to_num(vehicles.speed_mps)
        travelled_m = speed * np.maximum(now_ms - vehicles.measured_ms, 0) / 1000.0
        distance = self._length_m[slot] - vehicles.s_m - travelled_m
        candidate = (
            self._signalised[slot]
            & (distance >= _AT_STOP_LINE_M)
            & (distance <= config.glosa_distance_m)
            & np.isfinite(vehicles.speed_mps)
        )
        rows = np.flatnonzero(candidate)
        if len(rows) == 0:
            return []
        rows = rows[self._cadence.due(vehicles.vehicle_id[rows], now_ms)]
        if len(rows) == 0:
            return []
        # One light query per approach lane, not per vehicle.
        lanes = lane[rows]
        unique_lanes, inverse = np.unique(lanes, return_inverse=True)
        light_code = np.full(len(unique_lanes), -1, dtype=np.int64)
        change_s = np.full(len(unique_lanes), np.nan)
        next_code = np.full(len(unique_lanes), -1, dtype=np.int64)
        next_green_s = np.full(len(unique_lanes), config.glosa_min_green_s)
        for k, lane_index in enumerate(unique_lanes.tolist()):
            movement = self._movement[lane_index]
            light = signals.connection_light(self.lane_table[lane_index], movement.to_lane_id, now_ms)
            if light is None:
                continue
            light_code[k] = int(light.light)
            if light.likely_end_ms is not None:
                change_s[k] = max(light.likely_end_ms - now_ms, 0) / 1000.0
            if light.next_light is not None:
                next_code[k] = int(light.next_light)
            next_green_s[k] = self._green_after(signals, lane_index, movement, light, next_green_s[k])
        known = light_code[inverse] >= 0
        rows, inverse = rows[known], inverse[known]
        if len(rows) == 0:
            return []
        codes = light_code[inverse]
        green_now = np.isin(codes, [int(light) for light in GREEN_LIGHTS])
        red_now = np.isin(codes, [int(light) for light in STOP_LIGHTS])
        green_next = red_now & np.isin(next_code[inverse], [int(light) for light in GREEN_LIGHTS])
        green_next &= np.isfinite(change_s[inverse])
        window = green_window_speeds(
            distance_m=distance[rows],
            speed_mps=speed[rows],
            limit_mps=self._limit_mps[slot[rows]],
            green_now=green_now,
            green_next=green_next,
            change_s=change_s[inverse],
            next_green_s=next_green_s[inverse],
            min_speed_mps=config.glosa_min_speed_mps,
        )
        return self._messages(
            vehicles,
            rows=rows,
            inverse=inverse,
            unique_lanes=unique_lanes,
            window=window,
            distance=distance,
            codes=codes,
            change_s=change_s,
            now_ms=now_ms,
        )

    def _green_after(
        self,
        signals: SignalLookup,
        lane_index: int,
        movement: _Movement,
        light: SignalLightLike,
        assumed_s: float,
    ) -> float:
        """How long the coming green lasts: what the signal states predict for the moment the current
        light ends (SPAT announces the next state's end too), else ``assumed_s``."""
        if light.likely_end_ms is None or light.next_light not in GREEN_LIGHTS:
            return assumed_s
        coming = signals.connection_light(
            self.lane_table[lane_index], movement.to_lane_id, light.likely_end_ms
        )
        if coming is None or coming.light not in GREEN_LIGHTS or coming.likely_end_ms is None:
            return assumed_s
        return max(coming.likely_end_ms - light.likely_end_ms, 0) / 1000.0

    def _messages(
        self,
        vehicles: VehicleStates,
        *,
        rows: IntArray,
        inverse: IntArray,
        unique_lanes: IntArray,
        window: GreenWindow,
        distance: FloatArray,
        codes: IntArray,
        change_s: FloatArray,
        now_ms: int,
    ) -> list[SpeedGuidance]:
        moy = epoch_ms_to_moy(now_ms)
        sec_mark = epoch_ms_to_sec_mark(now_ms)
        distance_units = np.clip(np.rint(distance[rows] * 10.0), 0, 65535).astype(np.int64).tolist()
        change = change_s[inverse]
        time_marks = np.where(
            np.isnan(change), TIMEMARK_UNKNOWN, seconds_to_timemark(np.nan_to_num(change))
        ).tolist()
        reachable = ~np.isnan(window.speed_min_mps)
        # Rounded inwards (up at the slow end, down at the fast end) so every advised speed still arrives
        # on green and within the limit.
        low_units = np.ceil(np.nan_to_num(window.speed_min_mps) / MPS_PER_SPEED_UNIT - 1e-9).astype(np.int64)
        high_units = np.floor(np.nan_to_num(window.speed_max_mps) / MPS_PER_SPEED_UNIT + 1e-9).astype(
            np.int64
        )
        high_units = np.minimum(high_units, SPEED_UNAVAILABLE - 1).tolist()
        low_units = np.minimum(low_units, SPEED_UNAVAILABLE - 1).tolist()
        messages = []
        for k, row in enumerate(rows.tolist()):
            vehicle_id = str(vehicles.vehicle_id[row])
            movement = self._movement[int(unique_lanes[inverse[k]])]
            has_range = bool(reachable[k])
            messages.append(
                SpeedGuidance(
                    msg_cnt=self._msg_cnt % 128,
                    id=vehicle_id,
                    moy=moy,
                    sec_mark=sec_mark,
                    intersection_id=NodeReferenceId(id=movement.node_id, region=1),
                    phase_id=movement.phase_id,
                    distance=distance_units[k],
                    light=LightState(int(codes[k])),
                    time_to_change=time_marks[k],
                    advice=GuidanceAdvice(int(window.advice[k])),
                    speed_min=low_units[k] if has_range else None,
                    speed_max=high_units[k] if has_range else None,
                )
            )
            self._msg_cnt += 1
        return messages
