"""``roadcloud demo``: the quickstart — the whole platform in one process, nothing to install by hand.

Command-line edge of ``cloud.demo``: a bad port, duration or pace is one line and exit code 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from roadcloud.errors import SettingError

DEFAULT_DEMO_ZONE = Path(".roadcloud/demo-zone")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the default zone end to end with the live dashboard",
        description="The quickstart: generates the default zone if needed, then runs the SUMO twin → "
        "in-process bus → ingest → fusion → events → advisories back to the twin's vehicles, stores "
        "history in SQLite and serves the API and the control-room dashboard. Prints the address to open.",
    )
    demo.add_argument(
        "--zone", type=Path, default=DEFAULT_DEMO_ZONE, help=f"zone folder ({DEFAULT_DEMO_ZONE})"
    )
    demo.add_argument("--host", default="127.0.0.1", help="address the dashboard listens on (127.0.0.1)")
    demo.add_argument("--port", type=int, default=8000, help="TCP port of the dashboard (8000; 0 = any free)")
    demo.add_argument("--db", metavar="URL", help="history database (default: SQLite beside the zone folder)")
    demo.add_argument(
        "--duration-s",
        type=float,
        help="simulated seconds to run, then stop (default: start the zone over until Ctrl-C)",
    )
    demo.add_argument(
        "--speed",
        choices=("1", "max"),
        default="1",
        help="1: real time on today's clock (default); max: as fast as the machine goes",
    )
    demo.add_argument(
        "--warm-up-s",
        type=float,
        default=240.0,
        help="simulated seconds run as fast as possible before real time, so the zone is busy (240)",
    )
    demo.add_argument("--no-dashboard", action="store_true", help="run without the API and dashboard")
    demo.set_defaults(run=_demo)


def _demo(args: argparse.Namespace) -> int:
    from roadcloud.cloud.demo import DemoSettings, run_demo

    if args.duration_s is not None and args.duration_s <= 0:
        raise SettingError(f"--duration-s {args.duration_s:g}: give a positive number of seconds")
    if args.warm_up_s < 0:
        raise SettingError(f"--warm-up-s {args.warm_up_s:g}: give 0 or more seconds")
    from roadcloud.api.server import check_port

    check_port(args.port)
    settings = DemoSettings(
        zone_dir=args.zone,
        host=args.host,
        port=args.port,
        db_url=args.db,
        duration_s=args.duration_s,
        realtime=args.speed == "1",
        warm_up_s=args.warm_up_s,
        serve=not args.no_dashboard,
    )
    return run_demo(settings)
