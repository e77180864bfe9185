"""Signal states from SPAT: which light a lane or lane connection shows at a time, and when it changes.

SPAT messages (10 Hz per signal controller) arrive on the bus; ``SignalStates.update`` folds each one into
a short timeline per signal group, and queries answer for any recent time:

    SPAT ──update──▶ SignalStates ──connection_light(from, to, t) / lane_light(lane, t)──▶ SignalLight
                                     (event detectors: red-light violation, queues; speed advice: GLOSA)

A SPAT names an intersection (node id) and its signal groups (phase ids). Signal groups are the map's
``SignalController.groups``: phase id *k* is ``groups[k]``, the same numbering the twin publishes
(``roadcloud.twin.signals.build_spat``). Node ids follow the zone's MAP numbering (junction ids in sorted
order from 1, ``roadcloud.twin.devices.junction_node_ids``) unless a MAP message (``learn_map``) or
``node_junctions`` says otherwise.

Times: a SPAT's measurement time is its ``moy`` (minute of the year) plus ``time_stamp`` (ms in the
minute); the year is resolved against the caller's clock. Timings (``likely_end_time`` …) count in 0.1 s
from that measurement time (T/CSAE 53 TimeCountingDown); 36001 means unknown. Answers are in UTC epoch ms.
The class is pure: no clock, no IO; every time comes from a message or from the caller.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from roadcloud.errors import SettingError, ValidationError
from roadcloud.map import RoadMap
from roadcloud.messages import MAP, SPAT, IntersectionState, LightState, PhaseState
from roadcloud.messages.units import MS_PER_MINUTE, resolve_sec_mark
from roadcloud.twin.devices import junction_node_ids

_NEVER_MS = -(2**62)
_FOREVER_MS = 2**62

MS_PER_TIMEMARK = 100
TIMEMARK_UNKNOWN = 36_001
#: lights that let traffic go; FLASHING_GREEN is treated as going too (it is a green about to end)
GREEN_LIGHTS = frozenset({LightState.PROTECTED_GREEN, LightState.PERMISSIVE_GREEN, LightState.FLASHING_GREEN})

# How permissive a light is, for an approach lane whose movements show different lights: the lane's light
# is the most permissive of them, since a vehicle on it may be taking that movement.
PERMISSIVENESS = {
    LightState.UNAVAILABLE: 0,
    LightState.DARK: 0,
    LightState.RED: 1,
    LightState.FLASHING_RED: 2,
    LightState.YELLOW: 3,
    LightState.FLASHING_YELLOW: 4,
    LightState.FLASHING_GREEN: 5,
    LightState.PERMISSIVE_GREEN: 6,
    LightState.PROTECTED_GREEN: 7,
}


def signal_group_numbers(road_map: RoadMap) -> dict[tuple[str, int], int]:
    """A number 0… for every signal group of a map (controllers in id order, their groups in order): the
    index of ``SignalStates.group_lights``."""
    numbers: dict[tuple[str, int], int] = {}
    for tls_id in sorted(road_map.signal_controllers):
        for group in road_map.signal_controllers[tls_id].groups:
            numbers[(tls_id, group.index)] = len(numbers)
    return numbers


@dataclass(frozen=True, slots=True)
class SignalLight:
    """The light of one signal group at one time (UTC epoch ms).

    ``since_ms``: when this light began, if the timeline saw the change (None: it was already on when the
    first SPAT arrived). ``likely_end_ms`` / ``next_light``: when it is likely to change and to what
    (None where the controller did not say). ``measured_ms``: time of the SPAT the answer rests on.
    """

    light: LightState
    since_ms: int | None
    likely_end_ms: int | None
    next_light: LightState | None
    measured_ms: int

    @property
    def is_red(self) -> bool:
        """Steady red: stop and stay stopped (flashing red is a stop sign, not a red light)."""
        return self.light == LightState.RED

    @property
    def is_green(self) -> bool:
        return self.light in GREEN_LIGHTS


@dataclass(slots=True)
class _Timeline:
    """One signal group: the lights it showed (``change_ms`` ascending) and the newest SPAT's timing."""

    change_ms: list[int] = field(default_factory=list)
    lights: list[LightState] = field(default_factory=list)
    seen_since: list[bool] = field(default_factory=list)  # False: the light was on before we looked
    measured_ms: int = 0
    likely_end_ms: int | None = None
    next_light: LightState | None = None
    next_end_ms: int | None = None


