"""CLI: ``roadcloud zone new|show|provision``, ``roadcloud twin`` and ``roadcloud replay``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from roadcloud.errors import SettingError
from roadcloud.twin.generator import GridSettings, ZoneSettings, new_zone
from roadcloud.twin.manifest import load_manifest

if TYPE_CHECKING:
    from roadcloud.twin.runtime import Twin


def register(subparsers: Any) -> None:
    zone = subparsers.add_parser("zone", help="create and inspect twin zones")
    zone_commands = zone.add_subparsers(dest="zone_command", metavar="ZONE_COMMAND", required=True)

    new = zone_commands.add_parser(
        "new",
        help="write a self-contained scenario folder",
        description="Write a zone: network, demand, roadside units, incidents and zone.toml. Without --net, "
        "--xodr or --osm a Yizhuang-like signalised grid district is generated.",
    )
    new.add_argument("directory", type=Path, help="folder to create (must be empty or new)")
    source = new.add_mutually_exclusive_group()
    source.add_argument("--net", type=Path, help="a SUMO network (.net.xml or .net.xml.gz)")
    source.add_argument("--xodr", type=Path, help="an ASAM OpenDRIVE file, converted with netconvert")
    source.add_argument("--osm", type=Path, help="an OpenStreetMap file, converted with netconvert")
    defaults = ZoneSettings()  # one source of truth for the defaults shown in --help
    grid = defaults.grid
    options: list[tuple[str, type, object, str]] = [
        ("--name", str, defaults.name, "zone name used in topics"),
        ("--vehicles-per-hour", float, defaults.vehicles_per_hour, "vehicle demand"),
        ("--pedestrians-per-hour", float, defaults.pedestrians_per_hour, "walkers"),
        ("--bicycles-per-hour", float, defaults.bicycles_per_hour, "cyclists"),
        ("--connected-share", float, defaults.connected_share, "share of motor vehicles sending BSM"),
        ("--duration-s", float, defaults.duration_s, "length of the run in seconds"),
        ("--seed", int, defaults.seed, "random seed for demand, units and noise"),
        ("--rsu-range-m", float, defaults.rsu_range_m, "roadside sensor range in metres"),
        ("--incidents-per-kind", int, defaults.incidents_per_kind, "scripted incidents of each kind"),
        ("--grid", str, f"{grid.columns}x{grid.rows}", "generated grid, COLUMNSxROWS"),
        ("--lanes", int, grid.lanes, "lanes each way on generated roads"),
    ]
    for flag, kind, default, text in options:
        new.add_argument(flag, type=kind, default=default, help=f"{text} (default {default})")
    new.add_argument(
        "--noise", default=defaults.noise, choices=["low", "default", "high"], help="sensor noise preset"
    )
    new.add_argument("--force", action="store_true", help="replace the folder if it is not empty")
    new.set_defaults(run=_zone_new)

    provision = zone_commands.add_parser(
        "provision",
        help="register the zone's roadside units and signal controllers in a device registry",
        description="Provision every RSU and signal controller of a zone, with its position, so ingest "
        "accepts their messages. Devices already in the registry are left as they are.",
    )
    provision.add_argument("directory", type=Path, help="zone folder")
    provision.add_argument(
        "--registry", type=Path, default=Path(".roadcloud/devices.json"), help="registry file to update"
    )
    provision.set_defaults(run=_zone_provision)

    show = zone_commands.add_parser("show", help="summarise a zone's manifest")
    show.add_argument("directory", type=Path)
    show.set_defaults(run=_zone_show)

    twin = subparsers.add_parser(
        "twin",
        help="run a zone's digital twin",
        description="Run the zone in SUMO and emit every field stream (RSM, BSM, SPAT, MAP, heartbeats, "
        "ground truth) every 100 ms to a bus and/or a recording, with a live summary.",
    )
    twin.add_argument("zone", type=Path, help="zone folder (from 'roadcloud zone new')")
    twin.add_argument("--bus", default=None, help="publish to a bus: inproc:// or mqtt://HOST:PORT")
    twin.add_argument("--record", type=Path, default=None, help="write the run to a recording file")
    twin.add_argument("--duration-s", type=float, default=None, help="override the zone's run length")
    twin.add_argument(
        "--noise", choices=["low", "default", "high"], default=None, help="override sensor noise"
    )
    twin.add_argument("--delay-ms", type=int, default=None, help="override every unit's network delay")
    twin.add_argument(
        "--realtime",
        action="store_true",
        help="pace the run at 1x on today's clock (a live field) instead of as fast as possible",
    )
    twin.add_argument("--quiet", action="store_true", help="print only the final summary")
    twin.set_defaults(run=_twin)

    replay_parser = subparsers.add_parser("replay", help="replay a recording onto a bus")
    replay_parser.add_argument("recording", type=Path)
    replay_parser.add_argument("--bus", default="inproc://", help="inproc:// (default) or mqtt://HOST:PORT")
    replay_parser.add_argument("--speed", default="1", help="1 = recorded timing, 10 = ten times faster, max")
    replay_parser.set_defaults(run=_replay)


def _parse_grid(text: str) -> tuple[int, int]:
    try:
        columns, rows = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise SettingError(f"--grid {text!r} is not COLUMNSxROWS, e.g. 7x6") from None
    return columns, rows


def _zone_new(args: argparse.Namespace) -> int:
    columns, rows = _parse_grid(args.grid)
    settings = ZoneSettings(
        name=args.name,
        net=args.net,
        xodr=args.xodr,
        osm=args.osm,
        grid=GridSettings(columns=columns, rows=rows, lanes=args.lanes),
        vehicles_per_hour=args.vehicles_per_hour,
        pedestrians_per_hour=args.pedestrians_per_hour,
        bicycles_per_hour=args.bicycles_per_hour,
        connected_share=args.connected_share,
        duration_s=args.duration_s,
        seed=args.seed,
        rsu_range_m=args.rsu_range_m,
        noise=args.noise,
        incidents_per_kind=args.incidents_per_kind,
    )
    manifest = new_zone(args.directory, settings, overwrite=args.force)
    print(
        f"zone {manifest.zone.name} written to {args.directory}: {len(manifest.rsu)} roadside units, "
        f"{len(manifest.incident)} incidents; run it with 'roadcloud twin {args.directory}'"
    )
    return 0


def _zone_provision(args: argparse.Namespace) -> int:
    from roadcloud.ingest.registry_file import load_registry, save_registry
    from roadcloud.twin.runtime import Twin

    twin = Twin(args.directory)
    registry = load_registry(args.registry)
    known = {device.id for device in registry.devices()}
    added = 0
    for device in twin.zone_devices():
        if device.device_id not in known:
            registry.provision(
                device.device_id,
                kind=device.kind.value,
                zone=twin.zone,
                name=device.name,
                lon_deg=device.lon_deg,
                lat_deg=device.lat_deg,
                provisioned_at_ms=round(time.time() * 1000),
            )
            added += 1
    save_registry(args.registry, registry)
    print(
        f"provisioned {added} devices of zone {twin.zone} in {args.registry}; {len(known)} were there already"
    )
    return 0


def _zone_show(args: argparse.Namespace) -> int:
    manifest, folder = load_manifest(args.directory)
    print(f"zone        {manifest.zone.name}: {manifest.zone.description}")
    print(f"network     {folder / manifest.network.file} ({manifest.network.source})")
    print(f"run         {manifest.zone.duration_s:g} s from {manifest.zone.start_time.isoformat()}")
    demand = manifest.demand
    print(
        f"demand      {demand.vehicles_per_hour:g} veh/h, {demand.bicycles_per_hour:g} bikes/h, "
        f"{demand.pedestrians_per_hour:g} ped/h, {demand.connected_share:.0%} connected"
    )
    print(f"units       {len(manifest.rsu)} roadside units, noise preset {manifest.sensors.noise}")
    for incident in manifest.incident:
        print(
            f"incident    {incident.id} {incident.kind.value} on {incident.lane} at {incident.pos_m:g} m, "
            f"{incident.start_s:g}-{incident.start_s + incident.duration_s:g} s"
        )
    return 0


def _twin(args: argparse.Namespace) -> int:
    from roadcloud.bus import connect_bus
    from roadcloud.twin.runtime import Twin

    # Paced at 1x the twin is a live field, so its clock is now; as fast as possible it replays the
    # manifest's day, so recordings of the same zone are identical.
    start_epoch_ms = round(time.time() * 1000) if args.realtime else None
    twin = Twin(
        args.zone,
        duration_s=args.duration_s,
        noise=args.noise,
        delay_ms=args.delay_ms,
        start_epoch_ms=start_epoch_ms,
    )
    bus = connect_bus(args.bus) if args.bus else None
    try:
        run_twin(
            twin,
            publish=bus.publish if bus else None,
            record=args.record,
            realtime=args.realtime,
            quiet=args.quiet,
        )
    finally:
        if bus is not None:
            bus.close()
    return 0


def run_twin(
    twin: Twin,
    *,
    publish: Callable[[str, bytes], None] | None,
    record: Path | None = None,
    realtime: bool = False,
    quiet: bool = False,
    on_step: Callable[[int], None] | None = None,
    extra_status: Callable[[], str] | None = None,
    should_stop: Callable[[], bool] | None = None,
    out: TextIO | None = None,
) -> None:
    """Run a twin, sending each delivery to ``publish`` and/or a recording, printing a live summary.

    ``on_step`` gets each step's twin time (UTC epoch ms) before that step's deliveries, so a cloud
    pipeline fed by the twin can use twin time as its clock. ``should_stop`` ends the run early when it
    returns True (checked once per step).
    """
    from roadcloud.twin.recording import RecordingHeader, RecordingWriter

    out = out or sys.stdout  # looked up now, not at import, so redirected output is honoured
    writer = None
    if record is not None:
        manifest_text = (twin.folder / "zone.toml").read_text()
        writer = RecordingWriter(
            record,
            RecordingHeader(
                zone=twin.zone,
                start_epoch_ms=twin.start_epoch_ms,
                manifest_toml=manifest_text,
                geo_proj=twin.road_map.geo.proj or "",
                geo_offset_m=twin.road_map.geo.net_offset_m,
            ),
        )
    print(
        f"twin {twin.zone}: {len(twin.unit_specs)} roadside units, {len(twin.signals)} signals, "
        f"{twin.duration_s:g} s simulated",
        file=out,
        flush=True,
    )
    started = time.perf_counter()
    last_print = started
    last_detections = 0
    last_sim_s = 0.0
    detections_total = 0
    try:
        for deliveries in twin.run():
            if should_stop is not None and should_stop():
                break
            if on_step is not None:
                on_step(twin.start_epoch_ms + round(twin.stats.time_s * 1000))
            for emission in deliveries:
                if publish is not None:
                    publish(emission.topic, emission.payload)
                if writer is not None:
                    writer.write(emission)
            detections_total += twin.stats.detections
            now = time.perf_counter()
            if realtime:
                # paced on the twin's own clock against UTC: a twin started in the past runs as fast as
                # possible until it catches up with now (the demo's warm-up), then at real time
                ahead_s = twin.start_epoch_ms / 1000.0 + twin.stats.time_s - time.time()
                if ahead_s > 0:
                    time.sleep(ahead_s)
            if not quiet and now - last_print >= 1.0:
                sim_span = max(twin.stats.time_s - last_sim_s, 1e-9)
                stats = twin.stats
                objects_per_s = (detections_total - last_detections) / sim_span
                line = (
                    f"[t {stats.time_s:7.1f} s] vehicles {stats.vehicles:4d}  "
                    f"pedestrians {stats.pedestrians:3d}  connected {stats.connected:3d}  "
                    f"objects/s {objects_per_s:7.0f}  incidents active {stats.incidents_active}  "
                    f"speed {sim_span / (now - last_print):4.1f}x"
                )
                if extra_status is not None:
                    line += "  " + extra_status()
                print(line, file=out, flush=True)
                last_print, last_detections, last_sim_s = now, detections_total, stats.time_s
    finally:
        if writer is not None:
            writer.close()
    wall_s = time.perf_counter() - started
    totals = ", ".join(f"{kind} {count}" for kind, count in sorted(twin.stats.totals.items()))
    print(
        f"done: {twin.stats.time_s:.1f} s simulated in {wall_s:.1f} s "
        f"({twin.stats.time_s / wall_s:.1f}x real time); "
        f"{twin.stats.messages} messages ({totals})",
        file=out,
        flush=True,
    )
    if record is not None:
        print(f"recording written to {record}", file=out, flush=True)


def _replay(args: argparse.Namespace) -> int:
    from roadcloud.bus import connect_bus
    from roadcloud.twin.recording import read_header, replay

    speed = None if args.speed == "max" else _positive_float(args.speed, "--speed")
    header = read_header(args.recording)
    with connect_bus(args.bus) as bus:
        stats = replay(args.recording, bus.publish, speed=speed)
    print(
        f"replayed {stats.messages} messages of zone {header.zone} ({stats.span_s:.1f} s recorded) "
        f"in {stats.wall_s:.1f} s"
    )
    return 0


def _positive_float(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingError(f"{name} {text!r} is not a number; give e.g. 1, 10 or max") from None
    if value <= 0:
        raise SettingError(f"{name} {text} must be positive")
    return value
