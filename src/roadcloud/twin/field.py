"""Build the field side's wire messages (RSM, BSM, SPAT, MAP, heartbeat) from the twin's arrays.

Pure functions: positions come in the local metric frame with their WGS84 already computed, times as UTC
epoch milliseconds of the sending device's own clock. Unit conversions go through
``roadcloud.messages.units`` so the twin speaks exactly what a real RSU or OBU would.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from roadcloud.map import RoadMap
from roadcloud.messages import (
    BSM,
    MAP,
    RSM,
    RSM_MAX_PARTICIPANTS,
    ActorKind,
    BasicVehicleClass,
    NodeReferenceId,
    ParticipantData,
    ParticipantType,
    Position3D,
    PositionOffsetLL,
    SourceType,
    VehicleClassification,
    VehicleSize,
)
from roadcloud.messages.signal import ConnectingLane, Connection, Link, MapLane, Node, RoadPoint
from roadcloud.messages.units import (
    deg_to_heading_units,
    deg_to_latlon_units,
    m_to_cm,
    mps_to_speed_units,
)

PARTICIPANT_TYPE_OF_KIND = {
    ActorKind.CAR: ParticipantType.MOTOR,
    ActorKind.BUS: ParticipantType.MOTOR,
    ActorKind.TRUCK: ParticipantType.MOTOR,
    ActorKind.MOTORCYCLE: ParticipantType.MOTOR,
    ActorKind.BICYCLE: ParticipantType.NON_MOTOR,
    ActorKind.PEDESTRIAN: ParticipantType.PEDESTRIAN,
}
VEHICLE_CLASS_OF_KIND = {
    ActorKind.CAR: BasicVehicleClass.PASSENGER,
    ActorKind.BUS: BasicVehicleClass.TRANSIT,
    ActorKind.TRUCK: BasicVehicleClass.TRUCK,
    ActorKind.MOTORCYCLE: BasicVehicleClass.MOTORCYCLE,
    ActorKind.BICYCLE: BasicVehicleClass.CYCLIST,
    ActorKind.PEDESTRIAN: BasicVehicleClass.UNKNOWN,
}
_PTC_TYPE = np.zeros(max(ActorKind) + 1, dtype=np.int64)
_VEHICLE_CLASS = np.zeros(max(ActorKind) + 1, dtype=np.int64)
_PARTICIPANT_TYPES = {int(member): member for member in ParticipantType}
for _kind in ActorKind:
    _PTC_TYPE[_kind] = PARTICIPANT_TYPE_OF_KIND[_kind]
    _VEHICLE_CLASS[_kind] = VEHICLE_CLASS_OF_KIND[_kind]


def bsm_id(vehicle_id: str) -> str:
    """The temporary id an on-board unit sends: 8 octets as 16 hex digits, stable for one vehicle."""
    return hashlib.blake2b(vehicle_id.encode(), digest_size=8).hexdigest()


def position3d(lon_deg: float, lat_deg: float) -> Position3D:
    return Position3D(lat=round(lat_deg * 1e7), long=round(lon_deg * 1e7))


@dataclass(frozen=True, slots=True)
class ParticipantColumns:
    """One frame's detections already in message units, as plain lists.

    Converting the whole frame with a handful of numpy calls, then slicing lists per unit, keeps the
    per-unit cost to building the structs.
    """

    d_lon: list[int]
    d_lat: list[int]
    speed: list[int]
    heading: list[int]
    length_cm: list[int]
    width_cm: list[int]
    ptc_type: list[int]
    vehicle_class: list[int]

    @classmethod
    def convert(
        cls,
        *,
        lon_deg: NDArray[np.float64],
        lat_deg: NDArray[np.float64],
        ref_lon_units: NDArray[np.int64],
        ref_lat_units: NDArray[np.int64],
        speed_mps: NDArray[np.float64],
        heading_deg: NDArray[np.float64],
        length_m: NDArray[np.float64],
        width_m: NDArray[np.float64],
        kind: NDArray[np.int64],
    ) -> ParticipantColumns:
        """``ref_*_units``: each detection's RSM reference position (its unit's), 1e-7 degree."""
        return cls(
            d_lon=(deg_to_latlon_units(lon_deg) - ref_lon_units).tolist(),
            d_lat=(deg_to_latlon_units(lat_deg) - ref_lat_units).tolist(),
            speed=mps_to_speed_units(speed_mps).tolist(),
            heading=deg_to_heading_units(heading_deg).tolist(),
            length_cm=m_to_cm(length_m, upper=4095).tolist(),
            width_cm=m_to_cm(width_m, upper=1023).tolist(),
            ptc_type=_PTC_TYPE[kind].tolist(),
            vehicle_class=_VEHICLE_CLASS[kind].tolist(),
        )


def build_rsms(
    *,
    unit_id: str,
    ref_pos: Position3D,
    sec_mark: int,
    first_msg_cnt: int,
    object_ids: list[int],
    columns: ParticipantColumns,
    start: int,
    stop: int,
) -> list[RSM]:
    """Detections ``start:stop`` of ``columns`` (one unit's), split into RSMs of at most 16 participants."""
    rows = zip(
        object_ids,
        columns.d_lon[start:stop],
        columns.d_lat[start:stop],
        columns.speed[start:stop],
        columns.heading[start:stop],
        columns.length_cm[start:stop],
        columns.width_cm[start:stop],
        columns.ptc_type[start:stop],
        columns.vehicle_class[start:stop],
        strict=True,
    )
    participants = [
        ParticipantData(
            ptc_type=_PARTICIPANT_TYPES[ptc_type],
            ptc_id=object_id,
            source=SourceType.INTEGRATED,
            sec_mark=sec_mark,
            pos=PositionOffsetLL(lon=d_lon, lat=d_lat),
            speed=speed,
            heading=heading,
            size=VehicleSize(width=width, length=length),
            vehicle_class=(
                VehicleClassification(classification=vehicle_class)
                if ptc_type != ParticipantType.PEDESTRIAN
                else None
            ),
        )
        for object_id, d_lon, d_lat, speed, heading, length, width, ptc_type, vehicle_class in rows
    ]
    return [
        RSM(
            msg_cnt=(first_msg_cnt + number) % 128,
            id=unit_id,
            ref_pos=ref_pos,
            participants=participants[first : first + RSM_MAX_PARTICIPANTS],
        )
        for number, first in enumerate(range(0, len(participants), RSM_MAX_PARTICIPANTS))
    ]


@dataclass(frozen=True, slots=True)
class VehicleIdentity:
    """What an on-board unit sends unchanged in every BSM: its temporary id, size and class."""

    bsm_id: str
    size: VehicleSize
    vehicle_class: VehicleClassification

    @classmethod
    def of(cls, vehicle_id: str, *, length_m: float, width_m: float, kind: ActorKind) -> VehicleIdentity:
        return cls(
            bsm_id=bsm_id(vehicle_id),
            size=VehicleSize(width=min(round(width_m * 100), 1023), length=min(round(length_m * 100), 4095)),
            vehicle_class=VehicleClassification(classification=VEHICLE_CLASS_OF_KIND[kind]),
        )


def build_bsms(
    *,
    identities: list[VehicleIdentity],
    msg_counts: list[int],
    sec_mark: int,
    lon_deg: NDArray[np.float64],
    lat_deg: NDArray[np.float64],
    speed_mps: NDArray[np.float64],
    heading_deg: NDArray[np.float64],
) -> list[BSM]:
    """One BSM per connected vehicle of a frame; conversions are done for all vehicles at once."""
    rows = zip(
        identities,
        msg_counts,
        deg_to_latlon_units(lat_deg).tolist(),
        deg_to_latlon_units(lon_deg).tolist(),
        mps_to_speed_units(speed_mps).tolist(),
        deg_to_heading_units(heading_deg).tolist(),
        strict=True,
    )
    return [
        BSM(
            msg_cnt=count % 128,
            id=identity.bsm_id,
            sec_mark=sec_mark,
            pos=Position3D(lat=lat, long=lon),
            speed=speed,
            heading=heading,
            size=identity.size,
            vehicle_class=identity.vehicle_class,
        )
        for identity, count, lat, lon, speed, heading in rows
    ]


def build_map_messages(road_map: RoadMap, node_ids: dict[str, int], *, region: int = 1) -> list[MAP]:
    """One MAP per signalised junction: its approaches, lanes, connections and their signal groups."""
    outgoing: dict[str, list[tuple[str, str]]] = {}
    for connection in road_map.connections:
        outgoing.setdefault(connection.from_lane_id, []).append(
            (connection.from_lane_id, connection.to_lane_id)
        )
    messages = []
    for junction in sorted(road_map.signalised_junctions(), key=lambda j: j.id):
        controller = road_map.signal_controllers.get(junction.tls_id or "")
        group_of_link: dict[tuple[str, str], int] = {}
        if controller is not None:
            for group in controller.groups:
                for from_lane, to_lane in group.connections:
                    group_of_link[(from_lane, to_lane)] = group.index
        lon, lat = road_map.geo.local_to_wgs84(np.array([junction.x_m]), np.array([junction.y_m]))
        ref = position3d(float(lon[0]), float(lat[0]))
        links = []
        for edge in road_map.edges.values():
            if edge.to_junction_id != junction.id or edge.function != "normal":
                continue
            lanes = []
            for lane_id in edge.lane_ids:
                lane = road_map.lanes[lane_id]
                if not (lane.allowed_classes & {"passenger", "bus", "truck", "bicycle"}):
                    continue
                connects = [
                    Connection(
                        remote_intersection=NodeReferenceId(
                            id=node_ids.get(
                                road_map.edges[road_map.lanes[to_lane].edge_id].to_junction_id, 0
                            ),
                            region=region,
                        ),
                        connecting_lane=ConnectingLane(lane=road_map.lanes[to_lane].index),
                        phase_id=group_of_link.get((from_lane, to_lane)),
                    )
                    for from_lane, to_lane in outgoing.get(lane_id, [])
                    if to_lane in road_map.lanes and not road_map.lanes[to_lane].is_internal
                ][:16]
                lanes.append(
                    MapLane(
                        lane_id=lane.index,
                        lane_width=min(round(lane.width_m * 100), 32767),
                        connects_to=connects,
                        points=_road_points(road_map, lane.shape_xy, ref),
                    )
                )
            if lanes:
                links.append(
                    Link(
                        upstream_node_id=NodeReferenceId(
                            id=node_ids.get(edge.from_junction_id, 0), region=region
                        ),
                        lane_width=lanes[0].lane_width or 320,
                        lanes=lanes[:32],
                    )
                )
        messages.append(
            MAP(
                msg_cnt=0,
                nodes=[
                    Node(
                        name=junction.id[:63],
                        id=NodeReferenceId(id=node_ids[junction.id], region=region),
                        ref_pos=ref,
                        in_links=links[:32],
                    )
                ],
            )
        )
    return messages


def _road_points(road_map: RoadMap, shape_xy: NDArray[np.float64], ref: Position3D) -> list[RoadPoint]:
    picks = shape_xy if len(shape_xy) <= 31 else shape_xy[np.linspace(0, len(shape_xy) - 1, 31).astype(int)]
    lon, lat = road_map.geo.local_to_wgs84(picks[:, 0], picks[:, 1])
    d_lon = (deg_to_latlon_units(lon) - ref.long).tolist()
    d_lat = (deg_to_latlon_units(lat) - ref.lat).tolist()
    return [RoadPoint(pos_offset=PositionOffsetLL(lon=x, lat=y)) for x, y in zip(d_lon, d_lat, strict=True)]
