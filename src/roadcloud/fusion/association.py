"""Data association: which detection updates which track — gating plus one optimal assignment per batch.

Gate: the squared Mahalanobis distance of a detection's position from a track's predicted position,

    d² = (z - ẑ)' S⁻¹ (z - ẑ),   S = P_xy + R_xy,

is χ² with 2 degrees of freedom for the right pair; pairs with d² above ``gate_chi2`` (13.82 keeps 99.9 %)
are impossible. The feasible pairs' cost is d², lowered by ``identity_bonus`` where the sender's own
object id (an RSU's ptcId, a BSM's temporary id) last went to the same track, and raised by
``tentative_penalty`` for unconfirmed tracks, so that an established identity wins a close call. One
``scipy.optimize.linear_sum_assignment`` on the broadcast (tracks × detections) cost matrix solves the batch.

A batch holds the detections of one sender at one measurement time, so it contains each object at most
once; several senders' views of one object are handled by assigning their batches one after the other
(each sees the track already updated by the previous one).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.int64]

CHI2_2DOF_999 = 13.815510557964274
"""χ²(2) quantile at 0.999: a correct pair falls outside this gate once in a thousand."""

_INFEASIBLE = 1.0e9


@dataclass(frozen=True, slots=True)
class Assignment:
    """Matched pairs (``track_index[i]`` ↔ ``detection_index[i]``) with their d², and the leftovers."""

    track_index: IndexArray
    detection_index: IndexArray
    distance2: FloatArray
    unassigned_detections: IndexArray


def mahalanobis2(
    track_xy_m: FloatArray, track_cov_m2: FloatArray, detection_xy_m: FloatArray, detection_cov_m2: FloatArray
) -> FloatArray:
    """(T, D) squared Mahalanobis distances with S = P_t + R_d, by the closed-form 2×2 inverse."""
    dx = detection_xy_m[np.newaxis, :, 0] - track_xy_m[:, np.newaxis, 0]
    dy = detection_xy_m[np.newaxis, :, 1] - track_xy_m[:, np.newaxis, 1]
    a = track_cov_m2[:, np.newaxis, 0, 0] + detection_cov_m2[np.newaxis, :, 0, 0]
    b = track_cov_m2[:, np.newaxis, 0, 1] + detection_cov_m2[np.newaxis, :, 0, 1]
    c = track_cov_m2[:, np.newaxis, 1, 1] + detection_cov_m2[np.newaxis, :, 1, 1]
    det = a * c - b * b
    result: FloatArray = (c * dx * dx - 2.0 * b * dx * dy + a * dy * dy) / det
    return result


def associate(
    distance2: FloatArray,
    *,
    gate_chi2: float,
    same_identity: NDArray[np.bool_] | None = None,
    identity_bonus: float = 0.0,
    track_penalty: FloatArray | None = None,
) -> Assignment:
    """Globally optimal one-to-one assignment inside the gate.

    ``distance2`` (T, D); ``same_identity`` (T, D) marks pairs whose sender id last went to that track;
    ``track_penalty`` (T,) is added to every cost of a track.
    """
    n_tracks, n_detections = distance2.shape
    if n_tracks == 0 or n_detections == 0:
        empty = np.empty(0, dtype=np.int64)
        return Assignment(empty, empty, np.empty(0), np.arange(n_detections, dtype=np.int64))
    feasible = distance2 <= gate_chi2
    cost = distance2.copy()
    if same_identity is not None and identity_bonus:
        cost -= identity_bonus * same_identity
    if track_penalty is not None:
        cost += track_penalty[:, np.newaxis]
    cost[~feasible] = _INFEASIBLE
    rows, cols = linear_sum_assignment(cost)
    keep = feasible[rows, cols]
    rows, cols = rows[keep].astype(np.int64), cols[keep].astype(np.int64)
    taken = np.zeros(n_detections, dtype=np.bool_)
    taken[cols] = True
    return Assignment(rows, cols, distance2[rows, cols], np.flatnonzero(~taken).astype(np.int64))
