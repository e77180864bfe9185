"""Reading road networks from disk into a ``RoadMap``: the entry point of the map package.

    .xodr (OpenDRIVE) ─┐ netconvert
    .osm (OpenStreetMap)┴──────────▶ .net.xml ── sumolib ──▶ RoadMap
    .net.xml[.gz] (SUMO) ───────────────────────┘

Everything downstream (twin, fusion, services) works on the SUMO network, so OpenDRIVE and OSM are
converted once with the netconvert of the eclipse-sumo wheel and cached by content. Every failure a user
can cause (missing file, wrong format, corrupt gzip or XML, empty network, netconvert refusing the input)
becomes one ``MapError`` or ``ToolError`` line naming the file and the fix.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import io
import os
import uuid
import xml.etree.ElementTree as ET
import xml.sax
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import sumolib

from roadcloud.errors import MapError, SettingError
from roadcloud.map.geo import NO_PROJECTION, GeoReference
from roadcloud.map.model import (
    Connection,
    Edge,
    Junction,
    Lane,
    RoadMap,
    SignalController,
    SignalGroup,
)
from roadcloud.map.tools import run_sumo_binary

PathLike = str | os.PathLike[str]

#: netconvert options for OpenDRIVE: keep street names so maps and messages can show them.
OPENDRIVE_OPTIONS: tuple[str, ...] = ("--output.street-names",)

#: netconvert options for OSM, the usual set for a city extract: simplify geometry, recognise ramps and
#: roundabouts, merge the clusters of OSM nodes that make one real junction, turn OSM signal nodes into
#: joined actuated traffic lights, add sidewalks and crossings where tagged, keep street names.
OSM_OPTIONS: tuple[str, ...] = (
    "--geometry.remove",
    "--ramps.guess",
    "--roundabouts.guess",
    "--junctions.join",
    "--tls.guess-signals",
    "--tls.discard-simple",
    "--tls.join",
    "--tls.default-type",
    "actuated",
    "--osm.sidewalks",
    "--crossings.guess",
    "--output.street-names",
)

_SUMO_SUFFIXES: tuple[str, ...] = (".net.xml", ".net.xml.gz", ".xml", ".xml.gz", ".gz")
_OPENDRIVE_SUFFIXES: tuple[str, ...] = (".xodr",)
_OSM_SUFFIXES: tuple[str, ...] = (".osm", ".osm.xml", ".osm.gz", ".osm.xml.gz")
_GZIP_MAGIC = b"\x1f\x8b"
_CONVERT_HINT = {
    "OpenDRIVE": "convert it with `roadcloud map import --xodr FILE -o OUT.net.xml`",
    "osm": "convert it with `roadcloud map import --osm FILE -o OUT.net.xml`",
}


@dataclass(frozen=True, slots=True)
class _Header:
    """What the first elements of an XML file say: its root element and, for SUMO, its location."""

    root_tag: str
    net_offset: str = "0,0"
    proj_parameter: str = NO_PROJECTION


def load_map(
    path: PathLike,
    *,
    anchor_lonlat: tuple[float, float] | None = None,
    cache_dir: PathLike | None = None,
) -> RoadMap:
    """Load a SUMO network, or convert an OpenDRIVE (.xodr) or OSM (.osm) file first, by suffix.

    Converted networks are cached in ``cache_dir`` (default ``$XDG_CACHE_HOME/roadcloud/maps``) under a
    name that includes a hash of the input, the options and the SUMO version, so a changed file or a new
    SUMO converts again. ``anchor_lonlat`` places networks without a projection on the globe.
    """
    source = Path(path)
    name = source.name.lower()
    importer: Callable[[PathLike, PathLike], Path]
    if name.endswith(_OPENDRIVE_SUFFIXES):
        importer, options, suffixes = import_opendrive, OPENDRIVE_OPTIONS, _OPENDRIVE_SUFFIXES
    elif name.endswith(_OSM_SUFFIXES):
        importer, options, suffixes = import_osm, OSM_OPTIONS, _OSM_SUFFIXES
    elif name.endswith(_SUMO_SUFFIXES):
        return load_network(source, anchor_lonlat=anchor_lonlat)
    else:
        raise MapError(
            f"cannot tell the format of '{source}' from its name; use .net.xml or .net.xml.gz (SUMO), "
            ".xodr (OpenDRIVE) or .osm (OpenStreetMap)"
        )
    _require_file(source, "map file")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    digest = hashlib.sha256()
    try:
        digest.update(source.read_bytes())
    except OSError as error:
        raise MapError(f"cannot read '{source}' ({error.strerror or error})") from None
    digest.update("\0".join((importer.__name__, *options, _sumo_version())).encode())
    converted = cache / f"{_strip(source.name, suffixes)}-{digest.hexdigest()[:16]}.net.xml"
    if not converted.is_file():
        importer(source, converted)
    road_map = load_network(converted, anchor_lonlat=anchor_lonlat)
    return replace(road_map, origin=source)


def load_network(path: PathLike, *, anchor_lonlat: tuple[float, float] | None = None) -> RoadMap:
    """Load a SUMO network (``.net.xml`` or ``.net.xml.gz``) with internal lanes and signal programs.

    ``anchor_lonlat`` (lon, lat in degrees) is used only when the network has no projection of its own.
    """
    source = Path(path)
    _require_file(source, "network file")
    header = _read_header(source)
    if header.root_tag != "net":
        hint = _CONVERT_HINT.get(header.root_tag, "give a network written by netconvert or netedit")
        raise MapError(f"'{source}' is not a SUMO network (root element <{header.root_tag}>); {hint}")
    net = _read_sumolib(source)
    geo = GeoReference.from_sumo(header.net_offset, header.proj_parameter)
    if not geo.is_georeferenced and anchor_lonlat is not None:
        geo = GeoReference.anchored(*anchor_lonlat)
    road_map = _build_road_map(net, geo, source)
    if not road_map.drivable_lanes():
        raise MapError(
            f"network '{source}' has no drivable lanes ({len(road_map.lanes)} lanes in all); "
            "check that netconvert kept the roads (e.g. its --keep-edges / --remove-edges options)"
        )
    return road_map


def import_opendrive(xodr_path: PathLike, out_net_path: PathLike) -> Path:
    """Convert an OpenDRIVE file to a SUMO network with netconvert; returns ``out_net_path``."""
    source = Path(xodr_path)
    _require_file(source, "OpenDRIVE file")
    _require_root(source, "OpenDRIVE", "give an ASAM OpenDRIVE 1.x .xodr file")
    return _netconvert(["--opendrive-files", str(source), *OPENDRIVE_OPTIONS], source, Path(out_net_path))


def import_osm(osm_path: PathLike, out_net_path: PathLike) -> Path:
    """Convert an OpenStreetMap XML extract to a SUMO network with netconvert; returns ``out_net_path``."""
    source = Path(osm_path)
    _require_file(source, "OSM file")
    _require_root(source, "osm", "give an OSM XML extract (e.g. exported from openstreetmap.org)")
    return _netconvert(["--osm-files", str(source), *OSM_OPTIONS], source, Path(out_net_path))


def default_cache_dir() -> Path:
    """Where converted networks are kept: ``$XDG_CACHE_HOME/roadcloud/maps`` or ``~/.cache/…``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "roadcloud" / "maps"


