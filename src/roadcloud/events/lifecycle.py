"""Event life cycle: from each snapshot's evidence rows to events that start, update and end once.

    Candidates (per type, per snapshot) ──process──▶ live events ──▶ STARTED / UPDATED publications
                                          release ──▶ ENDED once unsupported for the release time

Evidence joins a live event of its type when its key is already the event's (the same track, pair or
road) or, failing that, when it lies within ``merge_distance_m`` of the event (a track that lost its id
and came back under a new one; a duplicate track of the same object). A wrong-way driver lost in a
coverage gap is held for ``wrong_way_release_s``, and its confirmed track found again within
``wrong_way_rejoin_m`` on a lane of the same direction continues the event: one run, one event. Only
*confirmed* evidence may start an event; unconfirmed evidence can only keep one alive. An event
publishes UPDATED when its location, extent, severity or tracks change materially, at most once per
``update_min_interval_s``, and at least every ``refresh_s``. Ids are ``ev-<type>-<n>``, numbered per
type from 1, never reused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import msgspec
import numpy as np
from numpy.typing import NDArray

from roadcloud.events.candidates import Candidates
from roadcloud.events.config import EventConfig
from roadcloud.events.lanes import LaneTable
from roadcloud.events.model import EventPhase, EventType, RoadEvent

IntArray = NDArray[np.int64]

#: at most this many track ids are listed on one event
MAX_TRACK_IDS = 32
#: lanes within this angle of each other run the same way (a straight road through a junction)
_SAME_DIRECTION_DEG = 45.0


@dataclass(slots=True)
class _Live:
    event_id: str
    keys: set[int]
    track_ids: list[int]
    last_support_ms: int
    match_x_m: float
    match_y_m: float
    state: RoadEvent
    published: RoadEvent
    published_ms: int
    new_tracks: bool = False


class EventBook:
    """The live events of every type, and the publications their changes produce."""

    def __init__(self, lanes: LaneTable, config: EventConfig) -> None:
        self._lanes = lanes
        self._config = config
        self._live: dict[EventType, list[_Live]] = {event_type: [] for event_type in EventType}
        self._counter: dict[EventType, int] = dict.fromkeys(EventType, 0)

    @property
    def active(self) -> list[RoadEvent]:
        """Current state of every live event, oldest first per type."""
        return [live.state for lives in self._live.values() for live in lives]

    def active_keys(self) -> dict[EventType, IntArray]:
        """Per type, the evidence keys (track ids, pair keys, roads) of live events."""
        return {
            event_type: np.fromiter((key for live in lives for key in live.keys), dtype=np.int64)
            for event_type, lives in self._live.items()
            if lives
        }

    def process(self, candidates: Candidates, now_ms: int) -> list[RoadEvent]:
        """Fold one type's evidence of this snapshot into its live events; STARTED and UPDATED out."""
        event_type = candidates.event_type
        lives = self._live[event_type]
        for live in lives:
            live.new_tracks = False
        if len(candidates) == 0:
            return []
        owner = self._match(candidates, lives)
        if event_type == EventType.WRONG_WAY:
            self._rejoin(candidates, lives, owner, now_ms)
        published: list[RoadEvent] = []
        # Per live event, the best of its evidence rows: its own key first, then the most confident.
        best: dict[int, int] = {}
        for row in np.flatnonzero(owner >= 0).tolist():
            index = int(owner[row])
            current = best.get(index)
            if current is None or self._better(candidates, lives[index], row, current):
                best[index] = row
            lives[index].keys.add(int(candidates.key[row]))
        for index, row in best.items():
            update = self._refresh(lives[index], candidates, row, now_ms)
            if update is not None:
                published.append(update)
        # Unmatched confirmed rows start events; rows close to one started this snapshot join it.
        starters = np.flatnonzero((owner < 0) & candidates.confirmed)
        if len(starters):
            starters = starters[np.argsort(-candidates.confidence[starters], kind="stable")]
            fresh: list[_Live] = []
            for row in starters.tolist():
                joined = self._nearest(candidates, row, fresh)
                if joined is not None:
                    joined.keys.add(int(candidates.key[row]))
                    continue
                live = self._start(candidates, row, now_ms)
                fresh.append(live)
                lives.append(live)
                published.append(live.state)
        return published

    def release(self, now_ms: int) -> list[RoadEvent]:
        """End events that no evidence has supported for their release time; ENDED out."""
        ended: list[RoadEvent] = []
        for event_type, lives in self._live.items():
            release_s = {
                EventType.CONGESTION: self._config.congestion_release_s,
                EventType.SPEEDING: self._config.speeding_release_s,
                EventType.WRONG_WAY: self._config.wrong_way_release_s,
            }.get(event_type, self._config.release_s)
            release_ms = round(release_s * 1000)
            keep: list[_Live] = []
            for live in lives:
                if now_ms - live.last_support_ms >= release_ms:
                    final = msgspec.structs.replace(
                        live.state, phase=EventPhase.ENDED, update_ms=now_ms, end_ms=live.last_support_ms
                    )
                    ended.append(final)
                else:
                    keep.append(live)
            self._live[event_type] = keep
        return ended

    # --- internals ----------------------------------------------------------------------------------

    def _match(self, candidates: Candidates, lives: list[_Live]) -> IntArray:
        """Index of the live event each row belongs to, -1 for none."""
        owner = np.full(len(candidates), -1, dtype=np.int64)
        if not lives:
            return owner
        key_owner = {key: index for index, live in enumerate(lives) for key in live.keys}
        keys = np.fromiter(key_owner, dtype=np.int64, count=len(key_owner))
        known = np.flatnonzero(np.isin(candidates.key, keys))
        for row in known.tolist():
            owner[row] = key_owner[int(candidates.key[row])]
        rest = np.flatnonzero(owner < 0)
        if len(rest):
            live_x = np.array([live.match_x_m for live in lives])
            live_y = np.array([live.match_y_m for live in lives])
            distance = np.hypot(
                candidates.match_x[rest, None] - live_x[None, :],
                candidates.match_y[rest, None] - live_y[None, :],
            )
            distance = np.where(np.isnan(distance), np.inf, distance)
            nearest = np.argmin(distance, axis=1)
            close = distance[np.arange(len(rest)), nearest] <= self._config.merge_distance_m
            owner[rest[close]] = nearest[close]
        return owner

    def _rejoin(self, candidates: Candidates, lives: list[_Live], owner: IntArray, now_ms: int) -> None:
        """Give confirmed rows left without an event to the nearest live event that lost its track (no
        support beyond the gap tolerance) within ``wrong_way_rejoin_m``, on a lane heading the same way."""
        rows = np.flatnonzero((owner < 0) & candidates.confirmed & (candidates.lane >= 0))
        tolerance_ms = round(self._config.gap_tolerance_s * 1000)
        lost = [
            index
            for index, live in enumerate(lives)
            if now_ms - live.last_support_ms > tolerance_ms and live.state.lane_id is not None
        ]
        if len(rows) == 0 or not lost:
            return
        lost_lane = np.array([self._lanes.index[lives[index].state.lane_id] for index in lost])
        lost_s = np.array([lives[index].state.s_m for index in lost])
        _, _, lost_heading = self._lanes.centre(lost_lane, lost_s)
        _, _, row_heading = self._lanes.centre(candidates.lane[rows], candidates.s_m[rows])
        lost_x = np.array([lives[index].match_x_m for index in lost])
        lost_y = np.array([lives[index].match_y_m for index in lost])
        distance = np.hypot(
            candidates.match_x[rows, None] - lost_x[None, :], candidates.match_y[rows, None] - lost_y[None, :]
        )
        turn = np.abs(180.0 - np.mod(180.0 - (row_heading[:, None] - lost_heading[None, :]), 360.0))
        distance = np.where(
            (turn <= _SAME_DIRECTION_DEG) & (distance <= self._config.wrong_way_rejoin_m), distance, np.inf
        )
        nearest = np.argmin(distance, axis=1)
        found = np.isfinite(distance[np.arange(len(rows)), nearest])
        owner[rows[found]] = np.array(lost, dtype=np.int64)[nearest[found]]

    def _nearest(self, candidates: Candidates, row: int, lives: list[_Live]) -> _Live | None:
        x, y = float(candidates.match_x[row]), float(candidates.match_y[row])
        best, best_m = None, self._config.merge_distance_m
        for live in lives:
            distance_m = math.hypot(x - live.match_x_m, y - live.match_y_m)
            if distance_m <= best_m:  # NaN compares False: never merged by distance
                best, best_m = live, distance_m
        return best

    @staticmethod
    def _better(candidates: Candidates, live: _Live, row: int, current: int) -> bool:
        own_row = int(candidates.key[row]) in live.keys
        own_current = int(candidates.key[current]) in live.keys
        if own_row != own_current:
            return own_row
        return bool(candidates.confidence[row] > candidates.confidence[current])

    def _start(self, candidates: Candidates, row: int, now_ms: int) -> _Live:
        event_type = candidates.event_type
        self._counter[event_type] += 1
        event_id = f"ev-{event_type.value}-{self._counter[event_type]}"
        track_ids = self._members(candidates, row)
        state = self._event(
            candidates,
            row,
            event_id=event_id,
            phase=EventPhase.STARTED,
            start_ms=int(candidates.onset_ms[row]),
            now_ms=now_ms,
            track_ids=track_ids,
        )
        return _Live(
            event_id=event_id,
            keys={int(candidates.key[row])},
            track_ids=track_ids,
            last_support_ms=now_ms,
            match_x_m=float(candidates.match_x[row]),
            match_y_m=float(candidates.match_y[row]),
            state=state,
            published=state,
            published_ms=now_ms,
        )

    def _refresh(self, live: _Live, candidates: Candidates, row: int, now_ms: int) -> RoadEvent | None:
        """Take the row as the event's current state; an UPDATED publication if that is news."""
        live.last_support_ms = now_ms
        live.match_x_m = float(candidates.match_x[row])
        live.match_y_m = float(candidates.match_y[row])
        members = self._members(candidates, row)
        if candidates.members is None:  # per-track evidence: every track that carried the event
            merged = list(dict.fromkeys([*live.track_ids, *members]))[:MAX_TRACK_IDS]
        else:  # pairs and queues: the tracks involved now
            merged = members
        live.new_tracks = bool(set(merged) - set(live.published.track_ids))
        live.track_ids = merged
        live.state = self._event(
            candidates,
            row,
            event_id=live.event_id,
            phase=EventPhase.UPDATED,
            start_ms=live.state.start_ms,
            now_ms=now_ms,
            track_ids=merged,
        )
        if not self._newsworthy(live, now_ms):
            return None
        live.published = live.state
        live.published_ms = now_ms
        return live.state

    def _newsworthy(self, live: _Live, now_ms: int) -> bool:
        config = self._config
        since_ms = now_ms - live.published_ms
        if since_ms >= round(config.refresh_s * 1000):
            return True
        if since_ms < round(config.update_min_interval_s * 1000):
            return False
        state, last = live.state, live.published
        moved_m = math.hypot(state.x_m - last.x_m, state.y_m - last.y_m)
        return (
            state.severity != last.severity
            or moved_m >= config.update_move_m
            or abs(state.extent_m - last.extent_m) >= config.update_move_m
            or (state.lane_id != last.lane_id and moved_m >= config.update_move_m / 2)
            or live.new_tracks
        )

    @staticmethod
    def _members(candidates: Candidates, row: int) -> list[int]:
        if candidates.members is None:
            return [int(candidates.key[row])]
        return [int(member) for member in candidates.members[row][:MAX_TRACK_IDS]]

    def _event(
        self,
        candidates: Candidates,
        row: int,
        *,
        event_id: str,
        phase: EventPhase,
        start_ms: int,
        now_ms: int,
        track_ids: list[int],
    ) -> RoadEvent:
        lane = int(candidates.lane[row])
        s_m = float(candidates.s_m[row])
        details = {
            name: float(values[row])
            for name, values in candidates.details.items()
            if math.isfinite(float(values[row]))
        }
        extent = 0.0 if candidates.extent_m is None else float(candidates.extent_m[row])
        return RoadEvent(
            event_id=event_id,
            event_type=candidates.event_type,
            phase=phase,
            lane_id=self._lanes.ids[lane] if lane >= 0 else None,
            s_m=round(s_m, 2) if lane >= 0 and math.isfinite(s_m) else 0.0,
            x_m=round(float(candidates.x_m[row]), 2),
            y_m=round(float(candidates.y_m[row]), 2),
            severity=int(np.clip(candidates.severity[row], 1, 5)),
            confidence=round(float(np.clip(candidates.confidence[row], 0.0, 1.0)), 3),
            start_ms=min(start_ms, now_ms),
            update_ms=now_ms,
            extent_m=round(extent, 1) if math.isfinite(extent) else 0.0,
            track_ids=track_ids,
            details=details,
        )
