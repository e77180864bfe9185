"""``roadcloud map …``: look at, convert, route on and match against a network from the shell.

Thin wrappers over the package's functions: parse, call, print. Bad input raises ``InputError``
subclasses, which the top-level CLI prints as one line with exit code 2.
"""

from __future__ import annotations

import argparse
import math

from roadcloud.errors import SettingError
from roadcloud.map.load import import_opendrive, import_osm, load_map
from roadcloud.map.matching import LaneMatcher
from roadcloud.map.model import RoadMap
from roadcloud.map.routing import RoutingGraph

_NETWORK_HELP = "SUMO network (.net.xml[.gz]), or OpenDRIVE (.xodr) / OSM (.osm), converted on the fly"
_ANCHOR_HELP = "place a network without projection on the globe: its (0, 0) is at LON,LAT degrees"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``map`` and its sub-commands to the top-level parser."""
    parser = subparsers.add_parser(
        "map",
        help="precise map: inspect, import, route, match",
        description="Lane-level precise map: inspect networks, import OpenDRIVE/OSM, route, match positions.",
    )
    commands = parser.add_subparsers(dest="map_command", metavar="MAP_COMMAND")
    commands.required = True

    info = commands.add_parser(
        "info",
        help="counts, bounds and projection of a network",
        description="Print counts of junctions, edges, lanes, connections and signals, bounds, projection.",
    )
    info.add_argument("network", metavar="NETWORK", help=_NETWORK_HELP)
    info.add_argument("--anchor", metavar="LON,LAT", help=_ANCHOR_HELP)
    info.set_defaults(run=run_info)

    convert = commands.add_parser(
        "import",
        help="convert OpenDRIVE or OSM to a SUMO network",
        description="Convert an OpenDRIVE or OpenStreetMap file to a SUMO network with netconvert.",
    )
    source = convert.add_mutually_exclusive_group(required=True)
    source.add_argument("--xodr", metavar="FILE", help="ASAM OpenDRIVE file")
    source.add_argument("--osm", metavar="FILE", help="OpenStreetMap XML extract")
    convert.add_argument("-o", "--output", metavar="OUT.net.xml", required=True, help="network to write")
    convert.set_defaults(run=run_import)

    route = commands.add_parser(
        "route",
        help="shortest or fastest route between two edges",
        description="Route from the start of FROM_EDGE to the end of TO_EDGE, optionally around closures.",
    )
    route.add_argument("network", metavar="NETWORK", help=_NETWORK_HELP)
    route.add_argument("from_edge", metavar="FROM_EDGE", help="edge id to start on")
    route.add_argument("to_edge", metavar="TO_EDGE", help="edge id to end on")
    route.add_argument("--fastest", action="store_true", help="least travel time instead of least length")
    route.add_argument(
        "--close", metavar="EDGE", nargs="+", action="extend", default=[], help="edges to treat as closed"
    )
    route.add_argument("--vehicle-class", default="passenger", help="SUMO vClass (default: passenger)")
    route.set_defaults(run=run_route)

    match = commands.add_parser(
        "match",
        help="which lane a position lies on",
        description="Match a local position (metres) and optional heading (degrees clockwise from north).",
    )
    match.add_argument("network", metavar="NETWORK", help=_NETWORK_HELP)
    match.add_argument("x", metavar="X", help="east, metres in the network's frame")
    match.add_argument("y", metavar="Y", help="north, metres in the network's frame")
    match.add_argument("heading", metavar="HEADING", nargs="?", help="degrees clockwise from north")
    match.add_argument("--max-distance", default="5", metavar="METRES", help="farthest lane (default 5)")
    match.add_argument("--vehicle-class", default=None, help="only lanes allowing this SUMO vClass")
    match.set_defaults(run=run_match)


def run_info(args: argparse.Namespace) -> int:
    road_map = _load(args.network, args.anchor)
    roads = sum(1 for edge in road_map.edges.values() if edge.function == "normal")
    groups = sum(len(controller.groups) for controller in road_map.signal_controllers.values())
    xmin, ymin, xmax, ymax = road_map.bounds_m
    print(f"network        {road_map.name} ({road_map.source})")
    print(f"junctions      {len(road_map.junctions)} ({len(road_map.signalised_junctions())} signalised)")
    print(f"edges          {len(road_map.edges)} ({roads} roads)")
    print(f"lanes          {len(road_map.lanes)} ({len(road_map.drivable_lanes())} drivable)")
    print(f"connections    {len(road_map.connections)}")
    print(f"signals        {len(road_map.signal_controllers)} controllers, {groups} signal groups")
    size = f"{xmax - xmin:.0f} m x {ymax - ymin:.0f} m"
    print(f"bounds_m       {xmin:.2f} {ymin:.2f} {xmax:.2f} {ymax:.2f} ({size})")
    if road_map.geo.is_georeferenced:
        lon, lat = road_map.geo.local_to_wgs84([xmin, xmax, xmax, xmin], [ymin, ymin, ymax, ymax])
        print(f"projection     {road_map.geo.proj}")
        print(
            f"wgs84_bbox     lon {lon.min():.6f} .. {lon.max():.6f}, lat {lat.min():.6f} .. {lat.max():.6f}"
        )
    else:
        print("projection     none (pass --anchor LON,LAT to place it on the globe)")
    return 0


def run_import(args: argparse.Namespace) -> int:
    if args.xodr is not None:
        out = import_opendrive(args.xodr, args.output)
    else:
        out = import_osm(args.osm, args.output)
    road_map = load_map(out)
    counts = f"{len(road_map.junctions)} junctions, {len(road_map.edges)} edges, {len(road_map.lanes)} lanes"
    print(f"wrote {out} ({counts})")
    return 0


def run_route(args: argparse.Namespace) -> int:
    road_map = _load(args.network, None)
    graph = RoutingGraph(road_map, vehicle_class=args.vehicle_class)
    for edge_id in args.close:
        graph.close_edge(edge_id)
    if args.fastest:
        route = graph.fastest_path(args.from_edge, args.to_edge)
    else:
        route = graph.shortest_path(args.from_edge, args.to_edge)
    print(f"route          {' '.join(route.edge_ids)}")
    print(f"edges          {len(route.edge_ids)}")
    print(f"length_m       {route.length_m:.2f}")
    print(f"travel_time_s  {route.travel_time_s:.1f}")
    return 0


def run_match(args: argparse.Namespace) -> int:
    x_m = _number(args.x, "X")
    y_m = _number(args.y, "Y")
    heading_deg = None if args.heading is None else _number(args.heading, "HEADING")
    max_distance_m = _number(args.max_distance, "--max-distance")
    road_map = _load(args.network, None)
    matcher = LaneMatcher(road_map, max_distance_m=max_distance_m, vehicle_class=args.vehicle_class)
    result = matcher.match(x_m, y_m, heading_deg)
    lane_id = result.lane_id(0)
    if lane_id is None:
        print(f"no lane within {max_distance_m:g} m of ({x_m:g}, {y_m:g})")
        return 1
    print(f"lane              {lane_id}")
    print(f"s_m               {result.s_m[0]:.2f}")
    print(f"lateral_offset_m  {result.lateral_offset_m[0]:.2f}")
    print(f"distance_m        {result.distance_m[0]:.2f}")
    if heading_deg is not None:
        print(f"heading_error_deg {result.heading_error_deg[0]:.1f}")
    return 0


def _load(network: str, anchor: str | None) -> RoadMap:
    anchor_lonlat = None
    if anchor is not None:
        parts = anchor.split(",")
        if len(parts) != 2:
            raise SettingError(f"--anchor {anchor!r} is not LON,LAT in degrees, e.g. 116.5,39.8")
        anchor_lonlat = (_number(parts[0], "--anchor longitude"), _number(parts[1], "--anchor latitude"))
    return load_map(network, anchor_lonlat=anchor_lonlat)


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingError(f"{name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise SettingError(f"{name} must be a finite number, not {text!r}")
    return value
