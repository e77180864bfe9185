"""Valid messages of every kind at a fixed clock, and a registry with one device per kind."""

from __future__ import annotations

from roadcloud.bus.topics import topic
from roadcloud.ingest import DeviceRegistry, RegistryConfig
from roadcloud.messages import (
    BSM,
    MAP,
    RSI,
    RSM,
    SPAT,
    ConditionQuantity,
    DeviceKind,
    GroundTruth,
    Heartbeat,
    IntersectionState,
    LightState,
    Message,
    Node,
    NodeReferenceId,
    ParticipantData,
    ParticipantType,
    Phase,
    PhaseState,
    Position3D,
    PositionOffsetLL,
    RoadConditionReading,
    SourceType,
    VehicleClassification,
    VehicleSize,
)
from roadcloud.messages.units import epoch_ms_to_moy

ZONE = "yizhuang"
# 2026-05-09T12:00:30.250Z: mid-minute and mid-year, so neither minute nor year boundaries interfere.
NOW_MS = 1_778_328_030_250
REF = Position3D(lat=397_900_000, long=1_165_000_000)


class FakeClock:
    def __init__(self, now_ms: int = NOW_MS) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms


def registry(config: RegistryConfig | None = None) -> DeviceRegistry:
    devices = DeviceRegistry(config=config)
    devices.provision("R1", kind="rsu", zone=ZONE, name="Kechuang 6th St", lon_deg=116.5, lat_deg=39.79)
    devices.provision("S1", kind="signal", zone=ZONE)
    devices.provision("V1", kind="vehicle", zone=ZONE)
    devices.provision("C1", kind="sensor", zone=ZONE)
    return devices


def participant(n: int, sec_mark: int) -> ParticipantData:
    return ParticipantData(
        ptc_type=ParticipantType.MOTOR,
        ptc_id=n,
        source=SourceType.LIDAR,
        sec_mark=sec_mark,
        pos=PositionOffsetLL(lon=100 * n, lat=-50 * n),
        speed=500 + n,
        heading=1000 * n,
        size=VehicleSize(width=180, length=460),
    )


def rsm(at_ms: int = NOW_MS, *, device_id: str = "R1", participants: int = 16) -> RSM:
    return RSM(
        msg_cnt=1,
        id=device_id,
        ref_pos=REF,
        participants=[participant(n, at_ms % 60_000) for n in range(participants)],
    )


def bsm(at_ms: int = NOW_MS, *, device_id: str = "V1") -> BSM:
    return BSM(
        msg_cnt=5,
        id=device_id,
        sec_mark=at_ms % 60_000,
        pos=REF,
        speed=600,
        heading=9000,
        size=VehicleSize(width=180, length=460),
        vehicle_class=VehicleClassification(classification=10),
    )


def spat(at_ms: int = NOW_MS) -> SPAT:
    return SPAT(
        msg_cnt=3,
        moy=epoch_ms_to_moy(at_ms),
        time_stamp=at_ms % 60_000,
        intersections=[
            IntersectionState(
                intersection_id=NodeReferenceId(id=7),
                phases=[Phase(id=1, phase_states=[PhaseState(light=LightState.RED)])],
            )
        ],
    )


def map_message() -> MAP:
    return MAP(msg_cnt=1, nodes=[Node(id=NodeReferenceId(id=7), ref_pos=REF)])


def rsi(at_ms: int = NOW_MS, *, device_id: str = "R1") -> RSI:
    return RSI(msg_cnt=1, moy=epoch_ms_to_moy(at_ms), id=device_id, ref_pos=REF)


def heartbeat(at_ms: int = NOW_MS, *, device_id: str = "R1", kind: DeviceKind = DeviceKind.RSU) -> Heartbeat:
    return Heartbeat(
        device_id=device_id, device_kind=kind, moy=epoch_ms_to_moy(at_ms), sec_mark=at_ms % 60_000
    )


def condition(at_ms: int = NOW_MS, *, device_id: str = "C1") -> RoadConditionReading:
    return RoadConditionReading(
        sensor_id=device_id,
        asset_id="B01",
        moy=epoch_ms_to_moy(at_ms),
        sec_mark=at_ms % 60_000,
        quantity=ConditionQuantity.WATER_DEPTH_MM,
        value=12.5,
    )


def truth(at_ms: int = NOW_MS) -> GroundTruth:
    return GroundTruth(
        time_ms=at_ms,
        actor_ids=[],
        kinds=[],
        x_m=[],
        y_m=[],
        speed_mps=[],
        heading_deg=[],
        length_m=[],
        width_m=[],
        lane_ids=[],
        connected=[],
    )


def valid_messages(at_ms: int = NOW_MS) -> list[tuple[str, Message]]:
    """(topic, message) for every message kind, each from the device that would send it."""
    return [
        (topic(ZONE, "rsu", "R1", "rsm"), rsm(at_ms)),
        (topic(ZONE, "vehicle", "V1", "bsm"), bsm(at_ms)),
        (topic(ZONE, "signal", "S1", "spat"), spat(at_ms)),
        (topic(ZONE, "signal", "S1", "map"), map_message()),
        (topic(ZONE, "rsu", "R1", "rsi"), rsi(at_ms)),
        (topic(ZONE, "rsu", "R1", "heartbeat"), heartbeat(at_ms)),
        (topic(ZONE, "sensor", "C1", "condition"), condition(at_ms)),
        (topic(ZONE, "sensor", "C1", "truth"), truth(at_ms)),
    ]
