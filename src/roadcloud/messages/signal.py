"""Messages of signalised intersections: SPAT (phase and timing, 10 Hz) and MAP (intersection geometry)."""

from __future__ import annotations

import enum
from typing import Annotated

from msgspec import Meta

from roadcloud.messages.common import (
    DSecond,
    MinuteOfTheYear,
    MsgCount,
    NodeReferenceId,
    Position3D,
    PositionOffsetLL,
    Speed,
    Struct,
    TimeMark,
)


class LightState(enum.IntEnum):
    UNAVAILABLE = 0
    DARK = 1
    FLASHING_RED = 2
    RED = 3
    FLASHING_GREEN = 4
    PERMISSIVE_GREEN = 5
    PROTECTED_GREEN = 6
    YELLOW = 7
    FLASHING_YELLOW = 8


class TimeCountingDown(Struct, frozen=True, kw_only=True):
    """Timing of one light state relative to now, in 0.1 s (TimeMark)."""

    start_time: TimeMark
    min_end_time: TimeMark | None = None
    max_end_time: TimeMark | None = None
    likely_end_time: TimeMark
    time_confidence: Annotated[int, Meta(ge=0, le=200)] | None = None
    next_start_time: TimeMark | None = None
    next_duration: TimeMark | None = None


class PhaseState(Struct, frozen=True, kw_only=True):
    light: LightState
    timing: TimeCountingDown | None = None


class Phase(Struct, frozen=True, kw_only=True):
    """One signal group: the current state first, then the coming ones."""

    id: Annotated[int, Meta(ge=0, le=255)]
    phase_states: Annotated[list[PhaseState], Meta(min_length=1, max_length=16)]


class IntersectionState(Struct, frozen=True, kw_only=True):
    intersection_id: NodeReferenceId
    status: Annotated[int, Meta(ge=0, le=65535)] = 0  # IntersectionStatusObject bits; 0 = normal fixed time
    moy: MinuteOfTheYear | None = None
    time_stamp: DSecond | None = None
    phases: Annotated[list[Phase], Meta(min_length=1, max_length=16)]


class SPAT(Struct, frozen=True, kw_only=True):
    msg_cnt: MsgCount
    moy: MinuteOfTheYear | None = None
    time_stamp: DSecond | None = None
    name: Annotated[str, Meta(max_length=63)] | None = None
    intersections: Annotated[list[IntersectionState], Meta(min_length=1, max_length=32)]


class RegulatorySpeedLimit(Struct, frozen=True, kw_only=True):
    type: Annotated[int, Meta(ge=0, le=12)] = 5  # SpeedLimitType; 5 = vehicleMaxSpeed
    speed: Speed


class RoadPoint(Struct, frozen=True, kw_only=True):
    pos_offset: PositionOffsetLL


class ConnectingLane(Struct, frozen=True, kw_only=True):
    lane: Annotated[int, Meta(ge=0, le=255)]
    maneuver: Annotated[int, Meta(ge=0, le=4095)] | None = None  # AllowedManeuvers bits


class Connection(Struct, frozen=True, kw_only=True):
    remote_intersection: NodeReferenceId
    connecting_lane: ConnectingLane | None = None
    phase_id: Annotated[int, Meta(ge=0, le=255)] | None = None


class MapLane(Struct, frozen=True, kw_only=True):
    lane_id: Annotated[int, Meta(ge=0, le=255)]
    lane_width: Annotated[int, Meta(ge=0, le=32767)] | None = None  # cm
    maneuvers: Annotated[int, Meta(ge=0, le=4095)] | None = None
    connects_to: list[Connection] = []
    speed_limits: list[RegulatorySpeedLimit] = []
    points: Annotated[list[RoadPoint], Meta(max_length=31)] = []


class Movement(Struct, frozen=True, kw_only=True):
    remote_intersection: NodeReferenceId
    phase_id: Annotated[int, Meta(ge=0, le=255)] | None = None


class Link(Struct, frozen=True, kw_only=True):
    """A directed road from an upstream node into this node."""

    name: Annotated[str, Meta(max_length=63)] | None = None
    upstream_node_id: NodeReferenceId
    speed_limits: list[RegulatorySpeedLimit] = []
    lane_width: Annotated[int, Meta(ge=0, le=32767)]  # cm
    points: Annotated[list[RoadPoint], Meta(max_length=31)] = []
    movements: list[Movement] = []
    lanes: Annotated[list[MapLane], Meta(min_length=1, max_length=32)]


class Node(Struct, frozen=True, kw_only=True):
    name: Annotated[str, Meta(max_length=63)] | None = None
    id: NodeReferenceId
    ref_pos: Position3D
    in_links: Annotated[list[Link], Meta(max_length=32)] = []


class MAP(Struct, frozen=True, kw_only=True):
    msg_cnt: MsgCount
    moy: MinuteOfTheYear | None = None
    nodes: Annotated[list[Node], Meta(min_length=1, max_length=63)]
