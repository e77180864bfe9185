"""Fusion throughput: RSM/BSM messages through ``FusionEngine`` (decode, alignment, tiles, tracking, LDM).

Input is either a twin recording (``--recording PATH``, replayed as fast as possible, ground truth
skipped) or, by default, a synthetic zone built here: roadside units on a grid, vehicles driving along
the grid's roads, each unit reporting what it sees at 10 Hz with 0.3 m noise, 3 % misses and a clock
offset, 30 % of vehicles sending BSMs. Messages are prepared in memory first, so the timing covers
roadcloud only. Prints detections per second on one core, tick latency p50/p99, and where the time goes.

Run: python benchmarks/bench_fusion.py [--seconds 60] [--units 40] [--vehicles 600] [--recording PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from machine import machine_line
from roadcloud.fusion import FusionConfig, FusionEngine, tracker
from roadcloud.fusion import engine as engine_module
from roadcloud.map import GeoReference
from roadcloud.messages import ActorKind, Position3D
from roadcloud.messages.json_codec import encode
from roadcloud.twin.field import ParticipantColumns, VehicleIdentity, build_bsms, build_rsms
from roadcloud.twin.recording import read_header, read_recording

GEO = GeoReference.anchored(116.5055, 39.7953)
START_MS = 1_780_000_000_000
STEP_MS = 100
SPACING_M = 300.0
RANGE_M = 150.0

Delivery = tuple[int, str, bytes]


def synthetic(seconds: float, units: int, vehicles: int, seed: int) -> list[Delivery]:
    """Deliveries of a synthetic zone, sorted by arrival."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(units)))
    unit_xy = np.array([(i % side, i // side) for i in range(units)], dtype=float) * SPACING_M
    extent = side * SPACING_M
    offsets = rng.integers(-50, 51, units)
    delays = rng.integers(20, 61, units)
    # vehicles on the grid's roads: half east-west, half north-south, both directions, 8-17 m/s
    along_x = rng.random(vehicles) < 0.5
    road = rng.integers(0, side, vehicles) * SPACING_M + rng.choice([-1.75, 1.75], vehicles)
    position = rng.uniform(0, extent, vehicles)
    speed = rng.uniform(8.0, 17.0, vehicles) * np.where(road % SPACING_M > SPACING_M / 2, -1.0, 1.0)
    connected = np.flatnonzero(rng.random(vehicles) < 0.3)
    identities = [
        VehicleIdentity.of(f"v{i}", length_m=4.6, width_m=1.8, kind=ActorKind.CAR) for i in connected
    ]
    ref_lon, ref_lat = GEO.local_to_wgs84(unit_xy[:, 0], unit_xy[:, 1])
    ref_units = np.rint(np.column_stack([ref_lon, ref_lat]) * 1e7).astype(np.int64)
    deliveries: list[Delivery] = []
    for frame in range(int(seconds * 10)):
        time_ms = START_MS + frame * STEP_MS
        along = (position + speed * frame * 0.1) % extent
        x = np.where(along_x, along, road)
        y = np.where(along_x, road, along)
        heading = np.where(along_x, np.where(speed > 0, 90.0, 270.0), np.where(speed > 0, 0.0, 180.0))
        distance = np.hypot(x[np.newaxis, :] - unit_xy[:, 0:1], y[np.newaxis, :] - unit_xy[:, 1:2])
        seen_unit, seen_vehicle = np.nonzero((distance <= RANGE_M) & (rng.random(distance.shape) >= 0.03))
        noisy_x = x[seen_vehicle] + rng.normal(0, 0.3, len(seen_vehicle))
        noisy_y = y[seen_vehicle] + rng.normal(0, 0.3, len(seen_vehicle))
        lon, lat = GEO.local_to_wgs84(noisy_x, noisy_y)
        columns = ParticipantColumns.convert(
            lon_deg=lon,
            lat_deg=lat,
            ref_lon_units=ref_units[seen_unit, 0],
            ref_lat_units=ref_units[seen_unit, 1],
            speed_mps=np.abs(speed[seen_vehicle]),
            heading_deg=heading[seen_vehicle],
            length_m=np.full(len(seen_vehicle), 4.6),
            width_m=np.full(len(seen_vehicle), 1.8),
            kind=np.full(len(seen_vehicle), int(ActorKind.CAR), dtype=np.int64),
        )
        bounds = np.searchsorted(seen_unit, np.arange(units + 1))
        for unit in range(units):
            start, stop = int(bounds[unit]), int(bounds[unit + 1])
            if start == stop:
                continue
            for rsm in build_rsms(
                unit_id=f"R{unit:04d}",
                ref_pos=Position3D(lat=int(ref_units[unit, 1]), long=int(ref_units[unit, 0])),
                sec_mark=(time_ms + int(offsets[unit])) % 60_000,
                first_msg_cnt=0,
                object_ids=(seen_vehicle[start:stop] % 65536).tolist(),
                columns=columns,
                start=start,
                stop=stop,
            ):
                topic = f"roadcloud/v1/bench/rsu/R{unit:04d}/rsm/up"
                deliveries.append((time_ms + int(delays[unit]), topic, encode(rsm)))
        lon, lat = GEO.local_to_wgs84(
            x[connected] + rng.normal(0, 1.0, len(connected)),
            y[connected] + rng.normal(0, 1.0, len(connected)),
        )
        bsms = build_bsms(
            identities=identities,
            msg_counts=[frame % 128] * len(connected),
            sec_mark=time_ms % 60_000,
            lon_deg=lon,
            lat_deg=lat,
            speed_mps=np.abs(speed[connected]),
            heading_deg=heading[connected],
        )
        for bsm in bsms:
            deliveries.append(
                (
                    time_ms + 40 + int(rng.integers(0, 21)),
                    f"roadcloud/v1/bench/vehicle/{bsm.id}/bsm/up",
                    encode(bsm),
                )
            )
    deliveries.sort(key=lambda d: d[0])
    return deliveries


def recorded(path: Path, seconds: float) -> tuple[list[Delivery], GeoReference]:
    header = read_header(path)
    deliveries: list[Delivery] = []
    first: int | None = None
    for emission in read_recording(path):
        first = emission.delivery_ms if first is None else first
        if emission.delivery_ms - first > seconds * 1000:
            break
        if emission.topic.rsplit("/", 2)[-2] in ("rsm", "bsm"):
            deliveries.append((emission.delivery_ms, emission.topic, emission.payload))
    return deliveries, header.geo()


class Stopwatch:
    """Seconds spent per label, by wrapping module attributes (the engine itself is not changed)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - started

        setattr(owner, name, timed)


def replay(engine: FusionEngine, deliveries: list[Delivery]) -> Iterator[tuple[str, float]]:
    """Feed and tick as ``fuse_recording`` does; yields ("add" | "tick", seconds) per call batch."""
    next_tick = -(-deliveries[0][0] // STEP_MS) * STEP_MS
    started = time.perf_counter()
    for arrival_ms, topic, payload in deliveries:
        while arrival_ms > next_tick:
            now = time.perf_counter()
            yield "add", now - started
            engine.tick(next_tick)
            started = time.perf_counter()
            yield "tick", started - now
            next_tick += STEP_MS
        engine.add(topic, payload, arrival_ms)
    for _ in range(3):
        now = time.perf_counter()
        yield "add", now - started
        engine.tick(next_tick)
        started = time.perf_counter()
        yield "tick", started - now
        next_tick += STEP_MS


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recording", type=Path, help="a twin recording (default: a synthetic zone)")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of traffic to replay")
    parser.add_argument("--units", type=int, default=40)
    parser.add_argument("--vehicles", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    pinned = ""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        pinned = "pinned to 1 core"
    print(machine_line(pinned) if pinned else machine_line())

    prepared = time.perf_counter()
    if args.recording is not None:
        deliveries, geo = recorded(args.recording, args.seconds)
        source = f"recording {args.recording} ({args.seconds:.0f} s)"
    else:
        deliveries, geo = synthetic(args.seconds, args.units, args.vehicles, args.seed), GEO
        source = f"synthetic zone: {args.units} units, {args.vehicles} vehicles, {args.seconds:.0f} s"
    print(f"input: {source}; {len(deliveries):,} messages prepared in {time.perf_counter() - prepared:.1f} s")

    watch = Stopwatch()
    watch.wrap(tracker.Tracker, "process", "track: predict, gate, assign, update")
    watch.wrap(tracker.Tracker, "end_frame", "life cycle + duplicate merge")
    watch.wrap(engine_module.FusionEngine, "_align", "time alignment")
    watch.wrap(engine_module.FusionEngine, "_collect", "RSM/BSM to arrays (at tick)")
    watch.wrap(engine_module.FusionEngine, "snapshot", "LDM snapshot")
    watch.wrap(engine_module.FusionEngine, "_settle", "tile hand-over")

    engine = FusionEngine(FusionConfig(), geo)
    add_s = 0.0
    tick_ms: list[float] = []
    for kind, seconds in replay(engine, deliveries):
        if kind == "add":
            add_s += seconds
        else:
            tick_ms.append(seconds * 1000.0)
    tick_s = sum(tick_ms) / 1000.0
    counts = engine.counts
    detections = counts.fused_total + counts.late_dropped_total
    total_s = add_s + tick_s
    print(
        f"detections: {detections:,} ({counts.fused_total:,} fused, "
        f"{counts.late_dropped_total:,} late) in {counts.ticks} ticks"
    )
    print(
        f"throughput, one core: {detections / total_s:,.0f} detections/s end to end "
        f"(decode + fusion), {detections / tick_s:,.0f} detections/s in tick (arrays + fusion)"
    )
    ordered = sorted(tick_ms)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    print(
        f"tick latency: p50 {statistics.median(tick_ms):.1f} ms, p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms"
    )
    print("where the time goes:")
    print(f"  {'JSON decode + validation (add)':<40} {add_s:7.2f} s  {100 * add_s / total_s:5.1f} %")
    for label, seconds in sorted(watch.seconds.items(), key=lambda item: -item[1]):
        print(f"  {label:<40} {seconds:7.2f} s  {100 * seconds / total_s:5.1f} %")
    print(f"live tracks at the end: {engine.track_count:,}")


if __name__ == "__main__":
    main()
