"""``roadcloud zone new``: write a self-contained twin scenario into a folder.

Pipeline: network (generated with netgenerate, copied, or converted from OpenDRIVE/OSM) → demand
(randomTrips + duarouter for vehicles and cyclists, randomTrips for pedestrians) → roadside units (one per
signalised junction) → scripted incidents near the units → ``zone.toml``. SUMO's own tools do the traffic
engineering; this module only chooses settings and records them.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import msgspec
import numpy as np

from roadcloud.errors import SettingError, ToolError
from roadcloud.map import Lane, RoadMap, import_opendrive, import_osm, load_map
from roadcloud.map.tools import sumo_binary, sumo_tool_script
from roadcloud.messages.truth import IncidentKind
from roadcloud.twin.manifest import (
    MAX_WAIT_S,
    NEAR_COLLISION_FOLLOW_GAP_M,
    WAITING_KINDS,
    DemandSection,
    Incident,
    Manifest,
    NetworkSection,
    RoadsideUnitSpec,
    SensorSection,
    ZoneSection,
    write_manifest,
)
from roadcloud.twin.scene import lane_point, straight_signalised_connection

# Yizhuang (Beijing Economic-Technological Development Area), where the demonstration zone started.
YIZHUANG_LON_DEG = 116.5055
YIZHUANG_LAT_DEG = 39.7953
NETWORK_FILE = "zone.net.xml"
VTYPES_FILE = "vtypes.add.xml"

# A mixed urban fleet; shares follow typical Beijing arterial counts (mostly cars, few heavy vehicles).
# Drivers keep within 10 % of the limit (SUMO's default spread, capped at 1.1): every vehicle well above
# the limit is then a scripted speeding incident, and the ground truth knows them all.
_SPEED_FACTOR = "normc(1,0.1,0.2,1.1)"
_VTYPES_XML = f"""<additional>
    <vTypeDistribution id="mixed">
        <vType id="car" vClass="passenger" length="4.6" width="1.8" probability="0.85"
               speedFactor="{_SPEED_FACTOR}"/>
        <vType id="bus" vClass="bus" length="12.0" width="2.5" probability="0.04"
               speedFactor="{_SPEED_FACTOR}"/>
        <vType id="truck" vClass="truck" length="8.0" width="2.4" probability="0.06"
               speedFactor="{_SPEED_FACTOR}"/>
        <vType id="motorcycle" vClass="motorcycle" length="2.2" width="0.8" probability="0.05"
               speedFactor="{_SPEED_FACTOR}"/>
    </vTypeDistribution>
    <vType id="bike" vClass="bicycle" length="1.7" width="0.65"/>
</additional>
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class GridSettings:
    """The default generated district: a grid of multi-lane arterials with signals at every crossing."""

    columns: int = 7
    rows: int = 6
    block_x_m: float = 350.0
    block_y_m: float = 300.0
    lanes: int = 3
    speed_limit_mps: float = 16.67  # 60 km/h urban arterial


@dataclass(frozen=True, slots=True, kw_only=True)
class ZoneSettings:
    name: str = "yizhuang"
    net: Path | None = None
    xodr: Path | None = None
    osm: Path | None = None
    grid: GridSettings = field(default_factory=GridSettings)
    # Settles near 600 vehicles at peak on the 7x6 grid; more only grows a jam that never clears.
    vehicles_per_hour: float = 7200.0
    pedestrians_per_hour: float = 1200.0
    bicycles_per_hour: float = 600.0
    connected_share: float = 0.3
    duration_s: float = 900.0
    start_time: dt.datetime = dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.UTC)  # 08:00 in Beijing
    seed: int = 42
    rsu_range_m: float = 150.0
    noise: str = "default"
    incidents_per_kind: int = 1

    def __post_init__(self) -> None:
        sources = [s for s in (self.net, self.xodr, self.osm) if s is not None]
        if len(sources) > 1:
            raise SettingError("give at most one of --net, --xodr and --osm")
        for name in ("vehicles_per_hour", "pedestrians_per_hour", "bicycles_per_hour", "rsu_range_m"):
            if getattr(self, name) < 0:
                raise SettingError(f"{name} is {getattr(self, name)}; it must be zero or more")
        if not 0.0 <= self.connected_share <= 1.0:
            raise SettingError(f"connected share is {self.connected_share}; give a share between 0 and 1")
        if self.duration_s <= 0:
            raise SettingError(f"duration is {self.duration_s} s; give a positive duration")
        if self.grid.columns < 2 or self.grid.rows < 2 or self.grid.lanes < 1:
            raise SettingError(
                f"a {self.grid.columns}x{self.grid.rows} grid with {self.grid.lanes} lanes is an empty zone; "
                "use at least 2 columns, 2 rows and 1 lane"
            )
        if self.incidents_per_kind < 0:
            raise SettingError(f"incidents per kind is {self.incidents_per_kind}; it must be zero or more")
        if self.noise not in ("low", "default", "high"):
            raise SettingError(f"noise preset {self.noise!r} is unknown; use low, default or high")


