"""Gating and assignment on hand-made cost situations."""

from __future__ import annotations

import numpy as np

from roadcloud.fusion.association import (
    CHI2_2DOF_999,
    Candidates,
    associate,
    associate_pairs,
    candidate_pairs,
    mahalanobis2,
    pair_mahalanobis2,
    within_metric,
)


def test_mahalanobis_uses_the_summed_covariance() -> None:
    tracks = np.array([[0.0, 0.0]])
    detections = np.array([[2.0, 0.0], [0.0, 3.0]])
    track_cov = np.array([[[1.0, 0.0], [0.0, 4.0]]])
    detection_cov = np.array([np.eye(2), np.eye(2)])
    d2 = mahalanobis2(tracks, track_cov, detections, detection_cov)
    assert np.allclose(d2, [[4.0 / 2.0, 9.0 / 5.0]])


def test_assignment_is_globally_optimal_and_gated() -> None:
    # greedy would give detection 0 to track 0 (cost 1) and leave track 1 with 9; optimal is 2 + 2
    d2 = np.array([[1.0, 2.0], [2.0, 9.0]])
    result = associate(d2, gate_chi2=CHI2_2DOF_999)
    assert sorted(zip(result.track_index.tolist(), result.detection_index.tolist(), strict=True)) == [
        (0, 1),
        (1, 0),
    ]
    far = associate(np.array([[50.0]]), gate_chi2=CHI2_2DOF_999)
    assert len(far.track_index) == 0 and far.unassigned_detections.tolist() == [0]


def test_identity_wins_a_close_call_and_may_pass_the_gate() -> None:
    d2 = np.array([[1.0, 1.5]])
    same = np.array([[False, True]])
    result = associate(d2, gate_chi2=CHI2_2DOF_999, same_identity=same, identity_bonus=6.0)
    assert result.detection_index.tolist() == [1] and result.unassigned_detections.tolist() == [0]
    jumped = associate(
        np.array([[40.0]]),
        gate_chi2=CHI2_2DOF_999,
        same_identity=np.array([[True]]),
        identity_bonus=6.0,
        identity_feasible=np.array([[True]]),
    )
    assert jumped.track_index.tolist() == [0]


def test_empty_inputs_and_metric_radius() -> None:
    result = associate(np.empty((0, 3)), gate_chi2=CHI2_2DOF_999)
    assert result.unassigned_detections.tolist() == [0, 1, 2]
    inside = within_metric(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [3.0, 4.1]]), 5.0)
    assert inside.tolist() == [[True, False]]


def pairs(cost: list[list[float]], *, feasible: list[list[bool]] | None = None) -> Candidates:
    """Dense toy costs as candidate pairs (every cell a pair)."""
    matrix = np.array(cost)
    t, d = np.nonzero(np.ones_like(matrix, dtype=bool))
    ok = np.ones(len(t), bool) if feasible is None else np.array(feasible).ravel()
    return Candidates(t, d, matrix.ravel(), matrix.ravel(), ok)


def test_a_track_takes_one_detection_per_sender() -> None:
    # one track, each of two senders reports two plausible detections: the best of each sender is taken
    source = np.array([1, 1, 2, 2], dtype=np.int64)
    result = associate_pairs(pairs([[1.0, 3.0, 2.0, 0.5]]), source, 4)
    assert sorted(result.detection_index.tolist()) == [0, 3]
    assert result.unassigned_detections.tolist() == [1, 2]


def test_per_sender_assignment_is_optimal_and_skips_infeasible_pairs() -> None:
    # greedy would take (0, 0) at cost 1 and leave (1, 1) at 9; optimal is 2 + 2
    result = associate_pairs(pairs([[1.0, 2.0], [2.0, 9.0]]), np.array([3, 3]), 2)
    assert dict(zip(result.track_index.tolist(), result.detection_index.tolist(), strict=True)) == {
        0: 1,
        1: 0,
    }
    blocked = associate_pairs(pairs([[1.0, 2.0]], feasible=[[False, True]]), np.array([3, 3]), 2)
    assert blocked.detection_index.tolist() == [1] and blocked.unassigned_detections.tolist() == [0]


def test_candidate_pairs_use_each_tracks_reach() -> None:
    tracks = np.array([[0.0, 0.0], [100.0, 0.0]])
    detections = np.array([[3.0, 0.0], [130.0, 0.0], [50.0, 0.0]])
    t, d = candidate_pairs(tracks, detections, reach_m=np.array([5.0, 40.0]), default_reach_m=8.0)
    assert sorted(zip(t.tolist(), d.tolist(), strict=True)) == [(0, 0), (1, 1)]
    assert np.isclose(pair_mahalanobis2(np.array([[2.0, 0.0]]), np.eye(2)[np.newaxis] * 2.0)[0], 2.0)
