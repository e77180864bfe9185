"""Messages from roadside units: RSM (perceived participants) up, RSI (events and signs) down."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from roadcloud.messages.common import (
    Confidence,
    DeviceId,
    DSecond,
    Heading,
    MinuteOfTheYear,
    MsgCount,
    NodeReferenceId,
    ParticipantType,
    Position3D,
    PositionOffsetLL,
    SourceType,
    Speed,
    Struct,
    VehicleClassification,
    VehicleSize,
)

RSM_MAX_PARTICIPANTS = 16


class ParticipantData(Struct, frozen=True, kw_only=True):
    """One road user as a roadside unit perceived it; ``pos`` is relative to the RSM's ``ref_pos``."""

    ptc_type: ParticipantType
    ptc_id: Annotated[int, Meta(ge=0, le=65535)]  # the unit's own object id
    source: SourceType
    id: Annotated[str, Meta(max_length=16)] | None = None  # the vehicle's BSM id when known
    sec_mark: DSecond
    pos: PositionOffsetLL
    speed: Speed
    heading: Heading
    size: VehicleSize
    vehicle_class: VehicleClassification | None = None


class RSM(Struct, frozen=True, kw_only=True):
    """Roadside safety message: at most 16 participants; larger object lists are split."""

    msg_cnt: MsgCount
    id: DeviceId
    ref_pos: Position3D
    participants: Annotated[list[ParticipantData], Meta(min_length=1, max_length=RSM_MAX_PARTICIPANTS)]


class RSITimeDetails(Struct, frozen=True, kw_only=True):
    start_time: MinuteOfTheYear
    end_time: MinuteOfTheYear | None = None


class ReferencePath(Struct, frozen=True, kw_only=True):
    """A polyline the event applies to, with half-width ``path_radius`` (0.1 m)."""

    active_path: Annotated[list[PositionOffsetLL], Meta(min_length=1, max_length=32)]
    path_radius: Annotated[int, Meta(ge=0, le=65535)]


class ReferenceLink(Struct, frozen=True, kw_only=True):
    upstream_node_id: NodeReferenceId
    downstream_node_id: NodeReferenceId
    reference_lanes: Annotated[int, Meta(ge=0, le=65535)] | None = None  # bit per lane id


class RTEData(Struct, frozen=True, kw_only=True):
    """A road traffic event (event types are the GB/T 29100 codes used by T/CSAE 53)."""

    rte_id: Annotated[int, Meta(ge=0, le=255)]
    event_type: Annotated[int, Meta(ge=0, le=65535)]
    event_source: Annotated[int, Meta(ge=0, le=7)] = 0  # 0 unknown, 1 police, 2 government, …
    event_pos: PositionOffsetLL | None = None
    event_radius: Annotated[int, Meta(ge=0, le=65535)] | None = None  # 0.1 m
    description: Annotated[str, Meta(max_length=256)] | None = None
    time_details: RSITimeDetails | None = None
    priority: Annotated[int, Meta(ge=0, le=7)] | None = None
    reference_paths: list[ReferencePath] = []
    reference_links: list[ReferenceLink] = []
    event_confidence: Confidence | None = None  # 0.005


class RTSData(Struct, frozen=True, kw_only=True):
    """A road traffic sign (sign types per GB 5768)."""

    rts_id: Annotated[int, Meta(ge=0, le=255)]
    sign_type: Annotated[int, Meta(ge=0, le=65535)]
    sign_pos: PositionOffsetLL | None = None
    description: Annotated[str, Meta(max_length=256)] | None = None
    time_details: RSITimeDetails | None = None
    priority: Annotated[int, Meta(ge=0, le=7)] | None = None
    reference_paths: list[ReferencePath] = []
    reference_links: list[ReferenceLink] = []


class RSI(Struct, frozen=True, kw_only=True):
    """Road side information: events and signs with the zone they are relevant to."""

    msg_cnt: MsgCount
    moy: MinuteOfTheYear
    id: DeviceId
    ref_pos: Position3D
    rtes: Annotated[list[RTEData], Meta(max_length=8)] = []
    rtss: Annotated[list[RTSData], Meta(max_length=16)] = []
