"""Hand-built messages, one per type, with values a real Yizhuang RSU, OBU or signal controller would send."""

from __future__ import annotations

from roadcloud.messages import (
    BSM,
    MAP,
    RSI,
    RSM,
    SPAT,
    ActorKind,
    BasicVehicleClass,
    ConditionQuantity,
    DeviceKind,
    GroundTruth,
    GuidanceAdvice,
    Heartbeat,
    IncidentKind,
    IncidentTruth,
    IntersectionState,
    LightState,
    Link,
    MapLane,
    Message,
    Node,
    NodeReferenceId,
    ParticipantData,
    ParticipantType,
    Phase,
    PhaseState,
    Position3D,
    PositionOffsetLL,
    ReferencePath,
    RoadConditionReading,
    RSITimeDetails,
    RTEData,
    RTSData,
    SourceType,
    SpeedGuidance,
    TimeCountingDown,
    TransmissionState,
    VehicleClassification,
    VehicleSize,
)
from roadcloud.messages.etsi import DenmEvent, RelevanceDistance, RelevanceTrafficDirection
from roadcloud.messages.signal import ConnectingLane, Connection, Movement, RegulatorySpeedLimit, RoadPoint
from roadcloud.messages.units import epoch_ms_to_moy, epoch_ms_to_sec_mark
from roadcloud.messages.vehicle import AccelerationSet4Way

CAUSE_ROADWORKS = 3  # ETSI CauseCodeType
CAUSE_STATIONARY_VEHICLE = 94
# 2025-06-15T15:22:03.456Z, a moment inside minute-of-year 238_522.
NOW_EPOCH_MS = 1_750_000_923_456
YIZHUANG = Position3D(lat=397_956_123, long=1_165_063_456, elevation=335)


def bsm() -> BSM:
    return BSM(
        msg_cnt=17,
        id="B7A10042",
        sec_mark=NOW_EPOCH_MS % 60_000,
        pos=YIZHUANG,
        transmission=TransmissionState.FORWARD_GEARS,
        speed=694,  # 13.88 m/s
        heading=7_200,  # 90 degrees, east
        accel_set=AccelerationSet4Way(long=-150, lat=20, vert=0, yaw=-120),
        size=VehicleSize(width=185, length=480, height=30),
        vehicle_class=VehicleClassification(classification=BasicVehicleClass.PASSENGER),
    )


def participant(index: int) -> ParticipantData:
    return ParticipantData(
        ptc_type=ParticipantType.MOTOR if index % 4 else ParticipantType.PEDESTRIAN,
        ptc_id=1000 + index,
        source=SourceType.INTEGRATED,
        sec_mark=(NOW_EPOCH_MS - 40) % 60_000,
        pos=PositionOffsetLL(lon=120 * index - 900, lat=-85 * index + 400),
        speed=500 + 13 * index,
        heading=(3_600 * index) % 28_800,
        size=VehicleSize(width=180, length=450, height=32),
        vehicle_class=VehicleClassification(classification=BasicVehicleClass.PASSENGER),
    )


def rsm(participants: int = 16) -> RSM:
    return RSM(
        msg_cnt=3,
        id="R0042",
        ref_pos=YIZHUANG,
        participants=[participant(index) for index in range(participants)],
    )


def spat() -> SPAT:
    return SPAT(
        msg_cnt=88,
        moy=238_522,
        time_stamp=NOW_EPOCH_MS % 60_000,
        name="Jinghai-Kechuang",
        intersections=[
            IntersectionState(
                intersection_id=NodeReferenceId(id=4201, region=11),
                moy=238_522,
                time_stamp=NOW_EPOCH_MS % 60_000,
                phases=[
                    Phase(
                        id=1,
                        phase_states=[
                            PhaseState(
                                light=LightState.PROTECTED_GREEN,
                                timing=TimeCountingDown(start_time=0, likely_end_time=123, min_end_time=100),
                            ),
                            PhaseState(
                                light=LightState.YELLOW,
                                timing=TimeCountingDown(start_time=123, likely_end_time=153),
                            ),
                            PhaseState(
                                light=LightState.RED,
                                timing=TimeCountingDown(start_time=153, likely_end_time=603),
                            ),
                        ],
                    ),
                    Phase(
                        id=2,
                        phase_states=[
                            PhaseState(
                                light=LightState.RED,
                                timing=TimeCountingDown(
                                    start_time=0, likely_end_time=153, time_confidence=180
                                ),
                            )
                        ],
                    ),
                ],
            )
        ],
    )


def _points(lon_step: int, lat_step: int) -> list[RoadPoint]:
    return [RoadPoint(pos_offset=PositionOffsetLL(lon=lon_step * i, lat=lat_step * i)) for i in range(1, 5)]


