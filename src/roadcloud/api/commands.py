"""``roadcloud serve``: the cloud pipeline on a live bus, with the API, stream, metrics and dashboard.

Command-line edge: arguments in, a running service out. A bad zone, bus URL, database URL, host or port is
one line and exit code 2 (``InputError``), before anything starts.
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from roadcloud.errors import InputError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the cloud pipeline on a live bus and serve the API and dashboard",
        description="Ingest a zone's field messages from the bus, fuse them into the live dynamic map, "
        "detect events and send advisories, and serve the HTTP API (OpenAPI docs at /docs), the live "
        "WebSocket stream, /health, /metrics and the dashboard at /.",
    )
    serve.add_argument("--zone", required=True, type=Path, metavar="ZONE_DIR", help="zone folder (zone.toml)")
    serve.add_argument(
        "--bus", default="inproc://", metavar="URL", help="mqtt://HOST:PORT (default inproc://)"
    )
    serve.add_argument(
        "--db",
        metavar="URL",
        help="history database: sqlite:///PATH or postgresql://… "
        "(default: $ROADCLOUD_DB_URL, else sqlite:///.roadcloud/roadcloud.db)",
    )
    serve.add_argument("--no-db", action="store_true", help="keep no history (the API shows live data only)")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    serve.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"))
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    # Imported here so that `roadcloud --help` does not load FastAPI, uvicorn and SQLAlchemy.
    from roadcloud.api.app import create_app
    from roadcloud.api.server import PipelineView, bind, make_server, serve
    from roadcloud.bus import connect_bus
    from roadcloud.cloud.pipeline import CloudPipeline
    from roadcloud.cloud.runner import LiveRunner, wall_clock_ms
    from roadcloud.cloud.site import ZoneSite, provisioned_registry

    zone_dir: Path = args.zone
    if not zone_dir.exists():
        raise InputError(f"--zone {zone_dir} does not exist; create one with `roadcloud zone new {zone_dir}`")
    sock = bind(args.host, args.port)  # first: a taken port fails before the zone is loaded
    try:
        site = ZoneSite.from_zone_dir(zone_dir)
        store = None
        if not args.no_db:
            from roadcloud.store import Store

            store = Store(args.db)  # None: $ROADCLOUD_DB_URL, else SQLite in .roadcloud/
        bus = connect_bus(args.bus)
    except BaseException:
        sock.close()
        raise
    registry = provisioned_registry(site, provisioned_at_ms=wall_clock_ms())
    pipeline = CloudPipeline(site, registry=registry, clock_ms=wall_clock_ms, publish=bus.publish)
    writer = None
    if store is not None:
        from roadcloud.store import StoreWriter
        from roadcloud.store.recorder import FrameRecorder

        writer = StoreWriter(store)
        FrameRecorder(writer).attach(pipeline)
    runner = LiveRunner(pipeline, bus)
    gc.freeze()  # the loaded map stays for the life of the process; keep full collections short
    app = create_app(PipelineView(pipeline, store=store), clock_ms=wall_clock_ms)
    server = make_server(app, log_level=args.log_level)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in str(host) else str(host)
    print(
        f"roadcloud: zone {site.zone} from {args.bus}; API http://{shown}:{port}/docs, dashboard http://{shown}:{port}/",
        file=sys.stderr,
        flush=True,
    )
    runner.start()
    try:
        serve(server, sock)
    finally:
        runner.stop()
        if writer is not None:
            writer.close(timeout_s=5.0)
        bus.close()
        sock.close()
        if store is not None:
            store.close()
    return 0
