"""Store throughput and query latency: events and track rows written through ``StoreWriter``, and the
API's event list, on SQLite (a file, default durability: WAL, synchronous FULL) and on PostgreSQL (a
throwaway server with default durability, fsync on) when its binaries are installed.

Writes go the way the pipeline sends them: events in small submissions (10 per call, as a 10 Hz loop
would), track history as whole LDM snapshots that the writer downsamples to 1 Hz. The rate is from the
first submission until ``flush`` returns, so it includes the writer's batching and every commit.
``submit`` is the cost on the pipeline's thread per snapshot (downsampling and queueing).

For scale: the 600 km² design load is about 20,000 live tracks, i.e. 20,000 track rows/s at 1 Hz.
Run: python benchmarks/bench_store.py [--events 20000] [--tracks 2000] [--seconds 60] [--queries 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import numpy as np

from machine import machine_line
from roadcloud.events.model import EventPhase, EventType, RoadEvent
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.store import Store, StoreWriter, WriterConfig
from roadcloud.store.pgserver import TemporaryPostgres, find_bindir

T0_MS = 1_778_328_030_000
TYPES = list(EventType)
ZONE_M = 20_000.0  # events and tracks spread over a 20 km × 20 km zone


def publications(count: int, rng: np.random.Generator) -> list[RoadEvent]:
    """``count`` publications: events of every type, each started, updated twice and (most) ended."""
    result: list[RoadEvent] = []
    event_number = 0
    while len(result) < count:
        start_ms = T0_MS + event_number * 1_000
        x_m, y_m = rng.uniform(0.0, ZONE_M, 2)
        phases = [EventPhase.STARTED, EventPhase.UPDATED, EventPhase.UPDATED]
        if event_number % 5:  # one in five is still active
            phases.append(EventPhase.ENDED)
        for step, phase in enumerate(phases):
            update_ms = start_ms + step * 2_000
            result.append(
                RoadEvent(
                    event_id=f"E{event_number:07d}",
                    event_type=TYPES[event_number % len(TYPES)],
                    phase=phase,
                    lane_id=f"lane_{event_number % 977}_0",
                    s_m=float(rng.uniform(0.0, 200.0)),
                    x_m=float(x_m),
                    y_m=float(y_m),
                    severity=1 + event_number % 5,
                    confidence=0.9,
                    start_ms=start_ms,
                    update_ms=update_ms,
                    end_ms=update_ms if phase == EventPhase.ENDED else None,
                    track_ids=[event_number, event_number + 1],
                    details={"speed_mps": 12.5, "dwell_s": float(step)},
                )
            )
        event_number += 1
    return result[:count]


def snapshot(time_ms: int, tracks: int, rng: np.random.Generator) -> LdmSnapshot:
    ids = np.arange(tracks, dtype=np.int64)
    lane = np.empty(tracks, object)
    lane[:] = [f"lane_{n % 977}_0" for n in range(tracks)]
    return LdmSnapshot(
        time_ms=time_ms,
        track_id=ids,
        x_m=rng.uniform(0.0, ZONE_M, tracks),
        y_m=rng.uniform(0.0, ZONE_M, tracks),
        vx_mps=np.full(tracks, 10.0),
        vy_mps=np.zeros(tracks),
        speed_mps=rng.uniform(0.0, 20.0, tracks),
        heading_deg=rng.uniform(0.0, 360.0, tracks),
        length_m=np.full(tracks, 4.5),
        width_m=np.full(tracks, 1.8),
        kind=np.ones(tracks, np.int64),
        position_cov_m2=np.tile(np.eye(2), (tracks, 1, 1)),
        lane_id=lane,
        s_m=rng.uniform(0.0, 200.0, tracks),
        source_count=np.ones(tracks, np.int64),
    )


def write_events(store: Store, events: list[RoadEvent]) -> float:
    with StoreWriter(store, config=WriterConfig(retention_interval_s=None)) as writer:
        started_s = time.perf_counter()
        for first in range(0, len(events), 10):
            writer.submit_events(events[first : first + 10])
        assert writer.flush()
        elapsed_s = time.perf_counter() - started_s
        assert writer.counts().events_written == len(events)
    return len(events) / elapsed_s


def write_tracks(
    store: Store, tracks: int, seconds: int, rng: np.random.Generator
) -> tuple[float, int, float]:
    """Track rows/s through the writer, rows written, and the median submit cost in ms."""
    frames = [snapshot(T0_MS + tick * 100, tracks, rng) for tick in range(seconds * 10)]
    config = WriterConfig(retention_interval_s=None, max_pending_track_rows=10 * tracks * seconds)
    with StoreWriter(store, config=config) as writer:
        submit_s = []
        started_s = time.perf_counter()
        for frame in frames:
            before_s = time.perf_counter()
            writer.submit_snapshot(frame)
            submit_s.append(time.perf_counter() - before_s)
        assert writer.flush()
        elapsed_s = time.perf_counter() - started_s
        counts = writer.counts()
        assert counts.track_rows_shed == 0
    return counts.track_rows_written / elapsed_s, counts.track_rows_written, statistics.median(submit_s) * 1e3


def latency_ms(query: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median and 95th percentile of ``repeats`` calls, in ms."""
    query()  # warm caches and the pool
    samples = []
    for _ in range(repeats):
        started_s = time.perf_counter()
        query()
        samples.append((time.perf_counter() - started_s) * 1e3)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def run(name: str, url: str, args: argparse.Namespace) -> None:
    rng = np.random.default_rng(7)
    events = publications(args.events, rng)
    with Store(url) as store:
        events_per_s = write_events(store, events)
        rows_per_s, rows, submit_ms = write_tracks(store, args.tracks, args.seconds, rng)
        counts = store.row_counts()
        print(
            f"{name}: events {events_per_s:,.0f} publications/s ({len(events):,} publications, "
            f"{counts['events']:,} events); track rows {rows_per_s:,.0f} rows/s ({rows:,} rows: "
            f"{args.tracks:,} tracks × {args.seconds} s at 1 Hz from 10 Hz snapshots); "
            f"submit {submit_ms:.2f} ms/snapshot (median, pipeline thread)"
        )
        middle_ms = T0_MS + (counts["events"] // 2) * 1_000
        queries: list[tuple[str, Callable[[], object]]] = [
            ("events(limit=100)", lambda: store.events(limit=100)),
            ("events(active=True, limit=100)", lambda: store.events(active=True, limit=100)),
            (
                "events(type, 1 h range, 2 km bbox, limit=100)",
                lambda: store.events(
                    event_type=EventType.CONGESTION,
                    since_ms=middle_ms,
                    until_ms=middle_ms + 3_600_000,
                    bbox_m=(5_000.0, 5_000.0, 7_000.0, 7_000.0),
                    limit=100,
                ),
            ),
            ("events(limit=100, offset=5000)", lambda: store.events(limit=100, offset=5_000)),
            ("count_events(active=False)", lambda: store.count_events(active=False)),
            ("event(id) with history", lambda: store.event("E0000042")),
            ("track_history(one track, all)", lambda: store.track_history(42)),
            (
                "tracks_in_area(1 km², 10 s)",
                lambda: store.tracks_in_area(
                    (0.0, 0.0, 1_000.0, 1_000.0), since_ms=T0_MS, until_ms=T0_MS + 10_000
                ),
            ),
        ]
        for label, query in queries:
            median_ms, p95_ms = latency_ms(query, args.queries)
            print(f"{name}:   {label:<48} median {median_ms:7.2f} ms  p95 {p95_ms:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000, help="event publications to write")
    parser.add_argument("--tracks", type=int, default=2_000, help="live tracks per snapshot")
    parser.add_argument("--seconds", type=int, default=60, help="seconds of 10 Hz snapshots to write")
    parser.add_argument("--queries", type=int, default=200, help="repeats per timed query")
    args = parser.parse_args()
    bindir = find_bindir()
    details = [f"SQLAlchemy {version('sqlalchemy')}", f"psycopg {version('psycopg')}"]
    server = TemporaryPostgres(durable=True) if bindir else None
    if server is not None:
        details.append(f"PostgreSQL {server.version}")
    print(machine_line(*details))
    try:
        with tempfile.TemporaryDirectory(prefix="roadcloud-bench-") as folder:
            run("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}", args)
        if server is None:
            print("postgresql: not measured (no server binaries: apt-get install postgresql)")
            return
        server.start()
        run("postgresql", server.create_database("bench"), args)
    finally:
        if server is not None:
            server.remove()


if __name__ == "__main__":
    main()
