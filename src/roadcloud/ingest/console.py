"""The operator's ingest console: run ingest on one zone's up-stream and print one summary line a second.

Sits at the edge: it wires a bus, a ``HandoffQueue`` and an ``Ingestor`` together. Bus handlers only
queue; this loop's thread runs ingest, so the registry and counters have a single writer.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from roadcloud.bus.base import Bus
from roadcloud.bus.handoff import HandoffQueue
from roadcloud.bus.topics import field_filters
from roadcloud.ingest.ingestor import Ingestor, IngestStats

MAX_BATCH = 5_000  # messages handled between clock checks, so the summary stays on time under load


def run_console(
    bus: Bus,
    ingestor: Ingestor,
    *,
    zone: str,
    seconds: float | None,
    out: TextIO,
    tick_s: float = 1.0,
    monotonic_s: Callable[[], float] = time.monotonic,
    queue_size: int = 100_000,
) -> IngestStats:
    """Ingest ``zone`` for ``seconds`` (None: until Ctrl-C); returns the final counts."""
    queue = HandoffQueue(queue_size)
    for topic_filter in field_filters(zone):
        bus.subscribe(topic_filter, queue.put)
    start_s = last_s = monotonic_s()
    end_s = None if seconds is None else start_s + seconds
    next_tick_s = start_s + tick_s
    previous = ingestor.stats()
    try:
        while True:
            now_s = monotonic_s()
            if end_s is not None and now_s >= end_s:
                break
            if now_s >= next_tick_s:
                current = ingestor.stats()
                print(
                    summary_line(
                        previous, current, interval_s=now_s - last_s, ingestor=ingestor, queue=queue
                    ),
                    file=out,
                    flush=True,
                )
                for change in ingestor.registry.sweep(current.at_ms):
                    state = "online" if change.online else "offline"
                    print(f"  device {change.device_id} is {state}", file=out, flush=True)
                previous, last_s = current, now_s
                next_tick_s = max(next_tick_s + tick_s, now_s + tick_s / 10)
                continue
            deadline_s = next_tick_s if end_s is None else min(next_tick_s, end_s)
            queue.drain(ingestor.handle, timeout_s=deadline_s - now_s, max_items=MAX_BATCH)
    except KeyboardInterrupt:
        pass
    final = ingestor.stats()
    print(total_line(final, elapsed_s=monotonic_s() - start_s, queue=queue), file=out, flush=True)
    return final


def summary_line(
    previous: IngestStats,
    current: IngestStats,
    *,
    interval_s: float,
    ingestor: Ingestor,
    queue: HandoffQueue | None = None,
) -> str:
    """One line: accepted and dropped per second since ``previous``, devices online."""
    interval_s = max(interval_s, 1e-9)
    accepted = _delta(previous.accepted, current.accepted)
    dropped = _delta(_by_reason(previous), _by_reason(current))
    registry = ingestor.registry
    stamp = dt.datetime.fromtimestamp(current.at_ms / 1000, tz=dt.UTC).strftime("%H:%M:%SZ")
    accepted_per_s = sum(accepted.values()) / interval_s
    line = (
        f"{stamp}  accepted {accepted_per_s:7.0f} msg/s{_breakdown(accepted, interval_s)}"
        f"  dropped {sum(dropped.values()) / interval_s:5.0f}/s{_breakdown(dropped, interval_s)}"
        f"  online {registry.online_count(current.at_ms)}/{len(registry)}"
    )
    if queue is not None and queue.dropped:
        line += f"  queue-full drops {queue.dropped}"
    return line


def total_line(stats: IngestStats, *, elapsed_s: float, queue: HandoffQueue | None = None) -> str:
    dropped = _by_reason(stats)
    line = (
        f"total after {elapsed_s:.1f} s: accepted {stats.accepted_total}{_breakdown(stats.accepted, 1.0)}"
        f", dropped {stats.dropped_total}{_breakdown(dropped, 1.0)}"
    )
    if stats.downstream_errors:
        line += f", downstream errors {stats.downstream_errors}"
    if queue is not None and queue.dropped:
        line += f", queue-full drops {queue.dropped}"
    return line


def _by_reason(stats: IngestStats) -> dict[str, int]:
    return {str(reason): count for reason, count in stats.dropped_by_reason.items()}


def _delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    return {key: count - before.get(key, 0) for key, count in after.items() if count != before.get(key, 0)}


def _breakdown(counts: Mapping[str, int], per_s: float) -> str:
    if not counts:
        return ""
    parts = ", ".join(f"{key} {count / per_s:.0f}" for key, count in sorted(counts.items()))
    return f" ({parts})"
