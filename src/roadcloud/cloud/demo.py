"""``make demo``: the whole platform in one process — twin → in-process bus → cloud pipeline → API and
dashboard — on embedded defaults (generated zone, SQLite), nothing to install by hand.

The twin runs on its own thread, paced at real time by default, and drives the pipeline's clock: each twin
step ticks the pipeline at twin time, so the cloud sees exactly what a live field would send. The twin's
connected vehicles receive the cloud's downlink over the same bus. The API server runs on the main thread.
When a run ends (``--duration-s``) the demo stops; without it the twin starts over on today's clock, so the
dashboard stays alive until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import gc
import math
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from roadcloud.bus import connect_bus
from roadcloud.bus.topics import field_filters, zone_filter
from roadcloud.cloud.pipeline import CloudPipeline
from roadcloud.cloud.site import ZoneSite, provisioned_registry

if TYPE_CHECKING:
    from roadcloud.store import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoSettings:
    zone_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    db_url: str | None = None  # default: SQLite beside the zone
    duration_s: float | None = None  # None: start over when the zone's run ends, until Ctrl-C
    realtime: bool = True
    warm_up_s: float = 240.0  # simulated as fast as possible before real time, so the zone is busy
    serve: bool = True


def run_demo(settings: DemoSettings, *, out: TextIO | None = None) -> int:
    """Generate the zone if needed, then run twin + cloud (+ API) until the run ends or Ctrl-C."""
    from roadcloud.twin.commands import run_twin
    from roadcloud.twin.generator import ZoneSettings, new_zone
    from roadcloud.twin.runtime import Twin

    out = out or sys.stdout
    if not (settings.zone_dir / "zone.toml").exists():
        print(f"generating the default zone in {settings.zone_dir} (a few seconds) …", file=out, flush=True)
        new_zone(settings.zone_dir, ZoneSettings(), overwrite=True)
    site = ZoneSite.from_zone_dir(settings.zone_dir)
    registry = provisioned_registry(site, provisioned_at_ms=round(time.time() * 1000))
    clock = _TwinClock(round(time.time() * 1000))
    stop = threading.Event()
    failure: list[BaseException] = []
    playing: list[Twin] = []

    with contextlib.ExitStack() as stack:
        bus = stack.enter_context(connect_bus("inproc://"))
        pipeline = CloudPipeline(site, registry=registry, clock_ms=clock.now_ms, publish=bus.publish)
        for topic_filter in field_filters(site.zone):
            bus.subscribe(topic_filter, pipeline.handle)
        # the twin's connected vehicles hear the cloud's downlink (RSU broadcasts and direct messages)
        bus.subscribe(
            zone_filter(site.zone, direction="down"),
            lambda topic, payload: playing[-1].receive(topic, payload) if playing else None,
        )
        store = _open_store(settings, pipeline, stack)
        # The map and its indexes are a few hundred thousand long-lived objects; a full collection over
        # them takes hundreds of ms, so they leave the collector's view once loaded.
        gc.freeze()

        def on_step(epoch_ms: int) -> None:
            clock.set(epoch_ms)
            pipeline.tick(epoch_ms)

        def play() -> None:
            try:
                while not stop.is_set():
                    # started warm_up_s in the past: the zone fills up as fast as possible, then runs live
                    warm_up_ms = round(min(settings.warm_up_s, settings.duration_s or math.inf) * 1000)
                    start_ms = round(time.time() * 1000) - warm_up_ms if settings.realtime else None
                    twin = Twin(settings.zone_dir, duration_s=settings.duration_s, start_epoch_ms=start_ms)
                    clock.set(twin.start_epoch_ms)
                    playing.append(twin)
                    run_twin(
                        twin,
                        publish=bus.publish,
                        realtime=settings.realtime,
                        on_step=on_step,
                        extra_status=lambda: _status(pipeline),
                        should_stop=stop.is_set,
                        out=out,
                    )
                    playing.clear()
                    if settings.duration_s is not None:
                        break
            except BaseException as error:  # reported on the main thread
                failure.append(error)
            finally:
                stop.set()

        player = threading.Thread(target=play, name="roadcloud-twin", daemon=True)
        try:
            if settings.serve:
                _serve_until(
                    settings,
                    pipeline=pipeline,
                    store=store,
                    player=player,
                    stop=stop,
                    clock_ms=clock.now_ms,
                    out=out,
                )
            else:
                player.start()
                while player.is_alive():
                    player.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            if player.is_alive():
                player.join(10.0)
    if failure:
        raise failure[0]
    return 0


class _TwinClock:
    """The pipeline's clock in the demo: twin time, set by the twin thread each step."""

    def __init__(self, epoch_ms: int) -> None:
        self._now_ms = epoch_ms

    def set(self, epoch_ms: int) -> None:
        self._now_ms = epoch_ms

    def now_ms(self) -> int:
        return self._now_ms


def _status(pipeline: CloudPipeline) -> str:
    stats = pipeline.stats()
    events = sum(stats.events_active.values())
    return (
        f"tracks {stats.tracks:4d}  events {events:2d}  "
        f"tick p99 {stats.tick_latency_p99_ms:5.1f} ms  dropped {sum(stats.dropped.values())}"
    )


def _open_store(settings: DemoSettings, pipeline: CloudPipeline, stack: contextlib.ExitStack) -> Store:
    """SQLite beside the zone unless a URL is given; every frame's events, advisories and tracks go in."""
    from roadcloud.store import Store, StoreWriter
    from roadcloud.store.recorder import FrameRecorder

    url = settings.db_url or f"sqlite:///{settings.zone_dir.resolve().parent / 'roadcloud.db'}"
    store = Store(url)
    stack.callback(store.close)
    writer = StoreWriter(store)
    stack.callback(writer.close, 10.0)
    recorder = FrameRecorder(writer)
    recorder.attach(pipeline)
    stack.callback(recorder.detach)
    return store


def _serve_until(
    settings: DemoSettings,
    *,
    pipeline: CloudPipeline,
    store: Store,
    player: threading.Thread,
    stop: threading.Event,
    clock_ms: Callable[[], int],
    out: TextIO,
) -> None:
    """The API on this thread (uvicorn handles Ctrl-C here); it shuts down when the twin thread ends."""
    from roadcloud.api.app import create_app
    from roadcloud.api.server import PipelineView, address, bind, make_server, serve

    sock = bind(settings.host, settings.port)
    server = make_server(create_app(PipelineView(pipeline, store=store), clock_ms=clock_ms))

    def end_with_the_twin() -> None:
        stop.wait()
        server.should_exit = True

    threading.Thread(target=end_with_the_twin, name="roadcloud-demo-watch", daemon=True).start()
    player.start()
    host, port = address(sock)
    if settings.realtime and settings.warm_up_s > 0:
        print(
            f"warming up: the first {settings.warm_up_s:g} simulated seconds run as fast as possible, "
            "then the zone runs at real time",
            file=out,
            flush=True,
        )
    print(f"roadcloud dashboard: http://{host}:{port}/  (API at /docs; Ctrl-C stops)", file=out, flush=True)
    try:
        serve(server, sock)
    finally:
        stop.set()
        sock.close()
