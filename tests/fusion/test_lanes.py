"""Snapshot lanes: a track is matched again only when it moved since its last match."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from roadcloud.fusion import LdmSnapshot
from roadcloud.fusion.lanes import REMATCH_M, SnapshotLanes
from roadcloud.map import LaneMatch


class CountingMatcher:
    """Lane "L<k>" for x in [10 k, 10 k + 10), s = x - 10 k; remembers how many points it matched."""

    def __init__(self) -> None:
        self.points = 0

    def match(self, x_m: np.ndarray, y_m: np.ndarray, heading_deg: np.ndarray | None = None) -> LaneMatch:
        self.points += len(x_m)
        lane = np.floor(x_m / 10.0).astype(np.int64)
        nan = np.full(len(x_m), np.nan)
        table = tuple(f"L{k}" for k in range(100))
        return LaneMatch(lane, x_m - 10.0 * lane, nan, nan, nan, table)


def snapshot(track_id: list[int], x_m: list[float]) -> LdmSnapshot:
    count = len(track_id)
    empty = LdmSnapshot.empty(0)
    zeros = np.zeros(count)
    return replace(
        empty,
        track_id=np.array(track_id, np.int64),
        x_m=np.array(x_m),
        y_m=zeros,
        vx_mps=zeros,
        vy_mps=zeros,
        speed_mps=zeros,
        heading_deg=zeros,
        length_m=zeros,
        width_m=zeros,
        kind=np.zeros(count, np.int64),
        position_cov_m2=np.zeros((count, 2, 2)),
        s_m=np.full(count, np.nan),
        source_count=np.zeros(count, np.int64),
    )


def test_only_tracks_that_moved_are_matched_again() -> None:
    matcher = CountingMatcher()
    lanes = SnapshotLanes(matcher)
    first = lanes.apply(snapshot([7, 3], [12.0, 45.0]))
    assert first.lane_id is not None and first.lane_id.tolist() == ["L1", "L4"]
    assert first.s_m.tolist() == [2.0, 5.0] and matcher.points == 2
    # 3 creeps less than REMATCH_M (keeps its match), 7 moves on (matched again), 9 is new
    second = lanes.apply(snapshot([9, 3, 7], [99.0, 45.0 + REMATCH_M / 2, 19.5]))
    assert second.lane_id is not None and second.lane_id.tolist() == ["L9", "L4", "L1"]
    assert second.s_m.tolist() == [9.0, 5.0, 9.5] and matcher.points == 4
    # creeping on: measured from where it was last matched, so it is matched once the sum passes the bound
    third = lanes.apply(snapshot([3], [45.0 + 1.5 * REMATCH_M]))
    assert abs(third.s_m[0] - (5.0 + 1.5 * REMATCH_M)) < 1e-9 and matcher.points == 5
    assert lanes.apply(snapshot([], [])).lane_id is None
