"""Drives a ``CloudPipeline`` from a live bus on the wall clock: the edge between MQTT and the pure
pipeline when serving a real (or ``--realtime`` twin) field.

The bus's delivery thread only appends to a ``HandoffQueue``; one worker thread drains it into the
pipeline and ticks every ``step_ms`` on the UTC grid, so fusion, events and services run on one thread and
a slow tick never stalls the broker connection.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from roadcloud.bus import Bus, HandoffQueue
from roadcloud.bus.topics import field_filters
from roadcloud.cloud.pipeline import CloudPipeline

_log = logging.getLogger(__name__)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class LiveRunner:
    """``start()`` subscribes the zone's up-stream topics and ticks on its own thread until ``stop()``."""

    def __init__(
        self,
        pipeline: CloudPipeline,
        bus: Bus,
        *,
        step_ms: int = 100,
        clock_ms: Callable[[], int] = wall_clock_ms,
        queue_items: int = 200_000,
    ) -> None:
        self.pipeline = pipeline
        self._bus = bus
        self._step_ms = step_ms
        self._clock_ms = clock_ms
        self._queue = HandoffQueue(queue_items)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ticks = 0
        self.skipped_ticks = 0  # ticks not run because the pipeline fell more than a step behind

    @property
    def queue_dropped(self) -> int:
        return self._queue.dropped

    def start(self) -> None:
        for topic_filter in field_filters(self.pipeline.zone):
            self._bus.subscribe(topic_filter, self._queue.put)
        self._thread = threading.Thread(target=self._run, name="roadcloud-pipeline", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        step = self._step_ms
        next_tick_ms = -(-self._clock_ms() // step) * step
        while not self._stop.is_set():
            wait_s = max(next_tick_ms - self._clock_ms(), 0) / 1000.0
            self._queue.drain(self.pipeline.handle, timeout_s=wait_s, max_items=50_000)
            now_ms = self._clock_ms()
            if now_ms < next_tick_ms:
                continue
            try:
                self.pipeline.tick(next_tick_ms)
            except Exception:
                # a bug in one stage must not end the service; the frame is lost, the next one runs
                _log.exception("pipeline tick at %d failed", next_tick_ms)
            self.ticks += 1
            next_tick_ms += step
            behind_ms = self._clock_ms() - next_tick_ms
            if behind_ms > step:
                skipped = behind_ms // step
                self.skipped_ticks += skipped
                next_tick_ms += skipped * step
