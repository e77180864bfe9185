"""Fusion throughput, latency and memory: RSM/BSM messages through the fusion engine (decode, alignment,
tiles, tracking, LDM), at any load up to the design load of the full zone.

Input is either a twin recording (``--recording PATH``, replayed as fast as possible, ground truth
skipped) or, by default, a synthetic zone built here: roadside units on a 300 m grid, vehicles driving
along the grid's roads, each unit reporting what it sees within 150 m at 10 Hz with 0.3 m noise, 3 %
misses and a clock offset, 30 % of vehicles sending BSMs. ``--objects-per-unit K`` places K vehicles per
unit (each unit then sees about K objects); the design load is ``--units 2000 --objects-per-unit 20``.

Synthetic messages are built one 100 ms frame at a time, outside the timed calls, so memory stays flat
at any load and the timing covers roadcloud only: each ``add`` call and each ``tick`` call is timed.
``--workers N`` (N ≥ 1) runs the parallel engine with N tile-worker processes; 0 (the default) is the
in-process engine pinned to one core.

Prints detections per second (end to end and per CPU core actually used), tick latency p50/p99 (the
wall time of ``tick``: alignment, fusion, LDM), detection-to-LDM latency p50/p99 (arrival of a message to
publication of the snapshot holding it, on a simulated real-time clock built from the measured call
times), peak memory, memory at 40,000 live tracks, and where the time goes per stage.

Run: python benchmarks/bench_fusion.py [--seconds 60] [--units 40] [--vehicles 600 | --objects-per-unit K]
     [--connected-share 0.3] [--workers N] [--tile-size-m 1000] [--recording PATH]
Design load: --units 2000 --objects-per-unit 20 --connected-share 0.05 (400,000 + 20,000 detections/s).
"""

from __future__ import annotations

