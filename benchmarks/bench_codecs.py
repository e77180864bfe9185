"""Codec throughput on one core: JSON RSM decode + validate, and ETSI UPER encode/decode per message type.

The JSON figure is the one that matters at design load: 2,000 roadside units at 10 Hz with about 20 objects
each. The target for this codec is 50,000 RSM/s of 20 objects (1,000,000 objects/s) per core; an RSM holds
at most 16 participants, so objects/s is the comparable number. ETSI messages arrive at vehicle and
signal rates, far below that; their rates say how many cores ETSI traffic would take.
Run: python benchmarks/bench_codecs.py [--seconds 1.0] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version
from typing import Any

import msgspec

from machine import machine_line
from roadcloud.messages import (
    BSM,
    MAP,
    RSM,
    RSM_MAX_PARTICIPANTS,
    SPAT,
    BasicVehicleClass,
    IntersectionState,
    LightState,
    Link,
    MapLane,
    Node,
    NodeReferenceId,
    ParticipantData,
    ParticipantType,
    Phase,
    PhaseState,
    Position3D,
    PositionOffsetLL,
    SourceType,
    TimeCountingDown,
    VehicleClassification,
    VehicleSize,
    etsi,
)
from roadcloud.messages.json_codec import decode, encode
from roadcloud.messages.signal import ConnectingLane, Connection, RegulatorySpeedLimit, RoadPoint
from roadcloud.messages.vehicle import AccelerationSet4Way

NOW_MS = 1_778_328_030_250
TARGET_RSM_PER_S = 50_000
TARGET_OBJECTS_PER_RSM = 20
REF = Position3D(lat=397_900_000, long=1_165_000_000, elevation=300)


def rsm_payloads(count: int, rng: random.Random) -> list[bytes]:
    """Distinct RSM payloads, each with the most participants an RSM may carry."""
    payloads = []
    for n in range(count):
        participants = [
            ParticipantData(
                ptc_type=rng.choice(
                    [ParticipantType.MOTOR, ParticipantType.NON_MOTOR, ParticipantType.PEDESTRIAN]
                ),
                ptc_id=rng.randint(0, 65_535),
                source=SourceType.INTEGRATED,
                sec_mark=(NOW_MS - rng.randint(20, 150)) % 60_000,
                pos=PositionOffsetLL(lon=rng.randint(-20_000, 20_000), lat=rng.randint(-20_000, 20_000)),
                speed=rng.randint(0, 1_000),
                heading=rng.randint(0, 28_799),
                size=VehicleSize(width=rng.randint(50, 250), length=rng.randint(50, 1_200), height=30),
                vehicle_class=VehicleClassification(classification=BasicVehicleClass.PASSENGER),
            )
            for _ in range(RSM_MAX_PARTICIPANTS)
        ]
        message = RSM(msg_cnt=n % 128, id=f"R{n % 2000:04d}", ref_pos=REF, participants=participants)
        payloads.append(encode(message))
    return payloads


def sample_bsm(rng: random.Random) -> BSM:
    return BSM(
        msg_cnt=rng.randint(0, 127),
        id=f"{rng.getrandbits(32):08X}",
        sec_mark=NOW_MS % 60_000,
        pos=Position3D(lat=397_900_000 + rng.randint(-9_999, 9_999), long=1_165_000_000, elevation=320),
        speed=rng.randint(0, 1_500),
        heading=rng.randint(0, 28_799),
        accel_set=AccelerationSet4Way(long=rng.randint(-300, 300), lat=rng.randint(-100, 100), vert=0, yaw=0),
        size=VehicleSize(width=185, length=480),
        vehicle_class=VehicleClassification(classification=BasicVehicleClass.PASSENGER),
    )


def sample_denm() -> etsi.DenmEvent:
    return etsi.DenmEvent(
        station_id=42,
        sequence_number=7,
        detection_time_ms=NOW_MS - 5_000,
        reference_time_ms=NOW_MS,
        event_pos=REF,
        relevance_distance=etsi.RelevanceDistance.LESS_THAN_500_M,
        cause_code=3,
        sub_cause_code=4,
        information_quality=4,
        trace=[PositionOffsetLL(lon=-900 * i, lat=15 * i) for i in range(1, 6)],
    )


def sample_spat() -> SPAT:
    """One intersection, 8 signal groups, each with the current and the next two states."""
    timing = TimeCountingDown(start_time=0, likely_end_time=250, min_end_time=200, time_confidence=170)
    phases = [
        Phase(
            id=group,
            phase_states=[
                PhaseState(light=LightState.PROTECTED_GREEN, timing=timing),
                PhaseState(light=LightState.YELLOW, timing=timing),
                PhaseState(light=LightState.RED, timing=timing),
            ],
        )
        for group in range(1, 9)
    ]
    state = IntersectionState(
        intersection_id=NodeReferenceId(id=4201, region=11), moy=238_522, time_stamp=3_456, phases=phases
    )
    return SPAT(msg_cnt=1, moy=238_522, intersections=[state])


def sample_map() -> MAP:
    """One four-arm intersection, 3 lanes per arm, 8 points per lane, one connection per lane."""
    links = []
    for arm in range(4):
        lanes = [
            MapLane(
                lane_id=arm * 3 + lane + 1,
                maneuvers=1 << lane,
                connects_to=[
                    Connection(
                        remote_intersection=NodeReferenceId(id=4202 + arm),
                        connecting_lane=ConnectingLane(lane=lane + 1),
                        phase_id=arm + 1,
                    )
                ],
                points=[
                    RoadPoint(pos_offset=PositionOffsetLL(lon=(arm - 2) * 1_200 * i + lane * 40, lat=300 * i))
                    for i in range(1, 9)
                ],
            )
            for lane in range(3)
        ]
        links.append(
            Link(
                upstream_node_id=NodeReferenceId(id=4300 + arm),
                lane_width=350,
                speed_limits=[RegulatorySpeedLimit(speed=833)],
                lanes=lanes,
            )
        )
    return MAP(msg_cnt=1, nodes=[Node(id=NodeReferenceId(id=4201), ref_pos=REF, in_links=links)])


def measure(
    operation: Callable[[Any], object], inputs: Sequence[Any], *, seconds: float, repeats: int
) -> float:
    """Best rate (operations/s) over ``repeats`` runs of at least ``seconds`` each."""
    rates = []
    for _ in range(repeats):
        count = 0
        started = time.perf_counter()
        while True:
            for item in inputs:
                operation(item)
            count += len(inputs)
            elapsed = time.perf_counter() - started
            if elapsed >= seconds:
                break
        rates.append(count / elapsed)
    return max(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="minimum seconds per timed run")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(
        machine_line(
            f"msgspec {msgspec.__version__}",
            f"pycrate {version('pycrate')}; pinned to 1 core",
            f"best of {args.repeats} runs of ≥{args.seconds:g} s",
        )
    )

    rng = random.Random(7)
    payloads = rsm_payloads(2_000, rng)
    mean_bytes = statistics.mean(len(payload) for payload in payloads)
    rsm_per_s = measure(
        lambda payload: decode(payload, RSM), payloads, seconds=args.seconds, repeats=args.repeats
    )
    objects_per_s = rsm_per_s * RSM_MAX_PARTICIPANTS
    target_objects_per_s = TARGET_RSM_PER_S * TARGET_OBJECTS_PER_RSM
    print(
        f"JSON RSM decode+validate ({RSM_MAX_PARTICIPANTS} participants, {mean_bytes:.0f} B): "
        f"{rsm_per_s:,.0f} RSM/s = {objects_per_s:,.0f} objects/s, {1e6 / rsm_per_s:.1f} µs/RSM, "
        f"{1e9 / objects_per_s:.0f} ns/object"
    )
    print(
        f"  target {TARGET_RSM_PER_S:,} RSM/s × {TARGET_OBJECTS_PER_RSM} objects = "
        f"{target_objects_per_s:,} objects/s per core: {objects_per_s / target_objects_per_s:.0%} of it "
        f"(as 20-object RSM: {objects_per_s / TARGET_OBJECTS_PER_RSM:,.0f} RSM/s)"
    )
    messages = [msgspec.json.decode(payload, type=RSM) for payload in payloads]
    encode_per_s = measure(encode, messages, seconds=args.seconds, repeats=args.repeats)
    print(
        f"JSON RSM encode: {encode_per_s:,.0f} RSM/s = {encode_per_s * RSM_MAX_PARTICIPANTS:,.0f} objects/s"
    )

    bsms = [sample_bsm(rng) for _ in range(200)]
    cases: list[tuple[str, Sequence[Any], Callable[[Any], bytes], Callable[[bytes], object]]] = [
        (
            "CAM",
            bsms,
            lambda bsm: etsi.encode_cam(bsm, station_id=7, reference_epoch_ms=NOW_MS),
            lambda data: etsi.decode_cam(data, reference_epoch_ms=NOW_MS),
        ),
        ("DENM", [sample_denm()], etsi.encode_denm, etsi.decode_denm),
        (
            "SPATEM",
            [sample_spat()],
            lambda spat: etsi.encode_spatem(spat, station_id=7, reference_epoch_ms=NOW_MS),
            lambda data: etsi.decode_spatem(data, reference_epoch_ms=NOW_MS),
        ),
        ("MAPEM", [sample_map()], lambda map_: etsi.encode_mapem(map_, station_id=7), etsi.decode_mapem),
    ]
    print("ETSI UPER (pycrate), model → bytes and bytes → validated model:")
    for name, models, encoder, decoder in cases:
        encoded = [encoder(model) for model in models]
        size = statistics.mean(len(data) for data in encoded)
        encode_rate = measure(encoder, models, seconds=args.seconds / 2, repeats=args.repeats)
        decode_rate = measure(decoder, encoded, seconds=args.seconds / 2, repeats=args.repeats)
        print(
            f"  {name:<6} {size:5.0f} B: encode {encode_rate:8,.0f} msg/s ({1e6 / encode_rate:6.0f} µs), "
            f"decode {decode_rate:8,.0f} msg/s ({1e6 / decode_rate:6.0f} µs)"
        )


if __name__ == "__main__":
    main()
