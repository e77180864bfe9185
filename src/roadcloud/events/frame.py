"""One LDM snapshot seen through the map: the per-track facts every detector shares, computed once.

``Frame.build`` turns an ``LdmSnapshot`` (tracks with lane and ``s``) into arrays: the lane each track
physically lies on, distance to the stop line, lane heading and the track's heading error against it,
offset from the lane centre, the road user class, and the leader on the same lane with the gap to it.
Detectors read these arrays; none of them loops over tracks.

The LDM's lane is heading-aware; a track lying outside it (a wrong-way driver, a stopped car whose
velocity heading is noise, a pedestrian walking against a sidewalk) is matched again on position alone
(``lanes.PositionMatcher``), so ``lane`` is where the track *is*, and ``heading_error_deg`` says which way
it goes there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from roadcloud.events.lanes import LaneTable, PositionMatcher
from roadcloud.fusion import LdmSnapshot
from roadcloud.messages.truth import ActorKind

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: a track this far outside its LDM lane's half width is matched again on position alone
OUTSIDE_LANE_M = 0.5

#: a "motor vehicle" this small is a bicycle, a "pedestrian" this long is one too
BICYCLE_MAX_LENGTH_M = 1.95
BICYCLE_MAX_WIDTH_M = 1.0
PEDESTRIAN_MAX_LENGTH_M = 1.2

MOTOR_KINDS = np.array([ActorKind.CAR, ActorKind.BUS, ActorKind.TRUCK, ActorKind.MOTORCYCLE], dtype=np.int64)


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """Derived per-track arrays of one snapshot (N rows, the snapshot's order)."""

    snapshot: LdmSnapshot
    time_ms: int
    lane: IntArray  # lane number in the LaneTable, -1 where the LDM has none
    s_m: FloatArray
    to_end_m: FloatArray  # distance to the lane's end (stop line on approach lanes); NaN off-lane
    lane_heading_deg: FloatArray
    heading_error_deg: FloatArray  # track heading minus lane heading in (-180, 180]
    offset_m: FloatArray  # distance from the lane's centre line
    on_carriageway_lane: BoolArray  # on a normal lane that motor traffic uses
    observed: BoolArray  # some sender reported the track this frame (not coasting on prediction)
    motor: BoolArray  # car, bus, truck, motorcycle
    cyclist: BoolArray
    pedestrian: BoolArray
    leader: IntArray  # next motor vehicle or cyclist ahead on the same lane, -1 if none
    gap_ahead_m: FloatArray  # bumper-to-bumper gap to the leader, inf if none

    def __len__(self) -> int:
        return len(self.lane)

    @classmethod
    def build(cls, snapshot: LdmSnapshot, lanes: LaneTable, positions: PositionMatcher) -> Frame:
        count = len(snapshot)
        lane = lanes.lane_numbers(snapshot.lane_id, count)
        s_m = np.where(lane >= 0, snapshot.s_m, np.nan)
        centre_x, centre_y, _ = lanes.centre(lane, s_m)
        offset = np.hypot(snapshot.x_m - centre_x, snapshot.y_m - centre_y)
        # Tracks outside the LDM lane they were matched to (by heading) lie on another lane: which one,
        # position alone says. Well inside their lane, as nearly all are, the LDM's match stands.
        outside = np.flatnonzero(
            (lane < 0) | ~(offset <= lanes.width_m[np.maximum(lane, 0)] / 2 + OUTSIDE_LANE_M)
        )
        if len(outside):
            lane = lane.copy()
            (lane[outside], s_m[outside], offset[outside], _) = positions.match(
                snapshot.x_m[outside], snapshot.y_m[outside], snapshot.heading_deg[outside]
            )
        on_lane = lane >= 0
        safe = np.where(on_lane, lane, 0)
        _, _, lane_heading = lanes.centre(lane, s_m)
        raw = snapshot.heading_deg - lane_heading
        heading_error = 180.0 - np.mod(180.0 - raw, 360.0)
        motor, cyclist, pedestrian = road_user_classes(snapshot)
        leader, gap = _leaders(lane, s_m, snapshot.length_m, on_lane & (motor | cyclist))
        return cls(
            snapshot=snapshot,
            time_ms=snapshot.time_ms,
            lane=lane,
            s_m=s_m,
            to_end_m=np.where(on_lane, lanes.length_m[safe] - s_m, np.nan),
            lane_heading_deg=lane_heading,
            heading_error_deg=heading_error,
            offset_m=offset,
            on_carriageway_lane=on_lane & lanes.carriageway[safe],
            observed=snapshot.source_count > 0,
            motor=motor,
            cyclist=cyclist,
            pedestrian=pedestrian,
            leader=leader,
            gap_ahead_m=gap,
        )


def road_user_classes(snapshot: LdmSnapshot) -> tuple[BoolArray, BoolArray, BoolArray]:
    """(motor vehicle, cyclist, pedestrian) per track, from the class fusion gives and the fused size.

    A fused track keeps the class of the object it started on, but its size follows what it sees: when
    a track jumps from a car to a cyclist beside it, a 1.7 m × 0.7 m "car" is a bicycle. Size decides
    where the two disagree beyond doubt (motorcycles are 2.0-2.3 m long, bicycles 1.5-1.9 m).
    """
    kind = snapshot.kind
    small = (snapshot.length_m < BICYCLE_MAX_LENGTH_M) & (snapshot.width_m < BICYCLE_MAX_WIDTH_M)
    wheeled_person = (kind == ActorKind.PEDESTRIAN) & (snapshot.length_m > PEDESTRIAN_MAX_LENGTH_M)
    cyclist = (kind == ActorKind.BICYCLE) | (np.isin(kind, MOTOR_KINDS) & small) | wheeled_person
    motor = np.isin(kind, MOTOR_KINDS) & ~cyclist
    pedestrian = (kind == ActorKind.PEDESTRIAN) & ~cyclist
    return motor, cyclist, pedestrian


def _leaders(
    lane: IntArray, s_m: FloatArray, length_m: FloatArray, eligible: BoolArray
) -> tuple[IntArray, FloatArray]:
    """For each eligible row, the next eligible row ahead on the same lane and the gap to it."""
    count = len(lane)
    leader = np.full(count, -1, dtype=np.int64)
    gap = np.full(count, np.inf)
    rows = np.flatnonzero(eligible)
    if len(rows) < 2:
        return leader, gap
    order = rows[np.lexsort((s_m[rows], lane[rows]))]
    same = lane[order[1:]] == lane[order[:-1]]
    behind = order[:-1][same]
    ahead = order[1:][same]
    leader[behind] = ahead
    gap[behind] = (s_m[ahead] - 0.5 * length_m[ahead]) - (s_m[behind] + 0.5 * length_m[behind])
    return leader, gap
