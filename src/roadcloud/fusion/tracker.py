"""The tracker of a set of tiles: wires predictor, gate, assignment, updater and life cycle together, once
per frame. The in-process engine runs one for all tiles of the zone; each worker process of the parallel
engine runs one for the tiles it owns (``workers``). Rows are tracks; nothing loops over them in Python.

Per frame, for the detections routed to it (every sender, corrected measurement times):

    predict every track to T                                               (kalman.predict)
    align   each detection to the fusion time:  z_T = z + v_det (T - t),  R_pos += R_vel (T - t)²
    gate    d² = Mahalanobis, χ² gate, identity-backed exceptions           (association)
    assign  one-to-one per sender                                           (associate_pairs)
    update  each hit track once with the information-weighted mean of its detections:
            R̄⁻¹ = Σ R_i⁻¹,  z̄ = R̄ Σ R_i⁻¹ z_i                   (kalman.update_position_velocity)
    initiate tentative tracks from the rest                                  (lifecycle.initiate)

and ``end_frame`` (merge duplicates, confirm, delete). Every track is predicted to T in each frame, with or
without detections, so the snapshot at T needs no prediction. ``stage_seconds`` adds up CPU time per step.

Detections measured before the tracks' time (out of sequence) go to ``oosm.fuse_late`` instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from roadcloud.fusion import kalman
from roadcloud.fusion.association import Candidates, associate_pairs, candidate_pairs
from roadcloud.fusion.config import FusionConfig
from roadcloud.fusion.detections import Detections
from roadcloud.fusion.lifecycle import SELF_REPORT_KIND_WEIGHT, end_frame, initiate, merge_duplicates
from roadcloud.fusion.tracks import KIND_COUNT, NO_BSM_ID, IdentityMemory, TrackTable

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

CANDIDATE_REACH_M = 8.0
"""Search radius for tracks whose gate is tighter than this (all but coasting ones)."""

BSM_ANCHOR_MAX_AGE_MS = 250.0
"""A self-report older than this is not extrapolated for clock-offset estimation."""

_GATE_ELEMENTS = np.array([0, 1, 5, 10, 11, 15])
"""P_xx, P_xy, P_yy, P_vxvx, P_vxvy, P_vyvy in a flattened 4 × 4 covariance."""


def _mahalanobis2(delta: FloatArray, a: FloatArray, b: FloatArray, c: FloatArray) -> FloatArray:
    """δ' S⁻¹ δ per row for S = [[a, b], [b, c]] (closed-form 2 × 2 inverse)."""
    dx, dy = delta[:, 0], delta[:, 1]
    result: FloatArray = (c * dx * dx - 2.0 * b * dx * dy + a * dy * dy) / (a * c - b * b)
    return result


def _no_index() -> IntArray:
    return np.empty(0, np.int64)


@dataclass(frozen=True, slots=True)
class FrameResult:
    """What one frame did in one tracker: matched pairs and new tracks, and the timing residuals of
    roadside matches with connected vehicles: ``timing_residual_s`` δ = -(r·v)/|v|² per pair, from sender
    ``timing_source``. ``track_index`` / ``detection_index``: the matched pairs (table row, row of the
    detections given), for the engine's clock-offset estimation between roadside units.
    ``identity_keys`` → ``identity_tracks``: which track each sender identity went to (matched and
    initiated), for ``IdentityMemory.remember`` where the memory lives in another process."""

    matched: int
    initiated: int
    timing_residual_s: FloatArray
    timing_source: IntArray
    track_index: IntArray = field(default_factory=_no_index)
    detection_index: IntArray = field(default_factory=_no_index)
    identity_keys: IntArray = field(default_factory=_no_index)
    identity_tracks: IntArray = field(default_factory=_no_index)

    @classmethod
    def empty(cls) -> FrameResult:
        return cls(0, 0, np.empty(0), _no_index())


class _Laps:
    """Adds the CPU seconds of this thread since the previous lap to ``totals[label]`` (CPU time: on a
    shared machine wall time would count the other processes' turns)."""

    def __init__(self, totals: dict[str, float]) -> None:
        self.totals = totals
        self.last = time.thread_time()

    def __call__(self, label: str) -> None:
        now = time.thread_time()
        self.totals[label] = self.totals.get(label, 0.0) + now - self.last
        self.last = now