class SignalStates:
    """The recent lights of every signal group of a map, fed with SPAT messages.

    ``max_age_ms``: a group whose newest SPAT is older than this relative to the newest data from any
    controller (or to ``received_ms``) is unknown (None): its controller has gone silent. Times after a
    group's newest SPAT are answered from the timing it announced (the light until ``likely_end_ms``, then
    the next light), so callers can ask ahead; ``SignalLight.measured_ms`` says how fresh an answer is.
    ``history_ms``: how far back light changes are remembered, for questions about the recent past (the
    LDM runs a latency budget behind the SPAT stream). ``node_junctions`` maps SPAT intersection ids to
    junction ids of the map, overriding the twin's numbering.
    """

    def __init__(
        self,
        road_map: RoadMap,
        *,
        max_age_ms: int = 2_000,
        history_ms: int = 120_000,
        node_junctions: Mapping[int, str] | None = None,
    ) -> None:
        if max_age_ms <= 0 or history_ms <= 0:
            raise SettingError(
                f"max_age_ms ({max_age_ms}) and history_ms ({history_ms}) must be positive milliseconds"
            )
        self.road_map = road_map
        self.max_age_ms = int(max_age_ms)
        self.history_ms = int(history_ms)
        tls_of_junction = {
            junction_id: controller.tls_id
            for controller in road_map.signal_controllers.values()
            for junction_id in controller.junction_ids
        }
        self._tls_of_junction = tls_of_junction
        # The numbering the twin publishes MAP and SPAT under (and a real zone is provisioned with).
        self._tls_of_node: dict[int, str] = {
            number: tls_of_junction[junction_id]
            for junction_id, number in junction_node_ids(road_map).items()
            if junction_id in tls_of_junction
        }
        for node_id, junction_id in (node_junctions or {}).items():
            if junction_id not in tls_of_junction:
                raise SettingError(
                    f"node {node_id} maps to junction '{junction_id}', which no traffic light of network "
                    f"{road_map.name} controls; map node ids to signalised junctions"
                )
            self._tls_of_node[int(node_id)] = tls_of_junction[junction_id]
        # (from lane, to lane) -> (tls, group index); approach lane -> its signalised movements.
        self._group_of_connection: dict[tuple[str, str], tuple[str, int]] = {}
        self._movements: dict[str, list[tuple[str, str, int]]] = {}
        for controller in road_map.signal_controllers.values():
            for group in controller.groups:
                for from_lane, to_lane in group.connections:
                    self._group_of_connection[(from_lane, to_lane)] = (controller.tls_id, group.index)
                    self._movements.setdefault(from_lane, []).append(
                        (to_lane, controller.tls_id, group.index)
                    )
        self._timelines: dict[tuple[str, int], _Timeline] = {}
        # The same, as arrays over group numbers, for answering a whole map at once (group_lights).
        self._group_number = signal_group_numbers(road_map)
        count = len(self._group_number)
        self._code = np.zeros((3, count), dtype=np.int64)  # previous, current, next light
        self._since_ms = np.full((2, count), _NEVER_MS, dtype=np.int64)  # previous, current began
        self._end_ms = np.full((2, count), _FOREVER_MS, dtype=np.int64)  # current, next likely end
        self._measured_ms = np.full(count, _NEVER_MS, dtype=np.int64)
        self._reference_ms: int | None = None  # the newest time known: SPATs and their receipt
        self._pending: list[tuple[SPAT, int | None]] = []
        self.unknown_intersections = 0
        self.unknown_phases = 0

    # --- input --------------------------------------------------------------------------------------

    def learn_map(self, map_message: MAP) -> int:
        """Learn node id → junction from a MAP message whose node names are junction ids (as the twin
        sends them); returns how many nodes were recognised."""
        learned = 0
        for node in map_message.nodes:
            tls_id = self._tls_of_junction.get(node.name or "")
            if tls_id is not None:
                self._tls_of_node[node.id.id] = tls_id
                learned += 1
        return learned

    def update(self, spat: SPAT, *, received_ms: int | None = None) -> int:
        """Fold one SPAT in; returns how many signal groups it updated.

        ``received_ms`` (the receiver's clock) resolves which minute and year the SPAT's time stamp is
        in; without it the latest time seen so far is used, and before any is known the SPAT waits for
        the first query. ``ValidationError`` if the SPAT carries no time and no ``received_ms`` is given.
        """
        if received_ms is not None:
            self._advance(received_ms)
        if self._reference_ms is None:
            self._pending.append((spat, received_ms))
            return 0
        return self._apply(spat, received_ms)

    def _apply_pending(self, reference_ms: int) -> None:
        """SPATs that arrived before any clock was known, resolved against the first query's time."""
        if self._pending and self._reference_ms is None:
            self._reference_ms = int(reference_ms)
        pending, self._pending = self._pending, []
        for spat, received_ms in pending:
            self._apply(spat, received_ms)

    # --- queries ------------------------------------------------------------------------------------

    def group_light(self, tls_id: str, group_index: int, time_ms: int) -> SignalLight | None:
        """Light of group ``group_index`` of traffic light ``tls_id`` at ``time_ms``; None if unknown."""
        if self._pending:
            self._apply_pending(time_ms)
        timeline = self._timelines.get((tls_id, group_index))
        if timeline is None or not timeline.change_ms:
            return None
        if self._reference_ms is not None and self._reference_ms - timeline.measured_ms > self.max_age_ms:
            return None
        if time_ms >= timeline.measured_ms:
            return self._predicted(timeline, time_ms)
        k = bisect.bisect_right(timeline.change_ms, time_ms) - 1
        if k < 0:
            return None
        later = k + 1 < len(timeline.change_ms)
        return SignalLight(
            light=timeline.lights[k],
            since_ms=timeline.change_ms[k] if timeline.seen_since[k] else None,
            likely_end_ms=timeline.change_ms[k + 1] if later else timeline.likely_end_ms,
            next_light=timeline.lights[k + 1] if later else timeline.next_light,
            measured_ms=timeline.measured_ms,
        )

    def connection_light(self, from_lane_id: str, to_lane_id: str, time_ms: int) -> SignalLight | None:
        """Light of the movement from ``from_lane_id`` to ``to_lane_id`` at ``time_ms``; None if the
        movement is not signalised or its controller has not been heard from recently."""
        group = self._group_of_connection.get((from_lane_id, to_lane_id))
        if group is None:
            return None
        return self.group_light(group[0], group[1], time_ms)

    def lane_lights(self, lane_id: str, time_ms: int) -> dict[str, SignalLight]:
        """Light of each signalised movement leaving approach lane ``lane_id``, by destination lane."""
        lights = {}
        for to_lane, tls_id, group_index in self._movements.get(lane_id, ()):
            light = self.group_light(tls_id, group_index, time_ms)
            if light is not None:
                lights[to_lane] = light
        return lights

    def lane_light(self, lane_id: str, time_ms: int) -> SignalLight | None:
        """The light at the stop line of approach lane ``lane_id``: the most permissive of its movements
        (a vehicle there may be taking any of them); None if the lane is unsignalised or unknown."""
        best: SignalLight | None = None
        for light in self.lane_lights(lane_id, time_ms).values():
            if best is None or PERMISSIVENESS[light.light] > PERMISSIVENESS[best.light]:
                best = light
        return best

    def group_lights(self, time_ms: int) -> NDArray[np.int64]:
        """The light (``LightState`` value) of every signal group at ``time_ms``, indexed by
        ``signal_group_numbers``; ``UNAVAILABLE`` (0) where unknown or silent. One array operation for a
        whole zone: meant for times near the newest SPATs (it looks back one light change, where
        ``group_light`` searches the whole history)."""
        code, since, end = self._code, self._since_ms, self._end_ms
        back = np.where(time_ms >= since[1], code[1], np.where(time_ms >= since[0], code[0], 0))
        ahead = np.where(time_ms < end[0], code[1], np.where(time_ms < end[1], code[2], 0))
        lights = np.where(time_ms < self._measured_ms, back, ahead)
        fresh = self._measured_ms > _NEVER_MS
        if self._reference_ms is not None:
            fresh &= self._reference_ms - self._measured_ms <= self.max_age_ms
        result: NDArray[np.int64] = np.where(fresh, lights, 0)
        return result

    def is_signalised(self, lane_id: str) -> bool:
        """Whether lane ``lane_id`` ends at a stop line with a traffic light."""
        return lane_id in self._movements

    @property
    def latest_ms(self) -> int | None:
        """Measurement time of the newest SPAT folded in (None before the first)."""
        if not self._timelines:
            return None
        return max(timeline.measured_ms for timeline in self._timelines.values())

    # --- internals ----------------------------------------------------------------------------------

    def _advance(self, time_ms: int) -> None:
        """Move the clock forward to a time the data has reached; apply SPATs that waited for one."""
        if self._reference_ms is None or time_ms > self._reference_ms:
            self._reference_ms = int(time_ms)
        if self._pending:
            self._apply_pending(time_ms)

    def _apply(self, spat: SPAT, received_ms: int | None) -> int:
        updated = 0
        for intersection in spat.intersections:
            tls_id = self._tls_of_node.get(intersection.intersection_id.id)
            if tls_id is None:
                self.unknown_intersections += 1
                continue
            measured_ms = self._measurement_ms(spat, intersection, received_ms)
            self._advance(measured_ms)
            controller = self.road_map.signal_controllers[tls_id]
            for phase in intersection.phases:
                if phase.id >= len(controller.groups):
                    self.unknown_phases += 1
                    continue
                now, coming = _current_and_next(phase.phase_states)
                timeline = self._timelines.setdefault((tls_id, phase.id), _Timeline())
                self._fold(timeline, measured_ms, now, coming)
                self._tabulate(self._group_number[(tls_id, phase.id)], timeline)
                updated += 1
        return updated

    def _measurement_ms(self, spat: SPAT, intersection: IntersectionState, received_ms: int | None) -> int:
        moy = intersection.moy if intersection.moy is not None else spat.moy
        sec_mark = intersection.time_stamp if intersection.time_stamp is not None else spat.time_stamp
        reference = received_ms if received_ms is not None else self._reference_ms
        assert reference is not None  # _apply runs only once a reference exists
        if moy is not None and sec_mark is not None:
            return _resolve_moy(moy * MS_PER_MINUTE + sec_mark, reference)
        if sec_mark is not None:
            return resolve_sec_mark(sec_mark, reference_epoch_ms=reference)
        if received_ms is not None:
            return received_ms
        raise ValidationError(
            f"SPAT of intersection {intersection.intersection_id.id} has no time stamp; "
            "pass received_ms to SignalStates.update"
        )

    def _fold(
        self, timeline: _Timeline, measured_ms: int, now: PhaseState, coming: PhaseState | None
    ) -> None:
        if timeline.change_ms and measured_ms < timeline.measured_ms:
            return  # late duplicate from before the newest: the timeline already knows better
        if timeline.change_ms and measured_ms - timeline.measured_ms > self.max_age_ms:
            # An outage: what the light did in between is unknown.
            self._append(timeline, timeline.measured_ms + self.max_age_ms, LightState.UNAVAILABLE, seen=True)
        if not timeline.lights:
            self._append(timeline, measured_ms, now.light, seen=False)
        elif timeline.lights[-1] != now.light:
            # The change happened at the previous SPAT's likely end when that lies between the two SPATs.
            change_ms = measured_ms
            if timeline.likely_end_ms is not None and timeline.measured_ms < timeline.likely_end_ms:
                change_ms = min(timeline.likely_end_ms, measured_ms)
            self._append(timeline, max(change_ms, timeline.change_ms[-1] + 1), now.light, seen=True)
        timeline.measured_ms = measured_ms
        timeline.likely_end_ms = _end_ms(now, measured_ms)
        timeline.next_light = coming.light if coming is not None else None
        timeline.next_end_ms = _end_ms(coming, measured_ms) if coming is not None else None
        horizon_ms = measured_ms - self.history_ms
        drop = bisect.bisect_left(timeline.change_ms, horizon_ms) - 1
        if drop > 0:
            del timeline.change_ms[:drop], timeline.lights[:drop], timeline.seen_since[:drop]

    def _tabulate(self, number: int, timeline: _Timeline) -> None:
        """Copy a timeline's last two lights and its announced timing into the group arrays."""
        lights, changes = timeline.lights, timeline.change_ms
        self._code[:, number] = (
            int(lights[-2]) if len(lights) > 1 else 0,
            int(lights[-1]),
            int(timeline.next_light) if timeline.next_light is not None else 0,
        )
        # A light already on when the first SPAT came has been on "forever" as far as we know.
        since = changes[-1] if timeline.seen_since[-1] else _NEVER_MS
        self._since_ms[:, number] = (changes[-2] if len(changes) > 1 else _NEVER_MS, since)
        self._end_ms[:, number] = (
            timeline.likely_end_ms if timeline.likely_end_ms is not None else _FOREVER_MS,
            timeline.next_end_ms if timeline.next_end_ms is not None else _FOREVER_MS,
        )
        self._measured_ms[number] = timeline.measured_ms

    @staticmethod
    def _append(timeline: _Timeline, change_ms: int, light: LightState, *, seen: bool) -> None:
        timeline.change_ms.append(change_ms)
        timeline.lights.append(light)
        timeline.seen_since.append(seen)

    def _predicted(self, timeline: _Timeline, time_ms: int) -> SignalLight | None:
        """The light at or after the newest SPAT, from the timing it announced; None past that."""
        since = timeline.change_ms[-1] if timeline.seen_since[-1] else None
        if timeline.likely_end_ms is None or time_ms < timeline.likely_end_ms:
            return SignalLight(
                timeline.lights[-1], since, timeline.likely_end_ms, timeline.next_light, timeline.measured_ms
            )
        if timeline.next_light is not None and (
            timeline.next_end_ms is None or time_ms < timeline.next_end_ms
        ):
            return SignalLight(
                timeline.next_light, timeline.likely_end_ms, timeline.next_end_ms, None, timeline.measured_ms
            )
        return None


