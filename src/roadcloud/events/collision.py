"""Collision risk: pairs of road users whose predicted paths bring them into contact within seconds.

Paths are predicted every 0.1 s up to ``collision_ttc_s`` (``_predict``): along the lane's centre line
for a track moving along its lane, so a turning vehicle turns; straight on for anything else; at the
current speed (nobody reacts), except that a vehicle that can still stop at a red light stops there.
Two road users are in contact when their footprints (length × width boxes along their headings)
overlap to within ``collision_margin_m`` on every axis of the separating-axis test; the time to
collision (TTC) is the first such sample.

Closeness alone is not risk: ordinary car-following closes on a slower leader all the time, and drivers
brake. A pair at risk also needs an emergency: the deceleration needed to avoid contact, closing speed /
(2 × TTC), is at least ``collision_min_decel_mps2`` (with TTC up to ``collision_ttc_s``), or one of the
two is already braking at least ``collision_hard_braking_mps2`` (with TTC up to
``collision_braking_ttc_s``: the near miss in progress, the evasive braking of someone who saw it
late). SUMO's drivers (and calm human ones) brake at up to about 4.5 m/s² when they approach a queue,
so both thresholds (6) mark emergencies. The risk must hold for ``collision_confirm_s``.

Pairs already touching now are left out (a fused duplicate, or two boxes of a queue drawn slightly too
long), and so are pairs that are not closing, where neither is moving, road users keeping to
side-by-side lanes (parallel paths, however close they pass), and a vehicle waiting at a junction (at
its stop line whatever the light, or standing inside the junction to turn) with anyone but the traffic
coming up its own lane: right of way has it let crossing traffic pass. A pair whose contact would need
more than ``collision_max_decel_mps2`` to avoid is a wrong predicted path, not a conflict: a real one is
seen coming while it can still be braked for.

The lights and right of way settle two more kinds of pair. Movements whose signal groups the controller's
program never shows green together (``LaneTable.groups_compatible``, built once per map from
``SignalController.phases``) are kept apart by the lights: while one of the pair's lanes shows red or
yellow on all its groups, its vehicle stops at its line (or, already in the junction, clears it) and the
pair is no conflict; a red-light runner is the red-light detector's event. Followers in one lane share
their groups, so rear-end conflicts are never silenced this way. And a pedestrian or cyclist on a crossing
or walking area has right of way there: a motor vehicle braking at least ``collision_yield_braking_mps2``
near them is yielding as expected; only one that keeps coming is at risk.

Candidate pairs come from one k-d tree query (``scipy.spatial.cKDTree.query_pairs``) within
``collision_search_m``; everything after it is one broadcast over the pairs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from roadcloud.events.base import Context
from roadcloud.events.candidates import Candidates, evidence_confidence
from roadcloud.events.lanes import CROSSING, INTERNAL, WALKINGAREA
from roadcloud.events.model import EventType
from roadcloud.events.signal_state import PERMISSIVENESS
from roadcloud.messages import LightState

FloatArray = NDArray[np.float64]

STEP_S = 0.1
#: below this speed a track's velocity heading is noise; its lane tells its orientation better
_ORIENTATION_SPEED_MPS = 2.0
#: a vehicle within this angle of its lane's direction (or its reverse) keeps to its lane (a turn is
#: still straightening out at 30-40 degrees); a pedestrian or cyclist, within the tighter one
_ALONG_LANE_DEG = 60.0
_VRU_ALONG_LANE_DEG = 30.0
#: weight of the newest speed difference in the smoothed acceleration (fused speeds jitter ~0.1 m/s)
_ACCEL_SMOOTHING = 0.5
#: lanes whose directions differ by at most this (or run opposite within it) are side by side
_PARALLEL_LANES_DEG = 20.0
#: a vehicle standing this close to a red stop line is waiting at it
_WAITING_ZONE_M = 10.0
#: fused speeds that change faster than this between snapshots are a track jumping objects, not braking
_MAX_ACCEL_MPS2 = 10.0
#: a vehicle that can stop at a red or yellow light with this deceleration is predicted to stop there
_STOPPING_DECEL_MPS2 = 4.5
_PAIR_MIX = np.uint64(0x9E3779B97F4A7C15)


class CollisionDetector:
    columns: Mapping[str, int | float] = {
        "seen_speed_mps": np.nan,
        "accel_mps2": 0.0,
        "seen_heading_deg": np.nan,
    }

    def __init__(self) -> None:
        self._pairs: dict[tuple[int, int], tuple[int, int]] = {}  # (id a, id b) -> (onset_ms, last_ms)

    def detect(self, context: Context) -> list[Candidates]:
        frame, config, now = context.frame, context.config, context.now_ms
        snapshot = frame.snapshot
        motion = _motion(context)
        i, j, ttc_s, closing_mps, decel_mps2 = _risky_pairs(context, motion)
        ids_a = np.minimum(snapshot.track_id[i], snapshot.track_id[j])
        ids_b = np.maximum(snapshot.track_id[i], snapshot.track_id[j])
        tolerance_ms = context.tolerance_ms
        # A risk that takes more than braking can give to avoid is a wrong predicted path (a turn drawn
        # straight across a junction, a box drawn too long): a real conflict is confirmed while it can
        # still be braked for, and only an event already raised keeps counting it as it grows that urgent.
        implausible = decel_mps2 > config.collision_max_decel_mps2
        if implausible.any():
            key_now = (ids_a.astype(np.uint64) * _PAIR_MIX + ids_b.astype(np.uint64)).view(np.int64)
            followed = np.isin(key_now, context.active(EventType.COLLISION_RISK))
            keep = ~implausible | followed
            i, j, ttc_s, closing_mps, decel_mps2 = (
                i[keep],
                j[keep],
                ttc_s[keep],
                closing_mps[keep],
                decel_mps2[keep],
            )
            ids_a, ids_b = ids_a[keep], ids_b[keep]
        held_ms = np.zeros(len(i), dtype=np.int64)
        onset_ms = np.zeros(len(i), dtype=np.int64)
        seen: set[tuple[int, int]] = set()
        for n, pair in enumerate(zip(ids_a.tolist(), ids_b.tolist(), strict=True)):
            onset, last = self._pairs.get(pair, (now, now))
            if now - last > tolerance_ms:
                onset = now
            self._pairs[pair] = (onset, now)
            seen.add(pair)
            onset_ms[n] = onset
            held_ms[n] = now - onset
        for pair in [
            p for p, (_onset, last) in self._pairs.items() if p not in seen and now - last > tolerance_ms
        ]:
            del self._pairs[pair]
        confirmed = held_ms >= round(config.collision_confirm_s * 1000)
        faster = np.where(snapshot.speed_mps[i] >= snapshot.speed_mps[j], i, j)
        key = (ids_a.astype(np.uint64) * _PAIR_MIX + ids_b.astype(np.uint64)).view(np.int64)
        return [
            Candidates(
                event_type=EventType.COLLISION_RISK,
                key=key,
                confirmed=confirmed,
                x_m=(snapshot.x_m[i] + snapshot.x_m[j]) / 2,
                y_m=(snapshot.y_m[i] + snapshot.y_m[j]) / 2,
                lane=frame.lane[faster],
                s_m=frame.s_m[faster],
                # 5: contact within a second; 4: within the threshold
                severity=np.where(ttc_s <= 1.0, 5, 4).astype(np.int64),
                confidence=evidence_confidence(
                    np.minimum(snapshot.source_count[i], snapshot.source_count[j]),
                    held_ms / 1000.0,
                    max(config.collision_confirm_s, STEP_S),
                    (decel_mps2 - config.collision_min_decel_mps2) / config.collision_min_decel_mps2,
                ),
                onset_ms=onset_ms,
                members=[[a, b] for a, b in zip(ids_a.tolist(), ids_b.tolist(), strict=True)],
                details={"ttc_s": ttc_s, "closing_speed_mps": closing_mps, "required_decel_mps2": decel_mps2},
            )
        ]


@dataclass(frozen=True, slots=True)
class _Motion:
    accel_mps2: FloatArray  # smoothed, per track
    heading_deg: FloatArray  # the velocity heading, or for slow tracks the last one seen while moving


def _motion(context: Context) -> _Motion:
    """Acceleration and a trustworthy heading per track, from this snapshot and the remembered ones."""
    snapshot = context.frame.snapshot
    recalled = context.recalled
    speed = snapshot.speed_mps
    step_s = context.dt_ms / 1000.0
    previous = recalled["seen_speed_mps"]
    fresh = np.isfinite(previous) & (step_s > 0)
    raw = np.where(fresh, (speed - np.nan_to_num(previous)) / max(step_s, 1e-3), 0.0)
    raw = np.clip(raw, -_MAX_ACCEL_MPS2, _MAX_ACCEL_MPS2)
    accel = np.where(fresh, (1 - _ACCEL_SMOOTHING) * recalled["accel_mps2"] + _ACCEL_SMOOTHING * raw, 0.0)
    moving = speed >= _ORIENTATION_SPEED_MPS
    seen_heading = np.where(moving, snapshot.heading_deg, recalled["seen_heading_deg"])
    context.stored.update(seen_speed_mps=speed, accel_mps2=accel, seen_heading_deg=seen_heading)
    lane_heading = context.frame.lane_heading_deg
    heading = np.where(
        moving, snapshot.heading_deg, np.where(np.isfinite(seen_heading), seen_heading, lane_heading)
    )
    heading = np.where(np.isfinite(heading), heading, snapshot.heading_deg)
    return _Motion(accel_mps2=accel, heading_deg=heading)


def _risky_pairs(
    context: Context, motion: _Motion
) -> tuple[NDArray[np.int64], NDArray[np.int64], FloatArray, FloatArray, FloatArray]:
    """Rows (i, j) of pairs at risk now, with their TTC, closing speed and needed deceleration."""
    frame, config = context.frame, context.config
    snapshot = frame.snapshot
    none = np.empty(0, dtype=np.int64)
    if len(frame) < 2:
        return none, none, np.empty(0), np.empty(0), np.empty(0)
    x, y = snapshot.x_m, snapshot.y_m
    pairs = cKDTree(np.column_stack([x, y])).query_pairs(config.collision_search_m, output_type="ndarray")
    i = pairs[:, 0].astype(np.int64)
    j = pairs[:, 1].astype(np.int64)
    speed = snapshot.speed_mps
    moving = speed >= config.stopped_speed_mps
    px, py = x[j] - x[i], y[j] - y[i]
    vx = snapshot.vx_mps[j] - snapshot.vx_mps[i]
    vy = snapshot.vy_mps[j] - snapshot.vy_mps[i]
    distance = np.hypot(px, py)
    closing = -(px * vx + py * vy) / np.maximum(distance, 1e-6)
    # Both must be seen now: a track coasting on prediction (its vehicle left the network) drives on.
    observed = frame.observed
    keep = (
        observed[i]
        & observed[j]
        & (frame.motor[i] | frame.motor[j])
        & (moving[i] | moving[j])
        & (closing >= config.collision_min_closing_mps)
    )
    # Even head-on, contact needs the distance (less both half diagonals) to close within the horizon.
    half_diagonal = 0.5 * np.hypot(snapshot.length_m, snapshot.width_m)
    horizon_s = max(config.collision_ttc_s, config.collision_braking_ttc_s)
    keep &= distance <= np.hypot(vx, vy) * horizon_s + half_diagonal[i] + half_diagonal[j] + 1.0
    # Road users keeping to side-by-side lanes travel parallel paths, however close they pass (a car
    # beside a pedestrian on the kerb, overtaking, oncoming traffic): no conflict unless one leaves its lane.
    error = np.abs(np.nan_to_num(frame.heading_error_deg, nan=90.0))
    along_deg = np.where(frame.motor, _ALONG_LANE_DEG, _VRU_ALONG_LANE_DEG)
    keeps_lane = ~moving | (error <= along_deg) | (error >= 180.0 - along_deg)
    on_road = (frame.lane >= 0) & context.lanes.is_normal[np.maximum(frame.lane, 0)]
    lane_turn = np.abs(np.mod(frame.lane_heading_deg[i] - frame.lane_heading_deg[j] + 90.0, 180.0) - 90.0)
    parallel = on_road[i] & on_road[j] & (frame.lane[i] != frame.lane[j]) & (lane_turn <= _PARALLEL_LANES_DEG)
    keep &= ~(parallel & keeps_lane[i] & keeps_lane[j])
    # A vehicle waiting at a junction (at red, or yielding at its stop line or inside the junction) is
    # in nobody's way but its own lane's: right of way makes it let crossing traffic pass its front
    # (which fused positions can draw a little too far out).
    waiting = _waiting_at_junction(context)
    keep &= ~((waiting[i] | waiting[j]) & (frame.lane[i] != frame.lane[j]))
    # Movements the controller's program never lets go together are kept apart by the lights: while one
    # of them shows red or yellow, its vehicle stops at (or, already past it, clears) its stop line and
    # the other has the conflict area, so the pair is no conflict (a red-light runner is its own event).
    keep &= ~_held_apart_by_lights(context, i, j)
    # A pedestrian or cyclist on a crossing or walking area has right of way there: a vehicle braking
    # near them is yielding as expected; only one that keeps coming is a risk.
    keep &= ~(_yielding(context, motion, i, j) | _yielding(context, motion, j, i))
    i, j = i[keep], j[keep]
    if len(i) == 0:
        return none, none, np.empty(0), np.empty(0), np.empty(0)
    steps = (np.arange(0, int(np.ceil(horizon_s / STEP_S)) + 1) * STEP_S).astype(np.float64)
    rows, index = np.unique(np.concatenate([i, j]), return_inverse=True)
    path_x, path_y, path_hx, path_hy = _predict(context, motion, rows, steps)
    a, b = index[: len(i)], index[len(i) :]
    dx = path_x[b] - path_x[a]  # (P, K) separation j - i over time
    dy = path_y[b] - path_y[a]
    size_a = (snapshot.length_m[i][:, None], snapshot.width_m[i][:, None])
    size_b = (snapshot.length_m[j][:, None], snapshot.width_m[j][:, None])
    contact = _boxes_touch(
        dx,
        dy,
        first=(path_hx[a], path_hy[a], *size_a),
        second=(path_hx[b], path_hy[b], *size_b),
        margin_m=config.collision_margin_m,
    )
    ahead = contact[:, 1:]
    first = np.argmax(ahead, axis=1)
    will_touch = ahead.any(axis=1) & ~contact[:, 0]
    ttc = (first + 1) * STEP_S
    # Closing speed just before contact, from the predicted separation.
    picked = np.arange(len(i))
    closing_speed = (
        np.hypot(dx[picked, first + 1] - dx[picked, first], dy[picked, first + 1] - dy[picked, first])
        / STEP_S
    )
    decel = closing_speed / (2.0 * ttc)
    # Emergency either way: avoiding contact needs hard braking, or one of the two is braking hard now
    # (a near miss in progress: the follower that saw it late already stands on the brake).
    braking_mps2 = -np.minimum(motion.accel_mps2[i], motion.accel_mps2[j])
    needs_emergency = (ttc <= config.collision_ttc_s + 1e-9) & (decel >= config.collision_min_decel_mps2)
    in_emergency = (ttc <= config.collision_braking_ttc_s + 1e-9) & (
        braking_mps2 >= config.collision_hard_braking_mps2
    )
    risky = will_touch & (needs_emergency | in_emergency)
    return i[risky], j[risky], ttc[risky], closing_speed[risky], decel[risky]


def _held_apart_by_lights(context: Context, i: NDArray[np.int64], j: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Pairs on lanes whose signal groups are never green together (``LaneTable.groups_compatible``)
    while the lane of one of them shows red or yellow on all its groups now."""
    frame, lanes = context.frame, context.lanes
    lane_i, lane_j = frame.lane[i], frame.lane[j]
    known = ((lane_i >= 0) & (lane_j >= 0))[:, None]
    groups_i = np.where(known, lanes.lane_groups[np.maximum(lane_i, 0)], -1)  # (P, K)
    groups_j = np.where(known, lanes.lane_groups[np.maximum(lane_j, 0)], -1)
    both = (groups_i[:, :, None] >= 0) & (groups_j[:, None, :] >= 0)  # (P, K, K)
    pairs_ok = lanes.groups_compatible[
        np.maximum(groups_i, 0)[:, :, None], np.maximum(groups_j, 0)[:, None, :]
    ]
    together = (both & pairs_ok).any(axis=(1, 2))
    apart = (groups_i >= 0).any(axis=1) & (groups_j >= 0).any(axis=1) & ~together
    rank = context.lights.group_ranks
    # A lane's light is its most permissive group's (a vehicle on it may take that movement); unknown 0.
    rank_i = np.where(groups_i >= 0, rank[np.maximum(groups_i, 0)], 0).max(axis=1, initial=0)
    rank_j = np.where(groups_j >= 0, rank[np.maximum(groups_j, 0)], 0).max(axis=1, initial=0)
    stop_rank = PERMISSIVENESS[LightState.YELLOW]
    held = ((rank_i > 0) & (rank_i <= stop_rank)) | ((rank_j > 0) & (rank_j <= stop_rank))
    result: NDArray[np.bool_] = apart & held
    return result


