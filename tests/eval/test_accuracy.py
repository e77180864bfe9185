"""Fusion vs. baselines on one recording: snapshot pairing, the report table, a fake and the real tracker."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from roadcloud.eval import accuracy
from roadcloud.eval.accuracy import (
    FUSION_MODULE,
    AccuracyReport,
    FusionUnavailableError,
    fusion_available,
    score_baselines,
    score_fusion,
    snapshot_frames,
)
from roadcloud.eval.metrics import TrackingScore, score_frames
from roadcloud.eval.truth import TruthFrame, truth_frames


@dataclass(frozen=True)
class FakeSnapshot:
    time_ms: int
    track_id: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    kind: np.ndarray


def perfect_snapshots(frames: list[TruthFrame]) -> Iterator[FakeSnapshot]:
    """A tracker that knows the truth: track id = actor number + 1000."""
    for frame in frames:
        yield FakeSnapshot(frame.time_ms, frame.actor_id + 1000, frame.x_m, frame.y_m, frame.kind)


def test_frames_without_a_snapshot_are_missed_and_extra_snapshots_ignored() -> None:
    truth = [
        TruthFrame(t, np.array([0]), np.array([0.0]), np.array([0.0]), np.array([1]), np.array([False]))
        for t in (100, 200, 300)
    ]
    snapshots = [
        FakeSnapshot(t, np.array([7]), np.array([0.1]), np.array([0.0]), np.array([1])) for t in (0, 100, 300)
    ]
    frames = snapshot_frames(truth, snapshots)
    assert [len(frame.track_id) for frame in frames] == [1, 0, 1]
    score = score_frames(frames)
    assert (score.misses, score.false_positives, score.frames) == (1, 0, 3)


def test_table_has_one_line_per_metric_and_na_without_fusion() -> None:
    score = TrackingScore(
        frames=10,
        truth_track_frames=100,
        matches=90,
        mota=0.8,
        idf1=0.85,
        id_switches=2,
        false_positives=8,
        misses=10,
        position_error_median_m=0.3,
        position_error_p95_m=0.7,
    )
    table = AccuracyReport("run.rcrec", 2.0, None, score, score).table()
    lines = table.splitlines()
    assert "fusion" in lines[1] and "single unit" in lines[1] and "raw union" in lines[1]
    mota = next(line for line in lines if line.startswith("MOTA"))
    assert mota.split() == ["MOTA", "n/a", "0.800", "0.800"]
    assert any(line.startswith("ID switches / 1,000 track-frames") and "20.00" in line for line in lines)
    assert len(lines) == 2 + 8


def test_score_fusion_scores_the_snapshots_of_fuse_recording(
    tiny_recording: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = types.ModuleType(FUSION_MODULE)
    fake.fuse_recording = lambda path, config=None: perfect_snapshots(truth_frames(path))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, FUSION_MODULE, fake)
    score = score_fusion(tiny_recording)
    assert score.mota == 1.0 and score.idf1 == 1.0 and score.truth_track_frames > 0


def test_without_fusion_the_baselines_still_score(
    tiny_recording: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, FUSION_MODULE, None)  # import of the tracker now fails
    assert not fusion_available()
    with pytest.raises(FusionUnavailableError, match="fusion is not available"):
        accuracy.compare(tiny_recording)
    report = score_baselines(tiny_recording)
    assert report.fusion is None and report.single_unit.truth_track_frames > 0


def test_real_fusion_beats_the_raw_union(tiny_recording: Path) -> None:
    pytest.importorskip(FUSION_MODULE)
    report = accuracy.compare(tiny_recording)
    assert report.fusion is not None
    assert report.fusion.truth_track_frames == report.raw_union.truth_track_frames
    assert report.fusion.mota > report.raw_union.mota
    assert report.fusion.false_positives < report.raw_union.false_positives


@dataclass(frozen=True)
class PublishedFake:
    time_ms: int
    track_id: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    vx_mps: np.ndarray
    vy_mps: np.ndarray
    published_ms: int | None


def test_at_publication_the_tracks_move_on_to_the_tick_and_meet_the_truth_then() -> None:
    # an object at x = 10 t m/s; the map of time 100 ms is published at 400 ms
    truth = [
        TruthFrame(t, np.array([0]), np.array([t / 100.0]), np.array([0.0]), np.array([1]), np.array([False]))
        for t in (100, 200, 300, 400)
    ]
    snapshot = PublishedFake(
        100, np.array([7]), np.array([1.0]), np.array([0.0]), np.array([10.0]), np.array([0.0]), 400
    )
    frames = accuracy.published_frames(truth, [snapshot])
    assert [len(frame.track_id) for frame in frames] == [0, 0, 0, 1]
    assert frames[3].track_x_m.tolist() == [4.0]
    unpublished = PublishedFake(
        100, np.array([7]), np.array([1.0]), np.array([0.0]), np.zeros(1), np.zeros(1), None
    )
    assert all(len(frame.track_id) == 0 for frame in accuracy.published_frames(truth, [unpublished]))


def test_table_shows_fusion_at_publication_when_scored() -> None:
    score = TrackingScore(10, 100, 90, 0.8, 0.85, 2, 8, 10, 0.3, 0.7)
    later = TrackingScore(10, 100, 80, 0.7, 0.8, 2, 9, 20, 0.4, 0.9)
    lines = AccuracyReport("run.rcrec", 2.0, score, score, score, fusion_published=later).table().splitlines()
    assert lines[1].split()[1:] == ["fusion", "fusion,", "published", "single", "unit", "raw", "union"]
    assert next(line for line in lines if line.startswith("MOTA")).split() == [
        "MOTA",
        "0.800",
        "0.700",
        "0.800",
        "0.800",
    ]


def test_compare_scores_fusion_at_publication_on_a_recording(tiny_recording: Path) -> None:
    pytest.importorskip(FUSION_MODULE)
    report = accuracy.compare(tiny_recording, at_publication=True)
    assert report.fusion is not None and report.fusion_published is not None
    assert report.fusion_published.truth_track_frames == report.fusion.truth_track_frames
    # 100 ms of prediction costs a little position accuracy
    assert report.fusion_published.position_error_median_m >= report.fusion.position_error_median_m