# --- files and formats -------------------------------------------------------------------------------


def _require_file(path: Path, what: str) -> None:
    if not path.exists():
        raise MapError(f"{what} '{path}' does not exist; check the path")
    if not path.is_file():
        raise MapError(f"{what} '{path}' is not a file; give the path of the file itself")


@contextmanager
def _open_maybe_gzip(path: Path) -> Iterator[io.BufferedIOBase]:
    """Open plain or gzip-compressed by content, not by name: files get renamed, magic bytes do not."""
    with path.open("rb") as probe:
        compressed = probe.read(2) == _GZIP_MAGIC
    if compressed:
        with gzip.open(path, "rb") as unzipped:
            yield unzipped
    else:
        with path.open("rb") as plain:
            yield plain


def _read_header(path: Path) -> _Header:
    """Root element and SUMO ``<location>`` from the first elements, without reading the whole file."""
    root_tag: str | None = None
    try:
        with _open_maybe_gzip(path) as stream:
            for _event, element in ET.iterparse(stream, events=("start",)):
                if root_tag is None:
                    root_tag = element.tag
                    if root_tag != "net":
                        break
                elif element.tag == "location":
                    return _Header(
                        "net",
                        element.get("netOffset", "0,0"),
                        element.get("projParameter", NO_PROJECTION),
                    )
                elif element.tag in ("edge", "junction", "tlLogic"):
                    break  # SUMO writes <location> first; a network without one is not geo-referenced
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise MapError(
            f"'{path}' is not a readable gzip file ({error}); re-download or re-export it"
        ) from None
    except ET.ParseError as error:
        line, column = error.position
        reason = "it is empty" if path.stat().st_size == 0 else f"line {line}, column {column}"
        raise MapError(f"'{path}' is not well-formed XML ({reason}); give a SUMO network file") from None
    except OSError as error:
        raise MapError(f"cannot read '{path}' ({error.strerror or error})") from None
    if root_tag is None:
        raise MapError(f"'{path}' contains no XML element; give a SUMO network file")
    return _Header(root_tag)