def new_zone(zone_dir: Path, settings: ZoneSettings, *, overwrite: bool = False) -> Manifest:
    """Create the scenario folder and return its manifest."""
    # SUMO's tools run inside the zone folder, so the paths handed to them must not be relative to ours.
    zone_dir = zone_dir.absolute()
    _prepare_folder(zone_dir, overwrite=overwrite)
    network = _build_network(zone_dir, settings)
    road_map = load_map(zone_dir / network.file)
    if not road_map.geo.is_georeferenced:
        # Generated grids and many OpenDRIVE files carry no projection: place them in Yizhuang.
        network = msgspec.structs.replace(
            network, anchor_lon_deg=YIZHUANG_LON_DEG, anchor_lat_deg=YIZHUANG_LAT_DEG
        )
        road_map = load_map(zone_dir / network.file, anchor_lonlat=(YIZHUANG_LON_DEG, YIZHUANG_LAT_DEG))
    (zone_dir / VTYPES_FILE).write_text(_VTYPES_XML)
    settings = _fit_demand_to_network(road_map, settings)
    route_files = _build_demand(zone_dir, network.file, settings)
    units = place_roadside_units(road_map, settings)
    incidents = script_incidents(road_map, units, settings)
    manifest = Manifest(
        zone=ZoneSection(
            name=settings.name,
            description=_describe(network, settings),
            start_time=settings.start_time,
            duration_s=settings.duration_s,
            seed=settings.seed,
        ),
        network=network,
        demand=DemandSection(
            route_files=route_files,
            vehicles_per_hour=settings.vehicles_per_hour,
            pedestrians_per_hour=settings.pedestrians_per_hour,
            bicycles_per_hour=settings.bicycles_per_hour,
            connected_share=settings.connected_share,
        ),
        sensors=SensorSection(noise=settings.noise),  # type: ignore[arg-type]  # checked in ZoneSettings
        rsu=units,
        incident=incidents,
    )
    write_manifest(manifest, zone_dir)
    return manifest


def _prepare_folder(zone_dir: Path, *, overwrite: bool) -> None:
    if zone_dir.exists() and any(zone_dir.iterdir()):
        if not overwrite:
            raise SettingError(f"{zone_dir} is not empty; choose a new folder or pass --force to replace it")
        shutil.rmtree(zone_dir)
    zone_dir.mkdir(parents=True, exist_ok=True)


def _build_network(zone_dir: Path, settings: ZoneSettings) -> NetworkSection:
    target = zone_dir / NETWORK_FILE
    if settings.net is not None:
        if not settings.net.exists():
            raise SettingError(f"network {settings.net} does not exist; check the path given to --net")
        load_map(settings.net)  # refuse a broken network under the name the user gave, before copying it
        name = NETWORK_FILE + (".gz" if settings.net.suffix == ".gz" else "")
        shutil.copyfile(settings.net, zone_dir / name)
        return NetworkSection(file=name, source="sumo", original=str(settings.net))
    if settings.xodr is not None:
        import_opendrive(settings.xodr, target)
        return NetworkSection(file=NETWORK_FILE, source="opendrive", original=str(settings.xodr))
    if settings.osm is not None:
        import_osm(settings.osm, target)
        return NetworkSection(file=NETWORK_FILE, source="osm", original=str(settings.osm))
    _generate_grid(target, settings.grid)
    return NetworkSection(file=NETWORK_FILE, source="generated")


