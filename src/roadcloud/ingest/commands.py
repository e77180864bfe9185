"""``roadcloud devices …`` (the device registry file) and ``roadcloud ingest`` (the live ingest console).

Command-line edge of ingest: arguments in, registry file and bus out. User errors raise ``InputError``,
which the CLI prints as one line with exit code 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from roadcloud.bus.connect import connect_bus
from roadcloud.errors import InputError
from roadcloud.ingest.console import run_console
from roadcloud.ingest.ingestor import Ingestor
from roadcloud.ingest.registry import validate_name
from roadcloud.ingest.registry_file import DEFAULT_REGISTRY_PATH, load_registry, save_registry
from roadcloud.messages import DeviceKind

KINDS = ", ".join(kind.value for kind in DeviceKind)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    registry_option = argparse.ArgumentParser(add_help=False)
    registry_option.add_argument(
        "--registry",
        type=Path,
        default=DEFAULT_REGISTRY_PATH,
        metavar="PATH",
        help=f"device registry file (default: {DEFAULT_REGISTRY_PATH})",
    )

    devices = subparsers.add_parser(
        "devices",
        help="provision, list and remove field devices",
        description="Edit the device registry: the RSUs, signal controllers, vehicles and sensors that may "
        "publish to the platform. Ingest drops messages from devices that are not provisioned.",
    )
    actions = devices.add_subparsers(dest="devices_command", metavar="ACTION")
    actions.required = True

    provision = actions.add_parser(
        "provision",
        parents=[registry_option],
        help="add a device",
        description="Add a device to the registry; its id and zone are the ones in its topics.",
    )
    provision.add_argument("device_id", metavar="ID", help="device id as in its topics, e.g. R0042")
    provision.add_argument("--kind", required=True, help=f"one of: {KINDS}")
    provision.add_argument("--zone", required=True, help="zone the device publishes in, e.g. yizhuang")
    provision.add_argument("--name", help="a human name, e.g. 'Jinghai Rd / Kechuang 6th St, north arm'")
    provision.add_argument("--lon", type=float, metavar="DEG", help="WGS84 longitude, degrees")
    provision.add_argument("--lat", type=float, metavar="DEG", help="WGS84 latitude, degrees")
    provision.set_defaults(run=_provision)

    listing = actions.add_parser(
        "list", parents=[registry_option], help="list devices", description="List provisioned devices."
    )
    listing.add_argument("--zone", help="only devices of this zone")
    listing.set_defaults(run=_list)

    remove = actions.add_parser(
        "remove",
        parents=[registry_option],
        help="remove a device",
        description="Remove a device; ingest drops its messages from then on.",
    )
    remove.add_argument("device_id", metavar="ID")
    remove.set_defaults(run=_remove)

    show = actions.add_parser(
        "show", parents=[registry_option], help="show one device", description="Show one device's record."
    )
    show.add_argument("device_id", metavar="ID")
    show.set_defaults(run=_show)

    ingest = subparsers.add_parser(
        "ingest",
        parents=[registry_option],
        help="ingest a zone's field messages and show a live summary",
        description="Subscribe to a zone's up-stream (field → cloud) messages, decode and validate them "
        "against the device registry, and print one summary line a second: accepted messages per second "
        "by type, drops per second by reason, devices online.",
    )
    ingest.add_argument("--bus", default="inproc://", metavar="URL", help="mqtt://HOST:PORT or inproc://")
    ingest.add_argument("--zone", required=True, help="zone to ingest, e.g. yizhuang")
    ingest.add_argument("--seconds", type=float, metavar="N", help="stop after N seconds (default: Ctrl-C)")
    ingest.add_argument(
        "--max-age-ms", type=int, default=5_000, metavar="MS", help="drop messages measured longer ago"
    )
    ingest.add_argument(
        "--max-future-ms",
        type=int,
        default=1_000,
        metavar="MS",
        help="drop messages measured this far ahead of this machine's clock",
    )
    ingest.add_argument(
        "--accept-unprovisioned-vehicles",
        action="store_true",
        help="enrol vehicles on their first valid message instead of dropping them",
    )
    ingest.set_defaults(run=_ingest)


def _provision(args: argparse.Namespace) -> int:
    registry = load_registry(args.registry)
    device = registry.provision(
        args.device_id,
        kind=str(args.kind).lower(),
        zone=args.zone,
        name=args.name,
        lon_deg=args.lon,
        lat_deg=args.lat,
        provisioned_at_ms=time.time_ns() // 1_000_000,
    )
    save_registry(args.registry, registry)
    print(f"provisioned {device.kind} {device.id} in zone {device.zone} ({args.registry})")
    return 0


def _list(args: argparse.Namespace) -> int:
    registry = load_registry(args.registry)
    devices = [device for device in registry.devices() if args.zone is None or device.zone == args.zone]
    if not devices:
        where = f" in zone {args.zone}" if args.zone else ""
        print(f"no devices{where} in {args.registry}; add one with `roadcloud devices provision`")
        return 0
    header = ("ID", "KIND", "ZONE", "NAME", "LON", "LAT", "PROVISIONED (UTC)")
    rows = [
        (
            device.id,
            str(device.kind) + (" (auto)" if device.auto_enrolled else ""),
            device.zone,
            device.name or "",
            "" if device.lon_deg is None else f"{device.lon_deg:.7f}",
            "" if device.lat_deg is None else f"{device.lat_deg:.7f}",
            _utc(device.provisioned_at_ms),
        )
        for device in devices
    ]
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]
    for row in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _remove(args: argparse.Namespace) -> int:
    registry = load_registry(args.registry)
    device = registry.remove(args.device_id)
    save_registry(args.registry, registry)
    print(f"removed {device.kind} {device.id} from zone {device.zone} ({args.registry})")
    return 0


def _show(args: argparse.Namespace) -> int:
    registry = load_registry(args.registry)
    device = registry.get(args.device_id)
    if device is None:
        raise InputError(
            f"device {args.device_id!r} is not in {args.registry}; `roadcloud devices list` shows them"
        )
    print(f"id:           {device.id}")
    print(f"kind:         {device.kind}" + (" (auto-enrolled)" if device.auto_enrolled else ""))
    print(f"zone:         {device.zone}")
    print(f"name:         {device.name or '-'}")
    if device.lon_deg is not None and device.lat_deg is not None:
        print(f"position:     lon {device.lon_deg:.7f}, lat {device.lat_deg:.7f} (WGS84)")
    else:
        print("position:     -")
    print(f"provisioned:  {_utc(device.provisioned_at_ms)}")
    return 0


def _ingest(args: argparse.Namespace) -> int:
    validate_name("zone", args.zone)
    if args.seconds is not None and not args.seconds > 0:
        raise InputError(f"--seconds {args.seconds} must be positive; leave it out to run until Ctrl-C")
    registry = load_registry(args.registry)
    ingestor = Ingestor(
        registry,
        clock_ms=lambda: time.time_ns() // 1_000_000,
        max_age_ms=args.max_age_ms,
        max_future_ms=args.max_future_ms,
        accept_unprovisioned_vehicles=args.accept_unprovisioned_vehicles,
    )
    with connect_bus(args.bus) as bus:
        if not len(registry):  # after connecting, so a bad URL stays a one-line error
            print(
                f"roadcloud: note: no devices in {args.registry}; every message will be dropped as "
                "unknown_device (see `roadcloud devices provision`)",
                file=sys.stderr,
            )
        run_console(bus, ingestor, zone=args.zone, seconds=args.seconds, out=sys.stdout)
    return 0


def _utc(epoch_ms: int) -> str:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
