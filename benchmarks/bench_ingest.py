"""Ingest throughput: ``Ingestor.handle`` on RSM payloads with 16 participants, one core, no bus.

Design load is 2,000 roadside units at 10 Hz with about 20 objects each (20,000 RSM/s, 400,000 objects/s).
This measures the whole admission path per message: topic parse, device lookup, JSON decode with every
range check, identity and time-window checks, registry update, counters. The decode-only figure beside it
shows what msgspec alone costs. Run: python benchmarks/bench_ingest.py [--messages 200000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

import msgspec

from machine import machine_line
from roadcloud.bus.topics import topic
from roadcloud.ingest import DeviceRegistry, Ingestor
from roadcloud.messages import (
    RSM,
    ParticipantData,
    ParticipantType,
    Position3D,
    PositionOffsetLL,
    SourceType,
    VehicleClassification,
    VehicleSize,
)
from roadcloud.messages.json_codec import decode, encode

ZONE = "bench"
UNITS = 200
PARTICIPANTS = 16
NOW_MS = 1_778_328_030_250  # fixed receiver clock: every payload is 20-120 ms old, as on a live link


def payloads(count: int, rng: random.Random) -> list[tuple[str, bytes]]:
    """Distinct RSM payloads from ``UNITS`` roadside units, each with 16 perceived participants."""
    result = []
    for n in range(count):
        unit = f"R{n % UNITS:04d}"
        measured_ms = NOW_MS - rng.randint(20, 120)
        participants = [
            ParticipantData(
                ptc_type=rng.choice(
                    [ParticipantType.MOTOR, ParticipantType.NON_MOTOR, ParticipantType.PEDESTRIAN]
                ),
                ptc_id=rng.randint(0, 65535),
                source=SourceType.LIDAR,
                sec_mark=(measured_ms - rng.randint(0, 30)) % 60_000,
                pos=PositionOffsetLL(lon=rng.randint(-20_000, 20_000), lat=rng.randint(-20_000, 20_000)),
                speed=rng.randint(0, 1_000),
                heading=rng.randint(0, 28_799),
                size=VehicleSize(width=rng.randint(50, 250), length=rng.randint(50, 1_200)),
                vehicle_class=VehicleClassification(classification=10),
            )
            for _ in range(PARTICIPANTS)
        ]
        message = RSM(
            msg_cnt=n % 128,
            id=unit,
            ref_pos=Position3D(lat=397_900_000 + n % UNITS, long=1_165_000_000, elevation=300),
            participants=participants,
        )
        result.append((topic(ZONE, "rsu", unit, "rsm"), encode(message)))
    return result


def rate(run: int, seconds: list[float]) -> tuple[float, float]:
    return run / min(seconds), run / statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200_000, help="messages per timed run")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(machine_line(f"msgspec {msgspec.__version__}; pinned to 1 core"))

    corpus = payloads(2_000, random.Random(7))
    sizes = [len(payload) for _, payload in corpus]
    print(
        f"payloads: {len(corpus)} distinct RSM, {PARTICIPANTS} participants each, "
        f"{statistics.mean(sizes):.0f} B mean"
    )

    registry = DeviceRegistry()
    for unit in range(UNITS):
        registry.provision(f"R{unit:04d}", kind="rsu", zone=ZONE)
    ingestor = Ingestor(registry, clock_ms=lambda: NOW_MS)
    handle = ingestor.handle
    stream = [corpus[n % len(corpus)] for n in range(args.messages)]

    for topic_name, payload in corpus:  # warm the topic cache and the registry's rate windows
        handle(topic_name, payload)

    handle_s = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        for topic_name, payload in stream:
            handle(topic_name, payload)
        handle_s.append(time.perf_counter() - started)
    stats = ingestor.stats()
    assert stats.dropped_total == 0, stats.dropped
    assert stats.accepted_total == len(corpus) + args.repeats * args.messages

    decode_s = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        for _, payload in stream:
            decode(payload, RSM)
        decode_s.append(time.perf_counter() - started)

    best, median = rate(args.messages, handle_s)
    decode_best, decode_median = rate(args.messages, decode_s)
    print(
        f"Ingestor.handle: {best:,.0f} msg/s best, {median:,.0f} median of {args.repeats} runs "
        f"= {best * PARTICIPANTS:,.0f} objects/s best; {1e6 / best:.1f} µs per message"
    )
    print(
        f"decode only:     {decode_best:,.0f} msg/s best, {decode_median:,.0f} median "
        f"= {decode_best * PARTICIPANTS:,.0f} objects/s; {1e6 / decode_best:.1f} µs per message"
    )
    print(
        f"ingest overhead beyond decoding: {1e6 / best - 1e6 / decode_best:.1f} µs per message; "
        f"design load 20,000 RSM/s needs {20_000 / best:.2f} cores"
    )


if __name__ == "__main__":
    main()
