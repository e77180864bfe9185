"""The V2X message model: typed structs with the field names and units of T/CSAE 53-2020.

Every arrow in the data flow is one of these. ``MESSAGE_TYPES`` maps the message name used in topics
(``roadcloud/v1/{zone}/{kind}/{device}/{message}/{up|down}``) to its struct.
"""

from __future__ import annotations

from roadcloud.messages.common import (
    BasicVehicleClass,
    NodeReferenceId,
    ParticipantType,
    Position3D,
    PositionOffsetLL,
    SourceType,
    TransmissionState,
    VehicleClassification,
    VehicleSize,
)
from roadcloud.messages.device import (
    ConditionQuantity,
    DeviceKind,
    DeviceStatus,
    Heartbeat,
    RoadConditionReading,
)
from roadcloud.messages.guidance import GuidanceAdvice, SpeedGuidance
from roadcloud.messages.roadside import (
    RSI,
    RSM,
    RSM_MAX_PARTICIPANTS,
    ParticipantData,
    ReferencePath,
    RSITimeDetails,
    RTEData,
    RTSData,
)
from roadcloud.messages.signal import (
    MAP,
    SPAT,
    IntersectionState,
    LightState,
    Link,
    MapLane,
    Node,
    Phase,
    PhaseState,
    TimeCountingDown,
)
from roadcloud.messages.truth import ActorKind, GroundTruth, IncidentKind, IncidentTruth
from roadcloud.messages.vehicle import BSM

Message = BSM | RSM | SPAT | MAP | RSI | Heartbeat | RoadConditionReading | GroundTruth | SpeedGuidance

MESSAGE_TYPES: dict[str, type[Message]] = {
    "bsm": BSM,
    "rsm": RSM,
    "spat": SPAT,
    "map": MAP,
    "rsi": RSI,
    "heartbeat": Heartbeat,
    "condition": RoadConditionReading,
    "truth": GroundTruth,
    "glosa": SpeedGuidance,  # down only: speed advice for one vehicle
}

DOWNLINK_ONLY_MESSAGES = frozenset({"glosa"})
"""Message names that only flow cloud → field: ingest refuses them on up-stream topics."""

__all__ = [
    "BSM",
    "DOWNLINK_ONLY_MESSAGES",
    "MAP",
    "MESSAGE_TYPES",
    "RSI",
    "RSM",
    "RSM_MAX_PARTICIPANTS",
    "SPAT",
    "ActorKind",
    "BasicVehicleClass",
    "ConditionQuantity",
    "DeviceKind",
    "DeviceStatus",
    "GroundTruth",
    "GuidanceAdvice",
    "Heartbeat",
    "IncidentKind",
    "IncidentTruth",
    "IntersectionState",
    "LightState",
    "Link",
    "MapLane",
    "Message",
    "Node",
    "NodeReferenceId",
    "ParticipantData",
    "ParticipantType",
    "Phase",
    "PhaseState",
    "Position3D",
    "PositionOffsetLL",
    "RSITimeDetails",
    "RTEData",
    "RTSData",
    "ReferencePath",
    "RoadConditionReading",
    "SourceType",
    "SpeedGuidance",
    "TimeCountingDown",
    "TransmissionState",
    "VehicleClassification",
    "VehicleSize",
]
