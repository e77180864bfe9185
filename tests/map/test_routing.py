"""Routing on Dörpfeldstraße: routes follow real connections, closures reroute at once, cuts are reported."""

from __future__ import annotations

import pytest

from roadcloud.errors import MapError, SettingError
from roadcloud.map import RoadMap, Route, RoutingGraph

# From the fixture: the shortest passenger route from START to GOAL runs over DETOURABLE (with a detour
# of about 90 m when it is closed) and over CUT, the only way into the last streets before GOAL.
START, GOAL = "-1066221582", "679901152#0"
DETOURABLE = "1066221582"
CUT = "-152839428"


def _assert_drivable(road_map: RoadMap, route: Route, vehicle_class: str = "passenger") -> None:
    """Each step is a connection between lanes allowing the class; the length adds up."""
    steps = {
        (road_map.lane(c.from_lane_id).edge_id, road_map.lane(c.to_lane_id).edge_id)
        for c in road_map.connections
        if road_map.lane(c.from_lane_id).allows(vehicle_class)
        and road_map.lane(c.to_lane_id).allows(vehicle_class)
    }
    for here, there in zip(route.edge_ids, route.edge_ids[1:], strict=False):
        assert (here, there) in steps, (here, there)
    edges_m = sum(road_map.edge(edge_id).length_m for edge_id in route.edge_ids)
    assert edges_m <= route.length_m < edges_m + 40.0 * len(route.edge_ids)  # plus junction paths


def test_shortest_path_follows_connections(doerpfeld: RoadMap) -> None:
    route = RoutingGraph(doerpfeld).shortest_path(START, GOAL)
    assert route.edge_ids[0] == START and route.edge_ids[-1] == GOAL
    assert DETOURABLE in route.edge_ids and CUT in route.edge_ids
    _assert_drivable(doerpfeld, route)
    assert route.travel_time_s > route.length_m / 14.0  # no road here is faster than 50 km/h


def test_fastest_is_never_slower_and_shortest_never_longer(doerpfeld: RoadMap) -> None:
    graph = RoutingGraph(doerpfeld)
    edges = graph.edge_ids  # every pair would be slow; a spread of pairs is enough
    checked = 0
    for start in edges[::23]:
        for goal in edges[5::31]:
            try:
                shortest = graph.shortest_path(start, goal)
            except MapError:
                continue
            fastest = graph.fastest_path(start, goal)
            assert fastest.travel_time_s <= shortest.travel_time_s + 1e-9
            assert shortest.length_m <= fastest.length_m + 1e-9
            checked += 1
    assert checked > 10


def test_closing_an_edge_reroutes_and_opening_restores(doerpfeld: RoadMap) -> None:
    graph = RoutingGraph(doerpfeld)
    before = graph.shortest_path(START, GOAL)
    graph.close_edge(DETOURABLE)
    assert graph.closed_edge_ids == {DETOURABLE}
    detour = graph.shortest_path(START, GOAL)
    assert DETOURABLE not in detour.edge_ids
    assert detour.length_m > before.length_m
    _assert_drivable(doerpfeld, detour)
    graph.open_edge(DETOURABLE)
    assert graph.closed_edge_ids == frozenset()
    assert graph.shortest_path(START, GOAL) == before


def test_closing_a_cut_edge_leaves_no_route(doerpfeld: RoadMap) -> None:
    graph = RoutingGraph(doerpfeld)
    graph.close_edge(CUT)
    with pytest.raises(
        MapError, match=rf"no route for 'passenger' from edge '{START}' .*closed edges: {CUT}"
    ):
        graph.shortest_path(START, GOAL)
    with pytest.raises(MapError, match="closed edges"):
        graph.fastest_path(START, GOAL)


def test_closed_endpoints_and_bad_edges(doerpfeld: RoadMap) -> None:
    graph = RoutingGraph(doerpfeld)
    graph.close_edge(START)
    with pytest.raises(MapError, match=f"edge '{START}' is closed"):
        graph.shortest_path(START, GOAL)
    with pytest.raises(MapError, match="unknown edge 'nope'"):
        graph.shortest_path("nope", GOAL)
    internal = next(edge_id for edge_id in sorted(doerpfeld.edges) if edge_id.startswith(":"))
    with pytest.raises(MapError, match="lies inside junction"):
        graph.close_edge(internal)
    footway = next(
        edge.id
        for edge in doerpfeld.edges.values()
        if edge.function == "normal" and not any(doerpfeld.lane(i).allows("passenger") for i in edge.lane_ids)
    )
    with pytest.raises(MapError, match="no lane for vehicle class 'passenger'"):
        graph.shortest_path(footway, GOAL)


def test_same_edge_is_a_one_edge_route(doerpfeld: RoadMap) -> None:
    route = RoutingGraph(doerpfeld).shortest_path(GOAL, GOAL)
    assert route.edge_ids == (GOAL,)
    assert route.length_m == pytest.approx(doerpfeld.edge(GOAL).length_m)


def test_vehicle_class_permissions(doerpfeld: RoadMap) -> None:
    bicycle = RoutingGraph(doerpfeld, vehicle_class="bicycle")
    assert set(bicycle.edge_ids) != set(RoutingGraph(doerpfeld).edge_ids)
    for edge_id in bicycle.edge_ids:
        assert any(doerpfeld.lane(lane_id).allows("bicycle") for lane_id in doerpfeld.edge(edge_id).lane_ids)
    routed = 0
    for goal in bicycle.edge_ids[::17]:
        try:
            route = bicycle.shortest_path(bicycle.edge_ids[0], goal)
        except MapError:
            continue
        _assert_drivable(doerpfeld, route, "bicycle")
        routed += 1
    assert routed > 3
    with pytest.raises(SettingError, match="unknown vehicle class"):
        RoutingGraph(doerpfeld, vehicle_class="hovercraft")
    with pytest.raises(SettingError, match="no road in network"):
        RoutingGraph(doerpfeld, vehicle_class="ship")
