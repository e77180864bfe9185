"""Lanes of the live dynamic map: each snapshot's tracks matched to the map's lanes (``lane_id``, ``s_m``).

Where it sits: the last step of ``engine.FusionEngine.snapshot``, when the engine was given a lane matcher
(``roadcloud.map.LaneMatcher``). Matching every track every 100 ms is a large share of a tick at zone
scale (22 ms for 40,000 tracks on the default zone), while many tracks have not moved since the last
snapshot: queues at signals, parked vehicles, waiting pedestrians. ``SnapshotLanes`` matches a track
again only when it moved more than ``REMATCH_M`` since it was last matched; otherwise it keeps that
match, whose ``s_m`` is then off by at most ``REMATCH_M``, less than a roadside unit's position noise.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.map import LaneMatch

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

REMATCH_M = 0.2
"""A track that moved less than this since its last lane match keeps it."""


class LaneMatching(Protocol):
    """What the engine needs of ``roadcloud.map.LaneMatcher``."""

    def match(self, x_m: FloatArray, y_m: FloatArray, heading_deg: FloatArray | None = None) -> LaneMatch: ...


class SnapshotLanes:
    """Fills ``lane_id`` and ``s_m`` of snapshots, matching only the tracks that moved."""

    def __init__(self, matcher: LaneMatching) -> None:
        self.matcher = matcher
        # per track id (sorted): where it was when last matched, and that match
        self._ids: IntArray = np.empty(0, np.int64)
        self._x_m: FloatArray = np.empty(0)
        self._y_m: FloatArray = np.empty(0)
        self._lane_id: NDArray[np.object_] = np.empty(0, dtype=object)
        self._s_m: FloatArray = np.empty(0)
        self.matched = 0
        self.kept = 0

    def apply(self, snapshot: LdmSnapshot) -> LdmSnapshot:
        count = len(snapshot)
        if count == 0:
            return snapshot
        x_m, y_m = snapshot.x_m, snapshot.y_m
        moved = np.ones(count, np.bool_)
        at = np.zeros(count, np.int64)
        if len(self._ids):
            at = np.minimum(np.searchsorted(self._ids, snapshot.track_id), len(self._ids) - 1)
            known = self._ids[at] == snapshot.track_id
            distance2 = (x_m - self._x_m[at]) ** 2 + (y_m - self._y_m[at]) ** 2
            moved = ~known | (distance2 > REMATCH_M**2)
        lane_id = np.empty(count, dtype=object)
        s_m = np.empty(count)
        anchor_x, anchor_y = x_m.copy(), y_m.copy()
        kept = ~moved
        if kept.any():
            lane_id[kept], s_m[kept] = self._lane_id[at[kept]], self._s_m[at[kept]]
            anchor_x[kept], anchor_y[kept] = self._x_m[at[kept]], self._y_m[at[kept]]
        if moved.any():
            match = self.matcher.match(x_m[moved], y_m[moved], snapshot.heading_deg[moved])
            lane_id[moved], s_m[moved] = match.lane_ids, match.s_m
        self.matched += int(moved.sum())
        self.kept += int(kept.sum())
        order = np.argsort(snapshot.track_id)
        self._ids = snapshot.track_id[order]
        self._x_m, self._y_m = anchor_x[order], anchor_y[order]
        self._lane_id, self._s_m = lane_id[order], s_m[order]
        return replace(snapshot, lane_id=lane_id, s_m=s_m)
