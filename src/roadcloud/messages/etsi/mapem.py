"""MAPEM (TS 103 301, MapData of ISO TS 19091) ↔ MAP: intersection geometry to and from ETSI equipment.

T/CSAE 53 describes a node by the links entering it, each with lanes; ISO TS 19091 describes an
intersection by a flat lane set in which each ingress lane names its approach. Each in-link becomes one
approach (numbered 1… in order) and its lanes become ingress vehicle lanes. Lane points are offsets from
the node's reference position in the model and are sent as absolute node-LatLon positions, so geometry
is exact; decoding also reads the node-XY offsets (cm) that most ETSI equipment sends.

What the mapping loses (round-trip tests compare only what survives):

- nodes without in-links are not sent (a MAPEM intersection needs a lane); ``Link.upstream_node_id``,
  ``Link.points`` and ``Link.movements`` have no MAPEM field. Decoding sets the upstream node to id 0
  and derives movements from the lanes' connections.
- lane width and speed limits travel per lane (the intersection's laneWidth plus the first node's
  dWidth; the first node's speedLimits attribute). Decoding gives the link the values of its first lane
  and keeps on each lane only values that differ from its link's. Width changes further along a lane,
  and speed limits after the first node, are dropped.
- ``Link.name`` travels as the name of its first lane. Names must be ASCII; empty names come back None.
- a connection without ``connecting_lane`` is sent with lane 0 ('unknown') and comes back without one;
  a connection to lane 0 without maneuvers comes back the same way.
- a lane needs 2 to 63 points to be sent; decoding keeps at most 31 points (the first 30 and the last),
  computed lanes come back without points, and lanes without an ingress approach (egress lanes,
  crosswalks) are dropped.
- MAPEM-only data (lane attributes, overlays, road segments, restriction classes, regional extensions)
  is dropped; every node's ``revision`` is ``msg_cnt``.
"""

from __future__ import annotations

from typing import Any, Final

from roadcloud.errors import ValidationError
from roadcloud.messages.common import NodeReferenceId
from roadcloud.messages.etsi._convert import ia5_name, mapping_guard, to_model
from roadcloud.messages.etsi._pdu import (
    EtsiMessage,
    bits_to_flags,
    decode_pdu,
    encode_pdu,
    flags_to_bits,
    header,
)
from roadcloud.messages.signal import MAP, Connection, Link, MapLane, Node
from roadcloud.messages.units import xy_offset_cm_to_latlon_units

MAX_APPROACHES: Final = 15  # ApproachID 1..15; 0 means unknown
MIN_LANE_POINTS: Final = 2
MAX_MODEL_LANE_POINTS: Final = 31
_MANEUVER_BITS: Final = 12
_UNKNOWN_LANE: Final = 0
_SPEED_LIMIT_TYPES: Final = (
    "unknown",
    "maxSpeedInSchoolZone",
    "maxSpeedInSchoolZoneWhenChildrenArePresent",
    "maxSpeedInConstructionZone",
    "vehicleMinSpeed",
    "vehicleMaxSpeed",
    "vehicleNightMaxSpeed",
    "truckMinSpeed",
    "truckMaxSpeed",
    "truckNightMaxSpeed",
    "vehiclesWithTrailersMinSpeed",
    "vehiclesWithTrailersMaxSpeed",
    "vehiclesWithTrailersNightMaxSpeed",
)
_INGRESS_PATH: Final = (0b10, 2)  # LaneDirection with only ingressPath set
_NO_SHARING: Final = (0, 10)
_VEHICLE_LANE: Final = ("vehicle", (0, 8))


def encode_mapem(map_message: MAP, *, station_id: int) -> bytes:
    """UPER-encode ``map_message`` as a MAPEM from ``station_id``."""
    intersections = [
        _intersection_geometry(node, revision=map_message.msg_cnt)
        for node in map_message.nodes
        if node.in_links
    ]
    if not intersections:
        raise ValidationError(
            "MAP has no node with in_links; a MAPEM intersection needs at least one lane, add the links"
        )
    body: dict[str, Any] = {"msgIssueRevision": map_message.msg_cnt, "intersections": intersections}
    if map_message.moy is not None:
        body["timeStamp"] = map_message.moy
    return encode_pdu(
        EtsiMessage.MAPEM, {"header": header(EtsiMessage.MAPEM, station_id=station_id), "map": body}
    )


def decode_mapem(data: bytes) -> MAP:
    """Decode a UPER MAPEM into a ``MAP``."""
    body = decode_pdu(EtsiMessage.MAPEM, data)["map"]
    with mapping_guard("MAPEM"):
        wire: dict[str, Any] = {
            "msgCnt": body["msgIssueRevision"],
            "nodes": [_node_wire(geometry) for geometry in body.get("intersections", [])],
        }
        if "timeStamp" in body:
            wire["moy"] = body["timeStamp"]
    return to_model(wire, MAP, source="MAPEM")


