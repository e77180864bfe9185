"""CLEAR-MOT and IDF1 on hand-made sequences whose scores follow from the definitions (Bernardin &
Stiefelhagen 2008; Ristani et al. 2016) by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from roadcloud.errors import SettingError
from roadcloud.eval.metrics import ScoringFrame, score_frames


def frame(
    time_ms: int,
    truth: dict[int, tuple[float, float]],
    tracks: dict[int, tuple[float, float]],
) -> ScoringFrame:
    def columns(points: dict[int, tuple[float, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ids = np.array(list(points), dtype=np.int64)
        xy = np.array(list(points.values()), dtype=np.float64).reshape(-1, 2)
        return ids, xy[:, 0], xy[:, 1]

    truth_id, truth_x_m, truth_y_m = columns(truth)
    track_id, track_x_m, track_y_m = columns(tracks)
    return ScoringFrame(time_ms, truth_id, truth_x_m, truth_y_m, track_id, track_x_m, track_y_m)


def test_perfect_tracking_scores_one() -> None:
    frames = [
        frame(t, {1: (t / 10.0, 0.0), 2: (0.0, 50.0)}, {70: (t / 10.0 + 0.3, 0.4), 80: (0.0, 50.5)})
        for t in range(0, 1000, 100)
    ]
    score = score_frames(frames)
    assert score.mota == 1.0 and score.idf1 == 1.0
    assert (score.id_switches, score.false_positives, score.misses) == (0, 0, 0)
    assert score.truth_track_frames == 20 and score.matches == 20 and score.frames == 10
    assert score.position_error_median_m == pytest.approx(0.5)
    assert score.position_error_p95_m == pytest.approx(0.5)


def test_one_id_switch_is_counted_once() -> None:
    # Object 1 is track 7 for three frames, then track 8 for three frames.
    frames = [frame(t, {1: (0.0, 0.0)}, {7 if t < 300 else 8: (0.2, 0.0)}) for t in range(0, 600, 100)]
    score = score_frames(frames)
    assert score.id_switches == 1
    assert score.mota == pytest.approx(1.0 - 1 / 6)
    # Best global id pairing keeps 3 of 6 frames: IDTP = 3, IDFP = 3, IDFN = 3 -> 6 / 12.
    assert score.idf1 == pytest.approx(0.5)
    assert score.id_switches_per_1000 == pytest.approx(1000.0 / 6)


def test_false_positive_and_miss_lower_mota_by_the_formula() -> None:
    frames = [
        frame(0, {1: (0.0, 0.0), 2: (30.0, 0.0)}, {7: (0.0, 0.0), 8: (30.0, 0.0)}),
        frame(100, {1: (0.0, 0.0), 2: (30.0, 0.0)}, {7: (0.0, 0.0), 9: (60.0, 0.0)}),  # 2 missed, 9 is false
    ]
    score = score_frames(frames)
    assert (score.misses, score.false_positives, score.id_switches) == (1, 1, 0)
    assert score.mota == pytest.approx(1.0 - (1 + 1 + 0) / 4)
    # IDTP = 3 (1-7 twice, 2-8 once); IDFP = 1 (track 9); IDFN = 1 (object 2 in frame 2).
    assert score.idf1 == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))


def test_matching_threshold_is_euclidean_and_configurable() -> None:
    frames = [frame(0, {1: (0.0, 0.0)}, {7: (1.5, 2.0)})]  # 2.5 m away
    strict = score_frames(frames)
    assert (strict.misses, strict.false_positives, strict.matches) == (1, 1, 0)
    assert math.isnan(strict.position_error_median_m)
    loose = score_frames(frames, max_distance_m=3.0)
    assert (loose.misses, loose.false_positives, loose.matches) == (0, 0, 1)
    assert loose.position_error_median_m == pytest.approx(2.5)


def test_a_kept_match_is_not_switched_for_a_closer_track() -> None:
    # CLEAR-MOT: a correspondence stays while within the threshold, even when another track comes closer.
    frames = [
        frame(0, {1: (0.0, 0.0)}, {7: (1.0, 0.0)}),
        frame(100, {1: (0.0, 0.0)}, {7: (1.0, 0.0), 8: (0.1, 0.0)}),
    ]
    score = score_frames(frames)
    assert (score.id_switches, score.false_positives, score.misses) == (0, 1, 0)


def test_non_positive_threshold_is_refused() -> None:
    with pytest.raises(SettingError, match="positive distance"):
        score_frames([], max_distance_m=0.0)


def test_an_empty_sequence_has_no_mota_and_no_counts() -> None:
    score = score_frames([])
    assert math.isnan(score.mota) and math.isnan(score.position_error_median_m)
    assert (score.frames, score.truth_track_frames, score.id_switches_per_1000) == (0, 0, 0.0)
