"""Out-of-sequence measurement (OOSM) update for the constant-velocity filter: late data, used not lost.

Where it sits: the engine fuses each frame at its horizon; a detection measured at τ that arrives after
the frame holding τ was fused is out of sequence: the track already sits at k > τ and may hold newer data.
``Tracker.process_late`` gates and assigns such detections against the track *retrodicted* to τ and updates
the track at k with them, here, without re-running the frames in between. All functions take stacked
arrays (M pairs) and return new arrays; inputs are never written to.

The update is Bar-Shalom's one-step OOSM solution in its "B" form (the retrodicted state ignores the
process noise's share of the last innovation) with the multistep "Bl1" equivalent-measurement
approximation (Bar-Shalom, Chen, Mallick, IEEE TAES 40(1), 2004). With x_k = F(k, τ) x_τ + w,
w ~ N(0, Q(k, τ)), Δ = k - τ, and P⁻ the covariance at k of what the track knew up to τ (its posterior
at the newest past frame whose data is all older than τ, predicted to k):

    C        = P P⁻⁻¹ Q                     cross-covariance of the error at k with w (the data
                                             after τ fused at k as one equivalent measurement)
    x̂(τ|k)  = F(-Δ) x̂(k|k)
    P(τ|k)  = F(-Δ) (P + Q - C - C') F(-Δ)'
    P_xz     = (P - C) F(-Δ)' H'           covariance of the error at k with the innovation
    S        = H P(τ|k) H' + R,   ν = z - H x̂(τ|k)
    x̂(k|τ)  = x̂(k|k) + P_xz S⁻¹ ν,      P(k|τ) = P - P_xz S⁻¹ P_xz'

Two limits are exact: a track with no data newer than τ (P⁻ = P, so C = Q) gets the ordinary Kalman
update at τ carried to k; a track born after τ (nothing known before τ, P⁻⁻¹ = 0, so C = 0) gets
P(τ|k) = F(-Δ) (P + Q) F(-Δ)', a backward prediction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from roadcloud.fusion import kalman
from roadcloud.fusion.association import Candidates, associate_pairs, candidate_pairs, pair_mahalanobis2
from roadcloud.fusion.config import FusionConfig
from roadcloud.fusion.detections import Detections
from roadcloud.fusion.lifecycle import SELF_REPORT_KIND_WEIGHT, initiate
from roadcloud.fusion.tracks import KIND_COUNT, NO_BSM_ID, TrackTable

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

STATE_SIZE = kalman.STATE_SIZE

CANDIDATE_REACH_M = 8.0
"""Search radius for tracks whose gate is tighter than this (as the in-sequence tracker's)."""

ANCHOR_MAX_AGE_MS = 500.0
"""A late roadside detection is compared for clock-offset estimation with the track's self-report up to
this far apart in time (the in-sequence tracker allows 250 ms): late data is late because its path is
slow, while the self-report the track holds is the newest, so the two are routinely 300-500 ms apart."""


@dataclass(frozen=True, slots=True)
class LateResult:
    """What ``fuse_late`` did: matched pairs (table row, detection row; rows before new tracks were
    appended) and the sender identities (``IdentityMemory.key``) of matched and new tracks with their
    track ids, for the engine's identity memory."""

    matched: int
    initiated: int
    track_index: IntArray
    detection_index: IntArray
    identity_keys: IntArray
    identity_tracks: IntArray
    timing_residual_s: FloatArray
    timing_source: IntArray


def fuse_late(
    table: TrackTable,
    detections: Detections,
    *,
    time_ms: FloatArray,
    fusion_ms: float,
    keys: IntArray,
    remembered: IntArray,
    config: FusionConfig,
    allocate: Callable[[int], IntArray],
) -> LateResult:
    """Fuse into ``table`` (in place) detections measured before its last fused frame ``fusion_ms`` (k).

    Every track is first brought to k. A detection measured at τ (``time_ms``, corrected; one up to the
    alignment tolerance after k is moved to k along its own velocity) is gated against each nearby track
    retrodicted to τ, with S = P(τ|k) + R, and costed like an in-sequence one (χ² gate, sender-id bonus,
    tentative penalty, capped velocity term). Assignment is one-to-one per sender and measurement time;
    a track hit several times is updated once per hit, oldest first. Unassigned detections start
    tentative tracks at their τ, predicted to k. ``table.last_hit_ms`` becomes the newest measurement
    time fused into a track. Roadside matches with a track that holds a self-report give clock-offset
    residuals as in-sequence ones do.
    """
    if len(table):
        behind = table.time_ms < fusion_ms
        if behind.any():
            table.state[behind], table.covariance[behind] = kalman.predict(
                table.state[behind],
                table.covariance[behind],
                (fusion_ms - table.time_ms[behind]) / 1000.0,
                config.accel_density_m2ps3,
            )
            table.time_ms[behind] = fusion_ms
    velocity = detections.velocity_mps
    ahead_s = np.maximum(time_ms - fusion_ms, 0.0) / 1000.0
    raw_xy = np.column_stack([detections.x_m, detections.y_m]) + velocity * ahead_s[:, np.newaxis]
    tau_ms = np.minimum(time_ms, fusion_ms)
    lag_s = (fusion_ms - tau_ms) / 1000.0
    variance = measurement_variance(detections, config)
    aligned_xy = raw_xy + velocity * lag_s[:, np.newaxis]
    aligned_variance = variance.copy()
    aligned_variance[:, :2] += variance[:, 2:] * (lag_s**2)[:, np.newaxis]
    bits = np.left_shift(np.int64(1), detections.source_index % 63)
    z = np.column_stack([raw_xy, velocity])

    rows = cols = np.empty(0, np.int64)
    unassigned = np.arange(len(detections), dtype=np.int64)
    residual_s, residual_source = np.empty(0), np.empty(0, np.int64)
    if len(table):
        candidates = _candidates(
            table,
            detections=detections,
            z=z,
            variance=variance,
            aligned_xy=aligned_xy,
            aligned_variance=aligned_variance,
            tau_ms=tau_ms,
            lag_s=lag_s,
            remembered=remembered,
            config=config,
        )
        # one-to-one per sender and measurement time: a unit's two late frames may both hit one track
        _, group = np.unique(
            np.column_stack([detections.source_index, tau_ms.astype(np.int64)]), axis=0, return_inverse=True
        )
        assignment = associate_pairs(candidates, group.reshape(-1).astype(np.int64), len(detections))
        rows, cols = assignment.track_index, assignment.detection_index
        unassigned = assignment.unassigned_detections
        if len(rows):
            roadside = ~detections.self_report[cols]
            residual_s, usable = timing_residual(
                table, rows[roadside], z[cols[roadside], :2], tau_ms[cols[roadside]], config=config
            )
            residual_source = detections.source_index[cols[roadside][usable]]
            _update(table, rows=rows, cols=cols, z=z, variance=variance, tau_ms=tau_ms, config=config)
            _record(
                table,
                rows=rows,
                cols=cols,
                detections=detections,
                z=z,
                tau_ms=tau_ms,
                bits=bits,
                config=config,
            )
    matched_ids = table.track_id[rows]
    new_ids = np.empty(0, np.int64)
    if len(unassigned):
        # born at τ and predicted to k, so that P holds the process noise since τ (a later retrodiction
        # to τ takes it out again)
        new = initiate(
            detections.take(unassigned),
            time_ms=float(fusion_ms),
            xy_m=raw_xy[unassigned],
            velocity_mps=velocity[unassigned],
            variance=variance[unassigned],
            source_bits=bits[unassigned],
            allocate=allocate,
        )
        new.state, new.covariance = kalman.predict(
            new.state, new.covariance, lag_s[unassigned], config.accel_density_m2ps3
        )
        new.last_hit_ms = tau_ms[unassigned].copy()
        new.bsm_xy_m = raw_xy[unassigned]
        new.bsm_time_ms = np.where(detections.self_report[unassigned], tau_ms[unassigned], np.nan)
        new_ids = new.track_id
        table.extend(new)
    return LateResult(
        len(rows),
        len(unassigned),
        rows,
        cols,
        np.concatenate([keys[cols], keys[unassigned]]),
        np.concatenate([matched_ids, new_ids]),
        residual_s,
        residual_source,
    )


def timing_residual(
    table: TrackTable, rows: IntArray, measured_xy: FloatArray, tau_ms: FloatArray, *, config: FusionConfig
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """δ = -(r·v)/|v|² (s) of roadside detections at τ against each track's self-report moved to τ,
    r = z - (z_bsm + v_bsm (τ - t_bsm)) (as ``Tracker._timing_residual``), for fast vehicles whose report
    is at most ``ANCHOR_MAX_AGE_MS`` from τ; returns (δ of the usable pairs, usable mask)."""
    age_ms = tau_ms - table.bsm_time_ms[rows]
    velocity = table.bsm_velocity_mps[rows]
    speed2 = (velocity**2).sum(axis=1)
    usable = (np.abs(age_ms) <= ANCHOR_MAX_AGE_MS) & (speed2 >= config.clock_offset_min_speed_mps**2)
    expected = table.bsm_xy_m[rows[usable]] + velocity[usable] * (age_ms[usable, np.newaxis] / 1000.0)
    r = measured_xy[usable] - expected
    delta_s: FloatArray = -(r * velocity[usable]).sum(axis=1) / speed2[usable]
    return delta_s, usable


def measurement_variance(detections: Detections, config: FusionConfig) -> FloatArray:
    """(D, 4) diagonal of R for [x, y, vx, vy]: roadside or self-report accuracy per row."""
    position_var = np.where(detections.self_report, config.bsm_position_std_m, config.rsu_position_std_m) ** 2
    velocity_var = (
        np.where(detections.self_report, config.bsm_velocity_std_mps, config.rsu_velocity_std_mps) ** 2
    )
    return np.column_stack([position_var, position_var, velocity_var, velocity_var])


def _diagonal(variance: FloatArray) -> FloatArray:
    out = np.zeros((len(variance), STATE_SIZE, STATE_SIZE))
    index = np.arange(STATE_SIZE)
    out[:, index, index] = variance
    return out


def _candidates(
    table: TrackTable,
    *,
    detections: Detections,
    z: FloatArray,
    variance: FloatArray,
    aligned_xy: FloatArray,
    aligned_variance: FloatArray,
    tau_ms: FloatArray,
    lag_s: FloatArray,
    remembered: IntArray,
    config: FusionConfig,
) -> Candidates:
    """Pairs found around the detections moved to k along their own velocity, then scored exactly
    against the track retrodicted to each detection's τ."""
    reach_m = np.clip(
        np.sqrt(
            config.gate_chi2
            * (table.covariance[:, 0, 0] + table.covariance[:, 1, 1] + aligned_variance[:, :2].max())
        ),
        config.identity_gate_m,
        config.max_gate_reach_m,
    )
    t, d = candidate_pairs(table.state[:, :2], aligned_xy, reach_m=reach_m, default_reach_m=CANDIDATE_REACH_M)
    retro_state, retro_covariance, _ = _retrodict_rows(table, t, tau_ms[d], lag_s[d], config)
    nu, s = innovation(retro_state, retro_covariance, z[d], _diagonal(variance[d]))
    distance2 = pair_mahalanobis2(nu[:, :2], s[:, :2, :2])
    velocity_term = np.minimum(pair_mahalanobis2(nu[:, 2:], s[:, 2:, 2:]), config.velocity_cost_cap)
    same = (remembered[d] == table.track_id[t]) | (
        detections.self_report[d]
        & (table.bsm_id[t] == detections.object_id[d])
        & (table.bsm_id[t] != NO_BSM_ID)
    )
    distance2_m2 = (nu[:, :2] ** 2).sum(axis=1)
    feasible = ((distance2 <= config.gate_chi2) & (distance2_m2 <= config.max_gate_reach_m**2)) | (
        same & (distance2_m2 <= config.identity_gate_m**2)
    )
    cost = (
        np.minimum(distance2, config.gate_chi2)
        - config.identity_bonus * same
        + np.where(table.confirmed[t], 0.0, config.tentative_penalty)
        + velocity_term
    )
    return Candidates(t, d, distance2, cost, feasible)


def _retrodict_rows(
    table: TrackTable, rows: IntArray, tau_ms: FloatArray, lag_s: FloatArray, config: FusionConfig
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``retrodict`` of table rows ``rows`` (repeats allowed) to the times ``tau_ms``."""
    information = prior_information(
        tau_ms=tau_ms,
        time_ms=table.time_ms[rows],
        covariance=table.covariance[rows],
        info_ms=table.last_hit_ms[rows],
        past_time_ms=table.past_time_ms[rows],
        past_info_ms=table.past_info_ms[rows],
        past_covariance=table.past_covariance[rows],
        accel_density_m2ps3=config.accel_density_m2ps3,
    )
    return retrodict(
        table.state[rows], table.covariance[rows], lag_s, information, config.accel_density_m2ps3
    )


def _update(
    table: TrackTable,
    *,
    rows: IntArray,
    cols: IntArray,
    z: FloatArray,
    variance: FloatArray,
    tau_ms: FloatArray,
    config: FusionConfig,
) -> None:
    """OOSM updates of the matched pairs: one pass per hit rank (a track hit by n late detections takes
    n passes, oldest first), each pass vectorised over its tracks."""
    order = np.lexsort((tau_ms[cols], rows))
    rows, cols = rows[order], cols[order]
    first = np.concatenate([[True], rows[1:] != rows[:-1]])
    rank = np.arange(len(rows)) - np.maximum.accumulate(np.where(first, np.arange(len(rows)), 0))
    for r in range(int(rank.max()) + 1):  # passes, not objects: as many as one track's late hits
        at = rank == r
        t, d = rows[at], cols[at]
        lag_s = (table.time_ms[t] - tau_ms[d]) / 1000.0
        retro_state, retro_covariance, cross = _retrodict_rows(table, t, tau_ms[d], lag_s, config)
        nu, s = innovation(retro_state, retro_covariance, z[d], _diagonal(variance[d]))
        table.state[t], table.covariance[t] = update(table.state[t], table.covariance[t], cross, nu, s)
        table.last_hit_ms[t] = np.maximum(table.last_hit_ms[t], tau_ms[d])
    table.hit[rows] = True


def _record(
    table: TrackTable,
    *,
    rows: IntArray,
    cols: IntArray,
    detections: Detections,
    z: FloatArray,
    tau_ms: FloatArray,
    bits: IntArray,
    config: FusionConfig,
) -> None:
    """Book-keeping of late matches, as the in-sequence tracker's: senders, class votes, size, and the
    GNSS-timed anchor where a late self-report is newer than the one the track holds."""
    np.bitwise_or.at(table.source_bits, rows, bits[cols])
    own = detections.self_report[cols]
    weight = np.where(own, SELF_REPORT_KIND_WEIGHT, 1.0)
    np.add.at(table.kind_votes, (rows, np.clip(detections.kind[cols], 0, KIND_COUNT - 1)), weight)
    gain = config.size_gain
    np.add.at(table.length_m, rows, gain * (detections.length_m[cols] - table.length_m[rows]))
    np.add.at(table.width_m, rows, gain * (detections.width_m[cols] - table.width_m[rows]))
    newest = own & ~(tau_ms[cols] <= table.bsm_time_ms[rows])
    anchored = rows[newest]
    table.bsm_id[anchored] = detections.object_id[cols[newest]]
    table.bsm_xy_m[anchored] = z[cols[newest], :2]
    table.bsm_velocity_mps[anchored] = z[cols[newest], 2:]
    table.bsm_time_ms[anchored] = tau_ms[cols[newest]]


def prior_information(
    *,
    tau_ms: FloatArray,
    time_ms: FloatArray,
    covariance: FloatArray,
    info_ms: FloatArray,
    past_time_ms: FloatArray,
    past_info_ms: FloatArray,
    past_covariance: FloatArray,
    accel_density_m2ps3: float,
) -> FloatArray:
    """(M, 4, 4) P⁻⁻¹: the information at ``time_ms`` (k) of what each track knew up to ``tau_ms``.

    ``covariance`` (M, 4, 4) is the track's posterior at k, ``info_ms`` (M,) the newest measurement time
    in it; ``past_*`` (M, L) / (M, L, 4, 4) its earlier posteriors (time, newest data time, covariance;
    info +inf in a slot never written). If the track holds nothing newer than τ, P⁻ = P; else the past
    posterior with the newest data still not newer than τ, predicted to k; else nothing (zeros).
    """
    count = len(tau_ms)
    information = np.zeros((count, STATE_SIZE, STATE_SIZE))
    current = info_ms <= tau_ms
    if current.any():
        information[current] = np.linalg.inv(covariance[current])
    usable = past_info_ms <= tau_ms[:, np.newaxis]
    best = np.argmax(np.where(usable, past_info_ms, -np.inf), axis=1)
    from_past = ~current & usable[np.arange(count), best]
    if from_past.any():
        rows = np.flatnonzero(from_past)
        slot = best[rows]
        dt_s = (time_ms[rows] - past_time_ms[rows, slot]) / 1000.0
        _, predicted = kalman.predict(
            np.zeros((len(rows), STATE_SIZE)), past_covariance[rows, slot], dt_s, accel_density_m2ps3
        )
        information[rows] = np.linalg.inv(predicted)
    return information


def retrodict(
    state: FloatArray,
    covariance: FloatArray,
    lag_s: FloatArray,
    information_before: FloatArray,
    accel_density_m2ps3: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The tracks at k taken back by ``lag_s`` = k - τ >= 0: (x̂(τ|k), P(τ|k), P_xτ).

    ``P_xτ`` = (P - C) F(-Δ)' is the covariance of the error at k with the error at τ; with H it gives
    the P_xz of ``update``. ``information_before`` is ``prior_information``'s P⁻⁻¹.
    """
    back = kalman.transition(-lag_s)
    q = kalman.process_noise(lag_s, accel_density_m2ps3)
    c = covariance @ information_before @ q
    retro_state = np.einsum("nij,nj->ni", back, state)
    inner = covariance + q - c - np.swapaxes(c, 1, 2)
    # C comes from approximations (Bl1's equivalent measurement, a track's covariance not built by the
    # filter alone: merges, identity jumps): where P + Q - C - C' is not positive semi-definite, take
    # C = 0, which treats the track's knowledge as independent of the noise since τ (conservative)
    broken = np.linalg.eigvalsh(0.5 * (inner + np.swapaxes(inner, 1, 2)))[:, 0] < 0.0
    if broken.any():
        c[broken] = 0.0
        inner[broken] = covariance[broken] + q[broken]
    retro_covariance = back @ inner @ np.swapaxes(back, 1, 2)
    retro_covariance = 0.5 * (retro_covariance + np.swapaxes(retro_covariance, 1, 2))
    cross = (covariance - c) @ np.swapaxes(back, 1, 2)
    return retro_state, retro_covariance, cross


def innovation(
    retro_state: FloatArray, retro_covariance: FloatArray, measurement: FloatArray, noise: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """ν = z - x̂(τ|k) and S = P(τ|k) + R for a full-state measurement (H = I: position and velocity)."""
    return measurement - retro_state, retro_covariance + noise


def update(
    state: FloatArray,
    covariance: FloatArray,
    cross: FloatArray,
    innovation_z: FloatArray,
    innovation_covariance: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """x̂(k|τ) = x̂ + P_xz S⁻¹ ν,  P(k|τ) = P - P_xz S⁻¹ P_xz' (H = I, so P_xz = ``cross``)."""
    # W = P_xz S⁻¹  ⇔  S W' = P_xz'  (S symmetric)
    gain = np.swapaxes(np.linalg.solve(innovation_covariance, np.swapaxes(cross, 1, 2)), 1, 2)
    new_state = state + np.einsum("nij,nj->ni", gain, innovation_z)
    new_covariance = covariance - gain @ np.swapaxes(cross, 1, 2)
    return new_state, 0.5 * (new_covariance + np.swapaxes(new_covariance, 1, 2))
