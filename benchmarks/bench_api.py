"""API cost: a 10,000-track live map to the stream's JSON, and ``GET /api/v1/ldm`` over real HTTP.

1. Serialisation, one core: ``FrameTracks.of`` (projection to WGS84 and rounding, once per frame), then the
   ``tracks`` message as the stream sends it (column-wise; rows for comparison), ms per frame and size.
2. Requests per second of ``/api/v1/ldm`` from a real uvicorn server on loopback (a child process, so
   client and server do not share one interpreter), with one keep-alive httpx client, sequential.

The scene: tracks spread over the Berlin test map (``../shared/maps/doerpfeldstr.net.xml.gz``).
Run: python benchmarks/bench_api.py [--tracks 10000] [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
import numpy as np

from machine import machine_line
from roadcloud.api import create_app
from roadcloud.api.encode import FrameTracks, encode_json
from roadcloud.api.server import bind, make_server, serve
from roadcloud.cloud.frame import LiveFrame, PipelineStats
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.ingest import DeviceRegistry, DeviceState
from roadcloud.ingest.registry import Device
from roadcloud.map import RoadMap, load_map

MAP_PATH = Path(__file__).resolve().parents[1] / ".." / "shared" / "maps" / "doerpfeldstr.net.xml.gz"
NOW_MS = 1_780_000_000_000


def scene(road_map: RoadMap, count: int, seed: int = 1) -> LdmSnapshot:
    """``count`` tracks at random points of the map's extent, with lanes and mixed kinds."""
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = road_map.bounds_m
    lanes = np.array(sorted(road_map.lanes), dtype=object)
    heading = rng.uniform(0.0, 360.0, count)
    speed = rng.uniform(0.0, 20.0, count)
    return LdmSnapshot(
        time_ms=NOW_MS,
        track_id=np.arange(1, count + 1, dtype=np.int64),
        x_m=rng.uniform(xmin, xmax, count),
        y_m=rng.uniform(ymin, ymax, count),
        vx_mps=speed * np.sin(np.radians(heading)),
        vy_mps=speed * np.cos(np.radians(heading)),
        speed_mps=speed,
        heading_deg=heading,
        length_m=rng.uniform(0.5, 12.0, count),
        width_m=rng.uniform(0.5, 2.5, count),
        kind=rng.integers(1, 7, count).astype(np.int64),
        position_cov_m2=np.tile(np.diag([0.3, 0.3]), (count, 1, 1)),
        lane_id=lanes[rng.integers(0, len(lanes), count)],
        s_m=rng.uniform(0.0, 100.0, count),
        source_count=rng.integers(1, 4, count).astype(np.int64),
    )


class StaticView:
    """A ``CloudView`` holding one frame: what the API reads, without a pipeline behind it."""

    def __init__(self, road_map: RoadMap, snapshot: LdmSnapshot) -> None:
        self.zone = "bench"
        self.road_map = road_map
        self.units: Sequence[object] = ()
        self.store = None
        self._frame = LiveFrame(
            time_ms=NOW_MS,
            tick_ms=NOW_MS,
            snapshot=snapshot,
            events_active=(),
            event_changes=(),
            advisories_active=(),
            advisory_changes=(),
            signals=(),
            stats=PipelineStats(time_ms=NOW_MS, tracks=len(snapshot)),
        )
        self._registry = DeviceRegistry()

    def latest(self) -> LiveFrame:
        return self._frame

    def add_frame_listener(self, callback: Callable[[LiveFrame], None]) -> Callable[[], None]:
        return lambda: None

    def devices(self) -> list[DeviceState]:
        return self._registry.states(NOW_MS)

    def device(self, device_id: str) -> DeviceState | None:
        return self._registry.state(device_id, NOW_MS)

    def provision(
        self,
        device_id: str,
        *,
        kind: str,
        name: str | None = None,
        lon_deg: float | None = None,
        lat_deg: float | None = None,
    ) -> Device:
        return self._registry.provision(device_id, kind=kind, zone=self.zone, name=name)

    def remove_device(self, device_id: str) -> bool:
        return False

    def stats(self) -> PipelineStats:
        return self._frame.stats

    def health(self) -> dict[str, str]:
        return {"fusion": "ok"}


def timed_ms(action: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median and best of ``repeats`` runs, in ms."""
    action()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(samples), min(samples)


def bench_serialisation(road_map: RoadMap, count: int) -> None:
    snapshot = scene(road_map, count)
    tracks = FrameTracks.of(snapshot, road_map.geo)

    def columns() -> bytes:
        return encode_json(
            {"type": "tracks", "time_ms": NOW_MS, "count": count, "tracks": tracks.as_columns()}
        )

    def rows() -> bytes:
        return encode_json({"type": "tracks", "time_ms": NOW_MS, "count": count, "tracks": tracks.as_rows()})

    def whole_frame() -> bytes:
        fresh = FrameTracks.of(snapshot, road_map.geo)
        return encode_json(
            {"type": "tracks", "time_ms": NOW_MS, "count": count, "tracks": fresh.as_columns()}
        )

    print(f"serialisation of one {count:,}-track frame (median / best of 30, one core):")
    for name, action in (
        ("project + round (FrameTracks.of, once per frame)", lambda: FrameTracks.of(snapshot, road_map.geo)),
        ("tracks message, columns (the wire form)", columns),
        ("tracks message, rows (format=rows)", rows),
        ("whole frame: project + columns message", whole_frame),
    ):
        median_ms, best_ms = timed_ms(action, 30)
        print(f"  {name:50s} {median_ms:7.2f} ms  (best {best_ms:.2f})")
    print(f"  message size: columns {len(columns()) / 1e6:.2f} MB, rows {len(rows()) / 1e6:.2f} MB")


def run_server(port: int, count: int) -> None:
    road_map = load_map(MAP_PATH)
    app = create_app(StaticView(road_map, scene(road_map, count)))  # type: ignore[arg-type]
    serve(make_server(app, log_level="error"), bind("127.0.0.1", port))


def bench_http(count: int, seconds: float) -> None:
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()  # the child binds it again; a race with another process is unlikely on loopback
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-port", str(port), "--tracks", str(count)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0) as client:
            deadline_s = time.monotonic() + 60.0
            while True:
                try:
                    client.get("/health")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline_s or child.poll() is not None:
                        raise
                    time.sleep(0.1)
            for query in ("", "?format=rows"):
                client.get(f"/api/v1/ldm{query}")  # warm the frame cache
                latencies_ms = []
                size_b = 0
                started_s = time.perf_counter()
                while time.perf_counter() - started_s < seconds:
                    request_s = time.perf_counter()
                    response = client.get(f"/api/v1/ldm{query}")
                    latencies_ms.append((time.perf_counter() - request_s) * 1000.0)
                    size_b = len(response.content)
                elapsed_s = time.perf_counter() - started_s
                p50, p99 = np.percentile(latencies_ms, [50, 99])
                form = "rows" if query else "columns"
                print(
                    f"  GET /api/v1/ldm ({count:,} tracks, {form}, {size_b / 1e6:.2f} MB): "
                    f"{len(latencies_ms) / elapsed_s:7.1f} requests/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms"
                )
    finally:
        child.terminate()
        child.wait(10.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--serve-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_port is not None:
        run_server(args.serve_port, args.tracks)
        return
    print(machine_line())
    road_map = load_map(MAP_PATH)
    bench_serialisation(road_map, args.tracks)
    print("HTTP on loopback (uvicorn in a child process, one sequential keep-alive client):")
    for count in sorted({100, args.tracks}):
        bench_http(count, args.seconds)


if __name__ == "__main__":
    main()
