"""Live dynamic map snapshot queries."""

from __future__ import annotations

import numpy as np

from roadcloud.fusion import LdmSnapshot


def snapshot(*, lanes: bool) -> LdmSnapshot:
    count = 4
    return LdmSnapshot(
        time_ms=1_000,
        track_id=np.array([11, 12, 13, 14], dtype=np.int64),
        x_m=np.array([0.0, 10.0, 20.0, 100.0]),
        y_m=np.array([0.0, 0.0, 5.0, 100.0]),
        vx_mps=np.ones(count),
        vy_mps=np.zeros(count),
        speed_mps=np.ones(count),
        heading_deg=np.full(count, 90.0),
        length_m=np.full(count, 4.5),
        width_m=np.full(count, 1.8),
        kind=np.ones(count, dtype=np.int64),
        position_cov_m2=np.broadcast_to(np.eye(2), (count, 2, 2)).copy(),
        lane_id=np.array(["a_0", "a_0", "b_0", "a_0"], dtype=object) if lanes else None,
        s_m=np.array([30.0, 40.0, 5.0, 10.0]) if lanes else np.full(count, np.nan),
        source_count=np.ones(count, dtype=np.int64),
    )


def test_area_and_radius_queries() -> None:
    ldm = snapshot(lanes=False)
    assert ldm.in_area(-1.0, -1.0, 20.0, 5.0).tolist() == [0, 1, 2]
    assert ldm.around(12.0, 0.0, 10.0).tolist() == [1, 2]  # 2 m and 9.43 m away, nearest first; 0 is 12 m
    assert ldm.around(1000.0, 0.0, 5.0).tolist() == []
    assert ldm.index_of(13) == 2 and ldm.index_of(99) is None


def test_lane_query_orders_along_the_lane_and_needs_lane_matching() -> None:
    ldm = snapshot(lanes=True)
    assert ldm.on_lane("a_0").tolist() == [3, 0, 1]
    assert ldm.on_lane("zz").tolist() == []
    assert snapshot(lanes=False).on_lane("a_0").tolist() == []


def test_take_gives_a_sub_snapshot_at_the_same_time() -> None:
    ldm = snapshot(lanes=True)
    sub = ldm.take(ldm.in_area(-1.0, -1.0, 20.0, 5.0))
    assert len(sub) == 3 and sub.time_ms == 1_000 and sub.lane_id is not None
    assert sub.track_id.tolist() == [11, 12, 13]
    assert len(LdmSnapshot.empty(5)) == 0
