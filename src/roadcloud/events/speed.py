"""Speeding and abnormally slow vehicles, against the limit of the lane they are on.

Speeding: more than ``speeding_margin_mps`` over the lane's limit for ``speeding_confirm_s``. Slow: under
``slow_ratio`` of the limit (but moving) for ``slow_confirm_s`` while nothing ahead on the lane explains it
(no vehicle within ``slow_free_ahead_m``) and away from the stop line, where everyone brakes and turns.
A vehicle following a moving road user no faster than itself within ``queue_reach_m`` (a cyclist, the
slow vehicle, the crawling queue ahead) is not abnormally slow, only its leader may be (a standing one,
the tail of a queue at red, explains nothing beyond ``slow_free_ahead_m``); it stays explained for
``follow_memory_s`` after the leader was last seen, since fusion loses small road users in coverage gaps.
Cyclists are not measured against motor traffic's limit. Junction-internal lanes carry turning speeds,
not limits, so neither rule applies there.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from roadcloud.events.base import Context
from roadcloud.events.candidates import Candidates, evidence_confidence
from roadcloud.events.memory import held_ms, hold_timer
from roadcloud.events.model import EventType


class SpeedDetector:
    columns: Mapping[str, int | float] = {
        "fast_onset_ms": -1,
        "fast_last_ms": -1,
        "slow_onset_ms": -1,
        "slow_last_ms": -1,
        "follow_last_ms": -1,
    }

    def detect(self, context: Context) -> list[Candidates]:
        return [self._speeding(context), self._slow(context)]

    def _speeding(self, context: Context) -> Candidates:
        frame, config, now = context.frame, context.config, context.now_ms
        snapshot = frame.snapshot
        measured = frame.motor & frame.on_carriageway_lane
        limit = context.lanes.speed_limit_mps[np.maximum(frame.lane, 0)]
        over = snapshot.speed_mps - limit
        fast = measured & (over > config.speeding_margin_mps)
        # A running event keeps going while the vehicle stays clearly over the limit, junctions included.
        sticky = (
            frame.motor
            & (frame.lane >= 0)
            & (over > config.speeding_margin_mps / 2)
            & np.isin(snapshot.track_id, context.active(EventType.SPEEDING))
        )
        holds = fast | sticky
        onset, last = hold_timer(
            holds,
            context.recalled["fast_onset_ms"],
            context.recalled["fast_last_ms"],
            now,
            context.tolerance_ms,
        )
        context.stored.update(fast_onset_ms=onset, fast_last_ms=last)
        duration_ms = held_ms(holds, onset, now)
        confirmed = fast & frame.observed & (duration_ms >= round(config.speeding_confirm_s * 1000))
        rows = np.flatnonzero(holds)
        ratio = over[rows] / np.maximum(limit[rows], 1.0)
        return Candidates.of_tracks(
            EventType.SPEEDING,
            snapshot,
            rows,
            confirmed=confirmed[rows],
            lane=frame.lane[rows],
            s_m=frame.s_m[rows],
            # 2: over by the margin; 3: half as fast again as allowed; 4: double the limit
            severity=(2 + (ratio >= 0.5).astype(np.int64) + (ratio >= 1.0).astype(np.int64)),
            confidence=evidence_confidence(
                snapshot.source_count[rows],
                duration_ms[rows] / 1000.0,
                config.speeding_confirm_s,
                (over[rows] - config.speeding_margin_mps) / config.speeding_margin_mps,
            ),
            onset_ms=onset[rows],
            details={"speed_mps": snapshot.speed_mps[rows], "limit_mps": limit[rows], "over_mps": over[rows]},
        )

    def _slow(self, context: Context) -> Candidates:
        frame, config, now = context.frame, context.config, context.now_ms
        snapshot = frame.snapshot
        speed = snapshot.speed_mps
        measured = frame.motor & frame.on_carriageway_lane
        limit = context.lanes.speed_limit_mps[np.maximum(frame.lane, 0)]
        threshold = config.slow_ratio * limit
        crawling = measured & (speed < threshold)
        leader = np.maximum(frame.leader, 0)
        follows_now = (
            (frame.leader >= 0)
            & (frame.gap_ahead_m < config.queue_reach_m)
            & (speed[leader] >= config.stopped_speed_mps)
            & (speed[leader] <= speed + config.follow_margin_mps)
        )
        recalled_follow = context.recalled["follow_last_ms"]
        follow_last = np.where(follows_now, now, recalled_follow).astype(np.int64)
        following = (follow_last >= 0) & (now - follow_last <= round(config.follow_memory_s * 1000))
        slow = (
            crawling
            & ~following
            & (speed >= config.stopped_speed_mps)
            & (frame.gap_ahead_m >= config.slow_free_ahead_m)
            & (frame.to_end_m >= config.approach_zone_m)
        )
        # A slow vehicle stays one event through a red light, a junction or a stretch behind others.
        sticky = (
            frame.motor
            & (frame.lane >= 0)
            & (speed < threshold)
            & np.isin(snapshot.track_id, context.active(EventType.SLOW_VEHICLE))
        )
        holds = slow | sticky
        onset, last = hold_timer(
            holds,
            context.recalled["slow_onset_ms"],
            context.recalled["slow_last_ms"],
            now,
            context.tolerance_ms,
        )
        context.stored.update(slow_onset_ms=onset, slow_last_ms=last, follow_last_ms=follow_last)
        duration_ms = held_ms(holds, onset, now)
        confirmed = slow & frame.observed & (duration_ms >= round(config.slow_confirm_s * 1000))
        rows = np.flatnonzero(holds)
        deficit = limit[rows] - speed[rows]
        return Candidates.of_tracks(
            EventType.SLOW_VEHICLE,
            snapshot,
            rows,
            confirmed=confirmed[rows],
            lane=frame.lane[rows],
            s_m=frame.s_m[rows],
            # 2: slow; 3: over 10 m/s (36 km/h) slower than the traffic it obstructs
            severity=np.where(deficit > 10.0, 3, 2).astype(np.int64),
            confidence=evidence_confidence(
                snapshot.source_count[rows],
                duration_ms[rows] / 1000.0,
                config.slow_confirm_s,
                1.0 - speed[rows] / np.maximum(threshold[rows], 0.1),
            ),
            onset_ms=onset[rows],
            details={"speed_mps": speed[rows], "limit_mps": limit[rows]},
        )
