"""The lane-level precise map: the first stop of the data flow and the frame every other package works in.

    load_map(path) ──▶ RoadMap (lanes, edges, junctions, connections, signal groups, geo-reference)
                          ├─▶ LaneMatcher.match(x, y, heading) ─▶ LaneMatch   (fusion, ingest, LDM)
                          ├─▶ RoutingGraph.shortest_path / fastest_path ─▶ Route  (fleet, road operations)
                          └─▶ RoadMap.geo.local_to_wgs84 / wgs84_to_local    (messages at the edges)

Networks are SUMO ``.net.xml``; OpenDRIVE and OSM are converted with SUMO's netconvert (``tools.py``).
"""

from roadcloud.map.geo import GeoReference
from roadcloud.map.load import default_cache_dir, import_opendrive, import_osm, load_map, load_network
from roadcloud.map.matching import LaneMatch, LaneMatcher
from roadcloud.map.model import (
    VEHICLE_CLASSES,
    Connection,
    Edge,
    Junction,
    Lane,
    RoadMap,
    SignalController,
    SignalGroup,
    check_vehicle_class,
)
from roadcloud.map.routing import Route, RoutingGraph
from roadcloud.map.tools import run_sumo_binary, sumo_binary, sumo_home, sumo_tool_script

__all__ = [
    "VEHICLE_CLASSES",
    "Connection",
    "Edge",
    "GeoReference",
    "Junction",
    "Lane",
    "LaneMatch",
    "LaneMatcher",
    "RoadMap",
    "Route",
    "RoutingGraph",
    "SignalController",
    "SignalGroup",
    "check_vehicle_class",
    "default_cache_dir",
    "import_opendrive",
    "import_osm",
    "load_map",
    "load_network",
    "run_sumo_binary",
    "sumo_binary",
    "sumo_home",
    "sumo_tool_script",
]
