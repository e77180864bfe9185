"""The lane-level precise map as plain, immutable data.

This is what every other package sees of the road: ``load.py`` builds a ``RoadMap`` from a SUMO network
(itself converted from OpenDRIVE or OSM when needed); fusion and the live dynamic map place tracks on its
lanes (``matching.py``), services and the fleet route over its edges (``routing.py``), and the twin turns
SUMO signal states into SPAT phases with its signal groups.

Coordinates are metres in the network's local frame (x east, y north); ``RoadMap.geo`` converts to WGS84.
The objects mirror SUMO's vocabulary (lanes, edges, junctions, connections, traffic light link indices), so
ids read the same in the map, in the simulation and in recordings.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sumolib.net.lane import SUMO_VEHICLE_CLASSES

from roadcloud.errors import MapError, SettingError
from roadcloud.map.geo import GeoReference

#: vClasses that move on foot; a lane that allows nothing else is not drivable.
FOOT_CLASSES = frozenset({"pedestrian", "wheelchair"})

#: SUMO's vehicle classes (vClass), as lanes name them in allow/disallow; sumolib keeps SUMO's list.
VEHICLE_CLASSES = frozenset(SUMO_VEHICLE_CLASSES) - {"ignoring"}


_Item = TypeVar("_Item")


@dataclass(frozen=True, slots=True, eq=False)
class Lane:
    """One lane: its centre line (read-only ``(N, 2)`` array, metres, in travel direction) and rules.

    ``length_m`` is SUMO's lane length, which positions along the lane (``s_m``) are measured in; it can
    differ slightly from the length of ``shape_xy`` where netconvert kept a surveyed length.
    """

    id: str
    edge_id: str
    index: int
    shape_xy: NDArray[np.float64]
    width_m: float
    speed_limit_mps: float
    length_m: float
    allowed_classes: frozenset[str]
    is_internal: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape_xy", _frozen_points(self.shape_xy))

    def __reduce__(self) -> tuple[Any, ...]:
        return _reduce_by_fields(self)

    def allows(self, vehicle_class: str) -> bool:
        """Whether vehicles of SUMO vClass ``vehicle_class`` may use this lane."""
        return vehicle_class in self.allowed_classes


@dataclass(frozen=True, slots=True)
class Edge:
    """A road section between two junctions (``function == "normal"``) or a path inside a junction."""

    id: str
    from_junction_id: str
    to_junction_id: str
    lane_ids: tuple[str, ...]
    function: str
    name: str
    speed_limit_mps: float
    length_m: float


@dataclass(frozen=True, slots=True, eq=False)
class Junction:
    """A junction: its reference point and outline (read-only ``(N, 2)`` array, possibly empty)."""

    id: str
    x_m: float
    y_m: float
    type: str
    tls_id: str | None
    shape_xy: NDArray[np.float64]

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape_xy", _frozen_points(self.shape_xy))

    def __reduce__(self) -> tuple[Any, ...]:
        return _reduce_by_fields(self)


@dataclass(frozen=True, slots=True)
class Connection:
    """A permitted movement from one lane to another, through ``via_lane_id`` inside the junction.

    ``link_index`` indexes the state strings of traffic light ``tls_id`` (-1 when not signalised);
    ``link_index2`` is the second index SUMO gives some pedestrian crossings (-1 otherwise). ``direction``
    is SUMO's code: s straight, l/r left/right, L/R partly left/right, t turnaround.
    """

    from_lane_id: str
    to_lane_id: str
    via_lane_id: str | None
    tls_id: str | None
    link_index: int
    direction: str
    link_index2: int = -1


@dataclass(frozen=True, slots=True)
class SignalGroup:
    """Link indices of one controller that always show the same light: one SPAT phase (T/CSAE 53)."""

    index: int
    link_indices: tuple[int, ...]
    connections: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class SignalController:
    """A traffic light (SUMO tls): the junctions it controls, its signal groups and its static program.

    ``phases`` is the program SUMO runs by default, as ``(duration_s, state)`` with one state character per
    link index. Rail signals and rail crossings have no program in the network (SUMO builds theirs at run
    time); their ``phases`` is empty and each link index forms its own group.
    """

    tls_id: str
    junction_ids: tuple[str, ...]
    groups: tuple[SignalGroup, ...]
    phases: tuple[tuple[float, str], ...]
    program_id: str | None = None

    def group_states(self, state: str) -> tuple[str, ...]:
        """The state character of each signal group, given a full SUMO state string of this controller."""
        if not self.groups:
            return ()
        needed = max(group.link_indices[0] for group in self.groups) + 1
        if len(state) < needed:
            raise MapError(
                f"state string {state!r} of traffic light '{self.tls_id}' has {len(state)} characters; "
                f"its link indices need at least {needed}"
            )
        return tuple(state[group.link_indices[0]] for group in self.groups)


@dataclass(frozen=True, slots=True)
class RoadMap:
    """A whole network: lanes, edges, junctions, connections and signals, plus its geo-reference.

    Build it with ``roadcloud.map.load_map``; the mappings are read-only. ``source`` is the SUMO network
    that was read (what the twin hands to SUMO); ``origin`` is the OpenDRIVE or OSM file it was converted
    from, if any.
    """

    lanes: Mapping[str, Lane]
    edges: Mapping[str, Edge]
    junctions: Mapping[str, Junction]
    connections: tuple[Connection, ...]
    signal_controllers: Mapping[str, SignalController]
    geo: GeoReference
    bounds_m: tuple[float, float, float, float]
    source: Path
    origin: Path | None = None

    def __post_init__(self) -> None:
        # Read-only views over private copies: nobody can change a map others are reading.
        for name in ("lanes", "edges", "junctions", "signal_controllers"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def __reduce__(self) -> tuple[Any, ...]:
        # Read-only mapping views do not pickle; worker processes receive plain dicts and re-wrap them.
        return _reduce_by_fields(self, plain=("lanes", "edges", "junctions", "signal_controllers"))

    @property
    def name(self) -> str:
        """The file the user gave (``origin`` for converted maps, else ``source``), for messages."""
        return (self.origin or self.source).name

    def lane(self, lane_id: str) -> Lane:
        """The lane with id ``lane_id``; ``MapError`` naming the network and a close id if unknown."""
        return self._known(self.lanes, lane_id, "lane", "lane ids are <edge id>_<lane index>")

    def edge(self, edge_id: str) -> Edge:
        """The edge with id ``edge_id``; ``MapError`` naming the network and a close id if unknown."""
        return self._known(self.edges, edge_id, "edge", "edge ids are listed in the <edge id=…> elements")

    def junction(self, junction_id: str) -> Junction:
        """The junction with id ``junction_id``; ``MapError`` if unknown."""
        return self._known(
            self.junctions, junction_id, "junction", "junction ids are the <junction id=…> elements"
        )

    def signal_controller(self, tls_id: str) -> SignalController:
        """The traffic light with id ``tls_id``; ``MapError`` if unknown."""
        return self._known(
            self.signal_controllers, tls_id, "traffic light", "ids are the tl=… of connections"
        )

    def _known(self, items: Mapping[str, _Item], item_id: str, what: str, fallback: str) -> _Item:
        item = items.get(item_id)
        if item is None:
            raise MapError(
                f"unknown {what} '{item_id}' in network {self.name}; {_hint(item_id, items, fallback)}"
            )
        return item

    def signalised_junctions(self) -> tuple[Junction, ...]:
        """Junctions run by a traffic light (SUMO types ``traffic_light*``), in id order."""
        return tuple(
            junction
            for junction_id, junction in sorted(self.junctions.items())
            if junction.type.startswith("traffic_light")
        )

    def drivable_lanes(self, vehicle_class: str | None = None) -> tuple[Lane, ...]:
        """Lanes of roads and junction paths that vehicles can use, in id order.

        With ``vehicle_class`` only those that allow it; without, those that allow any vehicle at all
        (cars, bikes, trams), i.e. not sidewalks, crossings or walking areas.
        """
        return tuple(
            lane
            for _lane_id, lane in sorted(self.lanes.items())
            if self.edges[lane.edge_id].function in ("normal", "internal")
            and (
                lane.allows(vehicle_class)
                if vehicle_class is not None
                else bool(lane.allowed_classes - FOOT_CLASSES)
            )
        )


def check_vehicle_class(vehicle_class: str) -> str:
    """``vehicle_class`` if SUMO knows it, else ``SettingError`` with the closest known name."""
    if vehicle_class not in VEHICLE_CLASSES:
        raise SettingError(
            f"unknown vehicle class '{vehicle_class}'; "
            f"{_hint(vehicle_class, VEHICLE_CLASSES, 'use a SUMO vClass such as passenger, bus or bicycle')}"
        )
    return vehicle_class


def _frozen_points(points: ArrayLike) -> NDArray[np.float64]:
    """A private read-only ``(N, 2)`` float64 copy, so the caller's array is neither shared nor changed."""
    array = np.array(points, dtype=np.float64).reshape(-1, 2)
    array.setflags(write=False)
    return array


def _reduce_by_fields(instance: Any, plain: tuple[str, ...] = ()) -> tuple[Any, ...]:
    """Pickle support for frozen slotted dataclasses: rebuild through the constructor (and its checks)."""
    values = tuple(
        dict(getattr(instance, field.name)) if field.name in plain else getattr(instance, field.name)
        for field in fields(instance)
    )
    return (type(instance), values)


def _hint(wanted: str, known: Iterable[str], fallback: str) -> str:
    """'did you mean …?' for a mistyped id, else a reminder of what ids look like."""
    close = difflib.get_close_matches(wanted, list(known), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return fallback
