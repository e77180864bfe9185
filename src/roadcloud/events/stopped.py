"""Stopped vehicle on a travel lane: standing for the dwell time with nothing ahead that explains it.

A motor vehicle on a carriageway lane below ``stopped_speed_mps`` is *stopped*; the dwell clock runs from
then. It is a stopped-vehicle event only if the stop is its own doing:

- the lane ahead is free for ``free_ahead_m``, and no standing or crawling vehicle has been within
  ``queue_reach_m`` ahead for ``queue_memory_s`` (otherwise it is in a queue, whose gaps can be longer
  than ``free_ahead_m`` where sensors leave coverage gaps, and the head of that queue is the one to look
  at; a queue that has since cleared away ahead no longer explains the stop), and
- it is not waiting at a stop line: within ``stop_line_zone_m`` of the lane's end a standing vehicle is
  waiting at the junction (at red, to turn, for room on its exit), whatever the light.

Once an event runs on a track, the track keeps it alive while it stays stopped, even when traffic queues
up around it at the next red.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from roadcloud.events.base import Context
from roadcloud.events.candidates import Candidates, evidence_confidence
from roadcloud.events.memory import held_ms, hold_timer
from roadcloud.events.model import EventType

#: roads at or above this limit (70 km/h) make a stopped vehicle more dangerous
_FAST_ROAD_MPS = 19.4


class StoppedVehicleDetector:
    columns: Mapping[str, int | float] = {
        "stop_onset_ms": -1,
        "stop_last_ms": -1,
        "clear_onset_ms": -1,
        "clear_last_ms": -1,
        "queued_last_ms": -1,
    }

    def detect(self, context: Context) -> list[Candidates]:
        frame, config, now = context.frame, context.config, context.now_ms
        snapshot = frame.snapshot
        recalled = context.recalled
        stopped = frame.motor & frame.on_carriageway_lane & (snapshot.speed_mps < config.stopped_speed_mps)
        stop_onset, stop_last = hold_timer(
            stopped, recalled["stop_onset_ms"], recalled["stop_last_ms"], now, context.tolerance_ms
        )
        # In a queue: a standing or crawling road user close ahead, seen in the last queue_memory_s.
        leader = np.maximum(frame.leader, 0)
        queued_now = (
            stopped
            & (frame.leader >= 0)
            & (frame.gap_ahead_m < config.queue_reach_m)
            & (snapshot.speed_mps[leader] < config.queue_speed_mps)
        )
        queued_last = np.where(queued_now, now, recalled["queued_last_ms"]).astype(np.int64)
        queue_memory_ms = round(config.queue_memory_s * 1000)
        queued = (stop_onset >= 0) & (queued_last >= stop_onset) & (now - queued_last <= queue_memory_ms)
        near_end = np.nan_to_num(frame.to_end_m, nan=np.inf) < config.stop_line_zone_m
        clear = stopped & (frame.gap_ahead_m >= config.free_ahead_m) & ~queued & ~near_end
        clear_onset, clear_last = hold_timer(
            clear, recalled["clear_onset_ms"], recalled["clear_last_ms"], now, context.tolerance_ms
        )
        context.stored.update(
            stop_onset_ms=stop_onset,
            stop_last_ms=stop_last,
            clear_onset_ms=clear_onset,
            clear_last_ms=clear_last,
            queued_last_ms=queued_last,
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
