"""Stopped vehicle on a travel lane: standing for the dwell time with nothing ahead that explains it.

A motor vehicle on a carriageway lane below ``stopped_speed_mps`` is *stopped*; the dwell clock runs from
then. It is a stopped-vehicle event only if the stop is its own doing:

- the lane ahead is free for ``free_ahead_m`` (otherwise it is in a queue, and the head of that queue is
  the one to look at), and
- it is not waiting at a stop line: within ``stop_line_zone_m`` of the lane end only a vehicle standing
  at a protected green on every movement of its lane, with the way through the junction clear, counts
  (at red, at a permissive green where turns yield, or at a junction without signals, waiting is normal).

Once an event runs on a track, the track keeps it alive while it stays stopped, even when traffic queues
up around it at the next red.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from roadcloud.events.base import Context
from roadcloud.events.candidates import Candidates, evidence_confidence
from roadcloud.events.frame import Frame
from roadcloud.events.lanes import LaneTable
from roadcloud.events.memory import held_ms, hold_timer
from roadcloud.events.model import EventType
from roadcloud.messages import LightState

#: a destination lane with a slow vehicle this close to its start blocks the junction exit
_EXIT_BLOCKED_M = 30.0
#: roads at or above this limit (70 km/h) make a stopped vehicle more dangerous
_FAST_ROAD_MPS = 19.4


class StoppedVehicleDetector:
    columns: Mapping[str, int | float] = {
        "stop_onset_ms": -1,
        "stop_last_ms": -1,
        "clear_onset_ms": -1,
        "clear_last_ms": -1,
    }

    def detect(self, context: Context) -> list[Candidates]:
        frame, config, now = context.frame, context.config, context.now_ms
        snapshot = frame.snapshot
        recalled = context.recalled
        stopped = frame.motor & frame.on_carriageway_lane & (snapshot.speed_mps < config.stopped_speed_mps)
        stop_onset, stop_last = hold_timer(
            stopped, recalled["stop_onset_ms"], recalled["stop_last_ms"], now, context.tolerance_ms
        )
        free = stopped & (frame.gap_ahead_m >= config.free_ahead_m)
        near_end = frame.to_end_m < config.stop_line_zone_m
        clear = free & ~near_end
        at_line = np.flatnonzero(free & near_end)
        if len(at_line):
            clear[at_line] = _free_at_green(context, frame, at_line)
        clear_onset, clear_last = hold_timer(
            clear, recalled["clear_onset_ms"], recalled["clear_last_ms"], now, context.tolerance_ms
        )
        context.stored.update(
            stop_onset_ms=stop_onset,
            stop_last_ms=stop_last,
            clear_onset_ms=clear_onset,
            clear_last_ms=clear_last,
        )
        dwell_ms = held_ms(stopped, stop_onset, now)
        clear_ms = held_ms(clear, clear_onset, now)
        dwell_needed_ms = round(config.stopped_dwell_s * 1000)
        clear_needed_ms = round(min(config.stopped_dwell_s, config.stopped_clear_s) * 1000)
        confirmed = clear & frame.observed & (dwell_ms >= dwell_needed_ms) & (clear_ms >= clear_needed_ms)
        sticky = stopped & np.isin(snapshot.track_id, context.active(EventType.STOPPED_VEHICLE))
        rows = np.flatnonzero(clear | sticky)
        lane = frame.lane[rows]
        limit = context.lanes.speed_limit_mps[lane]
        speed = snapshot.speed_mps[rows]
        return [
            Candidates.of_tracks(
                EventType.STOPPED_VEHICLE,
                snapshot,
                rows,
                confirmed=confirmed[rows],
                lane=lane,
                s_m=frame.s_m[rows],
                severity=np.where(limit >= _FAST_ROAD_MPS, 4, 3).astype(np.int64),
                confidence=evidence_confidence(
                    snapshot.source_count[rows],
                    dwell_ms[rows] / 1000.0,
                    config.stopped_dwell_s,
                    1.0 - speed / config.stopped_speed_mps,
                ),
                onset_ms=stop_onset[rows],
                details={"dwell_s": dwell_ms[rows] / 1000.0, "speed_mps": speed},
            )
        ]


def _free_at_green(context: Context, frame: Frame, rows: NDArray[np.int64]) -> NDArray[np.bool_]:
    """For vehicles standing at a stop line: protected green and the way through the junction clear?

    Every movement of the lane must have right of way (a permissive green, where turns yield to
    oncoming traffic or to pedestrians on the crossing, is a good reason to stand), nobody slow on its
    path through the junction and its exit clear: a vehicle waiting behind left-turners, or for room on
    a jammed exit, stands at green for good reason. So does anyone at a junction without signals.
    """
    lanes: LaneTable = context.lanes
    snapshot = frame.snapshot
    slow = (
        (frame.motor | frame.cyclist)
        & (frame.lane >= 0)
        & (snapshot.speed_mps < context.config.queue_speed_mps)
    )
    first_slow_s = np.full(len(lanes.ids), np.inf)
    np.minimum.at(first_slow_s, frame.lane[slow], frame.s_m[slow])
    via, exit_lane = lanes.movement_via, lanes.movement_to
    blocked = ((via >= 0) & np.isfinite(first_slow_s[np.maximum(via, 0)])) | (
        (exit_lane >= 0) & (first_slow_s[np.maximum(exit_lane, 0)] < _EXIT_BLOCKED_M)
    )
    go = (context.lights.movement_codes == LightState.PROTECTED_GREEN) & ~blocked
    stands_for_reason = np.bincount(lanes.movement_from, weights=~go, minlength=len(lanes.ids)) > 0
    lane = frame.lane[rows]
    free: NDArray[np.bool_] = lanes.signalised[lane] & ~stands_for_reason[lane]
    return free