def _generate_grid(target: Path, grid: GridSettings) -> None:
    """netgenerate a grid; signals at every grid crossing, plain priority junctions at the fringe."""
    crossings = [
        f"{chr(ord('A') + column)}{row}" for column in range(grid.columns) for row in range(grid.rows)
    ]
    if grid.columns > 26:
        raise SettingError(f"grid of {grid.columns} columns is too wide; use at most 26")
    _run_tool(
        [
            str(sumo_binary("netgenerate")),
            "--grid",
            f"--grid.x-number={grid.columns}",
            f"--grid.y-number={grid.rows}",
            f"--grid.x-length={grid.block_x_m}",
            f"--grid.y-length={grid.block_y_m}",
            "--grid.attach-length=200",
            f"--default.lanenumber={grid.lanes}",
            f"--default.speed={grid.speed_limit_mps}",
            "--sidewalks.guess",
            "--sidewalks.guess.max-speed=20",
            "--crossings.guess",
            "--tls.default-type=static",
            f"--tls.set={','.join(crossings)}",
            "--no-turnarounds",
            f"--output-file={target}",
        ],
        "netgenerate",
        cwd=target.parent,
    )


def _fit_demand_to_network(road_map: RoadMap, settings: ZoneSettings) -> ZoneSettings:
    """Leave out road users the network has no lanes for (OpenDRIVE files often lack sidewalks)."""
    if settings.pedestrians_per_hour > 0 and not road_map.drivable_lanes("pedestrian"):
        settings = replace(settings, pedestrians_per_hour=0.0)
    if settings.bicycles_per_hour > 0 and not road_map.drivable_lanes("bicycle"):
        settings = replace(settings, bicycles_per_hour=0.0)
    return settings


def _build_demand(zone_dir: Path, network_file: str, settings: ZoneSettings) -> list[str]:
    route_files: list[str] = []
    duration = f"{settings.duration_s:g}"
    if settings.vehicles_per_hour > 0:
        route_files.append(
            _vehicle_routes(
                zone_dir,
                network_file=network_file,
                stem="vehicles",
                prefix="veh",
                vtype="mixed",
                vclass="passenger",
                per_hour=settings.vehicles_per_hour,
                duration=duration,
                seed=settings.seed,
            )
        )
    if settings.bicycles_per_hour > 0:
        route_files.append(
            _vehicle_routes(
                zone_dir,
                network_file=network_file,
                stem="bicycles",
                prefix="bike",
                vtype="bike",
                vclass="bicycle",
                per_hour=settings.bicycles_per_hour,
                duration=duration,
                seed=settings.seed + 1,
            )
        )
    if settings.pedestrians_per_hour > 0:
        walks = zone_dir / "pedestrians.rou.xml"
        _run_tool(
            [
                sys.executable,
                str(sumo_tool_script("randomTrips.py")),
                "-n",
                str(zone_dir / network_file),
                "-o",
                str(walks),
                "--pedestrians",
                "--prefix",
                "ped",
                "--max-distance",
                "600",
                "--period",
                f"{3600.0 / settings.pedestrians_per_hour:.4f}",
                "--begin",
                "0",
                "--end",
                duration,
                "--seed",
                str(settings.seed + 2),
            ],
            "randomTrips (pedestrians)",
            cwd=zone_dir,
        )
        for leftover in ("routes.rou.xml", "routes.rou.alt.xml"):  # randomTrips' own check of the walks
            (zone_dir / leftover).unlink(missing_ok=True)
        if _count(walks, "<person") > 0:
            route_files.append(walks.name)
    if not route_files:
        raise SettingError(
            "the zone has no demand; give vehicles, bicycles or pedestrians per hour above zero"
        )
    return route_files


