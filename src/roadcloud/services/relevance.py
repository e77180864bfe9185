"""Relevance zones: which stretch of road an event concerns, and which roadside units can reach it.

Data flow: ``RoadEvent`` (lane, position along it) ─▶ ``ZoneBuilder.build`` ─▶ ``RelevanceZone`` (lane
spans upstream of the event, and the reference paths an RSI carries) ─▶ ``CoverageTable.covering`` (the
roadside units whose radio range reaches the zone) ─▶ ``advisories`` sends the RSI through them.

An event concerns the traffic driving towards it. The zone starts at the event and walks the map's
connections backwards (through the junctions' internal lanes) until ``zone_distance_m`` of road lies
between each branch's far end and the event; the other lanes of every edge reached come along (a vehicle
can change into the affected lane), turnarounds do not (they would pull in the opposite carriageway).
Nothing downstream of the event is in the zone.

On the wire (T/CSAE 53 ``ReferencePath``) a zone is at most 8 polylines of at most 32 points each, points
in the direction of travel, with a radius. One path follows one chain of edges (an approach road and its
turn through the junction); across the lanes of an edge it runs along their middle, its radius reaching
the outer lanes' edges, so for a one-lane road the radius is the lane's half-width. When a zone needs
more than 8 paths the farthest chains are dropped from the zone itself, so the lanes the cloud targets
and the paths a vehicle checks describe the same zone.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import shapely
from numpy.typing import NDArray

from roadcloud.errors import SettingError
from roadcloud.map import GeoReference, Lane, RoadMap
from roadcloud.map.model import FOOT_CLASSES
from roadcloud.messages import PositionOffsetLL, ReferencePath
from roadcloud.messages.units import deg_to_latlon_units, latlon_units_to_deg
from roadcloud.services.config import ServiceConfig

FloatArray = NDArray[np.float64]

#: Tolerances (metres) tried in turn when thinning a path to the point limit; the first that fits wins.
_SIMPLIFY_TOLERANCES_M = (0.05, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0)
#: Spans shorter than this are not worth a path of their own (rounding at lane ends).
_MIN_SPAN_M = 0.5
_RADIUS_UNITS_PER_M = 10  # ReferencePath.path_radius is in 0.1 m


@dataclass(frozen=True, slots=True)
class LaneSpan:
    """The part ``[s_from_m, s_to_m]`` of one lane that lies in a zone; ``distance_m`` is how far its
    downstream end is from the event along the road (0 on the event's own edge)."""

    lane_id: str
    s_from_m: float
    s_to_m: float
    distance_m: float


@dataclass(frozen=True, slots=True, eq=False)
class ZonePath:
    """One reference path in the local frame: ``points_xy`` (N, 2) upstream first, and its radius."""

    points_xy: FloatArray
    radius_m: float
    edge_ids: tuple[str, ...]
    distance_m: float  # from the path's downstream end to the event


@dataclass(frozen=True, slots=True, eq=False)
class RelevanceZone:
    """The road an event concerns. ``spans`` nearest first; ``paths`` are what an RSI carries."""

    lane_id: str
    s_m: float
    distance_m: float
    spans: tuple[LaneSpan, ...]
    paths: tuple[ZonePath, ...]
    _lane_set: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lane_set", frozenset(span.lane_id for span in self.spans))

    @property
    def lane_ids(self) -> tuple[str, ...]:
        """The zone's lanes, nearest to the event first, each once."""
        return tuple(dict.fromkeys(span.lane_id for span in self.spans))

    def same_lanes(self, other: RelevanceZone) -> bool:
        return self._lane_set == other._lane_set

    def differs(self, other: RelevanceZone, *, tolerance_m: float) -> bool:
        """Whether the zones cover different lanes, or a lane's covered stretch moved by more than
        ``tolerance_m`` at either end (a queue's tail creeping upstream moves its zone with it)."""
        if not self.same_lanes(other):
            return True
        theirs = {span.lane_id: span for span in other.spans}
        return any(
            abs(span.s_from_m - theirs[span.lane_id].s_from_m) > tolerance_m
            or abs(span.s_to_m - theirs[span.lane_id].s_to_m) > tolerance_m
            for span in self.spans
        )

    def segments(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Every path segment as ``(start (M, 2), end (M, 2), radius (M,))``, for vectorised distances."""
        starts = [path.points_xy[:-1] for path in self.paths]
        ends = [path.points_xy[1:] for path in self.paths]
        radii = [np.full(len(path.points_xy) - 1, path.radius_m) for path in self.paths]
        if not starts:
            return np.empty((0, 2)), np.empty((0, 2)), np.empty(0)
        return np.concatenate(starts), np.concatenate(ends), np.concatenate(radii)

    def reference_paths(
        self, geo: GeoReference, *, ref_lon_units: int, ref_lat_units: int
    ) -> list[ReferencePath]:
        """The paths in T/CSAE 53 form: WGS84 offsets (1e-7°) from the message's reference position,
        radius in 0.1 m."""
        if not self.paths:
            return []
        points = np.concatenate([path.points_xy for path in self.paths])
        lon_deg, lat_deg = geo.local_to_wgs84(points[:, 0], points[:, 1])
        d_lon = (deg_to_latlon_units(lon_deg) - ref_lon_units).tolist()
        d_lat = (deg_to_latlon_units(lat_deg) - ref_lat_units).tolist()
        paths = []
        start = 0
        for path in self.paths:
            stop = start + len(path.points_xy)
            paths.append(
                ReferencePath(
                    active_path=[
                        PositionOffsetLL(lon=lon, lat=lat)
                        for lon, lat in zip(d_lon[start:stop], d_lat[start:stop], strict=True)
                    ],
                    path_radius=min(round(path.radius_m * _RADIUS_UNITS_PER_M), 65535),
                )
            )
            start = stop
        return paths


def paths_to_local(
    paths: Sequence[ReferencePath], geo: GeoReference, *, ref_lon_units: int, ref_lat_units: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The receiving side of ``RelevanceZone.reference_paths``: segments ``(start, end, radius_m)`` in the
    local frame, ready for ``within_paths``."""
    starts: list[FloatArray] = []
    ends: list[FloatArray] = []
    radii: list[FloatArray] = []
    for path in paths:
        lon_units = np.array([point.lon for point in path.active_path], dtype=np.int64) + ref_lon_units
        lat_units = np.array([point.lat for point in path.active_path], dtype=np.int64) + ref_lat_units
        x_m, y_m = geo.wgs84_to_local(latlon_units_to_deg(lon_units), latlon_units_to_deg(lat_units))
        points = np.column_stack([x_m, y_m]).reshape(-1, 2)
        if len(points) == 1:  # a single point is a disc around it
            points = np.vstack([points, points])
        starts.append(points[:-1])
        ends.append(points[1:])
        radii.append(np.full(len(points) - 1, path.path_radius / _RADIUS_UNITS_PER_M))
    if not starts:
        return np.empty((0, 2)), np.empty((0, 2)), np.empty(0)
    return np.concatenate(starts), np.concatenate(ends), np.concatenate(radii)


def within_paths(
    x_m: FloatArray,
    y_m: FloatArray,
    heading_deg: FloatArray,
    segments: tuple[FloatArray, FloatArray, FloatArray],
    *,
    max_heading_error_deg: float = 90.0,
) -> NDArray[np.bool_]:
    """Whether each point lies within the radius of some path segment, driving along it.

    A point counts for a segment when its distance to the segment is within the radius and its heading
    is within ``max_heading_error_deg`` of the segment's direction (paths point in the direction of
    travel, so the opposite carriageway next to a wide path stays out). NaN headings skip the heading
    test. Vectorised: (points × segments) in one broadcast.
    """
    start, end, radius = segments
    x = np.asarray(x_m, dtype=np.float64)
    if len(start) == 0 or x.size == 0:
        return np.zeros(x.shape, dtype=bool)
    y = np.asarray(y_m, dtype=np.float64)
    heading = np.asarray(heading_deg, dtype=np.float64)
    vector = end - start
    length_sq = np.maximum(np.einsum("ij,ij->i", vector, vector), 1e-12)
    dx = x[:, None] - start[None, :, 0]
    dy = y[:, None] - start[None, :, 1]
    t = np.clip((dx * vector[None, :, 0] + dy * vector[None, :, 1]) / length_sq[None, :], 0.0, 1.0)
    gap_x = dx - t * vector[None, :, 0]
    gap_y = dy - t * vector[None, :, 1]
    near = gap_x * gap_x + gap_y * gap_y <= (radius * radius)[None, :]
    segment_heading = np.degrees(np.arctan2(vector[:, 0], vector[:, 1]))
    error = np.abs((heading[:, None] - segment_heading[None, :] + 180.0) % 360.0 - 180.0)
    aligned = np.isnan(heading)[:, None] | (error <= max_heading_error_deg)
    # zero-length segments (a one-point path) have no direction: any heading will do
    aligned |= (length_sq <= 1e-9)[None, :]
    result: NDArray[np.bool_] = np.any(near & aligned, axis=1)
    return result


class ZoneBuilder:
    """Builds relevance zones on one map. The predecessor graph is built once; a zone costs a walk over
    the few dozen lanes it covers."""

    def __init__(self, road_map: RoadMap, config: ServiceConfig | None = None) -> None:
        self.road_map = road_map
        self.config = config or ServiceConfig()
        self._drivable = {
            lane_id for lane_id, lane in road_map.lanes.items() if lane.allowed_classes - FOOT_CLASSES
        }
        predecessors: dict[str, set[str]] = {}
        successors: dict[str, set[str]] = {}
        has_outgoing = {connection.from_lane_id for connection in road_map.connections}
        for connection in road_map.connections:
            if connection.direction == "t" and not self.config.include_turnarounds:
                continue
            if connection.from_lane_id not in self._drivable or connection.to_lane_id not in self._drivable:
                continue
            # Physically a vehicle goes from → via → … → to; the via lane's own connection (listed by
            # SUMO for internal lanes) continues the chain, so only link to `to` where it has none.
            links = [(connection.from_lane_id, connection.via_lane_id or connection.to_lane_id)]
            if connection.via_lane_id is not None and connection.via_lane_id not in has_outgoing:
                links.append((connection.via_lane_id, connection.to_lane_id))
            for before, after in links:
                if after not in road_map.lanes or before not in road_map.lanes:
                    continue
                predecessors.setdefault(after, set()).add(before)
                successors.setdefault(before, set()).add(after)
        self._predecessors = {lane_id: tuple(sorted(ids)) for lane_id, ids in predecessors.items()}
        self._successors = {lane_id: tuple(sorted(ids)) for lane_id, ids in successors.items()}
        self._edge_lanes = {
            edge_id: tuple(lane_id for lane_id in edge.lane_ids if lane_id in self._drivable)
            for edge_id, edge in road_map.edges.items()
        }

    def is_drivable(self, lane_id: str) -> bool:
        return lane_id in self._drivable

    def build(self, lane_id: str, s_m: float) -> RelevanceZone:
        """The zone of an event at ``s_m`` along ``lane_id``; ``MapError`` for an unknown lane."""
        lane = self.road_map.lane(lane_id)
        distance_m = self.config.zone_distance_m
        s_event = float(np.clip(s_m, 0.0, lane.length_m))
        # Dijkstra backwards: remaining budget (metres of road still to cover) at each lane's far end.
        # A lane reached with more budget covers more of itself and reaches further upstream.
        budget_at_end: dict[str, float] = {}
        spans: dict[str, LaneSpan] = {}
        queue: list[tuple[float, str]] = []

        def reach(reached: Lane, end_s: float, remaining: float) -> None:
            for same_edge in self._with_parallel(reached):
                end = min(end_s, self.road_map.lanes[same_edge].length_m)
                if remaining <= budget_at_end.get(same_edge, -math.inf):
                    continue
                budget_at_end[same_edge] = remaining
                spans[same_edge] = LaneSpan(
                    lane_id=same_edge,
                    s_from_m=max(0.0, end - remaining),
                    s_to_m=end,
                    distance_m=distance_m - remaining,
                )
                heapq.heappush(queue, (-remaining + end, same_edge))

        reach(lane, s_event, distance_m)
        while queue:
            _, current = heapq.heappop(queue)
            span = spans[current]
            left = budget_at_end[current] - span.s_to_m  # budget at the lane's upstream end
            if left <= 0:
                continue
            for before in self._predecessors.get(current, ()):
                previous = self.road_map.lanes[before]
                reach(previous, previous.length_m, left)
        ordered = sorted(
            (span for span in spans.values() if span.s_to_m - span.s_from_m >= _MIN_SPAN_M),
            key=lambda span: (span.distance_m, span.lane_id),
        )
        if not ordered:  # an event at the very start of a lane with nothing upstream
            ordered = [spans[lane.id]]
        return self._with_paths(lane.id, s_event, ordered)

    # -- internals ------------------------------------------------------------------------------------

    def _with_parallel(self, lane: Lane) -> tuple[str, ...]:
        if not self.config.include_parallel_lanes:
            return (lane.id,)
        siblings = self._edge_lanes.get(lane.edge_id, ())
        return siblings if lane.id in siblings else (lane.id, *siblings)

    def _with_paths(self, lane_id: str, s_m: float, spans: list[LaneSpan]) -> RelevanceZone:
        """Group spans into edge chains, one path each; keep the nearest chains that fit the limit."""
        by_edge: dict[str, list[LaneSpan]] = {}
        for span in spans:
            by_edge.setdefault(self.road_map.lanes[span.lane_id].edge_id, []).append(span)
        zone_successors: dict[str, set[str]] = {edge_id: set() for edge_id in by_edge}
        zone_predecessors: dict[str, set[str]] = {edge_id: set() for edge_id in by_edge}
        for edge_id, edge_spans in by_edge.items():
            for span in edge_spans:
                for after in self._successors.get(span.lane_id, ()):
                    after_edge = self.road_map.lanes[after].edge_id
                    if after_edge in by_edge and after_edge != edge_id:
                        zone_successors[edge_id].add(after_edge)
                        zone_predecessors[after_edge].add(edge_id)

        # Chains: follow an edge to its successor while the link is one-to-one (an approach and its turn).
        def continues(edge_id: str) -> str | None:
            after = zone_successors[edge_id]
            if len(after) != 1:
                return None
            (nxt,) = after
            return nxt if len(zone_predecessors[nxt]) == 1 else None

        heads = [
            edge_id
            for edge_id in by_edge
            if len(zone_predecessors[edge_id]) != 1
            or continues(next(iter(zone_predecessors[edge_id]))) != edge_id
        ]
        chains: list[list[str]] = []
        for head in heads:
            chain = [head]
            nxt = continues(head)
            while nxt is not None and nxt not in chain:
                chain.append(nxt)
                nxt = continues(nxt)
            chains.append(chain)
        chained = {edge_id for chain in chains for edge_id in chain}
        # A ring of one-to-one links has no head; each of its edges becomes a path of its own.
        chains.extend([edge_id] for edge_id in by_edge if edge_id not in chained)
        chains.sort(key=lambda chain: (min(span.distance_m for span in by_edge[chain[-1]]), chain[0]))
        kept = chains[: self.config.max_reference_paths]
        paths = tuple(self._chain_path(chain, by_edge) for chain in kept)
        kept_edges = {edge_id for chain in kept for edge_id in chain}
        kept_spans = tuple(span for span in spans if self.road_map.lanes[span.lane_id].edge_id in kept_edges)
        return RelevanceZone(
            lane_id=lane_id,
            s_m=s_m,
            distance_m=self.config.zone_distance_m,
            spans=kept_spans,
            paths=paths,
        )

    def _chain_path(self, chain: list[str], by_edge: dict[str, list[LaneSpan]]) -> ZonePath:
        pieces: list[FloatArray] = []
        radius_m = 0.0
        for edge_id in chain:
            centre, half_span_m = self._edge_centre(by_edge[edge_id])
            pieces.append(centre)
            radius_m = max(radius_m, half_span_m)
        points = _thin(np.concatenate(pieces), self.config.max_path_points)
        distance_m = min(span.distance_m for span in by_edge[chain[-1]])
        return ZonePath(points_xy=points, radius_m=radius_m, edge_ids=tuple(chain), distance_m=distance_m)

    def _edge_centre(self, spans: list[LaneSpan]) -> tuple[FloatArray, float]:
        """The middle line of an edge's zone lanes and the half-width that reaches their outer edges."""
        cuts = [_cut(self.road_map.lanes[span.lane_id], span.s_from_m, span.s_to_m) for span in spans]
        samples = max(2, min(64, math.ceil(max(_length(cut) for cut in cuts) / 5.0) + 1))
        resampled = np.stack([_resample(cut, samples) for cut in cuts])  # (lanes, samples, 2)
        centre = resampled.mean(axis=0)
        offsets = np.hypot(*(resampled - centre[None]).transpose(2, 0, 1)).max(axis=1)  # (lanes,)
        widths = np.array([self.road_map.lanes[span.lane_id].width_m for span in spans])
        return centre, float(np.max(offsets + widths / 2.0))


def _length(points: FloatArray) -> float:
    return float(np.hypot(*np.diff(points, axis=0).T).sum()) if len(points) > 1 else 0.0


def _cut(lane: Lane, s_from_m: float, s_to_m: float) -> FloatArray:
    """The centre line between two positions along a lane (SUMO lengths, scaled to the drawn shape)."""
    shape = lane.shape_xy
    steps = np.hypot(*np.diff(shape, axis=0).T)
    cumulative = np.concatenate([[0.0], np.cumsum(steps)])
    scale = cumulative[-1] / lane.length_m if lane.length_m > 0 else 1.0
    start, stop = s_from_m * scale, s_to_m * scale
    inside = (cumulative > start) & (cumulative < stop)
    at = np.concatenate([[start], cumulative[inside], [stop]])
    return np.column_stack([np.interp(at, cumulative, shape[:, 0]), np.interp(at, cumulative, shape[:, 1])])


def _resample(points: FloatArray, count: int) -> FloatArray:
    """``count`` points evenly spaced along a polyline (by fraction of its length)."""
    steps = np.hypot(*np.diff(points, axis=0).T)
    cumulative = np.concatenate([[0.0], np.cumsum(steps)])
    if cumulative[-1] <= 0:
        return np.repeat(points[:1], count, axis=0)
    at = np.linspace(0.0, cumulative[-1], count)
    return np.column_stack([np.interp(at, cumulative, points[:, 0]), np.interp(at, cumulative, points[:, 1])])


def _thin(points: FloatArray, max_points: int) -> FloatArray:
    """Drop duplicate and nearly collinear points until at most ``max_points`` remain (ends kept)."""
    keep = np.concatenate([[True], np.hypot(*np.diff(points, axis=0).T) > 1e-3])
    points = points[keep]
    if len(points) < 2:
        return np.vstack([points, points])[:2]
    line = shapely.LineString(points)
    for tolerance_m in _SIMPLIFY_TOLERANCES_M:
        simple = np.asarray(shapely.get_coordinates(shapely.simplify(line, tolerance_m)))
        if len(simple) <= max_points:
            return simple
    return _resample(points, max_points)


# -- roadside unit coverage ----------------------------------------------------------------------------


class _UnitSpec(Protocol):
    """What ``RoadsideUnitCoverage.from_manifest`` reads of a manifest's ``[[rsu]]`` entry."""

    @property
    def id(self) -> str: ...
    @property
    def x_m(self) -> float: ...
    @property
    def y_m(self) -> float: ...
    @property
    def range_m(self) -> float: ...
    @property
    def network_delay_ms(self) -> int: ...


class _ManifestLike(Protocol):
    @property
    def rsu(self) -> Sequence[_UnitSpec]: ...


class _ProvisionedDevice(Protocol):
    """What ``RoadsideUnitCoverage.from_registry`` reads of a registry ``Device``."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def lon_deg(self) -> float | None: ...
    @property
    def lat_deg(self) -> float | None: ...


DEFAULT_RADIO_RANGE_M = 300.0  # LTE-V2X PC5 broadcast reaches 300 m and more in the city


@dataclass(frozen=True, slots=True)
class RoadsideUnitCoverage:
    """A roadside unit as the services see it: where it is (local metres), how far its broadcast
    reaches, and how long a downlink takes to get to it."""

    rsu_id: str
    x_m: float
    y_m: float
    range_m: float
    network_delay_ms: int = 30

    @classmethod
    def from_manifest(cls, manifest: _ManifestLike) -> list[RoadsideUnitCoverage]:
        """The units of a zone manifest. The manifest's ``range_m`` is the unit's sensing range; its radio
        reaches at least as far, so using it as the broadcast range errs on the side of the RSU path not
        reaching a vehicle (which then still gets the advisory directly)."""
        return [
            cls(unit.id, float(unit.x_m), float(unit.y_m), float(unit.range_m), int(unit.network_delay_ms))
            for unit in manifest.rsu
        ]

    @classmethod
    def from_registry(
        cls,
        devices: Iterable[_ProvisionedDevice],
        geo: GeoReference,
        *,
        range_m: float = DEFAULT_RADIO_RANGE_M,
    ) -> list[RoadsideUnitCoverage]:
        """The provisioned roadside units that have a position; the registry keeps no range, so every
        unit gets ``range_m``."""
        if not (math.isfinite(range_m) and range_m > 0):
            raise SettingError(f"range_m = {range_m}; give the units' broadcast range in metres, e.g. 300")
        units = [
            device
            for device in devices
            if str(device.kind) == "rsu" and device.lon_deg is not None and device.lat_deg is not None
        ]
        if not units:
            return []
        x_m, y_m = geo.wgs84_to_local(
            np.array([device.lon_deg for device in units], dtype=np.float64),
            np.array([device.lat_deg for device in units], dtype=np.float64),
        )
        return [
            cls(device.id, float(x), float(y), float(range_m))
            for device, x, y in zip(units, x_m.tolist(), y_m.tolist(), strict=True)
        ]


class CoverageTable:
    """All units of a zone as arrays, for one vectorised coverage test per zone."""

    def __init__(self, units: Iterable[RoadsideUnitCoverage]) -> None:
        self.units = tuple(units)
        self.ids = tuple(unit.rsu_id for unit in self.units)
        self.x_m = np.array([unit.x_m for unit in self.units], dtype=np.float64)
        self.y_m = np.array([unit.y_m for unit in self.units], dtype=np.float64)
        self.range_m = np.array([unit.range_m for unit in self.units], dtype=np.float64)

    def __len__(self) -> int:
        return len(self.units)

    def covering(self, zone: RelevanceZone) -> tuple[str, ...]:
        """Ids of the units whose range reaches some point of the zone's paths (within their radius)."""
        if not self.units:
            return ()
        start, end, radius = zone.segments()
        if len(start) == 0:
            return ()
        # Units far from the zone's bounding box cannot reach it; test the rest against every segment.
        low = np.minimum(start, end).min(axis=0) - radius.max()
        high = np.maximum(start, end).max(axis=0) + radius.max()
        near = np.flatnonzero(
            (self.x_m + self.range_m >= low[0])
            & (self.x_m - self.range_m <= high[0])
            & (self.y_m + self.range_m >= low[1])
            & (self.y_m - self.range_m <= high[1])
        )
        if len(near) == 0:
            return ()
        gap_m = _point_segment_distance(self.x_m[near], self.y_m[near], start, end) - radius[None, :]
        reaches = np.any(gap_m <= self.range_m[near, None], axis=1)
        return tuple(self.ids[index] for index in near[reaches].tolist())


def _point_segment_distance(x: FloatArray, y: FloatArray, start: FloatArray, end: FloatArray) -> FloatArray:
    """(points, segments) distances."""
    vector = end - start
    length_sq = np.maximum(np.einsum("ij,ij->i", vector, vector), 1e-12)
    dx = x[:, None] - start[None, :, 0]
    dy = y[:, None] - start[None, :, 1]
    t = np.clip((dx * vector[None, :, 0] + dy * vector[None, :, 1]) / length_sq[None, :], 0.0, 1.0)
    distance: FloatArray = np.hypot(dx - t * vector[None, :, 0], dy - t * vector[None, :, 1])
    return distance