def _reference_id(node_id: NodeReferenceId) -> dict[str, int]:
    value = {"id": node_id.id}
    if node_id.region is not None:
        value["region"] = node_id.region
    return value


def _intersection_geometry(node: Node, *, revision: int) -> dict[str, Any]:
    where = f"MAP node {node.id.id}"
    if len(node.in_links) > MAX_APPROACHES:
        raise ValidationError(
            f"{where} has {len(node.in_links)} in-links; a MAPEM has at most {MAX_APPROACHES} approaches"
        )
    default_width_cm = node.in_links[0].lane_width
    ref_point: dict[str, Any] = {"lat": node.ref_pos.lat, "long": node.ref_pos.long}
    if node.ref_pos.elevation is not None:
        ref_point["elevation"] = node.ref_pos.elevation
    lanes: list[dict[str, Any]] = []
    for approach, link in enumerate(node.in_links, start=1):
        for index, lane in enumerate(link.lanes):
            generic = _generic_lane(
                lane,
                link,
                approach=approach,
                node=node,
                default_width_cm=default_width_cm,
                where=f"{where} link {approach} lane {lane.lane_id}",
            )
            name = ia5_name(link.name, field=f"{where} link {approach} name") if index == 0 else None
            if name is not None:
                generic["name"] = name
            lanes.append(generic)
    geometry: dict[str, Any] = {
        "id": _reference_id(node.id),
        "revision": revision,
        "refPoint": ref_point,
        "laneWidth": default_width_cm,
        "laneSet": lanes,
    }
    name = ia5_name(node.name, field=f"{where} name")
    if name is not None:
        geometry["name"] = name
    return geometry


def _generic_lane(
    lane: MapLane, link: Link, *, approach: int, node: Node, default_width_cm: int, where: str
) -> dict[str, Any]:
    if len(lane.points) < MIN_LANE_POINTS:
        raise ValidationError(
            f"{where} has {len(lane.points)} points; a MAPEM lane needs at least {MIN_LANE_POINTS}, "
            "add its geometry"
        )
    nodes: list[dict[str, Any]] = [
        {
            "delta": (
                "node-LatLon",
                {
                    "lon": node.ref_pos.long + point.pos_offset.lon,
                    "lat": node.ref_pos.lat + point.pos_offset.lat,
                },
            )
        }
        for point in lane.points
    ]
    attributes: dict[str, Any] = {}
    width_cm = link.lane_width if lane.lane_width is None else lane.lane_width
    if width_cm != default_width_cm:
        attributes["dWidth"] = width_cm - default_width_cm
    speed_limits = lane.speed_limits or link.speed_limits
    if speed_limits:
        attributes["data"] = [
            (
                "speedLimits",
                [{"type": _SPEED_LIMIT_TYPES[limit.type], "speed": limit.speed} for limit in speed_limits],
            )
        ]
    if attributes:
        nodes[0]["attributes"] = attributes
    generic: dict[str, Any] = {
        "laneID": lane.lane_id,
        "ingressApproach": approach,
        "laneAttributes": {
            "directionalUse": _INGRESS_PATH,
            "sharedWith": _NO_SHARING,
            "laneType": _VEHICLE_LANE,
        },
        "nodeList": ("nodes", nodes),
    }
    if lane.maneuvers is not None:
        generic["maneuvers"] = flags_to_bits(lane.maneuvers, _MANEUVER_BITS)
    if lane.connects_to:
        generic["connectsTo"] = [_connection_value(connection) for connection in lane.connects_to]
    return generic


def _connection_value(connection: Connection) -> dict[str, Any]:
    connecting: dict[str, Any] = {"lane": _UNKNOWN_LANE}
    if connection.connecting_lane is not None:
        connecting["lane"] = connection.connecting_lane.lane
        if connection.connecting_lane.maneuver is not None:
            connecting["maneuver"] = flags_to_bits(connection.connecting_lane.maneuver, _MANEUVER_BITS)
    value: dict[str, Any] = {
        "connectingLane": connecting,
        "remoteIntersection": _reference_id(connection.remote_intersection),
    }
    if connection.phase_id is not None:
        value["signalGroup"] = connection.phase_id
    return value


def _node_wire(geometry: dict[str, Any]) -> dict[str, Any]:
    ref = geometry["refPoint"]
    default_width_cm = geometry.get("laneWidth", 0)
    default_limits = [_speed_limit_wire(limit) for limit in geometry.get("speedLimits", [])]
    lanes_by_approach: dict[int, list[dict[str, Any]]] = {}
    for generic in geometry["laneSet"]:
        approach = generic.get("ingressApproach")
        if approach is not None:
            lanes_by_approach.setdefault(approach, []).append(generic)
    links = [
        _link_wire(
            lanes_by_approach[approach],
            ref=ref,
            default_width_cm=default_width_cm,
            default_limits=default_limits,
        )
        for approach in sorted(lanes_by_approach)
    ]
    ref_pos = {"lat": ref["lat"], "long": ref["long"]}
    if "elevation" in ref:
        ref_pos["elevation"] = ref["elevation"]
    wire: dict[str, Any] = {"id": dict(geometry["id"]), "refPos": ref_pos, "inLinks": links}
    if "name" in geometry:
        wire["name"] = geometry["name"]
    return wire


