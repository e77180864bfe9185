"""DENM (EN 302 637-3 v1.3.1) ↔ ``DenmEvent``: road hazard warnings to and from ETSI equipment.

A DENM names its event with an ETSI cause code, while an RSI event (``RTEData``) uses the GB/T 29100
event types of T/CSAE 53, and the two code lists have no published correspondence. So the DENM maps to
its own small struct, ``DenmEvent``, in roadcloud units; the advisory services decide which RSI event a
cause code stands for, and back. Positions and times are absolute (WGS84 in 1e-7 degree, UTC epoch ms).

What the mapping loses (round-trip tests compare only what survives):

- the header stationID (the sender, which may be a station forwarding someone else's DENM): decoding
  keeps the originating station of the actionID.
- position confidence, altitude confidence, speed and heading confidence, transmissionInterval,
  linkedCause, eventHistory, roadType and the whole à-la-carte container.
- all traces but the first; path point altitudes and delta times. A trace point whose offset is
  'unavailable' ends the trace.
- event speed 0.01 → 0.02 m/s and heading 0.1° → 0.0125° (see ``roadcloud.messages.units``): encoding
  rounds heading to 0.1° and decoding rounds odd ETSI speeds half up.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, Final

from msgspec import Meta

from roadcloud.errors import ValidationError
from roadcloud.messages.common import Heading, Position3D, PositionOffsetLL, Speed, Struct
from roadcloud.messages.etsi._convert import mapping_guard, to_model
from roadcloud.messages.etsi._pdu import EtsiMessage, decode_pdu, encode_pdu, header, reference_position
from roadcloud.messages.units import (
    ITS_EPOCH_UTC_MS,
    elevation_units_to_etsi_altitude,
    epoch_ms_to_its_timestamp_ms,
    etsi_altitude_to_elevation_units,
    etsi_heading_to_heading_units,
    etsi_speed_to_speed_units,
    heading_units_to_etsi_heading,
    its_timestamp_ms_to_epoch_ms,
    speed_units_to_etsi_speed,
)

StationId = Annotated[int, Meta(ge=0, le=4_294_967_295)]
# TimestampIts runs from 2004 for 2^42 ms; keep the model inside it.
EpochMs = Annotated[int, Meta(ge=ITS_EPOCH_UTC_MS, le=ITS_EPOCH_UTC_MS + 4_398_046_511_103 - 10_000)]
TRACE_MAX_POINTS: Final = 40


class Termination(enum.IntEnum):
    CANCELLATION = 0  # the originator ends its own event
    NEGATION = 1  # another station says the event is gone


class RelevanceDistance(enum.IntEnum):
    LESS_THAN_50_M = 0
    LESS_THAN_100_M = 1
    LESS_THAN_200_M = 2
    LESS_THAN_500_M = 3
    LESS_THAN_1000_M = 4
    LESS_THAN_5_KM = 5
    LESS_THAN_10_KM = 6
    OVER_10_KM = 7


class RelevanceTrafficDirection(enum.IntEnum):
    ALL_TRAFFIC_DIRECTIONS = 0
    UPSTREAM_TRAFFIC = 1
    DOWNSTREAM_TRAFFIC = 2
    OPPOSITE_TRAFFIC = 3


class DenmEvent(Struct, frozen=True, kw_only=True):
    """What one DENM says, in T/CSAE 53 units: an event, where and when, and its ETSI cause.

    ``trace`` is the path leading to the event as offsets from ``event_pos`` (1e-7 degree), nearest first.
    ``cause_code`` None means a DENM without situation container (allowed for terminations).
    """

    station_id: StationId  # originating ITS station
    sequence_number: Annotated[int, Meta(ge=0, le=65535)]
    detection_time_ms: EpochMs  # UTC
    reference_time_ms: EpochMs  # UTC; when this version of the event was generated
    termination: Termination | None = None
    event_pos: Position3D
    relevance_distance: RelevanceDistance | None = None
    relevance_traffic_direction: RelevanceTrafficDirection | None = None
    validity_duration_s: Annotated[int, Meta(ge=0, le=86400)] = 600
    station_type: Annotated[int, Meta(ge=0, le=255)] = 0  # StationType of the originator
    cause_code: Annotated[int, Meta(ge=0, le=255)] | None = None
    sub_cause_code: Annotated[int, Meta(ge=0, le=255)] = 0
    information_quality: Annotated[int, Meta(ge=0, le=7)] = 0  # 0 unavailable, 1 lowest … 7 highest
    event_speed: Speed | None = None  # 0.02 m/s
    event_heading: Heading | None = None  # 0.0125 degree
    trace: Annotated[list[PositionOffsetLL], Meta(max_length=TRACE_MAX_POINTS)] = []


_TERMINATION_NAMES: Final = {Termination.CANCELLATION: "isCancellation", Termination.NEGATION: "isNegation"}
_RELEVANCE_DISTANCE_NAMES: Final = (
    "lessThan50m",
    "lessThan100m",
    "lessThan200m",
    "lessThan500m",
    "lessThan1000m",
    "lessThan5km",
    "lessThan10km",
    "over10km",
)
_TRAFFIC_DIRECTION_NAMES: Final = (
    "allTrafficDirections",
    "upstreamTraffic",
    "downstreamTraffic",
    "oppositeTraffic",
)
_DELTA_LATLON_UNAVAILABLE: Final = 131_072
_DELTA_LATLON_MAX: Final = 131_071
_DELTA_ALTITUDE_UNAVAILABLE: Final = 12_800
_CONFIDENCE_UNAVAILABLE: Final = 127
_DEFAULT_VALIDITY_S: Final = 600


def encode_denm(event: DenmEvent) -> bytes:
    """UPER-encode ``event`` as a DENM sent by its originating station."""
    management: dict[str, Any] = {
        "actionID": {"originatingStationID": event.station_id, "sequenceNumber": event.sequence_number},
        "detectionTime": epoch_ms_to_its_timestamp_ms(event.detection_time_ms),
        "referenceTime": epoch_ms_to_its_timestamp_ms(event.reference_time_ms),
        "eventPosition": reference_position(
            event.event_pos.lat,
            event.event_pos.long,
            elevation_units_to_etsi_altitude(event.event_pos.elevation),
        ),
        "validityDuration": event.validity_duration_s,
        "stationType": event.station_type,
    }
    if event.termination is not None:
        management["termination"] = _TERMINATION_NAMES[event.termination]
    if event.relevance_distance is not None:
        management["relevanceDistance"] = _RELEVANCE_DISTANCE_NAMES[event.relevance_distance]
    if event.relevance_traffic_direction is not None:
        management["relevanceTrafficDirection"] = _TRAFFIC_DIRECTION_NAMES[event.relevance_traffic_direction]
    denm: dict[str, Any] = {"management": management}
    if event.cause_code is not None:
        denm["situation"] = {
            "informationQuality": event.information_quality,
            "eventType": {"causeCode": event.cause_code, "subCauseCode": event.sub_cause_code},
        }
    if event.event_speed is not None or event.event_heading is not None or event.trace:
        denm["location"] = _location(event)
    return encode_pdu(
        EtsiMessage.DENM, {"header": header(EtsiMessage.DENM, station_id=event.station_id), "denm": denm}
    )


def decode_denm(data: bytes) -> DenmEvent:
    """Decode a UPER DENM into a ``DenmEvent``."""
    denm = decode_pdu(EtsiMessage.DENM, data)["denm"]
    with mapping_guard("DENM"):
        wire = _event_wire(denm)
    return to_model(wire, DenmEvent, source="DENM")


def _event_wire(denm: dict[str, Any]) -> dict[str, Any]:
    management = denm["management"]
    position = management["eventPosition"]
    wire: dict[str, Any] = {
        "stationId": management["actionID"]["originatingStationID"],
        "sequenceNumber": management["actionID"]["sequenceNumber"],
        "detectionTimeMs": its_timestamp_ms_to_epoch_ms(management["detectionTime"]),
        "referenceTimeMs": its_timestamp_ms_to_epoch_ms(management["referenceTime"]),
        "eventPos": {"lat": position["latitude"], "long": position["longitude"]},
        "validityDurationS": management.get("validityDuration", _DEFAULT_VALIDITY_S),
        "stationType": management.get("stationType", 0),
    }
    elevation = etsi_altitude_to_elevation_units(position["altitude"]["altitudeValue"])
    if elevation is not None:
        wire["eventPos"]["elevation"] = elevation
    if "termination" in management:
        wire["termination"] = 0 if management["termination"] == "isCancellation" else 1
    if "relevanceDistance" in management:
        wire["relevanceDistance"] = _RELEVANCE_DISTANCE_NAMES.index(management["relevanceDistance"])
    if "relevanceTrafficDirection" in management:
        wire["relevanceTrafficDirection"] = _TRAFFIC_DIRECTION_NAMES.index(
            management["relevanceTrafficDirection"]
        )
    situation = denm.get("situation")
    if situation is not None:
        wire["causeCode"] = situation["eventType"]["causeCode"]
        wire["subCauseCode"] = situation["eventType"]["subCauseCode"]
        wire["informationQuality"] = situation["informationQuality"]
    location = denm.get("location")
    if location is not None:
        if "eventSpeed" in location:
            wire["eventSpeed"] = etsi_speed_to_speed_units(location["eventSpeed"]["speedValue"])
        if "eventPositionHeading" in location:
            wire["eventHeading"] = etsi_heading_to_heading_units(
                location["eventPositionHeading"]["headingValue"]
            )
        wire["trace"] = _trace_offsets(location["traces"][0])
    return wire


def _location(event: DenmEvent) -> dict[str, Any]:
    location: dict[str, Any] = {"traces": [_path_history(event.trace)]}
    if event.event_speed is not None:
        location["eventSpeed"] = {
            "speedValue": speed_units_to_etsi_speed(event.event_speed),
            "speedConfidence": _CONFIDENCE_UNAVAILABLE,
        }
    if event.event_heading is not None:
        location["eventPositionHeading"] = {
            "headingValue": heading_units_to_etsi_heading(event.event_heading),
            "headingConfidence": _CONFIDENCE_UNAVAILABLE,
        }
    return location


def _path_history(trace: list[PositionOffsetLL]) -> list[dict[str, Any]]:
    """Offsets from the event position → PathPoints, each relative to the one before."""
    points: list[dict[str, Any]] = []
    previous_lat, previous_lon = 0, 0
    for index, point in enumerate(trace):
        delta_lat, delta_lon = point.lat - previous_lat, point.lon - previous_lon
        if max(abs(delta_lat), abs(delta_lon)) > _DELTA_LATLON_MAX:
            raise ValidationError(
                f"DenmEvent trace point {index} is {max(abs(delta_lat), abs(delta_lon))} × 1e-7 degree "
                f"from the one before, over the DENM limit of {_DELTA_LATLON_MAX} (about 1.4 km); "
                "add points between"
            )
        points.append(
            {
                "pathPosition": {
                    "deltaLatitude": delta_lat,
                    "deltaLongitude": delta_lon,
                    "deltaAltitude": _DELTA_ALTITUDE_UNAVAILABLE,
                }
            }
        )
        previous_lat, previous_lon = point.lat, point.lon
    return points


def _trace_offsets(path_history: list[dict[str, Any]]) -> list[dict[str, int]]:
    offsets: list[dict[str, int]] = []
    lat, lon = 0, 0
    for point in path_history:
        delta = point["pathPosition"]
        if _DELTA_LATLON_UNAVAILABLE in (delta["deltaLatitude"], delta["deltaLongitude"]):
            break
        lat, lon = lat + delta["deltaLatitude"], lon + delta["deltaLongitude"]
        offsets.append({"lat": lat, "lon": lon})
    return offsets


__all__ = [
    "DenmEvent",
    "RelevanceDistance",
    "RelevanceTrafficDirection",
    "Termination",
    "decode_denm",
    "encode_denm",
]
