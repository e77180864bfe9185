"""One tile's tracker: wires predictor, gate, assignment, updater and life cycle together.

Per batch (one sender, one measurement time):

    predict nearby tracks to the batch time  →  gate (Mahalanobis)  →  assign (Hungarian)
    →  update matched tracks  →  initiate tentative tracks from the rest

and once per frame ``end_frame`` (merge duplicates, confirm, delete). All steps are array operations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from roadcloud.fusion import kalman
from roadcloud.fusion.association import associate, mahalanobis2
from roadcloud.fusion.config import FusionConfig
from roadcloud.fusion.detections import Detections
from roadcloud.fusion.lifecycle import SELF_REPORT_KIND_WEIGHT, end_frame, initiate, merge_duplicates
from roadcloud.fusion.tracks import KIND_COUNT, NO_BSM_ID, IdentityMemory, TrackTable

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

CANDIDATE_MARGIN_M = 30.0
"""Tracks farther than this outside a batch's bounding box are not predicted or scored for it."""


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one batch did: matched and new counts, and the timing residuals of fast confirmed matches
    (seconds, δ = -(r·v)/|v|², the sender's clock error still left after correction)."""

    matched: int
    initiated: int
    timing_residual_s: FloatArray


def measurement_noise(detections: Detections, config: FusionConfig) -> FloatArray:
    """(D, 4, 4) diagonal R for [x, y, vx, vy]: roadside or self-report accuracy per row."""
    position_std = np.where(detections.self_report, config.bsm_position_std_m, config.rsu_position_std_m)
    velocity_std = np.where(detections.self_report, config.bsm_velocity_std_mps, config.rsu_velocity_std_mps)
    noise = np.zeros((len(detections), 4, 4))
    noise[:, 0, 0] = noise[:, 1, 1] = position_std**2
    noise[:, 2, 2] = noise[:, 3, 3] = velocity_std**2
    return noise


class Tracker:
    """Owns the tracks of one tile (``table``); the engine routes detections and hands tracks over."""

    def __init__(self, config: FusionConfig, allocate: Callable[[int], IntArray]) -> None:
        self.config = config
        self.table = TrackTable.empty()
        self._allocate = allocate

    def process(self, batch: Detections, *, time_ms: float, memory: IdentityMemory) -> BatchResult:
        """Fuse one batch measured at ``time_ms`` (already corrected for the sender's clock offset)."""
        config = self.config
        table = self.table
        xy = np.column_stack([batch.x_m, batch.y_m])
        velocity = batch.velocity_mps
        noise = measurement_noise(batch, config)
        bits = np.left_shift(np.int64(1), batch.source_index % 63)
        keys = IdentityMemory.key(batch.source_index, batch.object_id)
        remembered = memory.lookup(keys)
        remembered[batch.self_report] = -1

        low = xy.min(axis=0) - CANDIDATE_MARGIN_M
        high = xy.max(axis=0) + CANDIDATE_MARGIN_M
        position = table.state[:, :2]
        near = np.flatnonzero(((position >= low) & (position <= high)).all(axis=1))
        residual = np.empty(0)
        unassigned = np.arange(len(batch), dtype=np.int64)
        matched = 0
        if len(near):
            dt_s = (time_ms - table.time_ms[near]) / 1000.0
            state, covariance = kalman.predict(
                table.state[near], table.covariance[near], dt_s, config.accel_density_m2ps3
            )
            distance2 = mahalanobis2(state[:, :2], covariance[:, :2, :2], xy, noise[:, :2, :2])
            same = remembered[np.newaxis, :] == table.track_id[near, np.newaxis]
            same |= (
                batch.self_report[np.newaxis, :]
                & (table.bsm_id[near, np.newaxis] == batch.object_id[np.newaxis, :])
                & (table.bsm_id[near, np.newaxis] != NO_BSM_ID)
            )
            penalty = np.where(table.confirmed[near], 0.0, config.tentative_penalty)
            result = associate(
                distance2,
                gate_chi2=config.gate_chi2,
                same_identity=same,
                identity_bonus=config.identity_bonus,
                track_penalty=penalty,
            )
            rows, cols = result.track_index, result.detection_index
            matched = len(rows)
            unassigned = result.unassigned_detections
            if matched:
                z = np.column_stack([xy[cols], velocity[cols]])
                new_state, new_cov = kalman.update(
                    state[rows], covariance[rows], z, noise[cols], kalman.H_POSITION_VELOCITY
                )
                target = near[rows]
                residual = self._timing_residual(state[rows], xy[cols], table.confirmed[target])
                table.state[target] = new_state
                table.covariance[target] = new_cov
                table.time_ms[target] = time_ms
                table.last_hit_ms[target] = time_ms
                table.hit[target] = True
                table.source_bits[target] |= bits[cols]
                weight = np.where(batch.self_report[cols], SELF_REPORT_KIND_WEIGHT, 1.0)
                np.add.at(table.kind_votes, (target, np.clip(batch.kind[cols], 0, KIND_COUNT - 1)), weight)
                gain = config.size_gain
                table.length_m[target] += gain * (batch.length_m[cols] - table.length_m[target])
                table.width_m[target] += gain * (batch.width_m[cols] - table.width_m[target])
                own = batch.self_report[cols]
                table.bsm_id[target[own]] = batch.object_id[cols[own]]
                roadside = ~own
                memory.remember(keys[cols[roadside]], table.track_id[target[roadside]])
        if len(unassigned):
            new = initiate(
                batch.take(unassigned),
                time_ms=time_ms,
                velocity_mps=velocity[unassigned],
                noise=noise[unassigned],
                source_bits=bits[unassigned],
                allocate=self._allocate,
            )
            roadside = ~batch.self_report[unassigned]
            memory.remember(keys[unassigned[roadside]], new.track_id[roadside])
            table.extend(new)
        return BatchResult(matched, len(unassigned), residual)

    def _timing_residual(self, predicted: FloatArray, measured_xy: FloatArray, confirmed: NDArray[np.bool_]) -> FloatArray:
        velocity = predicted[:, 2:]
        speed2 = (velocity**2).sum(axis=1)
        usable = confirmed & (speed2 >= self.config.clock_offset_min_speed_mps**2)
        r = measured_xy[usable] - predicted[usable, :2]
        delta_s: FloatArray = -(r * velocity[usable]).sum(axis=1) / speed2[usable]
        return delta_s

    def end_frame(self, fusion_ms: float) -> None:
        """Merge duplicates, then advance every track's life cycle by one frame."""
        self.table.keep(merge_duplicates(self.table, fusion_ms=fusion_ms, config=self.config))
        self.table.keep(end_frame(self.table, fusion_ms=fusion_ms, config=self.config))