def _require_root(path: Path, expected: str, fix: str) -> None:
    header = _read_header(path)
    if header.root_tag != expected:
        raise MapError(
            f"'{path}' is not {'an' if expected[0] in 'aeiouAEIOU' else 'a'} {expected} file "
            f"(root element <{header.root_tag}>); {fix}"
        )


def _read_sumolib(path: Path) -> Any:
    """The whole network through sumolib, with every failure mode turned into one MapError."""
    try:
        # withLatestPrograms keeps, per traffic light, the program SUMO itself would run; withInternal and
        # withPedestrianConnections keep junction lanes and the crossing links that own tls link indices.
        return sumolib.net.readNet(
            str(path),
            withInternal=True,
            withLatestPrograms=True,
            withPedestrianConnections=True,
            maxcache=0,
        )
    except xml.sax.SAXParseException as error:
        raise MapError(
            f"network '{path}' is corrupt XML at line {error.getLineNumber()} ({error.getMessage()}); "
            "re-export it with netconvert or netedit"
        ) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise MapError(
            f"network '{path}' is a truncated or corrupt gzip file ({error}); re-download it"
        ) from None
    except (KeyError, ValueError, IndexError, AttributeError, TypeError) as error:
        # sumolib assumes a well-formed network and fails on the first missing attribute or reference.
        raise MapError(
            f"network '{path}' is not a valid SUMO network ({type(error).__name__}: {error}); "
            "re-export it with netconvert or netedit"
        ) from None


def _netconvert(input_args: list[str], source: Path, out: Path) -> Path:
    """Run netconvert into a temporary sibling of ``out`` and rename, so readers never see half a file."""
    if not out.name.endswith((".net.xml", ".net.xml.gz")):
        raise SettingError(f"output '{out}' must end in .net.xml or .net.xml.gz")
    partial = out.with_name(f".{uuid.uuid4().hex[:12]}.{out.name}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        run_sumo_binary(
            "netconvert",
            [*input_args, "--output-file", str(partial)],
            context=f"netconvert could not convert '{source}'",
        )
        os.replace(partial, out)
    except OSError as error:
        raise SettingError(
            f"cannot write '{out}' ({error.strerror or error}); choose a writable output or cache folder"
        ) from None
    finally:
        with suppress(OSError):  # nothing to clean up where nothing could be written
            partial.unlink(missing_ok=True)
    return out