def _vehicle_routes(
    zone_dir: Path,
    *,
    network_file: str,
    stem: str,
    prefix: str,
    vtype: str,
    vclass: str,
    per_hour: float,
    duration: str,
    seed: int,
) -> str:
    trips = zone_dir / f"{stem}.trips.xml"
    routes = zone_dir / f"{stem}.rou.xml"
    _run_tool(
        [
            sys.executable,
            str(sumo_tool_script("randomTrips.py")),
            "-n",
            str(zone_dir / network_file),
            "-o",
            str(trips),
            "--prefix",
            prefix,
            "--edge-permission",
            vclass,
            "--fringe-factor",
            "3",
            "--min-distance",
            "300",
            "--period",
            f"{3600.0 / per_hour:.4f}",
            "--begin",
            "0",
            "--end",
            duration,
            "--seed",
            str(seed),
            "--trip-attributes",
            f'type="{vtype}" departLane="best" departSpeed="max"',
        ],
        f"randomTrips ({stem})",
        cwd=zone_dir,
    )
    _run_tool(
        [
            str(sumo_binary("duarouter")),
            "-n",
            str(zone_dir / network_file),
            "--additional-files",
            str(zone_dir / VTYPES_FILE),
            "--route-files",
            str(trips),
            "-o",
            str(routes),
            # vTypes go to a side file: SUMO gets them once, from vtypes.add.xml, for every route file.
            "--vtype-output",
            str(zone_dir / f"{stem}.vtypes.tmp.xml"),
            "--ignore-errors",
            "--repair",
            "--no-step-log",
            "--no-warnings",
            "--seed",
            str(seed),
        ],
        f"duarouter ({stem})",
        cwd=zone_dir,
    )
    trips.unlink()
    (zone_dir / f"{stem}.vtypes.tmp.xml").unlink(missing_ok=True)
    (zone_dir / f"{stem}.rou.alt.xml").unlink(missing_ok=True)
    return routes.name


def place_roadside_units(road_map: RoadMap, settings: ZoneSettings) -> list[RoadsideUnitSpec]:
    """One all-round unit per signalised junction; clock offsets and delays drawn per unit (seeded)."""
    junctions = road_map.signalised_junctions()
    if not junctions:
        raise SettingError(
            f"network {road_map.source.name} has no signalised junction to put a roadside unit at; "
            "use a network with traffic lights"
        )
    rng = np.random.default_rng(settings.seed + 7)
    units = []
    for number, junction in enumerate(sorted(junctions, key=lambda j: j.id), start=1):
        units.append(
            RoadsideUnitSpec(
                id=f"R{number:04d}",
                junction=junction.id,
                x_m=round(junction.x_m, 2),
                y_m=round(junction.y_m, 2),
                range_m=settings.rsu_range_m,
                clock_offset_ms=int(rng.integers(-50, 51)),  # NTP-synchronised units drift by tens of ms
                network_delay_ms=int(rng.integers(20, 61)),
                network_jitter_ms=10,
            )
        )
    return units


@dataclass(frozen=True, slots=True)
class _Plan:
    """How the generator scripts one incident kind: for how long, how fast, where on a lane."""

    kind: IncidentKind
    duration_s: float
    speed_mps: float = 0.0  # an absolute speed …
    speed_of_limit: float = 0.0  # … or a multiple of the lane's speed limit, when above zero
    place: str = "approach"  # a key of _PLACES


# Waiting kinds first in each round, so that they have the most time left to find their moment.
_INCIDENT_PLAN: tuple[_Plan, ...] = (
    _Plan(IncidentKind.RED_LIGHT_RUNNER, 30.0, speed_of_limit=0.8, place="signal_approach"),
    _Plan(IncidentKind.SPEEDING_VEHICLE, 40.0, speed_of_limit=1.6, place="departure"),
    # A follower at the limit closing on a lead that crawls at a twentieth of it (below walking pace,
    # briefly: too short to be a stopped vehicle, too slow to be a slow one): ~16 m/s closing speed.
    _Plan(IncidentKind.NEAR_COLLISION, 30.0, speed_of_limit=0.05, place="mid_block"),
    _Plan(IncidentKind.STOPPED_VEHICLE, 120.0),
    _Plan(IncidentKind.LANE_CLOSURE, 150.0),
    _Plan(IncidentKind.SLOW_VEHICLE, 90.0, speed_mps=3.0),
    _Plan(IncidentKind.WRONG_WAY_VEHICLE, 30.0, speed_mps=8.0),
    _Plan(IncidentKind.PEDESTRIAN_ON_CARRIAGEWAY, 40.0, speed_mps=1.0),
    _Plan(IncidentKind.DEMAND_SURGE, 180.0, place="surge_approach"),
)

