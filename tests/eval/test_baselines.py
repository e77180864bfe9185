"""The no-fusion baselines: raw union of roadside reports and best single unit per object."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from roadcloud.eval.baselines import (
    ReceivedDetections,
    best_unit_frames,
    raw_union_frames,
    received_detections,
    scored_window,
)
from roadcloud.eval.metrics import score_frames
from roadcloud.eval.truth import TruthFrame, manifest_of, truth_frames
from roadcloud.twin.recording import read_header


def truth(time_ms: int, x_m: list[float]) -> TruthFrame:
    count = len(x_m)
    return TruthFrame(
        time_ms=time_ms,
        actor_id=np.arange(count, dtype=np.int64),
        x_m=np.array(x_m),
        y_m=np.zeros(count),
        kind=np.ones(count, dtype=np.int64),
        connected=np.zeros(count, dtype=np.bool_),
    )


def received(rows: list[tuple[int, int, int, float]]) -> ReceivedDetections:
    """Rows of (frame_ms, unit, unit's object id, x_m), already in time order."""
    frame_ms, unit, object_id, x_m = (np.array(column) for column in zip(*rows, strict=True))
    return ReceivedDetections(
        frame_ms=frame_ms.astype(np.int64),
        unit_index=unit.astype(np.int64),
        object_id=object_id.astype(np.int64),
        x_m=x_m.astype(np.float64),
        y_m=np.zeros(len(rows)),
        unit_ids=("A", "B"),
    )


# Object 0 (x = 0) is seen by unit 0 in three frames and by unit 1 in two; unit 1 also reports a phantom.
TRUTH = [truth(t, [0.0]) for t in (100, 200, 300)]
RECEIVED = received(
    [
        (100, 0, 5, 0.1),
        (100, 1, 9, -0.2),
        (200, 0, 5, 0.1),
        (200, 1, 9, -0.2),
        (200, 1, 4, 40.0),
        (300, 0, 5, 0.1),
    ]
)


def test_raw_union_counts_every_unit_copy_as_a_track() -> None:
    frames = raw_union_frames(TRUTH, RECEIVED)
    assert [len(frame.track_id) for frame in frames] == [2, 3, 1]
    assert len({int(i) for frame in frames for i in frame.track_id}) == 3  # (0, 5), (1, 9), (1, 4)
    score = score_frames(frames)
    assert (score.misses, score.false_positives, score.id_switches) == (0, 3, 0)  # 2 copies + 1 phantom


def test_best_unit_keeps_only_the_unit_that_saw_the_object_most() -> None:
    frames = best_unit_frames(TRUTH, RECEIVED)
    assert [frame.track_id.tolist() for frame in frames] == [[5], [5], [5]]  # unit 0, its own object id
    score = score_frames(frames)
    assert score.mota == 1.0 and score.false_positives == 0


def test_scored_window_spans_the_reported_frames() -> None:
    truth_all = [truth(t, [0.0]) for t in range(0, 600, 100)]
    assert [frame.time_ms for frame in scored_window(truth_all, RECEIVED)] == [100, 200, 300]


def test_baselines_on_a_recording(tiny_recording: Path) -> None:
    header = read_header(tiny_recording)
    detections = received_detections(tiny_recording)
    assert len(detections) > 0
    assert set(detections.unit_ids) <= {unit.id for unit in manifest_of(header, tiny_recording).rsu}
    assert np.all(np.diff(detections.frame_ms) >= 0)
    assert np.all((detections.frame_ms - header.start_epoch_ms) % 100 == 0)
    window = scored_window(truth_frames(tiny_recording), detections)
    union = score_frames(raw_union_frames(window, detections))
    best = score_frames(best_unit_frames(window, detections))
    assert union.truth_track_frames == best.truth_track_frames > 0
    assert best.false_positives == 0 < union.false_positives
    assert best.misses >= union.misses
    assert 0.0 < union.mota < 1.0 and 0.0 < best.mota <= 1.0
    assert union.position_error_median_m < 1.0  # the default preset's noise is 0.3 m per axis