def _current_and_next(states: list[PhaseState]) -> tuple[PhaseState, PhaseState | None]:
    """The state showing now (start 0, else the first listed) and the one after it (earliest later start)."""
    now = next((s for s in states if s.timing is not None and s.timing.start_time == 0), states[0])
    later = [s for s in states if s is not now and s.timing is not None and s.timing.start_time > 0]
    coming = min(later, key=lambda s: s.timing.start_time if s.timing is not None else 0, default=None)
    return now, coming


def _end_ms(state: PhaseState, measured_ms: int) -> int | None:
    timing = state.timing
    if timing is None or timing.likely_end_time >= TIMEMARK_UNKNOWN:
        return None
    return measured_ms + timing.likely_end_time * MS_PER_TIMEMARK


def _year_start_ms(year: int) -> int:
    return int(dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)


def _resolve_moy(ms_of_year: int, reference_ms: int) -> int:
    """The epoch time nearest to ``reference_ms`` that lies ``ms_of_year`` after some 1 January (UTC)."""
    year = dt.datetime.fromtimestamp(reference_ms / 1000.0, tz=dt.UTC).year
    candidates = [_year_start_ms(y) + ms_of_year for y in (year - 1, year, year + 1)]
    return min(candidates, key=lambda candidate: abs(candidate - reference_ms))
