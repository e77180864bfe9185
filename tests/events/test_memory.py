"""Per-track memory: condition timers that survive flicker, and state carried over a change of track id."""

from __future__ import annotations

import numpy as np

from roadcloud.events.memory import TrackMemory, held_ms, hold_timer
from roadcloud.fusion import LdmSnapshot


def test_hold_timer_keeps_its_onset_through_short_lapses() -> None:
    onset, last = np.array([-1]), np.array([-1])
    pattern = [True, True, False, True, False, False, False, True]
    seen = []
    for k, holds in enumerate(pattern):
        onset, last = hold_timer(np.array([holds]), onset, last, 1_000 + 100 * k, tolerance_ms=250)
        seen.append(int(onset[0]))
    # Seen again 200 ms after it was last seen: the same run. Unseen for 300 ms: over; then a new one.
    assert seen == [1_000, 1_000, 1_000, 1_000, 1_000, 1_000, -1, 1_700]
    assert held_ms(np.array([True]), np.array([1_700]), 2_000).tolist() == [300]


def snapshot(time_ms: int, ids: list[int], x: list[float], vx: float = 0.0) -> LdmSnapshot:
    n = len(ids)
    return LdmSnapshot(
        time_ms=time_ms,
        track_id=np.array(ids, dtype=np.int64),
        x_m=np.array(x, dtype=float),
        y_m=np.zeros(n),
        vx_mps=np.full(n, vx),
        vy_mps=np.zeros(n),
        speed_mps=np.full(n, abs(vx)),
        heading_deg=np.full(n, 90.0),
        length_m=np.full(n, 4.6),
        width_m=np.full(n, 1.8),
        kind=np.ones(n, dtype=np.int64),
        position_cov_m2=np.zeros((n, 2, 2)),
        lane_id=None,
        s_m=np.full(n, np.nan),
        source_count=np.ones(n, dtype=np.int64),
    )


def test_memory_recalls_by_id_and_hands_state_to_a_new_id_nearby() -> None:
    memory = TrackMemory({"count": 0}, handover_m=4.0)
    motor = np.array([True, True])
    first = snapshot(1_000, [10, 20], [0.0, 100.0], vx=10.0)
    assert memory.recall(first, motor)["count"].tolist() == [0, 0]
    memory.store(first, motor, {"count": np.array([5, 7])}, keep_ms=3_000)
    # Track 10 is lost; 11 appears where 10 would be after 0.5 s at 10 m/s; 30 appears far away.
    second = snapshot(1_500, [11, 20, 30], [5.5, 105.0, 300.0], vx=10.0)
    recalled = memory.recall(second, np.array([True, True, True]))
    assert recalled["count"].tolist() == [5, 7, 0]
    memory.store(second, np.array([True, True, True]), {"count": np.array([6, 8, 1])}, keep_ms=3_000)
    assert len(memory) == 3  # 10 was taken over by 11, so it is not kept as a lost track
    # A pedestrian appearing where a car was lost does not inherit the car's state.
    third = snapshot(1_600, [20, 30, 40], [106.0, 300.0, 6.5])
    recalled = memory.recall(third, np.array([True, True, False]))
    assert recalled["count"].tolist() == [8, 1, 0]
