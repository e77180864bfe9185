"""Pedestrian or cyclist on the carriageway: on a lane of motor traffic that does not admit them, away
from crossings.

``Frame`` gives the lane each person physically lies on (the LDM's heading-aware match would put a
pedestrian walking against a sidewalk's direction onto the car lane beside it). One is on the carriageway
when it lies inside a normal lane that motor traffic uses and that does not allow its class (a cyclist on
a lane open to bicycles is where it should be), at least ``vru_lane_inset_m`` inside the lane edge, and
not on or within ``crossing_clearance_m`` of a crossing or walking area, for ``vru_confirm_s``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from roadcloud.events.base import Context
from roadcloud.events.candidates import Candidates, evidence_confidence
from roadcloud.events.memory import held_ms, hold_timer
from roadcloud.events.model import EventType

#: on roads faster than this (50 km/h) a person on the lane is in danger of life
_FAST_ROAD_MPS = 13.9


class VulnerableUserDetector:
    columns: Mapping[str, int | float] = {"vru_onset_ms": -1, "vru_last_ms": -1}

    def detect(self, context: Context) -> list[Candidates]:
        frame, config, now = context.frame, context.config, context.now_ms
        snapshot, lanes = frame.snapshot, context.lanes
        safe = np.maximum(frame.lane, 0)
        allowed = np.where(frame.pedestrian, lanes.allows_pedestrian[safe], lanes.allows_bicycle[safe])
        on_road = (
            (frame.pedestrian | frame.cyclist)
            & frame.on_carriageway_lane
            & ~allowed
            & (frame.offset_m <= lanes.width_m[safe] / 2 - config.vru_lane_inset_m)
        )
        picked = np.flatnonzero(on_road)
        if len(picked):
            # The polygon test is the expensive one: only for those already on a forbidden lane.
            on_road[picked] = ~lanes.near_walking_area(snapshot.x_m[picked], snapshot.y_m[picked])
        recalled = context.recalled
        onset, last = hold_timer(
            on_road, recalled["vru_onset_ms"], recalled["vru_last_ms"], now, context.tolerance_ms
        )
        context.stored.update(vru_onset_ms=onset, vru_last_ms=last)
        duration_ms = held_ms(on_road, onset, now)
        confirmed = on_road & frame.observed & (duration_ms >= round(config.vru_confirm_s * 1000))
        rows = np.flatnonzero(on_road)
        lane = frame.lane[rows]
        limit = lanes.speed_limit_mps[lane]
        return [
            Candidates.of_tracks(
                EventType.VULNERABLE_USER_ON_CARRIAGEWAY,
                snapshot,
                rows,
                confirmed=confirmed[rows],
                lane=lane,
                s_m=frame.s_m[rows],
                severity=np.where(limit > _FAST_ROAD_MPS, 5, 4).astype(np.int64),
                confidence=evidence_confidence(
                    snapshot.source_count[rows],
                    duration_ms[rows] / 1000.0,
                    config.vru_confirm_s,
                    np.ones(len(rows)),
                ),
                onset_ms=onset[rows],
                details={"speed_mps": snapshot.speed_mps[rows], "limit_mps": limit},
            )
        ]
