"""Wrong-way driving: a moving vehicle heading against the lane it is on, sustained over time and distance.

The LDM's heading-aware match would put a wrong-way driver on a two-way road onto the nearest lane of
*its* direction, one lane over; ``Frame`` has already matched such tracks again on position, so the lane
here is the one the vehicle is on. A moving vehicle inside a carriageway lane whose direction is at least
``wrong_way_heading_deg`` off its own heading is driving the wrong way. It must keep doing so for
``wrong_way_confirm_s`` and ``wrong_way_min_distance_m``, which overtaking on an undivided road or a
noisy heading at walking pace does not.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from roadcloud.events.base import Context
from roadcloud.events.candidates import Candidates, evidence_confidence
from roadcloud.events.memory import held_ms, hold_timer
from roadcloud.events.model import EventType

#: how far outside the lane's half width still counts as on it (fused positions scatter ~0.15 m)
_LANE_SLACK_M = 0.3
#: longest snapshot interval credited to the wrong-way distance (a gap in the LDM is not distance seen)
_MAX_STEP_MS = 500


class WrongWayDetector:
    columns: Mapping[str, int | float] = {"wrong_onset_ms": -1, "wrong_last_ms": -1, "wrong_distance_m": 0.0}

    def detect(self, context: Context) -> list[Candidates]:
        frame, config, now = context.frame, context.config, context.now_ms
        snapshot, lanes = frame.snapshot, context.lanes
        speed = snapshot.speed_mps
        safe = np.maximum(frame.lane, 0)
        error_deg = np.abs(np.nan_to_num(frame.heading_error_deg))
        wrong = (
            frame.motor
            & (speed >= config.wrong_way_min_speed_mps)
            & frame.on_carriageway_lane
            & (frame.offset_m <= lanes.width_m[safe] / 2 + _LANE_SLACK_M)
            & (error_deg >= config.wrong_way_heading_deg)
        )
        recalled = context.recalled
        onset, last = hold_timer(
            wrong, recalled["wrong_onset_ms"], recalled["wrong_last_ms"], now, context.tolerance_ms
        )
        step_s = min(context.dt_ms, _MAX_STEP_MS) / 1000.0
        same_run = (onset >= 0) & (onset == recalled["wrong_onset_ms"])
        distance = np.where(same_run, recalled["wrong_distance_m"], 0.0) + np.where(
            wrong, speed * step_s, 0.0
        )
        context.stored.update(wrong_onset_ms=onset, wrong_last_ms=last, wrong_distance_m=distance)
        duration_ms = held_ms(wrong, onset, now)
        confirmed = (
            wrong
            & frame.observed
            & (duration_ms >= round(config.wrong_way_confirm_s * 1000))
            & (distance >= config.wrong_way_min_distance_m)
        )
        rows = np.flatnonzero(wrong)
        return [
            Candidates.of_tracks(
                EventType.WRONG_WAY,
                snapshot,
                rows,
                confirmed=confirmed[rows],
                lane=frame.lane[rows],
                s_m=frame.s_m[rows],
                severity=np.full(len(rows), 5, dtype=np.int64),
                confidence=evidence_confidence(
                    snapshot.source_count[rows],
                    duration_ms[rows] / 1000.0,
                    config.wrong_way_confirm_s,
                    (error_deg[rows] - config.wrong_way_heading_deg)
                    / max(180.0 - config.wrong_way_heading_deg, 1.0),
                ),
                onset_ms=onset[rows],
                details={
                    "speed_mps": speed[rows],
                    "distance_m": distance[rows],
                    "heading_error_deg": error_deg[rows],
                },
            )
        ]
