"""V2X services per 100 ms frame at the fusion benchmark's load: advisories, speed advice, sensor sharing.

    python benchmarks/bench_services.py                      # both loads below
    python benchmarks/bench_services.py --tracks 40000 --vehicles 2000 --grid 45 --seconds 30

A signalised grid is generated with netgenerate (every junction a traffic light, 2 lanes each way, blocks
of ``--block-m``), cached under the system temp folder. Tracks (the LDM) and connected vehicles drive along
its lanes; each connected vehicle sends a BSM every frame; every signal controller sends a SPAT every
second; road events start and end so that about ``--events`` advisories are active at any time. Per frame
the timing covers ``AdvisoryService.on_events`` + ``on_frame``: BSM conversion and lane matching, vehicles
entering relevance zones, GLOSA and sensor sharing, with every downlink encoded. Inputs (BSMs, SPATs, the
snapshot) are built outside the timing. Prints ms per frame (p50, p99, max) and downlinks per frame.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import msgspec  # noqa: E402
import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from machine import machine_line  # noqa: E402
from roadcloud.events import EventPhase, EventType, RoadEvent, SignalStates  # noqa: E402
from roadcloud.fusion import LdmSnapshot  # noqa: E402
from roadcloud.map import LaneMatcher, RoadMap, load_map  # noqa: E402
from roadcloud.map.tools import sumo_binary  # noqa: E402
from roadcloud.messages import ActorKind  # noqa: E402
from roadcloud.messages.units import epoch_ms_to_moy, epoch_ms_to_sec_mark  # noqa: E402
from roadcloud.services import AdvisoryService, ConnectedVehicles, RoadsideUnitCoverage  # noqa: E402
from roadcloud.twin.field import VehicleIdentity, build_bsms  # noqa: E402
from roadcloud.twin.signals import ProgramTiming, build_spat  # noqa: E402

START_MS = 1_780_000_000_000
STEP_MS = 100
ANCHOR = (116.5055, 39.7953)
LOADS = ((600, 200, 7), (40_000, 2_000, 45))  # (tracks, connected vehicles, grid side): fusion bench loads


def grid_map(side: int, block_m: float) -> RoadMap:
    folder = Path(tempfile.gettempdir()) / "roadcloud-bench-services"
    folder.mkdir(exist_ok=True)
    path = folder / f"grid{side}x{block_m:g}.net.xml"
    if not path.exists():
        subprocess.run(
            [
                str(sumo_binary("netgenerate")),
                "--grid",
                f"--grid.number={side}",
                f"--grid.length={block_m}",
                "--default.lanenumber=2",
                "--default.speed=16.67",
                "--default-junction-type=traffic_light",
                "--tls.default-type=static",
                "--no-turnarounds",
                f"--output-file={path}",
            ],
            check=True,
            capture_output=True,
        )
    return load_map(path, anchor_lonlat=ANCHOR)


class Traffic:
    """Actors moving along straight lanes at constant speed; one that runs off its lane starts again on
    a random one. The first ``connected`` actors have on-board units."""

    def __init__(self, road_map: RoadMap, actors: int, connected: int, rng: np.random.Generator) -> None:
        lanes = [lane for lane in road_map.drivable_lanes("passenger") if not lane.is_internal]
        self.lane_ids = [lane.id for lane in lanes]
        self.start = np.array([lane.shape_xy[0] for lane in lanes])
        self.end = np.array([lane.shape_xy[-1] for lane in lanes])
        self.length = np.array([lane.length_m for lane in lanes])
        self.rng = rng
        self.lane = rng.integers(0, len(lanes), actors)
        self.s = rng.uniform(0.0, 1.0, actors) * self.length[self.lane]
        self.speed = rng.uniform(5.0, 15.0, actors)
        self.connected = connected
        self.identities = [
            VehicleIdentity.of(f"v{i}", length_m=4.6, width_m=1.8, kind=ActorKind.CAR)
            for i in range(connected)
        ]

    def step(self) -> None:
        self.s += self.speed * STEP_MS / 1000.0
        done = np.flatnonzero(self.s > self.length[self.lane])
        self.lane[done] = self.rng.integers(0, len(self.lane_ids), len(done))
        self.s[done] = 0.0

    def positions(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        fraction = (self.s / self.length[self.lane])[:, None]
        xy = self.start[self.lane] + fraction * (self.end[self.lane] - self.start[self.lane])
        direction = self.end[self.lane] - self.start[self.lane]
        heading = np.degrees(np.arctan2(direction[:, 0], direction[:, 1])) % 360.0
        return xy[:, 0], xy[:, 1], heading

    def snapshot(self, time_ms: int) -> LdmSnapshot:
        x, y, heading = self.positions()
        count = len(x)
        radians = np.radians(heading)
        return LdmSnapshot(
            time_ms=time_ms,
            track_id=np.arange(1, count + 1, dtype=np.int64),
            x_m=x,
            y_m=y,
            vx_mps=self.speed * np.sin(radians),
            vy_mps=self.speed * np.cos(radians),
            speed_mps=self.speed.copy(),
            heading_deg=heading,
            length_m=np.full(count, 4.6),
            width_m=np.full(count, 1.8),
            kind=np.full(count, int(ActorKind.CAR), dtype=np.int64),
            position_cov_m2=np.zeros((count, 2, 2)),
            lane_id=None,
            s_m=np.full(count, np.nan),
            source_count=np.ones(count, dtype=np.int64),
        )

    def feed_bsms(self, vehicles: ConnectedVehicles, geo_map: RoadMap, time_ms: int) -> None:
        x, y, heading = self.positions()
        n = self.connected
        lon, lat = geo_map.geo.local_to_wgs84(x[:n], y[:n])
        for bsm in build_bsms(
            identities=self.identities,
            msg_counts=[0] * n,
            sec_mark=epoch_ms_to_sec_mark(time_ms),
            lon_deg=lon,
            lat_deg=lat,
            speed_mps=self.speed[:n],
            heading_deg=heading[:n],
        ):
            vehicles.update(bsm, arrival_ms=time_ms + 50)


def feed_spats(
    signals: SignalStates, road_map: RoadMap, time_ms: int, timings: dict[str, ProgramTiming]
) -> None:
    node_of = {junction: number for number, junction in enumerate(sorted(road_map.junctions), 1)}
    elapsed_s = (time_ms - START_MS) / 1000.0
    for number, (tls_id, timing) in enumerate(timings.items()):
        controller = road_map.signal_controllers[tls_id]
        durations = [duration for duration, _ in controller.phases]
        cycle_s = sum(durations)
        at_s = (elapsed_s + 7.0 * number) % cycle_s  # controllers out of step with each other
        phase = 0
        while at_s >= durations[phase]:
            at_s -= durations[phase]
            phase += 1
        spat = build_spat(
            timing.by_phase[phase],
            remaining_s=durations[phase] - at_s,
            node_id=node_of[controller.junction_ids[0]],
            msg_cnt=0,
            moy=epoch_ms_to_moy(time_ms),
            sec_mark=epoch_ms_to_sec_mark(time_ms),
        )
        signals.update(spat, received_ms=time_ms + 20)


def run(
    tracks: int,
    vehicles_count: int,
    side: int,
    *,
    block_m: float,
    seconds: float,
    events: int,
    freeze_gc: bool,
) -> None:
    rng = np.random.default_rng(7)
    built = time.perf_counter()
    road_map = grid_map(side, block_m)
    matcher = LaneMatcher(road_map, vehicle_class="passenger")
    units = [
        RoadsideUnitCoverage(f"R{number:05d}", junction.x_m + 10.0, junction.y_m + 10.0, 300.0)
        for number, junction in enumerate(road_map.signalised_junctions())
    ]
    service = AdvisoryService(road_map, "bench", units, lane_matcher=matcher)
    vehicles = ConnectedVehicles(road_map.geo)
    signals = SignalStates(road_map)
    timings = {
        tls_id: ProgramTiming.from_program(
            "0", list(controller.phases), [group.link_indices[0] for group in controller.groups]
        )
        for tls_id, controller in road_map.signal_controllers.items()
        if controller.phases and controller.groups
    }
    traffic = Traffic(road_map, tracks, vehicles_count, rng)
    setup_s = time.perf_counter() - built
    if freeze_gc:
        # What a long-running service does once its map is loaded: the map's million objects move to a
        # permanent generation, so full collections stop scanning them (hundreds of ms each otherwise).
        gc.collect()
        gc.freeze()
    active: list[RoadEvent] = []
    next_event = 0
    per_frame_ms: list[float] = []
    downlinks: Counter[str] = Counter()
    frames = int(seconds * 1000 / STEP_MS)
    for frame in range(frames):
        now_ms = START_MS + frame * STEP_MS
        traffic.step()
        traffic.feed_bsms(vehicles, road_map, now_ms)
        if frame % 10 == 0:
            feed_spats(signals, road_map, now_ms, timings)
        snapshot = traffic.snapshot(now_ms - STEP_MS)
        publications: list[RoadEvent] = []
        # Keep about `events` advisories active: one starts (and the oldest ends) every second.
        if frame % 10 == 0:
            lane = traffic.lane_ids[int(rng.integers(len(traffic.lane_ids)))]
            x_m, y_m = road_map.lanes[lane].shape_xy[-1]
            new = RoadEvent(
                event_id=f"E{next_event}",
                event_type=EventType.STOPPED_VEHICLE,
                phase=EventPhase.STARTED,
                lane_id=lane,
                s_m=road_map.lanes[lane].length_m - 30.0,
                x_m=float(x_m),
                y_m=float(y_m),
                severity=3,
                confidence=0.9,
                start_ms=now_ms - 10_000,
                update_ms=now_ms,
            )
            next_event += 1
            active.append(new)
            publications.append(new)
            if len(active) > events:
                old = active.pop(0)
                publications.append(msgspec.structs.replace(old, phase=EventPhase.ENDED, end_ms=now_ms))
        tick = time.perf_counter()
        out = service.on_events(publications, now_ms)
        out += service.on_frame(snapshot, vehicles, signals, now_ms)
        per_frame_ms.append((time.perf_counter() - tick) * 1000.0)
        downlinks.update(downlink.topic.rsplit("/", 2)[-2] for downlink in out)
    warm = per_frame_ms[10:] or per_frame_ms
    quantiles = np.percentile(warm, [50, 99])
    print(
        f"{tracks} tracks, {vehicles_count} connected vehicles, {len(road_map.signal_controllers)} signals, "
        f"{len(units)} units, {events} active events; {frames} frames (setup {setup_s:.1f} s)"
        f"{', gc.freeze() after setup' if freeze_gc else ''}"
    )
    print(
        f"  ms per frame: p50 {quantiles[0]:.2f}, p99 {quantiles[1]:.2f}, max {max(warm):.2f}, "
        f"mean {statistics.fmean(warm):.2f}"
    )
    print(
        "  downlinks per frame: "
        + ", ".join(f"{name} {count / frames:.1f}" for name, count in sorted(downlinks.items()))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, help="fused tracks in the LDM (default: both standard loads)")
    parser.add_argument("--vehicles", type=int, help="connected vehicles")
    parser.add_argument("--grid", type=int, help="junctions per side of the square grid")
    parser.add_argument("--block-m", type=float, default=300.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--events", type=int, default=10, help="advisories active at a time")
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="leave the loaded map to the garbage collector's full scans",
    )
    args = parser.parse_args()
    print(machine_line())
    loads = (
        [(args.tracks, args.vehicles, args.grid)]
        if args.tracks is not None and args.vehicles is not None and args.grid is not None
        else LOADS
    )
    for tracks, vehicles, side in loads:
        run(
            tracks,
            vehicles,
            side,
            block_m=args.block_m,
            seconds=args.seconds,
            events=args.events,
            freeze_gc=not args.no_gc_freeze,
        )


if __name__ == "__main__":
    main()