import argparse
import array
import os
import resource
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from machine import machine_line
from roadcloud.fusion import FusionConfig, FusionEngine, detections, tileset
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
LANE_OFFSET_M = 1.75
TRACKS_MEMORY_MARK = 40_000


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as it arrives; ``measured_ms``/``objects`` are known for synthetic input only (the
    true measurement time and the number of detections it carries), for the latency figures."""

    arrival_ms: int
    topic: str
    payload: bytes
    measured_ms: int = -1
    objects: int = 0


class SyntheticZone:
    """Units on a grid, vehicles on the grid's roads; ``frame(k)`` builds frame k's messages."""

    def __init__(self, units: int, vehicles: int, seed: int, *, connected_share: float = 0.3) -> None:
        self.units = units
        self.rng = np.random.default_rng(seed)
        rng = self.rng
        self.side = int(np.ceil(np.sqrt(units)))
        self.unit_xy = np.array([(i % self.side, i // self.side) for i in range(units)], dtype=float)
        self.unit_xy *= SPACING_M
        self.extent_m = self.side * SPACING_M
        self.offset_ms = rng.integers(-50, 51, units)
        self.delay_ms = rng.integers(20, 61, units)
        # half east-west, half north-south; right-hand traffic: the lane side gives the direction
        self.along_x = rng.random(vehicles) < 0.5
        self.road = rng.integers(0, self.side, vehicles)
        self.lane_m = rng.choice([-LANE_OFFSET_M, LANE_OFFSET_M], vehicles)
        self.start_m = rng.uniform(0, self.extent_m, vehicles)
        self.speed_mps = rng.uniform(8.0, 17.0, vehicles) * np.where(self.lane_m > 0, -1.0, 1.0)
        self.connected = np.flatnonzero(rng.random(vehicles) < connected_share)
        self.identities = [
            VehicleIdentity.of(f"v{i}", length_m=4.6, width_m=1.8, kind=ActorKind.CAR) for i in self.connected
        ]
        ref_lon, ref_lat = GEO.local_to_wgs84(self.unit_xy[:, 0], self.unit_xy[:, 1])
        self.ref_units = np.rint(np.column_stack([ref_lon, ref_lat]) * 1e7).astype(np.int64)
        self.topics = [f"roadcloud/v1/bench/rsu/R{unit:05d}/rsm/up" for unit in range(units)]
        self.unit_tree = cKDTree(self.unit_xy)

    def frame(self, k: int) -> list[Delivery]:
        """Frame ``k``'s RSMs and BSMs, sorted by arrival (a frame's arrivals precede the next frame's)."""
        rng = self.rng
        time_ms = START_MS + k * STEP_MS
        along = (self.start_m + self.speed_mps * k * 0.1) % self.extent_m
        across = self.road * SPACING_M + self.lane_m
        x = np.where(self.along_x, along, across)
        y = np.where(self.along_x, across, along)
        heading = np.where(
            self.along_x,
            np.where(self.speed_mps > 0, 90.0, 270.0),
            np.where(self.speed_mps > 0, 0.0, 180.0),
        )
        pairs = self.unit_tree.query_ball_point(np.column_stack([x, y]), RANGE_M, return_sorted=False)
        counts = np.fromiter(map(len, pairs), np.int64, len(pairs))
        seen_vehicle = np.repeat(np.arange(len(x)), counts)
        seen_unit = np.fromiter((u for row in pairs for u in row), np.int64, int(counts.sum()))
        kept = rng.random(len(seen_unit)) >= 0.03
        order = np.argsort(seen_unit[kept], kind="stable")
        seen_unit, seen_vehicle = seen_unit[kept][order], seen_vehicle[kept][order]
        noisy_x = x[seen_vehicle] + rng.normal(0, 0.3, len(seen_vehicle))
        noisy_y = y[seen_vehicle] + rng.normal(0, 0.3, len(seen_vehicle))
        lon, lat = GEO.local_to_wgs84(noisy_x, noisy_y)
        columns = ParticipantColumns.convert(
            lon_deg=lon,
            lat_deg=lat,
            ref_lon_units=self.ref_units[seen_unit, 0],
            ref_lat_units=self.ref_units[seen_unit, 1],
            speed_mps=np.abs(self.speed_mps[seen_vehicle]),
            heading_deg=heading[seen_vehicle],
            length_m=np.full(len(seen_vehicle), 4.6),
            width_m=np.full(len(seen_vehicle), 1.8),
            kind=np.full(len(seen_vehicle), int(ActorKind.CAR), dtype=np.int64),
        )
        object_ids = (seen_vehicle % 65536).tolist()
        bounds = np.searchsorted(seen_unit, np.arange(self.units + 1)).tolist()
        deliveries: list[Delivery] = []
        for unit in np.unique(seen_unit).tolist():
            start, stop = bounds[unit], bounds[unit + 1]
            arrival_ms = time_ms + int(self.delay_ms[unit])
            for rsm in build_rsms(
                unit_id=f"R{unit:05d}",
                ref_pos=Position3D(lat=int(self.ref_units[unit, 1]), long=int(self.ref_units[unit, 0])),
                sec_mark=(time_ms + int(self.offset_ms[unit])) % 60_000,
                first_msg_cnt=0,
                object_ids=object_ids[start:stop],
                columns=columns,
                start=start,
                stop=stop,
            ):
                deliveries.append(
                    Delivery(arrival_ms, self.topics[unit], encode(rsm), time_ms, len(rsm.participants))
                )
        connected = self.connected
        lon, lat = GEO.local_to_wgs84(
            x[connected] + rng.normal(0, 1.0, len(connected)),
            y[connected] + rng.normal(0, 1.0, len(connected)),
        )
        bsms = build_bsms(
            identities=self.identities,
            msg_counts=[k % 128] * len(connected),
            sec_mark=time_ms % 60_000,
            lon_deg=lon,
            lat_deg=lat,
            speed_mps=np.abs(self.speed_mps[connected]),
            heading_deg=heading[connected],
        )
        bsm_arrival = time_ms + 40 + rng.integers(0, 21, len(bsms))
        for bsm, arrival_ms in zip(bsms, bsm_arrival.tolist(), strict=True):
            deliveries.append(
                Delivery(arrival_ms, f"roadcloud/v1/bench/vehicle/{bsm.id}/bsm/up", encode(bsm), time_ms, 1)
            )
        deliveries.sort(key=lambda d: d.arrival_ms)
        return deliveries


def synthetic_frames(seconds: float, zone: SyntheticZone) -> Iterator[list[Delivery]]:
    for k in range(int(seconds * 1000 / STEP_MS)):
        yield zone.frame(k)