def measurement_variance(detections: Detections, config: FusionConfig) -> FloatArray:
    """(D, 4) diagonal of R for [x, y, vx, vy]: roadside or self-report accuracy per row."""
    position_var = np.where(detections.self_report, config.bsm_position_std_m, config.rsu_position_std_m) ** 2
    velocity_var = (
        np.where(detections.self_report, config.bsm_velocity_std_mps, config.rsu_velocity_std_mps) ** 2
    )
    return np.column_stack([position_var, position_var, velocity_var, velocity_var])


class Tracker:
    """Owns a set of tracks (``table``); the engine routes detections to it and hands tracks over."""

    def __init__(self, config: FusionConfig, allocate: Callable[[int], IntArray]) -> None:
        self.config = config
        self.table = TrackTable.empty()
        self._allocate = allocate
        self.stage_seconds: dict[str, float] = {}

    def process(
        self,
        detections: Detections,
        *,
        time_ms: FloatArray,
        fusion_ms: float,
        keys: IntArray,
        remembered: IntArray,
        memory: IdentityMemory | None = None,
    ) -> FrameResult:
        """Fuse one frame of detections (measured at ``time_ms``, clock-corrected) into the state at
        ``fusion_ms``. ``keys``: each detection's sender identity (``IdentityMemory.key``);
        ``remembered``: the track that identity last went to (-1: none). The identities matched and
        initiated are returned in the result and, given a ``memory``, remembered there."""
        config = self.config
        lap = _Laps(self.stage_seconds)
        table = self.table
        if len(table):
            dt_s = (fusion_ms - table.time_ms) / 1000.0
            if dt_s.any():
                table.state, table.covariance = kalman.predict(
                    table.state, table.covariance, dt_s, config.accel_density_m2ps3
                )
                table.time_ms = np.full(len(table), float(fusion_ms))
        lap("predict")
        if len(detections) == 0:
            return FrameResult.empty()
        raw_xy = np.column_stack([detections.x_m, detections.y_m])
        velocity = detections.velocity_mps
        variance = measurement_variance(detections, config)
        lag_s = (fusion_ms - time_ms) / 1000.0
        xy = raw_xy + velocity * lag_s[:, np.newaxis]
        variance[:, :2] += variance[:, 2:] * (lag_s**2)[:, np.newaxis]
        bits = np.left_shift(np.int64(1), detections.source_index % 63)

        rows = cols = np.empty(0, np.int64)
        unassigned = np.arange(len(detections), dtype=np.int64)
        result = FrameResult.empty()
        if len(table):
            candidates = self._candidates(
                detections=detections, xy=xy, velocity=velocity, variance=variance, remembered=remembered
            )
            lap("gate")
            assignment = associate_pairs(candidates, detections.source_index, len(detections))
            rows, cols = assignment.track_index, assignment.detection_index
            unassigned = assignment.unassigned_detections
            lap("assign")
            if len(rows):
                self._update(
                    rows=rows,
                    cols=cols,
                    xy=xy,
                    velocity=velocity,
                    variance=variance,
                    distance2=assignment.distance2,
                    fusion_ms=fusion_ms,
                )
                result = self._record(
                    rows=rows,
                    cols=cols,
                    detections=detections,
                    raw_xy=raw_xy,
                    velocity=velocity,
                    time_ms=time_ms,
                    bits=bits,
                    keys=keys,
                )
            lap("update")
        identity_keys, identity_tracks = result.identity_keys, result.identity_tracks
        if len(unassigned):
            new = initiate(
                detections.take(unassigned),
                time_ms=float(fusion_ms),
                xy_m=xy[unassigned],
                velocity_mps=velocity[unassigned],
                variance=variance[unassigned],
                source_bits=bits[unassigned],
                allocate=self._allocate,
            )
            new.bsm_xy_m = raw_xy[unassigned]
            new.bsm_time_ms = np.where(detections.self_report[unassigned], time_ms[unassigned], np.nan)
            identity_keys = np.concatenate([identity_keys, keys[unassigned]])
            identity_tracks = np.concatenate([identity_tracks, new.track_id])
            table.extend(new)
            lap("initiate")
        if memory is not None:
            memory.remember(identity_keys, identity_tracks)
        return FrameResult(
            len(rows),
            len(unassigned),
            result.timing_residual_s,
            result.timing_source,
            rows,
            cols,
            identity_keys,
            identity_tracks,
        )

    def _candidates(
        self,
        *,
        detections: Detections,
        xy: FloatArray,
        velocity: FloatArray,
        variance: FloatArray,
        remembered: IntArray,
    ) -> Candidates:
        """Score the pairs the gate can reach: position d² (gated), identity, penalty, velocity term."""
        config = self.config
        table = self.table
        state, covariance = table.state, table.covariance
        # the gate reaches at most sqrt(gate · (trace P + max R)) metres; the sender id up to identity_gate_m
        # (capped: a coasting track's gate must not sweep a whole junction)
        reach_m = np.clip(
            np.sqrt(config.gate_chi2 * (covariance[:, 0, 0] + covariance[:, 1, 1] + variance[:, :2].max())),
            config.identity_gate_m,
            config.max_gate_reach_m,
        )
        t, d = candidate_pairs(state[:, :2], xy, reach_m=reach_m, default_reach_m=CANDIDATE_REACH_M)
        # S = P + R for position and velocity, from the six elements of P the gate needs: one contiguous
        # gather per pair instead of strided (P, 2, 2) slices
        p = covariance.reshape(len(table), 16)[:, _GATE_ELEMENTS][t]
        r = variance[d]
        track_state = state[t]
        delta = xy[d] - track_state[:, :2]
        distance2 = _mahalanobis2(delta, p[:, 0] + r[:, 0], p[:, 1], p[:, 2] + r[:, 1])
        velocity_delta = velocity[d] - track_state[:, 2:]
        velocity_term = np.minimum(
            _mahalanobis2(velocity_delta, p[:, 3] + r[:, 2], p[:, 4], p[:, 5] + r[:, 3]),
            config.velocity_cost_cap,
        )
        track_bsm = table.bsm_id[t]
        same = (remembered[d] == table.track_id[t]) | (
            detections.self_report[d] & (track_bsm == detections.object_id[d]) & (track_bsm != NO_BSM_ID)
        )
        distance2_m2 = delta[:, 0] ** 2 + delta[:, 1] ** 2
        within_identity_gate = distance2_m2 <= config.identity_gate_m**2
        within_reach = distance2_m2 <= config.max_gate_reach_m**2
        feasible = ((distance2 <= config.gate_chi2) & within_reach) | (same & within_identity_gate)
        cost = np.minimum(distance2, config.gate_chi2)
        cost -= config.identity_bonus * same
        cost += np.where(table.confirmed[t], 0.0, config.tentative_penalty)
        cost += velocity_term
        return Candidates(t, d, distance2, cost, feasible)

    def _update(
        self,
        *,
        rows: IntArray,
        cols: IntArray,
        xy: FloatArray,
        velocity: FloatArray,
        variance: FloatArray,
        distance2: FloatArray,
        fusion_ms: float,
    ) -> None:
        """One Kalman update per hit track with the information-weighted mean of its detections."""
        table = self.table
        information = 1.0 / variance[cols]
        z = np.column_stack([xy[cols], velocity[cols]])
        count = len(table)
        # per-track sums by bincount, column by column (several times faster than a 2-D np.add.at)
        total = np.column_stack([np.bincount(rows, information[:, k], count) for k in range(4)])
        weighted = np.column_stack([np.bincount(rows, information[:, k] * z[:, k], count) for k in range(4)])
        hit = np.flatnonzero(total[:, 0])
        total_information = total[hit]
        fused_z = weighted[hit] / total_information
        prior = table.covariance[hit]
        jumped = np.flatnonzero(distance2 > self.config.gate_chi2)
        if len(jumped):
            # accepted on identity outside the gate: the model was wrong (a one-step lane change), so
            # widen P by r r' before the update
            slot = np.searchsorted(hit, rows[jumped])
            r = xy[cols[jumped]] - table.state[rows[jumped], :2]
            prior[slot, :2, :2] += r[:, :, np.newaxis] * r[:, np.newaxis, :]
        new_state, new_cov = kalman.update_position_velocity(
            table.state[hit], prior, fused_z, 1.0 / total_information
        )
        table.state[hit] = new_state
        table.covariance[hit] = new_cov
        table.last_hit_ms[hit] = fusion_ms
        table.hit[hit] = True

    def _record(
        self,
        *,
        rows: IntArray,
        cols: IntArray,
        detections: Detections,
        raw_xy: FloatArray,
        velocity: FloatArray,
        time_ms: FloatArray,
        bits: IntArray,
        keys: IntArray,
    ) -> FrameResult:
        """Book-keeping of matched pairs: senders, class votes, size, BSM anchor, identities, timing."""
        table = self.table
        np.bitwise_or.at(table.source_bits, rows, bits[cols])
        own = detections.self_report[cols]
        weight = np.where(own, SELF_REPORT_KIND_WEIGHT, 1.0)
        votes = rows * KIND_COUNT + np.clip(detections.kind[cols], 0, KIND_COUNT - 1)
        table.kind_votes += np.bincount(votes, weight, table.kind_votes.size).reshape(table.kind_votes.shape)
        gain = self.config.size_gain
        table.length_m[rows] += gain * (detections.length_m[cols] - table.length_m[rows])
        table.width_m[rows] += gain * (detections.width_m[cols] - table.width_m[rows])
        anchored = rows[own]
        table.bsm_id[anchored] = detections.object_id[cols[own]]
        table.bsm_xy_m[anchored] = raw_xy[cols[own]]
        table.bsm_velocity_mps[anchored] = velocity[cols[own]]
        table.bsm_time_ms[anchored] = time_ms[cols[own]]
        roadside_rows, roadside_cols = rows[~own], cols[~own]
        residual = self._timing_residual(roadside_rows, raw_xy[roadside_cols], time_ms[roadside_cols])
        usable, delta_s = residual
        return FrameResult(
            len(rows),
            0,
            delta_s,
            detections.source_index[roadside_cols[usable]],
            rows,
            cols,
            keys[cols],
            table.track_id[rows],
        )

    def _timing_residual(
        self, target: IntArray, measured_xy: FloatArray, time_ms: FloatArray
    ) -> tuple[NDArray[np.bool_], FloatArray]:
        """δ = -(r·v)/|v|² (s) of roadside matches against the track's last self-report extrapolated to
        the detection's time: r = z - (z_bsm + v_bsm (t - t_bsm)). GNSS time is exact, so δ is the
        sender's remaining clock error (sender ahead: δ > 0). Only fast vehicles with a recent report."""
        table = self.table
        age_ms = time_ms - table.bsm_time_ms[target]
        usable = np.abs(age_ms) <= BSM_ANCHOR_MAX_AGE_MS  # few tracks carry a self-report: select first
        recent = np.flatnonzero(usable)
        velocity = table.bsm_velocity_mps[target[recent]]
        speed2 = (velocity**2).sum(axis=1)
        fast = speed2 >= self.config.clock_offset_min_speed_mps**2
        usable[recent[~fast]] = False
        velocity, speed2, recent = velocity[fast], speed2[fast], recent[fast]
        expected = table.bsm_xy_m[target[recent]] + velocity * (age_ms[recent, np.newaxis] / 1000.0)
        r = measured_xy[recent] - expected
        delta_s: FloatArray = -(r * velocity).sum(axis=1) / speed2
        return usable, delta_s

    def end_frame(self, fusion_ms: float) -> IntArray:
        """Merge duplicates, then advance every track's life cycle by one frame; returns the global ids of
        the tracks deleted (merged away or dead)."""
        lap = _Laps(self.stage_seconds)
        table = self.table
        keep = merge_duplicates(table, fusion_ms=fusion_ms, config=self.config)
        keep &= end_frame(table, fusion_ms=fusion_ms, config=self.config)
        deleted = table.track_id[~keep]
        table.keep(keep)
        lap("life cycle + merge")
        return deleted