def map_message() -> MAP:
    return MAP(
        msg_cnt=5,
        moy=238_480,
        nodes=[
            Node(
                name="Jinghai-Kechuang",
                id=NodeReferenceId(id=4201, region=11),
                ref_pos=YIZHUANG,
                in_links=[
                    Link(
                        name="Jinghai Rd westbound",
                        upstream_node_id=NodeReferenceId(id=4202, region=11),
                        speed_limits=[RegulatorySpeedLimit(speed=833)],
                        lane_width=350,
                        movements=[
                            Movement(remote_intersection=NodeReferenceId(id=4203, region=11), phase_id=1)
                        ],
                        lanes=[
                            MapLane(
                                lane_id=1,
                                maneuvers=0b1,
                                connects_to=[
                                    Connection(
                                        remote_intersection=NodeReferenceId(id=4203, region=11),
                                        connecting_lane=ConnectingLane(lane=7, maneuver=0b1),
                                        phase_id=1,
                                    )
                                ],
                                points=_points(900, 10),
                            ),
                            MapLane(lane_id=2, lane_width=325, maneuvers=0b10, points=_points(900, -340)),
                        ],
                    )
                ],
            )
        ],
    )


def rsi() -> RSI:
    return RSI(
        msg_cnt=9,
        moy=238_522,
        id="R0042",
        ref_pos=YIZHUANG,
        rtes=[
            RTEData(
                rte_id=1,
                event_type=401,
                event_source=2,
                event_pos=PositionOffsetLL(lon=3_000, lat=-200),
                event_radius=500,
                description="lane 2 closed for repair",
                time_details=RSITimeDetails(start_time=238_520, end_time=238_640),
                priority=5,
                reference_paths=[
                    ReferencePath(
                        active_path=[PositionOffsetLL(lon=0, lat=0), PositionOffsetLL(lon=3_000, lat=-200)],
                        path_radius=40,
                    )
                ],
                event_confidence=180,
            )
        ],
        rtss=[RTSData(rts_id=1, sign_type=38, sign_pos=PositionOffsetLL(lon=2_500, lat=-180))],
    )


def heartbeat() -> Heartbeat:
    return Heartbeat(
        device_id="R0042",
        device_kind=DeviceKind.RSU,
        moy=238_522,
        sec_mark=NOW_EPOCH_MS % 60_000,
        uptime_s=86_400,
        firmware="rsu-2.4.1",
    )


def condition() -> RoadConditionReading:
    return RoadConditionReading(
        sensor_id="S-BR07-W3",
        asset_id="BR07",
        moy=238_522,
        sec_mark=NOW_EPOCH_MS % 60_000,
        quantity=ConditionQuantity.WATER_DEPTH_MM,
        value=42.5,
        pos=YIZHUANG,
    )


def truth() -> GroundTruth:
    return GroundTruth(
        time_ms=NOW_EPOCH_MS,
        actor_ids=["veh0", "ped3"],
        kinds=[ActorKind.CAR, ActorKind.PEDESTRIAN],
        x_m=[120.5, 98.25],
        y_m=[-40.0, -35.5],
        speed_mps=[13.9, 1.2],
        heading_deg=[90.0, 180.0],
        length_m=[4.8, 0.5],
        width_m=[1.85, 0.5],
        lane_ids=["E12_0", ":J4_w0_0"],
        connected=[True, False],
        incidents=[
            IncidentTruth(
                incident_id="inc1",
                kind=IncidentKind.STOPPED_VEHICLE,
                lane_id="E12_1",
                pos_m=80.0,
                x_m=110.0,
                y_m=-43.0,
                start_ms=NOW_EPOCH_MS - 30_000,
            )
        ],
    )


def denm_event() -> DenmEvent:
    """Roadworks reported by an RSU (ETSI cause code 3)."""
    return DenmEvent(
        station_id=0x42,
        sequence_number=12,
        detection_time_ms=NOW_EPOCH_MS - 60_000,
        reference_time_ms=NOW_EPOCH_MS,
        event_pos=YIZHUANG,
        relevance_distance=RelevanceDistance.LESS_THAN_500_M,
        relevance_traffic_direction=RelevanceTrafficDirection.UPSTREAM_TRAFFIC,
        validity_duration_s=3_600,
        station_type=15,
        cause_code=CAUSE_ROADWORKS,
        sub_cause_code=4,
        information_quality=5,
        event_heading=21_600,
        trace=[PositionOffsetLL(lon=-900, lat=20), PositionOffsetLL(lon=-1_800, lat=45)],
    )


def speed_guidance() -> SpeedGuidance:
    """Red for 12.3 s more, 180 m to the stop line: drive between 8.4 and 11.1 m/s."""
    return SpeedGuidance(
        msg_cnt=5,
        id="a1b2c3d4e5f60718",
        moy=epoch_ms_to_moy(NOW_EPOCH_MS),
        sec_mark=epoch_ms_to_sec_mark(NOW_EPOCH_MS),
        intersection_id=NodeReferenceId(id=12, region=1),
        phase_id=3,
        distance=1_800,
        light=LightState.RED,
        time_to_change=123,
        advice=GuidanceAdvice.ADJUST_SPEED,
        speed_min=420,
        speed_max=555,
    )


EXAMPLES: dict[str, Message] = {
    "bsm": bsm(),
    "rsm": rsm(),
    "spat": spat(),
    "map": map_message(),
    "rsi": rsi(),
    "heartbeat": heartbeat(),
    "condition": condition(),
    "truth": truth(),
    "glosa": speed_guidance(),
}