def recorded_frames(path: Path, seconds: float) -> Iterator[list[Delivery]]:
    """The recording's RSM/BSM deliveries, 100 ms of arrival time per batch."""
    batch: list[Delivery] = []
    first: int | None = None
    for emission in read_recording(path):
        first = emission.delivery_ms if first is None else first
        if emission.delivery_ms - first > seconds * 1000:
            break
        if emission.topic.rsplit("/", 2)[-2] in ("rsm", "bsm"):
            batch.append(Delivery(emission.delivery_ms, emission.topic, emission.payload))
            if len(batch) > 1 and batch[-1].arrival_ms // STEP_MS != batch[0].arrival_ms // STEP_MS:
                yield batch[:-1]
                batch = batch[-1:]
    if batch:
        yield batch


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


@dataclass
class Run:
    """Every timed call of one replay. Per-message records are ``array.array``s, which the garbage
    collector does not traverse (lists of millions of entries would slow every full collection and be
    counted against the engine)."""

    add_s: array.array[float] = field(default_factory=lambda: array.array("d"))
    add_arrival_ms: array.array[int] = field(default_factory=lambda: array.array("q"))
    add_measured_ms: array.array[int] = field(default_factory=lambda: array.array("q"))
    add_objects: array.array[int] = field(default_factory=lambda: array.array("q"))
    tick_ms: list[int] = field(default_factory=list)
    tick_s: list[float] = field(default_factory=list)
    tick_cpu_s: list[float] = field(default_factory=list)
    snapshot_ms: list[int] = field(default_factory=list)
    main_cpu_s: float = 0.0
    track_counts: list[int] = field(default_factory=list)
    rss_at_mark_mb: float | None = None
    tracks_at_mark: int = 0
    table_bytes_at_mark: int = 0