def _strip(name: str, suffixes: Iterable[str]) -> str:
    for suffix in sorted(suffixes, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _sumo_version() -> str:
    try:
        return importlib.metadata.version("eclipse-sumo")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# --- sumolib objects to the model --------------------------------------------------------------------


def _xy(points: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    """sumolib shapes are lists of (x, y) or (x, y, z) tuples; the map is 2-D."""
    return np.array([(point[0], point[1]) for point in points], dtype=np.float64).reshape(-1, 2)


def _build_road_map(net: Any, geo: GeoReference, source: Path) -> RoadMap:
    # Many lanes share one permission set; keep one frozenset per distinct set.
    permissions: dict[frozenset[str], frozenset[str]] = {}
    lanes: dict[str, Lane] = {}
    edges: dict[str, Edge] = {}
    for sumo_edge in net.getEdges(withInternal=True):
        function = sumo_edge.getFunction() or "normal"
        lane_ids: list[str] = []
        for sumo_lane in sumo_edge.getLanes():
            allowed = frozenset(sumo_lane.getPermissions())
            lane = Lane(
                id=sumo_lane.getID(),
                edge_id=sumo_edge.getID(),
                index=sumo_lane.getIndex(),
                shape_xy=_xy(sumo_lane.getShape()),
                width_m=float(sumo_lane.getWidth()),
                speed_limit_mps=float(sumo_lane.getSpeed()),
                length_m=float(sumo_lane.getLength()),
                allowed_classes=permissions.setdefault(allowed, allowed),
                is_internal=function != "normal",
            )
            lanes[lane.id] = lane
            lane_ids.append(lane.id)
        edge_lanes = [lanes[lane_id] for lane_id in lane_ids]
        edges[sumo_edge.getID()] = Edge(
            id=sumo_edge.getID(),
            from_junction_id=sumo_edge.getFromNode().getID(),
            to_junction_id=sumo_edge.getToNode().getID(),
            lane_ids=tuple(lane_ids),
            function=function,
            name=sumo_edge.getName() or "",
            # sumolib reports the last lane's values; lanes of one edge can differ, the edge gets the most.
            speed_limit_mps=max((lane.speed_limit_mps for lane in edge_lanes), default=0.0),
            length_m=max((lane.length_m for lane in edge_lanes), default=0.0),
        )

    connections = tuple(
        Connection(
            from_lane_id=sumo_connection.getFromLane().getID(),
            to_lane_id=sumo_connection.getToLane().getID(),
            via_lane_id=sumo_connection.getViaLaneID() or None,
            tls_id=sumo_connection.getTLSID() or None,
            link_index=int(sumo_connection.getTLLinkIndex()),
            direction=sumo_connection.getDirection(),
            link_index2=int(sumo_connection.getTLLinkIndex2()),
        )
        for sumo_edge in net.getEdges(withInternal=True)
        for outgoing in sumo_edge.getOutgoing().values()
        for sumo_connection in outgoing
    )

    controllers = _build_signal_controllers(net, connections, lanes, edges)
    tls_of_junction: dict[str, str] = {}
    for controller in sorted(controllers.values(), key=lambda c: c.tls_id, reverse=True):
        for junction_id in controller.junction_ids:
            tls_of_junction[junction_id] = controller.tls_id  # the smallest id wins when two share one

    junctions: dict[str, Junction] = {}
    for node in net.getNodes():
        x_m, y_m = node.getCoord()[:2]
        junctions[node.getID()] = Junction(
            id=node.getID(),
            x_m=float(x_m),
            y_m=float(y_m),
            type=node.getType() or "unknown",
            tls_id=tls_of_junction.get(node.getID()),
            shape_xy=_xy(node.getShape() or ()),
        )

    return RoadMap(
        lanes=lanes,
        edges=edges,
        junctions=junctions,
        connections=connections,
        signal_controllers=controllers,
        geo=geo,
        bounds_m=_bounds(lanes.values(), junctions.values()),
        source=source,
    )


def _build_signal_controllers(
    net: Any, connections: tuple[Connection, ...], lanes: dict[str, Lane], edges: dict[str, Edge]
) -> dict[str, SignalController]:
    """One controller per traffic light, with link indices grouped by identical state sequences.

    Two link indices belong to the same signal group when they show the same light in every phase of the
    program: that is what a signal head shared by several movements looks like in SUMO's state strings.
    """
    by_tls: dict[str, list[Connection]] = {}
    for connection in connections:
        if connection.tls_id is not None:
            by_tls.setdefault(connection.tls_id, []).append(connection)
    programs: dict[str, tuple[str, tuple[tuple[float, str], ...]]] = {}
    for tls in net.getTrafficLights():
        for program_id, program in tls.getPrograms().items():
            phases = tuple((float(phase.duration), str(phase.state)) for phase in program.getPhases())
            programs[tls.getID()] = (str(program_id), phases)

    controllers: dict[str, SignalController] = {}
    for tls_id in sorted(set(by_tls) | set(programs)):
        tls_connections = sorted(by_tls.get(tls_id, []), key=lambda c: (c.link_index, c.from_lane_id))
        program_id, phases = programs.get(tls_id, (None, ()))
        link_count = max(
            max((len(state) for _duration, state in phases), default=0),
            max((max(c.link_index, c.link_index2) + 1 for c in tls_connections), default=0),
        )
        sequences: dict[object, list[int]] = {}
        for link_index in range(link_count):
            if phases and all(link_index < len(state) for _duration, state in phases):
                key: object = "".join(state[link_index] for _duration, state in phases)
            else:
                key = ("alone", link_index)  # no program to compare with: its own group
            # Iterating link indices in order numbers groups by their lowest link index.
            sequences.setdefault(key, []).append(link_index)
        groups = []
        for group_index, link_indices in enumerate(sequences.values()):
            members = set(link_indices)
            groups.append(
                SignalGroup(
                    index=group_index,
                    link_indices=tuple(link_indices),
                    connections=tuple(
                        (c.from_lane_id, c.to_lane_id)
                        for c in tls_connections
                        if c.link_index in members or c.link_index2 in members
                    ),
                )
            )
        junction_ids = sorted({edges[lanes[c.from_lane_id].edge_id].to_junction_id for c in tls_connections})
        if not junction_ids and net.hasNode(tls_id):
            junction_ids = [tls_id]
        controllers[tls_id] = SignalController(
            tls_id=tls_id,
            junction_ids=tuple(junction_ids),
            groups=tuple(groups),
            phases=phases,
            program_id=program_id,
        )
    return controllers


def _bounds(lanes: Iterable[Lane], junctions: Iterable[Junction]) -> tuple[float, float, float, float]:
    points = [lane.shape_xy for lane in lanes]
    points.append(np.array([(j.x_m, j.y_m) for j in junctions], dtype=np.float64).reshape(-1, 2))
    stacked = np.concatenate(points)
    if stacked.size == 0:
        return (0.0, 0.0, 0.0, 0.0)
    low = stacked.min(axis=0)
    high = stacked.max(axis=0)
    return (float(low[0]), float(low[1]), float(high[0]), float(high[1]))
