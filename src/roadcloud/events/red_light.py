"""Red-light violation: a vehicle crossing the stop line of its lane while that movement shows red (SPAT).

The LDM matches tracks onto junction-internal lanes too, and every internal lane belongs to one
signalised movement (``LaneTable.entry_movement``). Each track remembers the last signalised approach lane
it was on; when it appears inside the junction on a movement out of that lane, the moment it crossed the
stop line is interpolated from its last position and speed on the approach. Once it is
``red_light_decide_m`` into the junction (where the matched movement is no longer ambiguous), the light
of that movement *at the crossing time* is looked up in ``SignalStates``: steady red for longer than
``red_light_grace_s``, on the movement it entered and on the one it is on now, at ``red_light_min_speed_mps``
or more, is a violation. Vehicles that stop at the line, creep over it at red, or wait inside the junction
to turn (matched back and forth across the line) are not.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from roadcloud.events.base import Context
from roadcloud.events.candidates import Candidates, evidence_confidence
from roadcloud.events.lanes import LaneTable
from roadcloud.events.model import EventType
from roadcloud.events.signal_state import SignalLight

#: the approach lane counts as left for the junction only this recently
_APPROACH_MEMORY_MS = 3_000
#: a track matched back onto the approach lane this close to the line has not left the junction
_LINE_ZONE_M = 10.0
#: a violation this deep into red (cross traffic has its green) is a danger to life
_DEEP_RED_S = 3.0


class RedLightDetector:
    columns: Mapping[str, int | float] = {
        "approach_lane": -1,
        "approach_ms": -1,
        "approach_s_m": 0.0,
        "entry_movement": -1,
        "cross_ms": -1,
        "decided": 0,
        "violation_ms": -1,
        "violation_movement": -1,
        "violation_red_ms": 0,
    }

    def __init__(self, lanes: LaneTable) -> None:
        movements = lanes.movement_list
        self._from_lane = np.array([m.from_lane for m in movements] + [-2], dtype=np.int64)
        self._via_lane = np.array([m.via_lane for m in movements] + [-1], dtype=np.int64)

    def detect(self, context: Context) -> list[Candidates]:
        frame, config, now, lanes = context.frame, context.config, context.now_ms, context.lanes
        snapshot, recalled = frame.snapshot, context.recalled
        speed = snapshot.speed_mps
        safe = np.maximum(frame.lane, 0)
        known = frame.lane >= 0
        on_normal = known & lanes.is_normal[safe]
        on_approach = frame.motor & on_normal & lanes.signalised[safe]
        last_lane = recalled["approach_lane"]
        last_ms = recalled["approach_ms"]
        last_s = recalled["approach_s_m"]
        movement_now = np.where(known, lanes.entry_movement[safe], -1)
        inside = frame.motor & (movement_now >= 0)
        came_from_approach = (
            inside & (self._from_lane[movement_now] == last_lane) & (now - last_ms <= _APPROACH_MEMORY_MS)
        )
        # Only a crossing a sensor saw counts: a track coasting on prediction (its vehicle parked or left
        # the network at the stop line) would run every red.
        entered = came_from_approach & frame.observed & (recalled["entry_movement"] < 0)
        # When it crossed the line: from its last position on the approach, at its current speed.
        to_line_ms = 1000.0 * (lanes.length_m[np.maximum(last_lane, 0)] - last_s) / np.maximum(speed, 1.0)
        cross_ms = np.where(
            entered,
            np.clip(last_ms + np.nan_to_num(to_line_ms).astype(np.int64), last_ms, now),
            recalled["cross_ms"],
        ).astype(np.int64)
        entry_movement = np.where(entered, movement_now, recalled["entry_movement"])
        decided = recalled["decided"].copy()
        # On the next normal lane the crossing is over and the next junction starts afresh. Matched back
        # onto the end of the approach lane (waiting to turn, position noise) it is the same crossing.
        at_line = (frame.lane == self._from_lane[np.maximum(entry_movement, 0)]) & (
            frame.to_end_m < _LINE_ZONE_M
        )
        moved_on = on_normal & ~((entry_movement >= 0) & at_line)
        entry_movement = np.where(moved_on, -1, entry_movement)
        decided = np.where(moved_on, 0, decided)
        via = self._via_lane[np.maximum(movement_now, 0)]
        travelled_m = np.where(frame.lane == via, frame.s_m, lanes.length_m[np.maximum(via, 0)] + frame.s_m)
        to_decide = np.flatnonzero(
            inside
            & frame.observed
            & (entry_movement >= 0)
            & (decided == 0)
            & (travelled_m >= config.red_light_decide_m)
        )
        violation_ms = recalled["violation_ms"].copy()
        violation_movement = recalled["violation_movement"].copy()
        violation_red_ms = recalled["violation_red_ms"].copy()
        grace_ms = round(config.red_light_grace_s * 1000)
        for row in to_decide.tolist():
            decided[row] = 1
            if speed[row] < config.red_light_min_speed_mps:
                continue
            crossed_ms = int(cross_ms[row])
            red_since: list[int] = []
            for movement in {int(entry_movement[row]), int(movement_now[row])}:
                light = context.lights.movement_light(movement, crossed_ms)
                if not _red_for(light, crossed_ms, grace_ms):
                    break
                assert light is not None
                # Red since before the first SPAT: how long is unknown (NaN, left out of the details).
                red_since.append(crossed_ms - light.since_ms if light.since_ms is not None else -1)
            else:
                violation_ms[row] = crossed_ms
                violation_movement[row] = int(movement_now[row])
                violation_red_ms[row] = -1 if -1 in red_since else min(red_since)
        expired = (violation_ms >= 0) & (now - violation_ms > round(config.red_light_hold_s * 1000))
        violation_ms = np.where(expired, -1, violation_ms)
        context.stored.update(
            approach_lane=np.where(on_approach, frame.lane, last_lane),
            approach_ms=np.where(on_approach, now, last_ms),
            approach_s_m=np.where(on_approach, frame.s_m, last_s),
            entry_movement=entry_movement,
            cross_ms=cross_ms,
            decided=decided,
            violation_ms=violation_ms,
            violation_movement=violation_movement,
            violation_red_ms=violation_red_ms,
        )
        rows = np.flatnonzero(violation_ms >= 0)
        stop_lane = self._from_lane[violation_movement[rows]]
        stop_s = lanes.length_m[stop_lane]
        line_x, line_y, _ = lanes.centre(stop_lane, stop_s)
        red_s = np.where(violation_red_ms[rows] >= 0, violation_red_ms[rows] / 1000.0, np.nan)
        nowhere = np.full(len(rows), np.nan)  # merge by track only: two runners at one line are two events
        return [
            Candidates(
                event_type=EventType.RED_LIGHT_VIOLATION,
                key=snapshot.track_id[rows].astype(np.int64),
                confirmed=np.ones(len(rows), dtype=bool),
                x_m=line_x,
                y_m=line_y,
                lane=stop_lane,
                s_m=stop_s,
                severity=np.where(np.nan_to_num(red_s) >= _DEEP_RED_S, 5, 4).astype(np.int64),
                confidence=evidence_confidence(
                    snapshot.source_count[rows],
                    np.full(len(rows), 1.0),
                    0.5,
                    np.nan_to_num(red_s, nan=1.0) / _DEEP_RED_S,
                ),
                onset_ms=violation_ms[rows],
                match_x_m=nowhere,
                match_y_m=nowhere,
                details={"speed_mps": speed[rows], "red_s": red_s},
            )
        ]


def _red_for(light: SignalLight | None, time_ms: int, grace_ms: int) -> bool:
    """Steady red at ``time_ms`` that began at least ``grace_ms`` earlier (or before we looked)."""
    if light is None or not light.is_red:
        return False
    return light.since_ms is None or time_ms - light.since_ms >= grace_ms
