"""Gating and assignment on hand-made cost situations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from roadcloud.fusion import association
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


def per_sender_optimum(candidates: Candidates, source: np.ndarray) -> tuple[int, float]:
    """(pairs, total cost) of the textbook answer: one dense assignment per sender."""
    keep = candidates.feasible
    t, d, cost = candidates.track_index[keep], candidates.detection_index[keep], candidates.cost[keep]
    count, total = 0, 0.0
    for sender in np.unique(source[d]):
        mine = source[d] == sender
        rows, row = np.unique(t[mine], return_inverse=True)
        cols, col = np.unique(d[mine], return_inverse=True)
        matrix = np.full((len(rows), len(cols)), 1e9)
        matrix[row, col] = cost[mine]
        r, c = linear_sum_assignment(matrix)
        good = matrix[r, c] < 1e9
        count += int(good.sum())
        total += float(matrix[r, c][good].sum())
    return count, total


@pytest.mark.parametrize("dense_cells", [association._DENSE_CELLS, 0], ids=["dense", "sparse"])
def test_fast_path_and_joint_solver_match_one_assignment_per_sender(
    dense_cells: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(association, "_DENSE_CELLS", dense_cells)
    rng = np.random.default_rng(11)
    for _ in range(150):
        n_tracks, n_detections = int(rng.integers(1, 25)), int(rng.integers(1, 30))
        cells = rng.choice(n_tracks * n_detections, int(rng.integers(1, n_tracks * n_detections + 1)), False)
        t, d = (cells // n_detections).astype(np.int64), (cells % n_detections).astype(np.int64)
        source = rng.integers(0, 3, n_detections).astype(np.int64)
        cost = rng.normal(0.0, 5.0, len(t))
        candidates = Candidates(t, d, cost, cost, rng.random(len(t)) < 0.8)
        result = associate_pairs(candidates, source, n_detections)
        pairs = list(zip(result.track_index.tolist(), result.detection_index.tolist(), strict=True))
        # one detection per pair, one detection per (track, sender), only feasible pairs
        assert len({b for _, b in pairs}) == len(pairs)
        assert len({(a, int(source[b])) for a, b in pairs}) == len(pairs)
        table = {(a, b): (c, f) for a, b, c, f in zip(t, d, cost, candidates.feasible, strict=True)}
        assert all(table[pair][1] for pair in pairs)
        count, total = per_sender_optimum(candidates, source)
        assert len(pairs) == count
        assert sum(table[pair][0] for pair in pairs) == pytest.approx(total)
        assert sorted([*result.unassigned_detections.tolist(), *(b for _, b in pairs)]) == list(
            range(n_detections)
        )