SURGE_VEHICLES_PER_HOUR = 2700.0
"""A demand surge's extra vehicles: more than a three-lane approach's green lets through (measured on the
default grid: at 1800 the queue still cleared at most greens), so the queue stands."""
INCIDENT_SEPARATION_M = 250.0
"""Incidents whose times may overlap are placed at least this far apart where the zone has room, so
that what one causes (a queue, a braking wave) is not mistaken for the other."""
APPROACH_BEFORE_STOP_LINE_M = 60.0
DEPARTURE_POS_M = 20.0
MID_BLOCK_POS_M = NEAR_COLLISION_FOLLOW_GAP_M + 10.0


def script_incidents(
    road_map: RoadMap, units: list[RoadsideUnitSpec], settings: ZoneSettings
) -> list[Incident]:
    """Spread incidents of every kind over the run, each on a travel lane a roadside unit can see, apart
    in space from every other incident that may be active at the same time."""
    if settings.incidents_per_kind == 0:
        return []
    rng = np.random.default_rng(settings.seed + 11)
    candidates = {
        place: [candidates[i] for i in rng.permutation(len(candidates))]
        for place, candidates in _observable_lane_positions(road_map, units).items()
    }
    next_candidate = dict.fromkeys(candidates, 0)
    # Long runs leave the last incidents 90 s to play out; short ones (tests) still spread them a little.
    first_s = 60.0
    last_s = settings.duration_s - (90.0 if settings.duration_s >= 300.0 else 30.0)
    total = settings.incidents_per_kind * len(_INCIDENT_PLAN)
    incidents: list[Incident] = []
    placed: list[tuple[float, float, float, float]] = []  # start_s, end_s, x_m, y_m
    for number in range(total):
        plan = _INCIDENT_PLAN[number % len(_INCIDENT_PLAN)]
        options = candidates[plan.place]
        if not options:
            continue
        start_s = first_s + (last_s - first_s) * number / max(total, 1)
        if start_s >= settings.duration_s:
            break
        duration_s = round(min(plan.duration_s, settings.duration_s - start_s), 1)
        wait_s = MAX_WAIT_S if plan.kind in WAITING_KINDS else 0.0
        window = (start_s, start_s + wait_s + duration_s)
        choice = _separated(options, next_candidate[plan.place], placed, window)
        next_candidate[plan.place] = choice + 1
        lane_id, pos_m, x_m, y_m = options[choice % len(options)]
        placed.append((*window, x_m, y_m))
        speed_mps = plan.speed_mps
        if plan.speed_of_limit > 0:
            speed_mps = plan.speed_of_limit * road_map.lanes[lane_id].speed_limit_mps
        incidents.append(
            Incident(
                id=f"I{number + 1:03d}",
                kind=plan.kind,
                lane=lane_id,
                pos_m=round(pos_m, 1),
                start_s=round(start_s, 1),
                duration_s=duration_s,
                speed_mps=round(speed_mps, 2),
                extra_vehicles_per_hour=SURGE_VEHICLES_PER_HOUR
                if plan.kind == IncidentKind.DEMAND_SURGE
                else 0.0,
            )
        )
    return incidents


def _separated(
    options: list[tuple[str, float, float, float]],
    first: int,
    placed: list[tuple[float, float, float, float]],
    window: tuple[float, float],
) -> int:
    """Index (into ``options``, counted on from ``first``, possibly past its end) of the first candidate
    at least ``INCIDENT_SEPARATION_M`` from every placed incident whose time window overlaps ``window``;
    where none is, the one farthest from them."""
    overlapping = np.array(
        [(x_m, y_m) for start_s, end_s, x_m, y_m in placed if start_s < window[1] and window[0] < end_s]
    ).reshape(-1, 2)
    if len(overlapping) == 0:
        return first
    order = (first + np.arange(len(options))) % len(options)
    points = np.array([(options[i][2], options[i][3]) for i in order])
    nearest_m = np.min(np.hypot(*(points[:, None, :] - overlapping[None, :, :]).transpose(2, 0, 1)), axis=1)
    apart = np.flatnonzero(nearest_m >= INCIDENT_SEPARATION_M)
    return first + int(apart[0] if len(apart) else np.argmax(nearest_m))