def _link_wire(
    generics: list[dict[str, Any]],
    *,
    ref: dict[str, Any],
    default_width_cm: int,
    default_limits: list[dict[str, int]],
) -> dict[str, Any]:
    lanes = [
        _lane_wire(generic, ref=ref, default_width_cm=default_width_cm, default_limits=default_limits)
        for generic in generics
    ]
    link_width_cm = lanes[0]["laneWidth"]
    link_limits = lanes[0]["speedLimits"]
    movements: list[dict[str, Any]] = []
    for lane in lanes:
        if lane["laneWidth"] == link_width_cm:
            del lane["laneWidth"]
        if lane["speedLimits"] == link_limits:
            del lane["speedLimits"]
        for connection in lane["connectsTo"]:
            movement = {"remoteIntersection": connection["remoteIntersection"]}
            if "phaseId" in connection:
                movement["phaseId"] = connection["phaseId"]
            if movement not in movements:
                movements.append(movement)
    link: dict[str, Any] = {
        "upstreamNodeId": {"id": 0},
        "laneWidth": link_width_cm,
        "speedLimits": link_limits,
        "movements": movements,
        "lanes": lanes,
    }
    if "name" in generics[0]:
        link["name"] = generics[0]["name"]
    return link


def _lane_wire(
    generic: dict[str, Any],
    *,
    ref: dict[str, Any],
    default_width_cm: int,
    default_limits: list[dict[str, int]],
) -> dict[str, Any]:
    points: list[dict[str, Any]] = []
    width_cm = default_width_cm
    limits = default_limits
    kind, node_list = generic["nodeList"]
    if kind == "nodes":
        points = _points_wire(node_list, ref=ref)
        first_attributes = node_list[0].get("attributes", {})
        width_cm += first_attributes.get("dWidth", 0)
        for data_kind, data in first_attributes.get("data", []):
            if data_kind == "speedLimits":
                limits = [_speed_limit_wire(limit) for limit in data]
    lane: dict[str, Any] = {
        "laneId": generic["laneID"],
        "laneWidth": width_cm,
        "speedLimits": limits,
        "points": points,
        "connectsTo": [_connection_wire(connection) for connection in generic.get("connectsTo", [])],
    }
    if "maneuvers" in generic:
        lane["maneuvers"] = bits_to_flags(generic["maneuvers"])
    return lane


def _points_wire(node_list: list[dict[str, Any]], *, ref: dict[str, Any]) -> list[dict[str, Any]]:
    """Node deltas → offsets from the reference point (1e-7 degree), thinned to what the model holds."""
    offsets: list[tuple[int, int]] = []
    # node-XY deltas are summed in cm and converted once, so rounding does not build up along a lane;
    # a node-LatLon restarts the sum from its absolute position.
    base_lat, base_lon = 0, 0
    x_cm, y_cm = 0, 0
    for node in node_list:
        kind, delta = node["delta"]
        if kind == "node-LatLon":
            base_lat, base_lon = delta["lat"] - ref["lat"], delta["lon"] - ref["long"]
            x_cm, y_cm = 0, 0
        elif kind.startswith("node-XY"):
            x_cm, y_cm = x_cm + delta["x"], y_cm + delta["y"]
        else:  # a regional extension we cannot read
            continue
        lat, lon = xy_offset_cm_to_latlon_units(x_cm, y_cm, ref_lat_units=ref["lat"])
        offsets.append((base_lat + lat, base_lon + lon))
    if len(offsets) > MAX_MODEL_LANE_POINTS:
        offsets = [*offsets[: MAX_MODEL_LANE_POINTS - 1], offsets[-1]]
    return [{"posOffset": {"lat": lat, "lon": lon}} for lat, lon in offsets]


def _speed_limit_wire(limit: dict[str, Any]) -> dict[str, int]:
    return {"type": _SPEED_LIMIT_TYPES.index(limit["type"]), "speed": limit["speed"]}


def _connection_wire(value: dict[str, Any]) -> dict[str, Any]:
    connection: dict[str, Any] = {"remoteIntersection": dict(value.get("remoteIntersection", {"id": 0}))}
    connecting = value["connectingLane"]
    if connecting["lane"] != _UNKNOWN_LANE or "maneuver" in connecting:
        lane: dict[str, int] = {"lane": connecting["lane"]}
        if "maneuver" in connecting:
            lane["maneuver"] = bits_to_flags(connecting["maneuver"])
        connection["connectingLane"] = lane
    if "signalGroup" in value:
        connection["phaseId"] = value["signalGroup"]
    return connection


__all__ = ["MAX_APPROACHES", "decode_mapem", "encode_mapem"]