def _yielding(
    context: Context, motion: _Motion, vehicle: NDArray[np.int64], person: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """Pairs where ``vehicle`` (a motor vehicle) brakes near ``person`` (a pedestrian or cyclist) on a
    crossing or walking area: it is yielding to them."""
    frame, lanes = context.frame, context.lanes
    snapshot = frame.snapshot
    lane = frame.lane[person]
    function = np.where(lane >= 0, lanes.function[np.maximum(lane, 0)], -1)
    on_footway = (function == CROSSING) | (function == WALKINGAREA)
    # The polygon test only for the few pairs with someone on foot or on a bicycle in them.
    afoot = np.flatnonzero(~frame.motor[person] & ~on_footway)
    on_footway[afoot] = lanes.near_walking_area(snapshot.x_m[person[afoot]], snapshot.y_m[person[afoot]])
    braking = -motion.accel_mps2[vehicle] >= context.config.collision_yield_braking_mps2
    result: NDArray[np.bool_] = frame.motor[vehicle] & ~frame.motor[person] & on_footway & braking
    return result


def _waiting_at_junction(context: Context) -> NDArray[np.bool_]:
    """Vehicles standing within ``_WAITING_ZONE_M`` of the end of their lane, whatever its light (at red,
    or yielding to turn), or standing inside a junction (yielding to oncoming traffic before a turn)."""
    frame, lanes = context.frame, context.lanes
    lane = np.maximum(frame.lane, 0)
    standing = (frame.lane >= 0) & (frame.snapshot.speed_mps < context.config.stopped_speed_mps)
    at_line = lanes.is_normal[lane] & (np.nan_to_num(frame.to_end_m, nan=np.inf) <= _WAITING_ZONE_M)
    inside = lanes.function[lane] == INTERNAL
    waiting: NDArray[np.bool_] = standing & (at_line | inside)
    return waiting


def _predict(
    context: Context, motion: _Motion, rows: NDArray[np.int64], steps: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Predicted centre (x, y) and heading unit vector (hx, hy) of each row at each step, shape (R, K).

    How far each goes: at its speed (time to collision assumes nobody reacts), but only to the stop
    line when it approaches a red or yellow light it can still stop at (braking as hard as it does).
    Where it goes: a track moving along its lane follows the lane's centre line (turning with it through
    a junction) and runs on straight past the lane's end; any other (crossing the road, off the map,
    going the wrong way) keeps its heading. A slow track keeps the orientation it last moved in.
    """
    frame, lanes = context.frame, context.lanes
    snapshot = frame.snapshot
    speed = snapshot.speed_mps[rows]
    lane = frame.lane[rows]
    to_stop = _distance_to_stop(context, motion.accel_mps2, rows)
    travel = np.minimum(speed[:, None] * steps[None, :], to_stop[:, None])
    rad = np.radians(motion.heading_deg[rows])
    hx = np.repeat(np.sin(rad)[:, None], len(steps), axis=1)
    hy = np.repeat(np.cos(rad)[:, None], len(steps), axis=1)
    x0, y0 = snapshot.x_m[rows], snapshot.y_m[rows]
    px = x0[:, None] + hx * travel
    py = y0[:, None] + hy * travel
    error = np.abs(np.nan_to_num(frame.heading_error_deg[rows], nan=90.0))
    along_deg = np.where(frame.motor[rows], _ALONG_LANE_DEG, _VRU_ALONG_LANE_DEG)
    along = np.flatnonzero((speed >= _ORIENTATION_SPEED_MPS) & (lane >= 0) & (error <= along_deg))
    if len(along):
        lane_a = lane[along]
        s0 = frame.s_m[rows[along]]
        s = s0[:, None] + travel[along]  # (A, K)
        end = lanes.length_m[lane_a]
        count = s.shape[1]
        cx, cy, ch = lanes.centre(np.repeat(lane_a, count), np.minimum(s, end[:, None]).ravel())
        start_x, start_y, _ = lanes.centre(lane_a, s0)
        beyond = np.maximum(s - end[:, None], 0.0).ravel()
        end_rad = np.radians(ch)
        # Keep the track's offset from the centre line: lanes are driven off-centre too.
        ox, oy = x0[along] - start_x, y0[along] - start_y
        px[along] = (cx + beyond * np.sin(end_rad)).reshape(-1, count) + ox[:, None]
        py[along] = (cy + beyond * np.cos(end_rad)).reshape(-1, count) + oy[:, None]
        hx[along] = np.sin(end_rad).reshape(-1, count)
        hy[along] = np.cos(end_rad).reshape(-1, count)
    return px, py, hx, hy


def _distance_to_stop(context: Context, accel_mps2: FloatArray, rows: NDArray[np.int64]) -> FloatArray:
    """How far each row may go: to its stop line if it approaches a red or yellow light it can stop at,
    else without limit. (A red-light runner too fast to stop is predicted to run it.)"""
    frame, lanes = context.frame, context.lanes
    speed = frame.snapshot.speed_mps[rows]
    lane = frame.lane[rows]
    to_end = frame.to_end_m[rows]
    limit = np.full(len(rows), np.inf)
    # Stopping as hard as it brakes already (at least comfortably), within half a length of the line.
    decel = np.maximum(-accel_mps2[rows], _STOPPING_DECEL_MPS2)
    slack = 0.5 * frame.snapshot.length_m[rows]
    can_stop = (
        (lane >= 0)
        & lanes.signalised[np.maximum(lane, 0)]
        & (speed * speed / (2 * decel) <= np.nan_to_num(to_end, nan=-np.inf) + slack)
    )
    # The centre stops half a length short of the line (a long bus's fused centre can sit that far off).
    front_to_line = to_end - 0.5 * frame.snapshot.length_m[rows]
    rank = context.lights.lane_rank[np.maximum(lane, 0)]
    stops = can_stop & (
        (rank == PERMISSIVENESS[LightState.RED]) | (rank == PERMISSIVENESS[LightState.YELLOW])
    )
    limit[stops] = np.maximum(front_to_line[stops], 0.0)
    return limit


Box = tuple[FloatArray, FloatArray, FloatArray, FloatArray]  # heading x, heading y, length, width


def _boxes_touch(
    dx: FloatArray, dy: FloatArray, *, first: Box, second: Box, margin_m: float
) -> NDArray[np.bool_]:
    """Whether two boxes, ``second`` offset by (dx, dy) from ``first``, overlap to within ``margin_m``:
    the separating axis test on both boxes' axes. All arrays broadcast to (P, K): pairs × times."""
    touching = np.ones(dx.shape, dtype=bool)
    for box in (first, second):
        hx, hy = box[0], box[1]
        for ax, ay in ((hx, hy), (-hy, hx)):  # along the box, and across it
            reach = _half_extent(first, ax, ay) + _half_extent(second, ax, ay) + margin_m
            touching &= np.abs(dx * ax + dy * ay) <= reach
    return touching


def _half_extent(box: Box, ax: FloatArray, ay: FloatArray) -> FloatArray:
    """Half the length of a box's shadow on the unit axis (ax, ay)."""
    hx, hy, length_m, width_m = box
    along = np.abs(hx * ax + hy * ay)
    across = np.abs(-hy * ax + hx * ay)
    extent: FloatArray = 0.5 * length_m * along + 0.5 * width_m * across
    return extent