def replay(engine: FusionEngine, frames: Iterator[list[Delivery]]) -> Run:
    """Feed and tick as ``fuse_recording`` does, timing every call; frames are built between calls."""
    run = Run()
    next_tick: int | None = None

    def tick() -> None:
        assert next_tick is not None
        cpu = time.process_time()
        started = time.perf_counter()
        snapshot = engine.tick(next_tick)
        run.tick_s.append(time.perf_counter() - started)
        run.snapshot_ms.append(snapshot.time_ms)
        run.tick_cpu_s.append(time.process_time() - cpu)
        run.tick_ms.append(next_tick)
        count = engine.track_count
        run.track_counts.append(count)
        if run.rss_at_mark_mb is None and count >= TRACKS_MEMORY_MARK:
            run.rss_at_mark_mb = memory_mb()
            run.tracks_at_mark = count
            run.table_bytes_at_mark = engine.track_table_bytes

    for frame in frames:  # building the frame (synthetic input) is outside every measurement
        cpu = time.process_time()
        for delivery in frame:
            if next_tick is None:
                next_tick = -(-delivery.arrival_ms // STEP_MS) * STEP_MS
            while delivery.arrival_ms > next_tick:
                tick()
                next_tick += STEP_MS
            started = time.perf_counter()
            engine.add(delivery.topic, delivery.payload, delivery.arrival_ms)
            run.add_s.append(time.perf_counter() - started)
            run.add_arrival_ms.append(delivery.arrival_ms)
            run.add_measured_ms.append(delivery.measured_ms)
            run.add_objects.append(delivery.objects)
        run.main_cpu_s += time.process_time() - cpu
    cpu = time.process_time()
    if next_tick is not None:
        for _ in range(engine.config.max_latency_budget_ms // STEP_MS + 2):
            tick()
            next_tick += STEP_MS
    run.main_cpu_s += time.process_time() - cpu
    return run


def arrival_to_ldm_ms(run: Run) -> tuple[float, float] | None:
    """(p50, p99) of message arrival → publication of the first snapshot whose time covers its
    measurement, per detection, on a simulated real-time clock: one server handles each ``add`` at
    max(arrival, free) and each tick at max(tick time, free), for the wall durations measured, so a
    backlog (the engine slower than real time) shows as growing latency. Synthetic input only (the
    measurement time must be known)."""
    if not run.add_s or min(run.add_measured_ms) < 0:
        return None
    events = sorted(
        [(arrival, 0, duration) for arrival, duration in zip(run.add_arrival_ms, run.add_s, strict=True)]
        + [(tick_ms, 1, duration) for tick_ms, duration in zip(run.tick_ms, run.tick_s, strict=True)]
    )
    free_ms = float("-inf")
    published: list[float] = []
    for at_ms, kind, duration_s in events:
        free_ms = max(free_ms, float(at_ms)) + duration_s * 1000.0
        if kind == 1:
            published.append(free_ms)
    snapshot_ms = np.array(run.snapshot_ms)
    first = np.searchsorted(snapshot_ms, np.array(run.add_measured_ms))
    covered = first < len(snapshot_ms)
    latency = np.full(len(first), np.nan)
    latency[covered] = np.array(published)[first[covered]] - np.array(run.add_arrival_ms)[covered]
    weights = np.array(run.add_objects)
    usable = np.isfinite(latency) & (weights > 0)
    expanded = np.repeat(latency[usable], weights[usable])
    return float(np.percentile(expanded, 50)), float(np.percentile(expanded, 99))


def memory_mb() -> float:
    """Current resident memory of this process and its children (the parallel engine's workers), MB."""
    total_kb = 0
    for pid in [os.getpid(), *children()]:
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024.0


def children() -> list[int]:
    try:
        with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as listing:
            return [int(pid) for pid in listing.read().split()]
    except OSError:
        return []


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100.0 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recording", type=Path, help="a twin recording (default: a synthetic zone)")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of traffic to replay")
    parser.add_argument("--units", type=int, default=40)
    parser.add_argument("--vehicles", type=int, default=600)
    parser.add_argument(
        "--objects-per-unit", type=float, help="vehicles per unit (overrides --vehicles): units × this"
    )
    parser.add_argument(
        "--connected-share", type=float, default=0.3, help="share of vehicles sending BSMs (design: 0.05)"
    )
    parser.add_argument("--workers", type=int, default=0, help="tile-worker processes (0: in-process)")
    parser.add_argument("--tile-size-m", type=float, default=FusionConfig().tile_size_m)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.units < 1 or args.seconds <= 0 or args.workers < 0 or not 0 <= args.connected_share <= 1:
        parser.error("--units must be >= 1, --seconds > 0, --workers >= 0, --connected-share in [0, 1]")
    pinned = ""
    if args.workers == 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        pinned = "pinned to 1 core"
    print(machine_line(pinned) if pinned else machine_line())

    config = FusionConfig(tile_size_m=args.tile_size_m, workers=args.workers)
    if args.recording is not None:
        geo = read_header(args.recording).geo()
        frames = recorded_frames(args.recording, args.seconds)
        source = f"recording {args.recording} ({args.seconds:.0f} s)"
    else:
        per_unit = args.objects_per_unit
        vehicles = args.vehicles if per_unit is None else round(args.units * per_unit)
        zone = SyntheticZone(args.units, vehicles, args.seed, connected_share=args.connected_share)
        frames, geo = synthetic_frames(args.seconds, zone), GEO
        source = (
            f"synthetic zone: {args.units} units, {vehicles} vehicles "
            f"({args.connected_share:.0%} connected), {args.seconds:.0f} s"
        )
    mode = f"parallel engine, {args.workers} workers" if args.workers else "in-process engine"
    print(f"input: {source}; {mode}, tiles of {config.tile_size_m:.0f} m")

    watch = Stopwatch()
    watch.wrap(engine_module, "decode_named", "JSON decode + validation")
    watch.wrap(detections.Detections, "from_rsms", "messages to arrays")
    watch.wrap(detections.Detections, "from_bsms", "messages to arrays")
    watch.wrap(engine_module.FusionEngine, "_collect", "collect arrays (at tick)")
    watch.wrap(engine_module.FusionEngine, "_align", "time alignment")
    watch.wrap(engine_module.FusionEngine, "_fuse_frame", "fusion: predict … initiate (+ routing)")
    watch.wrap(engine_module.FusionEngine, "_correct_clocks", "clock offsets")
    watch.wrap(tileset.LocalTiles, "end_frame", "end of frame: merge, life cycle (+ hand-over)")
    watch.wrap(tileset.ProcessTiles, "end_frame", "end of frame: merge, life cycle (+ hand-over)")
    watch.wrap(engine_module.FusionEngine, "snapshot", "LDM snapshot")
    engine = FusionEngine(config, geo)
    try:
        run = replay(engine, frames)
        counts = engine.counts
        stages = engine.stage_seconds()
        worker_cpu_s = engine.worker_cpu_seconds()
        final_tracks = engine.track_count
        peak_mb = peak_memory_mb()
    finally:
        engine.close()
    main_cpu_s = run.main_cpu_s
    add_s, tick_s = sum(run.add_s), sum(run.tick_s)
    total_s = add_s + tick_s
    cpu_s = main_cpu_s + worker_cpu_s
    detected = counts.fused_total + counts.late_dropped_total
    print(
        f"detections: {detected:,} ({counts.fused_total:,} fused, "
        f"{counts.late_dropped_total:,} late) in {counts.ticks} ticks; {final_tracks:,} live tracks at the "
        f"end, "
        f"{max(run.track_counts, default=0):,} at most"
    )
    print(
        f"throughput: {detected / total_s:,.0f} detections/s end to end (decode + fusion, wall time of the "
        f"calls); {detected / cpu_s:,.0f} detections/s per CPU core ({cpu_s:.1f} CPU-s: main "
        f"{main_cpu_s:.1f} + workers {worker_cpu_s:.1f}); {detected / tick_s:,.0f} detections/s in tick"
    )
    print(
        f"tick latency: p50 {statistics.median(run.tick_s) * 1000:.1f} ms, "
        f"p99 {percentile(run.tick_s, 99) * 1000:.1f} ms, max {max(run.tick_s) * 1000:.1f} ms (wall); "
        f"main-process CPU per tick p50 {statistics.median(run.tick_cpu_s) * 1000:.1f} ms, "
        f"p99 {percentile(run.tick_cpu_s, 99) * 1000:.1f} ms"
    )
    frame_load = frame_loads_ms(run)
    print(
        f"work per 100 ms of traffic (add + tick; real time needs < 100): p50 "
        f"{statistics.median(frame_load):.1f} ms, p99 {percentile(frame_load, 99):.1f} ms"
    )
    latency = arrival_to_ldm_ms(run)
    if latency is not None:
        print(
            f"detection-to-LDM latency (arrival → snapshot published, simulated real time, includes the "
            f"latency budget, {engine.latency_budget_ms} ms at the end): p50 {latency[0]:.1f} ms, "
            f"p99 {latency[1]:.1f} ms"
        )
    print(f"memory: peak RSS {peak_mb:,.0f} MB (main + workers)", end="")
    if run.rss_at_mark_mb is not None:
        print(
            f"; at {run.tracks_at_mark:,} live tracks RSS {run.rss_at_mark_mb:,.0f} MB, of which track "
            f"tables {run.table_bytes_at_mark / 1e6:.1f} MB"
        )
    else:
        print(f"; never reached {TRACKS_MEMORY_MARK:,} live tracks")
    print("where the time goes, main process (wall time of the calls):")
    decode_s = watch.seconds.pop("JSON decode + validation", 0.0)
    arrays_s = watch.seconds.pop("messages to arrays", 0.0)
    print(f"  {'add: topic, JSON decode, to arrays':<48} {add_s:7.2f} s  {100 * add_s / total_s:5.1f} %")
    print(f"    JSON decode + validation (in add) {decode_s:21.2f} s")
    print(f"    messages to arrays (in add and at tick) {arrays_s:15.2f} s")
    lines = dict(watch.seconds)
    lines["rest of tick"] = tick_s - sum(lines.values())
    for label, seconds in lines.items():
        print(f"  {label:<48} {seconds:7.2f} s  {100 * seconds / total_s:5.1f} %")
    where = "CPU time in the workers, summed over them" if args.workers else "CPU time, inside the tick"
    print(f"tracker stages ({where}; main-process lines are wall time):")
    for label, seconds in sorted(stages.items(), key=lambda item: -item[1]):
        print(f"  {label:<48} {seconds:7.2f} s  {100 * seconds / total_s:5.1f} %")


def frame_loads_ms(run: Run) -> list[float]:
    """Add + tick wall time per 100 ms of arrival time (the tick closing it included)."""
    load: dict[int, float] = {}
    for arrival, seconds in zip(run.add_arrival_ms, run.add_s, strict=True):
        slot = -(-arrival // STEP_MS) * STEP_MS
        load[slot] = load.get(slot, 0.0) + seconds * 1000.0
    for tick_ms, seconds in zip(run.tick_ms, run.tick_s, strict=True):
        load[tick_ms] = load.get(tick_ms, 0.0) + seconds * 1000.0
    return list(load.values())


def peak_memory_mb() -> float:
    """Peak resident memory: this process's high-water mark plus each live worker's."""
    total_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for pid in children():
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024.0


if __name__ == "__main__":
    main()
