"""Road event throughput at the fusion benchmark's load: ``EventDetector.update`` on synthetic LDM snapshots
of a real map, and the SPAT fold into ``SignalStates`` that feeds it.

Two scales. 600 tracks per snapshot on Dörpfeldstraße (../shared/maps), the order of the default zone at
its peak. 40,000 tracks on a generated 30 × 30 signalised grid (netgenerate: 300 m blocks, 3 lanes each
way, sidewalks and crossings, 900 traffic lights), the order of the design load's objects in one
process. Traffic without incidents: platoons driving their lanes at 60-100 % of the limit, queues of
up to 10 standing at a third of the stop lines, one road user in ten a pedestrian on a sidewalk;
positions carry 0.15 m of noise. Every controller sends a SPAT from its own program every 100 ms.
Snapshots and SPATs are built outside the timing, so the numbers are the events stage alone, on one
core.

Run: python benchmarks/bench_events.py [--frames 200] [--scale 600|40000|both] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from machine import machine_line
from roadcloud.events import EventDetector, SignalStates
from roadcloud.events.lanes import LaneTable
from roadcloud.fusion import LdmSnapshot
from roadcloud.map import RoadMap, load_map, run_sumo_binary
from roadcloud.messages import SPAT
from roadcloud.messages.truth import ActorKind
from roadcloud.messages.units import epoch_ms_to_moy, epoch_ms_to_sec_mark
from roadcloud.twin.devices import junction_node_ids, road_signals
from roadcloud.twin.signals import ProgramTiming, build_spat

MAPS_DIR = Path(__file__).resolve().parents[2] / "shared" / "maps"
START_MS = 1_780_000_000_000
STEP_MS = 100
QUEUED_SHARE = 1 / 3
PEDESTRIAN_SHARE = 0.1
NOISE_M = 0.15


@dataclass
class Traffic:
    """Road users on lanes, advanced 100 ms per snapshot.

    Per lane: a queue standing back from the stop line (on a third of the lanes), and upstream of it a
    platoon at one speed, evenly spaced, that wraps back to the lane's start 30 m short of the queue.
    Nobody closes in on anybody and nobody enters a junction, so the numbers are the steady state of a
    zone without incidents (every detector still runs over every track)."""

    lanes: LaneTable
    lane: NDArray[np.int64]
    s_m: NDArray[np.float64]
    start_m: NDArray[np.float64]  # where the road user's stretch begins …
    stretch_m: NDArray[np.float64]  # … and how long it is (moving ones wrap within it)
    speed_mps: NDArray[np.float64]
    kind: NDArray[np.int64]
    length_m: NDArray[np.float64]
    width_m: NDArray[np.float64]
    rng: np.random.Generator

    @classmethod
    def place(cls, road_map: RoadMap, count: int, seed: int) -> Traffic:
        rng = np.random.default_rng(seed)
        lanes = LaneTable(road_map)
        normal = lanes.is_normal & (lanes.length_m > 60.0)
        driving = np.flatnonzero(normal & lanes.carriageway)
        walking = np.flatnonzero(normal & lanes.allows_pedestrian & ~lanes.carriageway)
        pedestrians = round(count * PEDESTRIAN_SHARE) if len(walking) else 0
        vehicles = count - pedestrians
        # Vehicles per lane in proportion to its length.
        share = lanes.length_m[driving] / lanes.length_m[driving].sum()
        per_lane = np.floor(share * vehicles).astype(np.int64)
        per_lane[np.argsort(-share)[: vehicles - per_lane.sum()]] += 1
        lane = np.repeat(driving, per_lane)
        rank = np.arange(vehicles) - np.repeat(np.cumsum(per_lane) - per_lane, per_lane)
        total = np.repeat(per_lane, per_lane)
        length = lanes.length_m[lane]
        queued_lane = rng.random(len(driving)) < QUEUED_SHARE
        queue_size = np.where(queued_lane, np.minimum(per_lane // 2, 10), 0)
        in_queue = rank < np.repeat(queue_size, per_lane)
        queue_end_m = length - 3.0 - 7.5 * np.repeat(queue_size, per_lane)
        free_m = np.maximum(queue_end_m - 30.0, 10.0)
        movers = np.maximum(total - np.repeat(queue_size, per_lane), 1)
        mover_rank = rank - np.repeat(queue_size, per_lane)
        lane_speed = lanes.speed_limit_mps[driving] * rng.uniform(0.6, 1.0, len(driving))
        s_m = np.where(in_queue, length - 3.0 - 7.5 * rank, free_m * (mover_rank + 0.5) / movers)
        start_m = np.zeros(vehicles)
        stretch_m = np.where(in_queue, np.inf, free_m)
        speed = np.where(in_queue, 0.0, np.repeat(lane_speed, per_lane))
        if pedestrians:
            walk_lane = rng.choice(walking, size=pedestrians)
            lane = np.concatenate([lane, walk_lane])
            s_m = np.concatenate([s_m, rng.uniform(0.0, lanes.length_m[walk_lane])])
            start_m = np.concatenate([start_m, np.zeros(pedestrians)])
            stretch_m = np.concatenate([stretch_m, lanes.length_m[walk_lane]])
            speed = np.concatenate([speed, rng.uniform(0.8, 1.6, pedestrians)])
        kind = np.concatenate(
            [np.full(vehicles, int(ActorKind.CAR)), np.full(pedestrians, int(ActorKind.PEDESTRIAN))]
        ).astype(np.int64)
        return cls(
            lanes=lanes,
            lane=lane.astype(np.int64),
            s_m=s_m,
            start_m=start_m,
            stretch_m=stretch_m,
            speed_mps=speed,
            kind=kind,
            length_m=np.where(kind == ActorKind.PEDESTRIAN, 0.3, 4.6),
            width_m=np.where(kind == ActorKind.PEDESTRIAN, 0.5, 1.8),
            rng=rng,
        )

    def snapshot(self, time_ms: int) -> LdmSnapshot:
        count = len(self.lane)
        x, y, heading = self.lanes.centre(self.lane, self.s_m)
        x = x + self.rng.normal(0.0, NOISE_M, count)
        y = y + self.rng.normal(0.0, NOISE_M, count)
        speed = np.abs(self.speed_mps + self.rng.normal(0.0, 0.05, count))
        rad = np.radians(heading)
        ids = np.array(self.lanes.ids, dtype=object)
        snapshot = LdmSnapshot(
            time_ms=time_ms,
            track_id=np.arange(1, count + 1, dtype=np.int64),
            x_m=x,
            y_m=y,
            vx_mps=speed * np.sin(rad),
            vy_mps=speed * np.cos(rad),
            speed_mps=speed,
            heading_deg=heading,
            length_m=self.length_m,
            width_m=self.width_m,
            kind=self.kind,
            position_cov_m2=np.broadcast_to(np.eye(2) * NOISE_M**2, (count, 2, 2)),
            lane_id=ids[self.lane],
            s_m=self.s_m.copy(),
            source_count=np.ones(count, dtype=np.int64),
        )
        moved = self.s_m + self.speed_mps * STEP_MS / 1000.0
        self.s_m = np.where(
            np.isfinite(self.stretch_m), self.start_m + np.mod(moved - self.start_m, self.stretch_m), moved
        )
        return snapshot


class SignalFeed:
    """SPAT of every road traffic light from its static program, as the twin builds them."""

    def __init__(self, road_map: RoadMap) -> None:
        self._controllers = road_signals(road_map)
        node_ids = junction_node_ids(road_map)
        self._node = {tls: node_ids[c.junction_ids[0]] for tls, c in self._controllers.items()}
        self._timing = {
            tls: ProgramTiming.from_program(
                c.program_id or "0", list(c.phases), [group.link_indices[0] for group in c.groups]
            )
            for tls, c in self._controllers.items()
        }
        self._cycle_s = {
            tls: sum(duration for duration, _ in c.phases) for tls, c in self._controllers.items()
        }

    def spats(self, time_ms: int) -> list[SPAT]:
        elapsed_s = (time_ms - START_MS) / 1000.0
        messages = []
        for tls, controller in self._controllers.items():
            into_cycle_s = elapsed_s % self._cycle_s[tls]
            # The phase the static program is in, and when it ends.
            ends_s = np.cumsum([duration for duration, _state in controller.phases])
            phase = min(int(np.searchsorted(ends_s, into_cycle_s, side="right")), len(ends_s) - 1)
            phase_end_s = float(ends_s[phase])
            messages.append(
                build_spat(
                    self._timing[tls].by_phase[phase],
                    remaining_s=phase_end_s - into_cycle_s,
                    node_id=self._node[tls],
                    msg_cnt=time_ms // STEP_MS,
                    moy=epoch_ms_to_moy(time_ms),
                    sec_mark=epoch_ms_to_sec_mark(time_ms),
                )
            )
        return messages


def grid_map(folder: Path) -> RoadMap:
    path = folder / "grid30.net.xml"
    run_sumo_binary(
        "netgenerate",
        [
            "--grid",
            "--grid.number=30",
            "--grid.length=300",
            "--grid.attach-length=150",
            "--default.lanenumber=3",
            "--default.speed=16.67",
            "--sidewalks.guess",
            "--sidewalks.guess.max-speed=20",
            "--crossings.guess",
            "--tls.guess",
            "--tls.guess.threshold=0",
            "--tls.default-type=static",
            "--no-turnarounds",
            f"--output-file={path}",
        ],
        context="netgenerate could not build the benchmark grid",
    )
    return load_map(path)


def bench(name: str, road_map: RoadMap, tracks: int, frames: int, seed: int) -> None:
    started = time.perf_counter()
    detector = EventDetector(road_map)
    signals = SignalStates(road_map)
    setup_s = time.perf_counter() - started
    traffic = Traffic.place(road_map, tracks, seed)
    feed = SignalFeed(road_map)
    update_s: list[float] = []
    spat_s: list[float] = []
    spat_count = 0
    published = 0
    for frame in range(frames):
        time_ms = START_MS + frame * STEP_MS
        spats = feed.spats(time_ms)
        snapshot = traffic.snapshot(time_ms)
        begin = time.perf_counter()
        for spat in spats:
            signals.update(spat, received_ms=time_ms + 20)
        spat_s.append(time.perf_counter() - begin)
        spat_count += len(spats)
        begin = time.perf_counter()
        published += len(detector.update(snapshot, signals))
        update_s.append(time.perf_counter() - begin)
    update_ms = np.array(update_s) * 1000.0
    spat_ms = np.array(spat_s) * 1000.0
    print(
        f"{name}: {tracks} tracks/snapshot, {frames} snapshots, {len(road_map.lanes)} lanes, "
        f"{len(feed.spats(START_MS))} signal controllers (detector built in {setup_s:.1f} s)"
    )
    p50, p99 = np.percentile(update_ms, [50, 99])
    print(
        f"  EventDetector.update  p50 {p50:.2f} ms  p99 {p99:.2f} ms  max {update_ms.max():.2f} ms"
        f"  = {tracks * frames / np.sum(update_s):,.0f} tracks/s"
    )
    print(
        f"  SPAT fold             p50 {np.percentile(spat_ms, 50):.2f} ms per snapshot"
        f"  = {spat_count / np.sum(spat_s):,.0f} SPAT/s"
    )
    live = Counter(event.event_type.value for event in detector.active)
    print(f"  publications {published}; live at the end: {dict(sorted(live.items()))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=200, help="snapshots per scale (10 per second)")
    parser.add_argument("--scale", choices=("600", "40000", "both"), default="both")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the other benchmarks
    print(machine_line())
    if args.scale in ("600", "both"):
        bench("Dörpfeldstraße", load_map(MAPS_DIR / "doerpfeldstr.net.xml.gz"), 600, args.frames, args.seed)
    if args.scale in ("40000", "both"):
        with tempfile.TemporaryDirectory() as folder:
            bench("30 x 30 grid", grid_map(Path(folder)), 40_000, args.frames, args.seed)


if __name__ == "__main__":
    main()
