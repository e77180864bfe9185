"""Routing over the road network, with closures that take effect at once.

The fleet dispatches driverless taxis and minibuses with it, road operations check what a closure cuts
off, and services estimate travel times. The graph has one node per road edge (SUMO ``normal`` edges)
and one arc per permitted movement between two edges (its connections, through the junction). An arc
costs the junction path plus the next edge, in metres (shortest) or seconds at the speed limit (fastest);
scipy's Dijkstra searches it. Closed edges lose their arcs; the next query sees the change.

Only lanes, connections and junction paths that allow the graph's SUMO vehicle class are used, so a bus
route avoids tram tracks and sidewalks.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from roadcloud.errors import MapError, SettingError
from roadcloud.map.model import Edge, RoadMap, check_vehicle_class


@dataclass(frozen=True, slots=True)
class Route:
    """A path from the start of the first edge to the end of the last, through the junctions between."""

    edge_ids: tuple[str, ...]
    length_m: float
    travel_time_s: float


class RoutingGraph:
    """Shortest and fastest paths between road edges for one vehicle class, honouring closures."""

    def __init__(self, road_map: RoadMap, *, vehicle_class: str = "passenger") -> None:
        check_vehicle_class(vehicle_class)
        usable = [
            edge
            for edge_id, edge in sorted(road_map.edges.items())
            if edge.function == "normal" and self._edge_allows(road_map, edge, vehicle_class)
        ]
        if not usable:
            raise SettingError(
                f"no road in network {road_map.name} allows vehicle class '{vehicle_class}'; "
                "choose a class its lanes allow (see `roadcloud map info`)"
            )
        self.road_map = road_map
        self.vehicle_class = vehicle_class
        self._edge_ids = tuple(edge.id for edge in usable)
        self._node_of = {edge_id: node for node, edge_id in enumerate(self._edge_ids)}
        # An edge's cost uses its allowed lanes only: a bus lane's speed does not count for cars.
        self._edge_length_m = np.array([edge.length_m for edge in usable])
        self._edge_time_s = np.array(
            [edge.length_m / self._edge_speed_mps(road_map, edge, vehicle_class) for edge in usable]
        )
        arcs = self._build_arcs(road_map)
        self._arc_from, self._arc_to, self._arc_length_m, self._arc_time_s = arcs
        self._arc_index = {
            (int(a), int(b)): arc for arc, (a, b) in enumerate(zip(arcs[0], arcs[1], strict=True))
        }
        self._closed = np.zeros(len(usable), dtype=bool)
        self._matrices: dict[str, csr_matrix] = {}

    @property
    def edge_ids(self) -> tuple[str, ...]:
        """The road edges this graph routes over (those with a lane for its vehicle class), sorted."""
        return self._edge_ids

    # --- closures -----------------------------------------------------------------------------------

    @property
    def closed_edge_ids(self) -> frozenset[str]:
        """Edges closed now."""
        return frozenset(self._edge_ids[node] for node in np.flatnonzero(self._closed))

    def close_edge(self, edge_id: str) -> None:
        """Close a road edge to this graph's traffic, effective for the next query."""
        self._closed[self._node(edge_id)] = True
        self._matrices.clear()

    def open_edge(self, edge_id: str) -> None:
        """Reopen a closed edge (no effect if it was open)."""
        self._closed[self._node(edge_id)] = False
        self._matrices.clear()

    # --- queries ------------------------------------------------------------------------------------

    def shortest_path(self, from_edge_id: str, to_edge_id: str) -> Route:
        """The route of least length from the start of ``from_edge_id`` to the end of ``to_edge_id``."""
        return self._route(from_edge_id, to_edge_id, "length")

    def fastest_path(self, from_edge_id: str, to_edge_id: str) -> Route:
        """The route of least travel time at the speed limits."""
        return self._route(from_edge_id, to_edge_id, "time")

    def _route(self, from_edge_id: str, to_edge_id: str, cost: str) -> Route:
        start = self._node(from_edge_id)
        goal = self._node(to_edge_id)
        for edge_id, node in ((from_edge_id, start), (to_edge_id, goal)):
            if self._closed[node]:
                raise MapError(f"edge '{edge_id}' is closed in network {self.road_map.name}; open it first")
        if start == goal:
            nodes = [start]
        else:
            _distances, predecessors = dijkstra(
                self._matrix(cost), directed=True, indices=start, return_predecessors=True
            )
            if predecessors[goal] < 0:
                closed = sorted(self.closed_edge_ids)
                closed_text = f"closed edges: {', '.join(closed)}" if closed else "no edges are closed"
                raise MapError(
                    f"no route for '{self.vehicle_class}' from edge '{from_edge_id}' to '{to_edge_id}' "
                    f"in network {self.road_map.name} ({closed_text})"
                )
            nodes = [goal]
            while nodes[-1] != start:
                nodes.append(int(predecessors[nodes[-1]]))
            nodes.reverse()
        return self._describe(nodes)

    def _describe(self, nodes: list[int]) -> Route:
        """Length and time of a node sequence: its edges plus the cheapest junction path of each step."""
        length_m = float(self._edge_length_m[nodes].sum())
        time_s = float(self._edge_time_s[nodes].sum())
        for here, there in itertools.pairwise(nodes):
            arc = self._arc_index[(here, there)]
            length_m += float(self._arc_length_m[arc] - self._edge_length_m[there])
            time_s += float(self._arc_time_s[arc] - self._edge_time_s[there])
        return Route(tuple(self._edge_ids[node] for node in nodes), length_m, time_s)

    # --- graph --------------------------------------------------------------------------------------

    def _node(self, edge_id: str) -> int:
        node = self._node_of.get(edge_id)
        if node is not None:
            return node
        edge = self.road_map.edge(edge_id)  # raises for unknown ids, with a suggestion
        if edge.function != "normal":
            raise MapError(
                f"edge '{edge_id}' lies inside junction '{edge.to_junction_id}'; "
                "route between road edges (ids without a leading ':')"
            )
        raise MapError(
            f"edge '{edge_id}' in network {self.road_map.name} has no lane for vehicle class "
            f"'{self.vehicle_class}'; choose another edge or class"
        )

    def _matrix(self, cost: str) -> csr_matrix:
        matrix = self._matrices.get(cost)
        if matrix is None:
            open_arcs = ~(self._closed[self._arc_from] | self._closed[self._arc_to])
            weights = self._arc_length_m if cost == "length" else self._arc_time_s
            size = len(self._edge_ids)
            matrix = csr_matrix(
                (weights[open_arcs], (self._arc_from[open_arcs], self._arc_to[open_arcs])), shape=(size, size)
            )
            self._matrices[cost] = matrix
        return matrix

    def _build_arcs(
        self, road_map: RoadMap
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
        """One arc per (edge, next edge) pair with its cheapest allowed junction path.

        Arc costs include the next edge, so they are positive and a path's cost is its first edge plus its
        arcs. csr_matrix would add up duplicate arcs, hence the explicit minimum per pair here.
        """
        vehicle_class = self.vehicle_class
        best: dict[tuple[int, int], tuple[float, float]] = {}
        for connection in road_map.connections:
            from_lane = road_map.lanes[connection.from_lane_id]
            to_lane = road_map.lanes[connection.to_lane_id]
            here = self._node_of.get(from_lane.edge_id)
            there = self._node_of.get(to_lane.edge_id)
            if here is None or there is None:
                continue
            if not (from_lane.allows(vehicle_class) and to_lane.allows(vehicle_class)):
                continue
            via_length_m = 0.0
            via_time_s = 0.0
            if connection.via_lane_id is not None:
                via = road_map.lanes.get(connection.via_lane_id)
                if via is not None:
                    if not via.allows(vehicle_class):
                        continue
                    via_length_m = via.length_m
                    via_time_s = via.length_m / max(via.speed_limit_mps, 0.1)
            length_m = via_length_m + float(self._edge_length_m[there])
            time_s = via_time_s + float(self._edge_time_s[there])
            previous = best.get((here, there))
            if previous is None:
                best[(here, there)] = (length_m, time_s)
            else:
                best[(here, there)] = (min(previous[0], length_m), min(previous[1], time_s))
        pairs = list(best)
        return (
            np.array([pair[0] for pair in pairs], dtype=np.int64),
            np.array([pair[1] for pair in pairs], dtype=np.int64),
            np.array([best[pair][0] for pair in pairs], dtype=np.float64),
            np.array([best[pair][1] for pair in pairs], dtype=np.float64),
        )

    @staticmethod
    def _edge_allows(road_map: RoadMap, edge: Edge, vehicle_class: str) -> bool:
        return any(road_map.lanes[lane_id].allows(vehicle_class) for lane_id in edge.lane_ids)

    @staticmethod
    def _edge_speed_mps(road_map: RoadMap, edge: Edge, vehicle_class: str) -> float:
        speeds = [
            road_map.lanes[lane_id].speed_limit_mps
            for lane_id in edge.lane_ids
            if road_map.lanes[lane_id].allows(vehicle_class)
        ]
        return max(max(speeds, default=0.0), 0.1)  # a 0 m/s limit would make the edge free of time