def _observable_lane_positions(
    road_map: RoadMap, units: list[RoadsideUnitSpec]
) -> dict[str, list[tuple[str, float, float, float]]]:
    """Per kind of place, (lane, position along it, x, y) on lanes cars use, kept where a unit covers the
    spot (within 80 % of its range):

    - ``approach``: 60 m before the stop line;
    - ``signal_approach``: the same, on lanes with a signalised straight-on movement (red-light runners);
    - ``surge_approach``: the same, on such lanes of roads inside the zone (fed by other roads, not the
      first road in from its edge), where a surge of cars turning in looks like traffic arriving;
    - ``departure``: 20 m after the start of a lane that ends at a signalised junction (a speeding vehicle
      starts there and races the block, seen by the units at both of its ends);
    - ``mid_block``: where a near collision's lead starts; the follower starts 70 m behind it and closes
      in until just behind where the lead then is (~10 m on), all of which must be on the lane and seen.
    """
    unit_xy = np.array([[u.x_m, u.y_m] for u in units]).reshape(-1, 2)
    ranges = np.array([u.range_m for u in units])

    def covered(lane: Lane, pos_m: float) -> tuple[float, float] | None:
        x_m, y_m, _ = lane_point(lane, pos_m)
        seen = bool(np.any(np.hypot(unit_xy[:, 0] - x_m, unit_xy[:, 1] - y_m) <= 0.8 * ranges))
        return (x_m, y_m) if seen else None

    lanes = road_map.lanes
    reachable = {
        lanes[c.to_lane_id].edge_id
        for c in road_map.connections
        if lanes[c.from_lane_id].edge_id != lanes[c.to_lane_id].edge_id
    }
    found: dict[str, list[tuple[str, float, float, float]]] = {
        "approach": [],
        "signal_approach": [],
        "surge_approach": [],
        "departure": [],
        "mid_block": [],
    }
    for lane in road_map.drivable_lanes():
        if lane.is_internal or lane.length_m < 90.0 or "passenger" not in lane.allowed_classes:
            continue
        pos_m = lane.length_m - APPROACH_BEFORE_STOP_LINE_M
        spot = covered(lane, pos_m)
        if spot is not None:
            found["approach"].append((lane.id, pos_m, *spot))
            if straight_signalised_connection(road_map, lane.id) is not None:
                found["signal_approach"].append((lane.id, pos_m, *spot))
                if lane.edge_id in reachable:
                    found["surge_approach"].append((lane.id, pos_m, *spot))
        if lane.length_m >= 150.0 and straight_signalised_connection(road_map, lane.id) is not None:
            spot = covered(lane, DEPARTURE_POS_M)
            if spot is not None and covered(lane, DEPARTURE_POS_M + 60.0) is not None:
                found["departure"].append((lane.id, DEPARTURE_POS_M, *spot))
        if lane.length_m >= MID_BLOCK_POS_M + 90.0:
            spot = covered(lane, MID_BLOCK_POS_M + 10.0)
            if spot is not None and covered(lane, MID_BLOCK_POS_M - NEAR_COLLISION_FOLLOW_GAP_M) is not None:
                found["mid_block"].append((lane.id, MID_BLOCK_POS_M, *spot))
    return {place: sorted(spots) for place, spots in found.items()}


def _point_along(shape_xy: np.ndarray, pos_m: float) -> np.ndarray:
    steps = np.hypot(*np.diff(shape_xy, axis=0).T)
    cumulative = np.concatenate([[0.0], np.cumsum(steps)])
    return np.array(
        [np.interp(pos_m, cumulative, shape_xy[:, 0]), np.interp(pos_m, cumulative, shape_xy[:, 1])]
    )


def _describe(network: NetworkSection, settings: ZoneSettings) -> str:
    if network.source == "generated":
        grid = settings.grid
        return (
            f"Generated Yizhuang-like district: {grid.columns}x{grid.rows} signalised grid, "
            f"{grid.lanes} lanes each way, blocks {grid.block_x_m:g} m x {grid.block_y_m:g} m"
        )
    return f"Zone on {Path(network.original).name} ({network.source})"


def _count(path: Path, needle: str) -> int:
    return path.read_text().count(needle) if path.exists() else 0


def _run_tool(command: list[str], name: str, *, cwd: Path) -> None:
    """Run a SUMO tool inside the zone folder: randomTrips writes helper files (routes.rou.xml) into the
    working directory, and they belong with the zone, not wherever the user happens to be."""
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=cwd)
    if result.returncode != 0:
        lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit code {result.returncode}"
        raise ToolError(f"{name} failed: {last}")
