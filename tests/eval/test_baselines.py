"""The no-fusion baselines: raw union of roadside reports and a single roadside unit per place."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from roadcloud.eval.baselines import (
    ReceivedDetections,
    raw_union_frames,
    received_detections,
    scored_window,
    serving_units,
    single_unit_frames,
)
from roadcloud.eval.metrics import score_frames
from roadcloud.eval.truth import TruthFrame, manifest_of, roadside_units, truth_frames
from roadcloud.twin.recording import read_header
from roadcloud.twin.sensors import RoadsideUnits


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


def units(x_m: list[float], range_m: float = 100.0, *, fov_deg: float = 360.0) -> RoadsideUnits:
    count = len(x_m)
    return RoadsideUnits(
        x_m=np.array(x_m),
        y_m=np.zeros(count),
        range_m=np.full(count, range_m),
        fov_deg=np.full(count, fov_deg),
        facing_deg=np.full(count, 90.0),  # east
    )


def test_each_place_is_served_by_the_nearest_unit_that_covers_it() -> None:
    # unit A at x = 0, unit B at x = 100 facing east with a 90° sector: B does not cover x < 100
    plan = units([0.0, 100.0], fov_deg=90.0)
    places = received([(100, 0, 1, x) for x in (10.0, 60.0, 90.0, 140.0, 190.0, 400.0)])
    # 90 m is nearer B but behind it: A serves it; beyond every sector (400 m): the nearest unit
    assert serving_units(places, plan, ["A", "B"]).tolist() == [0, 0, 0, 1, 1, 1]


def test_single_unit_reports_its_own_area_with_its_false_alarms_and_id_changes() -> None:
    # a car drives from A's area (x < 50) into B's; both units see it all the way, each with its own id;
    # B also reports a phantom in its area and A one in B's area (dropped: not A's place)
    truth_frames_ = [truth(t, [20.0 + 20.0 * k]) for k, t in enumerate((100, 200, 300))]  # x = 20, 40, 60
    rows = [(100, 0, 5, 20.1), (100, 1, 9, 19.8), (200, 0, 5, 40.1), (200, 1, 9, 39.8)]
    rows += [(200, 1, 4, 90.0), (200, 0, 6, 95.0), (300, 0, 5, 60.1), (300, 1, 9, 59.8)]
    frames = single_unit_frames(truth_frames_, received(rows), units=units([0.0, 100.0]), unit_ids=["A", "B"])
    a, b = 5, (1 << 32) | 9
    assert [sorted(frame.track_id.tolist()) for frame in frames] == [[a], [a, (1 << 32) | 4], [b]]
    score = score_frames(frames)
    assert (score.misses, score.false_positives, score.id_switches) == (0, 1, 1)


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
    manifest = manifest_of(header, tiny_recording)
    single = score_frames(
        single_unit_frames(
            window, detections, units=roadside_units(manifest), unit_ids=[u.id for u in manifest.rsu]
        )
    )
    assert union.truth_track_frames == single.truth_track_frames > 0
    # one unit per place: fewer copies than the union, so fewer false positives, and no more matches
    assert single.false_positives < union.false_positives
    assert single.misses >= union.misses
    assert 0.0 < union.mota < 1.0 and 0.0 < single.mota <= 1.0
    assert union.position_error_median_m < 1.0  # the default preset's noise is 0.3 m per axis
