"""MAPEM ↔ MAP: lane geometry, connections and per-lane attributes survive; link-only data does not."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roadcloud.errors import DecodeError, ValidationError
from roadcloud.messages import MAP, Link, MapLane, Node, NodeReferenceId, Position3D, PositionOffsetLL
from roadcloud.messages.etsi import EtsiMessage, decode_mapem, decode_to_json, encode_mapem
from roadcloud.messages.etsi._pdu import decode_pdu, encode_pdu
from roadcloud.messages.signal import Connection, Movement, RoadPoint

from ..examples import map_message
from ..strategies import from_model
from .fuzz import (
    assert_decodes_or_rejects,
    assert_rejects_trailing_bytes,
    assert_rejects_truncations,
    bit_flips,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ascii_names = st.none() | st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=63)
offset_units = st.integers(min_value=-1_000_000, max_value=1_000_000)  # ±0.1°, far beyond an intersection
lane_points = st.lists(
    st.builds(RoadPoint, pos_offset=st.builds(PositionOffsetLL, lon=offset_units, lat=offset_units)),
    min_size=2,
    max_size=31,
)
lane_widths_cm = st.integers(min_value=250, max_value=450)

valid_maps = from_model(
    MAP,
    overrides={
        (Position3D, "lat"): st.integers(min_value=-850_000_000, max_value=850_000_000),
        (Position3D, "long"): st.integers(min_value=-1_790_000_000, max_value=1_790_000_000),
        (PositionOffsetLL, "lon"): offset_units,
        (PositionOffsetLL, "lat"): offset_units,
        (Node, "name"): ascii_names,
        (Link, "name"): ascii_names,
        (Link, "lane_width"): lane_widths_cm,
        (MapLane, "lane_width"): st.none() | lane_widths_cm,
        (MapLane, "points"): lane_points,
    },
).filter(lambda message: any(node.in_links for node in message.nodes))


def _connection_back(connection: Connection) -> Connection:
    lane = connection.connecting_lane
    if lane is not None and lane.lane == 0 and lane.maneuver is None:
        lane = None
    return msgspec.structs.replace(connection, connecting_lane=lane)


def _link_back(link: Link) -> Link:
    widths = [link.lane_width if lane.lane_width is None else lane.lane_width for lane in link.lanes]
    limits = [lane.speed_limits or link.speed_limits for lane in link.lanes]
    lanes = [
        msgspec.structs.replace(
            lane,
            lane_width=None if width == widths[0] else width,
            speed_limits=[] if lane_limits == limits[0] else lane_limits,
            connects_to=[_connection_back(connection) for connection in lane.connects_to],
        )
        for lane, width, lane_limits in zip(link.lanes, widths, limits, strict=True)
    ]
    movements: list[Movement] = []
    for lane in lanes:
        for connection in lane.connects_to:
            movement = Movement(
                remote_intersection=connection.remote_intersection, phase_id=connection.phase_id
            )
            if movement not in movements:
                movements.append(movement)
    return msgspec.structs.replace(
        link,
        name=link.name or None,
        upstream_node_id=NodeReferenceId(id=0),
        speed_limits=limits[0],
        lane_width=widths[0],
        points=[],
        movements=movements,
        lanes=lanes,
    )


def expected_after_mapem(message: MAP) -> MAP:
    """What a MAPEM carries back, by the rules in roadcloud.messages.etsi.mapem."""
    return msgspec.structs.replace(
        message,
        nodes=[
            msgspec.structs.replace(
                node, name=node.name or None, in_links=[_link_back(link) for link in node.in_links]
            )
            for node in message.nodes
            if node.in_links
        ],
    )


def test_hand_built_map_round_trips_what_survives() -> None:
    message = map_message()
    decoded = decode_mapem(encode_mapem(message, station_id=4201))
    assert decoded == expected_after_mapem(message)
    link = decoded.nodes[0].in_links[0]
    assert link.points == [] and link.upstream_node_id == NodeReferenceId(id=0)
    assert link.lanes[0].points == message.nodes[0].in_links[0].lanes[0].points  # geometry is exact
    assert link.lanes[1].lane_width == 325


@SETTINGS
@given(message=valid_maps)
def test_random_map_round_trips_what_survives(message: MAP) -> None:
    decoded = decode_mapem(encode_mapem(message, station_id=1))
    assert decoded == expected_after_mapem(message)
    assert decode_mapem(encode_mapem(decoded, station_id=1)) == decoded


def test_lanes_are_ingress_lanes_of_numbered_approaches_with_absolute_nodes() -> None:
    wire = decode_to_json(EtsiMessage.MAPEM, encode_mapem(map_message(), station_id=4201))
    geometry = wire["map"]["intersections"][0]
    assert geometry["laneWidth"] == 350
    first, second = geometry["laneSet"]
    assert (first["ingressApproach"], second["ingressApproach"]) == (1, 1)
    assert first["laneAttributes"]["directionalUse"] == "10"
    assert first["maneuvers"] == "100000000000"  # maneuverStraightAllowed is the first named bit
    nodes = first["nodeList"]["nodes"]
    assert nodes[0]["delta"] == {"node-LatLon": {"lon": 1_165_063_456 + 900, "lat": 397_956_123 + 10}}
    assert nodes[0]["attributes"]["data"] == [{"speedLimits": [{"type": "vehicleMaxSpeed", "speed": 833}]}]
    assert second["nodeList"]["nodes"][0]["attributes"]["dWidth"] == -25


def test_node_xy_offsets_from_etsi_equipment_are_read() -> None:
    pdu = decode_pdu(EtsiMessage.MAPEM, encode_mapem(map_message(), station_id=4201))
    lane = pdu["map"]["intersections"][0]["laneSet"][1]
    lane["nodeList"] = (
        "nodes",
        [
            {"delta": ("node-XY3", {"x": 1_000, "y": 0})},  # 10 m east of the reference point
            {"delta": ("node-XY4", {"x": 2_000, "y": -1_000})},  # then 20 m east, 10 m south
        ],
    )
    decoded = decode_mapem(encode_pdu(EtsiMessage.MAPEM, pdu))
    points = decoded.nodes[0].in_links[0].lanes[1].points
    # at 39.8° N one 1e-7 degree is 1.110 cm north-south and 0.856 cm east-west
    assert abs(points[0].pos_offset.lon - 1_168) <= 1 and points[0].pos_offset.lat == 0
    assert abs(points[1].pos_offset.lon - 3_503) <= 1 and abs(points[1].pos_offset.lat + 901) <= 1


def test_long_etsi_lanes_are_thinned_keeping_both_ends() -> None:
    pdu = decode_pdu(EtsiMessage.MAPEM, encode_mapem(map_message(), station_id=4201))
    lane = pdu["map"]["intersections"][0]["laneSet"][0]
    lane["nodeList"] = ("nodes", [{"delta": ("node-XY1", {"x": 100, "y": 0})} for _ in range(40)])
    points = decode_mapem(encode_pdu(EtsiMessage.MAPEM, pdu)).nodes[0].in_links[0].lanes[0].points
    assert len(points) == 31
    assert abs(points[-1].pos_offset.lon - 4_670) <= 2  # the 40th node, 40 m east


def test_egress_lanes_are_dropped() -> None:
    pdu = decode_pdu(EtsiMessage.MAPEM, encode_mapem(map_message(), station_id=4201))
    egress = dict(pdu["map"]["intersections"][0]["laneSet"][0], laneID=9)
    del egress["ingressApproach"]
    egress["egressApproach"] = 2
    pdu["map"]["intersections"][0]["laneSet"].append(egress)
    lanes = decode_mapem(encode_pdu(EtsiMessage.MAPEM, pdu)).nodes[0].in_links[0].lanes
    assert [lane.lane_id for lane in lanes] == [1, 2]


def test_a_lane_without_geometry_says_what_to_add() -> None:
    message = map_message()
    lane = msgspec.structs.replace(message.nodes[0].in_links[0].lanes[0], points=[])
    link = msgspec.structs.replace(message.nodes[0].in_links[0], lanes=[lane])
    broken = msgspec.structs.replace(
        message, nodes=[msgspec.structs.replace(message.nodes[0], in_links=[link])]
    )
    with pytest.raises(ValidationError, match=r"lane 1 has 0 points.*add its geometry"):
        encode_mapem(broken, station_id=1)


def test_a_map_without_links_cannot_be_a_mapem() -> None:
    message = msgspec.structs.replace(
        map_message(), nodes=[msgspec.structs.replace(map_message().nodes[0], in_links=[])]
    )
    with pytest.raises(ValidationError, match="no node with in_links"):
        encode_mapem(message, station_id=1)


def test_too_many_approaches_is_a_validation_error() -> None:
    node = map_message().nodes[0]
    crowded = msgspec.structs.replace(node, in_links=[node.in_links[0]] * 16)
    with pytest.raises(ValidationError, match="16 in-links"):
        encode_mapem(msgspec.structs.replace(map_message(), nodes=[crowded]), station_id=1)


def test_lane_width_too_different_from_the_intersections_names_the_field() -> None:
    message = map_message()
    lane = msgspec.structs.replace(message.nodes[0].in_links[0].lanes[1], lane_width=1_200)
    link = msgspec.structs.replace(
        message.nodes[0].in_links[0], lanes=[message.nodes[0].in_links[0].lanes[0], lane]
    )
    wide = msgspec.structs.replace(
        message, nodes=[msgspec.structs.replace(message.nodes[0], in_links=[link])]
    )
    with pytest.raises(ValidationError, match="dWidth"):
        encode_mapem(wide, station_id=1)


def test_truncated_and_padded_payloads_are_decode_errors() -> None:
    payload = encode_mapem(map_message(), station_id=4201)
    assert_rejects_truncations(decode_mapem, payload)
    assert_rejects_trailing_bytes(decode_mapem, payload)


def test_a_spatem_is_not_a_mapem() -> None:
    with pytest.raises(DecodeError, match="looks like a SPATEM"):
        decode_mapem(b"\x02\x04\x00\x00\x00\x07" + b"\x00" * 30)


@settings(max_examples=300, deadline=None)
@given(garbage=st.binary(max_size=200))
def test_garbage_never_crashes(garbage: bytes) -> None:
    assert_decodes_or_rejects(decode_mapem, b"\x02\x05" + garbage)


@settings(max_examples=300, deadline=None)
@given(corrupted=bit_flips(encode_mapem(map_message(), station_id=4201)))
def test_corrupted_mapems_never_crash(corrupted: bytes) -> None:
    assert_decodes_or_rejects(decode_mapem, corrupted)
