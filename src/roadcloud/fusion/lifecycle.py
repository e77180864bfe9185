"""Track life cycle: initiate from unmatched detections, confirm, coast, merge duplicates, delete.

    tentative ──(confirm_hits of the last confirm_window frames)──▶ confirmed
    tentative ──(tentative_max_misses frames without a hit)──▶ deleted
    confirmed ──(frame without a hit)──▶ coasting (reported for report_coast_ms, then hidden)
    coasting ──(no hit for coast_timeout_ms, or position variance above max_position_var_m2)──▶ deleted

Every function works on whole track tables; none loops over tracks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from roadcloud.fusion.config import FusionConfig
from roadcloud.fusion.detections import Detections
from roadcloud.fusion.tracks import HISTORY_FRAMES, KIND_COUNT, NO_BSM_ID, TrackTable, popcount

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

SELF_REPORT_KIND_WEIGHT = 3.0
"""A vehicle knows its own class: its vote counts as three roadside ones."""


def initiate(
    detections: Detections,
    *,
    time_ms: float,
    xy_m: FloatArray,
    velocity_mps: FloatArray,
    variance: FloatArray,
    source_bits: IntArray,
    allocate: Callable[[int], IntArray],
) -> TrackTable:
    """One tentative track per detection: state [x, y, vx, vy] from the report (aligned to ``time_ms``),
    covariance diag(R) with the velocity variance doubled (one report's heading is its weakest part)."""
    count = len(detections)
    state = np.column_stack([xy_m, velocity_mps])
    covariance = np.zeros((count, 4, 4))
    index = np.arange(4)
    covariance[:, index, index] = variance * np.array([1.0, 1.0, 2.0, 2.0])
    votes = np.zeros((count, KIND_COUNT))
    weight = np.where(detections.self_report, SELF_REPORT_KIND_WEIGHT, 1.0)
    votes[np.arange(count), np.clip(detections.kind, 0, KIND_COUNT - 1)] = weight
    return TrackTable(
        track_id=allocate(count),
        state=state,
        covariance=covariance,
        time_ms=np.full(count, time_ms),
        last_hit_ms=np.full(count, time_ms),
        history=np.zeros(count, np.int64),
        misses=np.zeros(count, np.int64),
        confirmed=np.zeros(count, np.bool_),
        hit=np.ones(count, np.bool_),
        kind_votes=votes,
        length_m=detections.length_m.copy(),
        width_m=detections.width_m.copy(),
        bsm_id=np.where(detections.self_report, detections.object_id, NO_BSM_ID),
        bsm_xy_m=xy_m.copy(),
        bsm_velocity_mps=velocity_mps.copy(),
        bsm_time_ms=np.where(detections.self_report, time_ms, np.nan),
        source_bits=source_bits.copy(),
        source_count=np.zeros(count, np.int64),
        past_time_ms=np.full((count, HISTORY_FRAMES), np.nan),
        past_info_ms=np.full((count, HISTORY_FRAMES), np.inf),
        past_covariance=np.zeros((count, HISTORY_FRAMES, 4, 4)),
    )


def merge_duplicates(table: TrackTable, *, fusion_ms: float, config: FusionConfig) -> BoolArray:
    """Rows to keep after folding duplicate tracks of one object into one.

    Two tracks are one object when, at ``fusion_ms``, their positions agree,
    Δ' (P_a + P_b)⁻¹ Δ ≤ ``merge_chi2`` (and |Δ| ≤ ``merge_distance_m``), their velocities are within
    ``merge_speed_mps``, and no sender updated both this frame (a sender reports an object once, so two
    tracks fed by one sender in one frame are two objects — pedestrians walking side by side).
    The survivor is the confirmed one, else the older (smaller global id); it inherits a BSM identity.
    """
    keep = np.ones(len(table), np.bool_)
    if len(table) < 2:
        return keep
    dt_s = (fusion_ms - table.time_ms) / 1000.0
    xy = table.state[:, :2] + table.state[:, 2:] * dt_s[:, np.newaxis]
    # rebuilt every frame: a quick unbalanced build (as for gating)
    tree = cKDTree(xy, leafsize=16, balanced_tree=False, compact_nodes=False)
    pairs = tree.query_pairs(config.merge_distance_m, output_type="ndarray")
    if len(pairs) == 0:
        return keep
    a, b = pairs[:, 0], pairs[:, 1]
    delta = xy[a] - xy[b]
    s = table.covariance[a, :2, :2] + table.covariance[b, :2, :2]
    det = s[:, 0, 0] * s[:, 1, 1] - s[:, 0, 1] ** 2
    distance2 = (
        s[:, 1, 1] * delta[:, 0] ** 2
        - 2 * s[:, 0, 1] * delta[:, 0] * delta[:, 1]
        + s[:, 0, 0] * delta[:, 1] ** 2
    ) / det
    close_velocity = np.hypot(*(table.state[a, 2:] - table.state[b, 2:]).T) <= config.merge_speed_mps
    disjoint = (table.source_bits[a] & table.source_bits[b]) == 0
    same = (distance2 <= config.merge_chi2) & close_velocity & disjoint
    a, b = a[same], b[same]
    if len(a) == 0:
        return keep
    # rank: confirmed first, then older id
    a_wins = (table.confirmed[a] & ~table.confirmed[b]) | (
        (table.confirmed[a] == table.confirmed[b]) & (table.track_id[a] < table.track_id[b])
    )
    winner = np.where(a_wins, a, b)
    loser = np.where(a_wins, b, a)
    keep[loser] = False
    inherit = (table.bsm_id[winner] == NO_BSM_ID) & (table.bsm_id[loser] != NO_BSM_ID)
    for column in (table.bsm_id, table.bsm_xy_m, table.bsm_velocity_mps, table.bsm_time_ms):
        column[winner[inherit]] = column[loser[inherit]]
    table.hit[winner] |= table.hit[loser]
    return keep


def end_frame(table: TrackTable, *, fusion_ms: float, config: FusionConfig) -> BoolArray:
    """Close one frame: shift hit histories, confirm, count misses; return the rows to keep."""
    window = (1 << config.confirm_window) - 1
    table.history = ((table.history << 1) | table.hit) & window
    table.misses = np.where(table.hit, 0, table.misses + 1)
    table.confirmed = table.confirmed | (popcount(table.history) >= config.confirm_hits)
    table.source_count = popcount(table.source_bits)
    table.source_bits = np.zeros(len(table), np.int64)
    table.hit = np.zeros(len(table), np.bool_)
    position_var = table.covariance[:, 0, 0] + table.covariance[:, 1, 1]
    dead = (
        (~table.confirmed & (table.misses >= config.tentative_max_misses))
        | (table.confirmed & (fusion_ms - table.last_hit_ms > config.coast_timeout_ms))
        | (position_var > config.max_position_var_m2)
    )
    keep: BoolArray = ~dead
    return keep


def reported(table: TrackTable, *, fusion_ms: float, config: FusionConfig) -> BoolArray:
    """Rows the live dynamic map shows: confirmed and hit within ``report_coast_ms``."""
    result: BoolArray = table.confirmed & (fusion_ms - table.last_hit_ms <= config.report_coast_ms)
    return result
