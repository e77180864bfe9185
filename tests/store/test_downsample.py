"""``TrackDownsampler``: one stored position per track per period, from 10 Hz snapshots."""

from __future__ import annotations

import numpy as np
import pytest

from roadcloud.errors import SettingError
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.store import TrackDownsampler

from .factories import T0_MS, snapshot


def _stored(downsampler: TrackDownsampler, snapshots: list[LdmSnapshot]) -> list[tuple[int, int]]:
    """(seconds after T0 × 10, track id) of every kept row."""
    kept = []
    for item in snapshots:
        reduced = downsampler.reduce(item)
        kept += [((item.time_ms - T0_MS) // 100, int(track)) for track in reduced.track_id]
    return kept


def test_ten_hertz_becomes_one_hertz_per_track_and_new_tracks_are_stored_at_once() -> None:
    downsampler = TrackDownsampler(1_000)
    frames = [snapshot(T0_MS + tick * 100, [1, 2] if tick < 5 else [1, 2, 3]) for tick in range(25)]
    stored = _stored(downsampler, frames)
    assert stored == [(0, 1), (0, 2), (5, 3), (10, 1), (10, 2), (10, 3), (20, 1), (20, 2), (20, 3)]


def test_a_skipped_tick_still_stores_each_track_once_in_its_window() -> None:
    downsampler = TrackDownsampler(1_000)
    ticks = [0, 3, 9, 11, 12, 27]  # the window starts at 10 and 20 were never fused
    stored = _stored(downsampler, [snapshot(T0_MS + tick * 100, [4]) for tick in ticks])
    assert stored == [(0, 4), (11, 4), (27, 4)]


def test_reduce_returns_the_rows_of_the_input_unchanged() -> None:
    frame = snapshot(
        T0_MS + 100, [5, 6, 7], x_m=[1.0, 2.0, 3.0], lane_ids=["a", None, "c"], s_m=[1.0, np.nan, 3.0]
    )
    downsampler = TrackDownsampler(1_000)
    downsampler.reduce(snapshot(T0_MS, [6]))  # 6 is already stored in this window
    reduced = downsampler.reduce(frame)
    assert reduced.track_id.tolist() == [5, 7]
    assert reduced.x_m.tolist() == [1.0, 3.0]
    assert reduced.lane_id is not None and reduced.lane_id.tolist() == ["a", "c"]
    assert frame.track_id.tolist() == [5, 6, 7]  # input untouched


def test_vanished_tracks_are_forgotten_and_a_replay_from_earlier_is_stored() -> None:
    downsampler = TrackDownsampler(1_000, forget_after_ms=5_000)
    downsampler.reduce(snapshot(T0_MS, [1, 2, 3]))
    downsampler.reduce(snapshot(T0_MS + 10_000, [3]))
    assert len(downsampler) == 1  # 1 and 2 were not seen for 10 s
    restarted = downsampler.reduce(snapshot(T0_MS, [3]))  # a replay starts again at T0
    assert restarted.track_id.tolist() == [3]


def test_empty_snapshots_and_impossible_settings() -> None:
    downsampler = TrackDownsampler(500)
    assert len(downsampler.reduce(LdmSnapshot.empty(T0_MS))) == 0
    with pytest.raises(SettingError, match="period is 0 ms"):
        TrackDownsampler(0)
    with pytest.raises(SettingError, match="shorter than the period"):
        TrackDownsampler(1_000, forget_after_ms=10)
