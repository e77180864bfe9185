"""Relevance zones follow the lanes upstream of an event, and the right roadside units cover them."""

from __future__ import annotations

import numpy as np
import pytest

from roadcloud.map import RoadMap
from roadcloud.messages.units import deg_to_latlon_units
from roadcloud.services import (
    CoverageTable,
    RoadsideUnitCoverage,
    ServiceConfig,
    ZoneBuilder,
    paths_to_local,
    within_paths,
)

from .network import junction_map


@pytest.fixture(scope="module")
def road_map() -> RoadMap:
    return junction_map()


def test_zone_walks_upstream_across_the_junction(road_map: RoadMap) -> None:
    zone = ZoneBuilder(road_map).build("JE_1", 100.0)
    spans = {span.lane_id: span for span in zone.spans}
    # The event's own edge, both lanes, from the junction to the event and no further.
    assert spans["JE_1"].s_from_m == 0.0 and spans["JE_1"].s_to_m == 100.0
    assert spans["JE_0"].s_to_m == 100.0
    # Through the junction: 100 m used on JE and 20 m inside J leave 180 m of the 400 m approach.
    assert spans["WJ_1"].s_from_m == pytest.approx(220.0)
    assert spans["WJ_1"].s_to_m == pytest.approx(400.0)
    assert spans["WJ_1"].distance_m == pytest.approx(120.0)
    # The turning approaches come in too, each as far as its own (longer or shorter) turn leaves.
    assert {"SJ_0", "SJ_1", "NJ_0", "NJ_1", ":J_0_0", ":J_1_0", ":J_2_0"} <= set(spans)
    assert spans["SJ_0"].s_from_m > spans["WJ_0"].s_from_m - 15.0


def test_zone_leaves_out_downstream_and_the_opposite_carriageway(road_map: RoadMap) -> None:
    zone = ZoneBuilder(road_map).build("JE_1", 100.0)
    lanes = set(zone.lane_ids)
    # Nothing leaving J in another direction, nothing coming the other way (the turnaround from EJ
    # into JE is not followed), nothing beyond the event.
    for lane_id in ("EJ_0", "EJ_1", ":J_3_0", "JW_0", "JW_1", "JN_1", "JS_0", ":J_4_0"):
        assert lane_id not in lanes
    assert all(span.s_to_m <= 100.0 for span in zone.spans if span.lane_id.startswith("JE"))


def test_turnarounds_join_when_asked(road_map: RoadMap) -> None:
    zone = ZoneBuilder(road_map, ServiceConfig(include_turnarounds=True)).build("JE_1", 100.0)
    assert {":J_3_0", "EJ_1"} <= set(zone.lane_ids)


def test_distance_bounds_the_zone(road_map: RoadMap) -> None:
    zone = ZoneBuilder(road_map, ServiceConfig(zone_distance_m=60.0)).build("JE_1", 100.0)
    assert set(zone.lane_ids) == {"JE_0", "JE_1"}
    assert all(span.s_from_m == pytest.approx(40.0) for span in zone.spans)


def test_one_lane_zone_has_lane_half_width_paths(road_map: RoadMap) -> None:
    zone = ZoneBuilder(road_map, ServiceConfig(include_parallel_lanes=False)).build("JE_1", 100.0)
    assert "JE_0" not in zone.lane_ids and "WJ_0" not in zone.lane_ids
    assert {"JE_1", ":J_0_1", "WJ_1", ":J_2_0", "NJ_1"} == set(zone.lane_ids)
    assert all(path.radius_m == pytest.approx(1.6) for path in zone.paths)


def test_paths_fit_the_standard(road_map: RoadMap) -> None:
    zone = ZoneBuilder(road_map).build("JE_1", 100.0)
    # One path per approach chain (approach + its turn), one for the event's edge.
    assert sorted(path.edge_ids for path in zone.paths) == [
        ("JE",),
        ("NJ", ":J_2"),
        ("SJ", ":J_1"),
        ("WJ", ":J_0"),
    ]
    for path in zone.paths:
        assert 2 <= len(path.points_xy) <= 32
        assert path.radius_m == pytest.approx(3.2)  # two 3.2 m lanes: centre ± 1.6 m ± 1.6 m
    event_path = next(path for path in zone.paths if path.edge_ids == ("JE",))
    # Points run with the traffic and end at the event.
    np.testing.assert_allclose(event_path.points_xy[[0, -1]], [[10.0, -3.2], [110.0, -3.2]])


def test_more_chains_than_the_limit_keeps_the_nearest(road_map: RoadMap) -> None:
    zone = ZoneBuilder(road_map, ServiceConfig(max_reference_paths=2)).build("JE_1", 100.0)
    assert len(zone.paths) == 2
    edges = {edge for path in zone.paths for edge in path.edge_ids}
    # The wire zone and the targeted lanes stay the same zone.
    assert {road_map.lanes[lane].edge_id for lane in zone.lane_ids} == edges


def test_reference_paths_in_message_units_round_trip(road_map: RoadMap) -> None:
    zone = ZoneBuilder(road_map).build("JE_1", 100.0)
    lon, lat = road_map.geo.local_to_wgs84(np.array([110.0]), np.array([-1.6]))
    ref_lon, ref_lat = int(deg_to_latlon_units(lon)[0]), int(deg_to_latlon_units(lat)[0])
    paths = zone.reference_paths(road_map.geo, ref_lon_units=ref_lon, ref_lat_units=ref_lat)
    assert [path.path_radius for path in paths] == [32] * len(zone.paths)  # 0.1 m units
    event_path = paths[[p.edge_ids for p in zone.paths].index(("JE",))]
    # The last point is the event's edge centre at the event, 1.6 m south of the reference point:
    # about -14 in 1e-7 degree of latitude, 0 in longitude.
    assert event_path.active_path[-1].lon == 0
    assert event_path.active_path[-1].lat == round(-1.6 / 111_000 * 1e7)
    start, end, radius = paths_to_local(paths, road_map.geo, ref_lon_units=ref_lon, ref_lat_units=ref_lat)
    expected_start, expected_end, expected_radius = zone.segments()
    np.testing.assert_allclose(start, expected_start, atol=0.02)
    np.testing.assert_allclose(end, expected_end, atol=0.02)
    np.testing.assert_allclose(radius, expected_radius)


def test_within_paths_checks_distance_and_direction(road_map: RoadMap) -> None:
    zone = ZoneBuilder(road_map).build("JE_1", 100.0)
    x = np.array([50.0, 50.0, 50.0, -100.0, 150.0, 50.0, 1.6])
    y = np.array([-4.8, -1.6, 1.6, -4.8, -1.6, -1.6, -150.0])
    heading = np.array([90.0, 90.0, 270.0, 90.0, 90.0, 270.0, 0.0])
    inside = within_paths(x, y, heading, zone.segments())
    # both eastbound lanes before the event; the westbound lane next to it; an eastbound car upstream;
    # one past the event; a car on the eastbound lane facing west; a northbound car on SJ.
    assert inside.tolist() == [True, True, False, True, False, False, True]


def test_covering_units(road_map: RoadMap) -> None:
    zone = ZoneBuilder(road_map).build("JE_1", 100.0)
    units = CoverageTable(
        [
            RoadsideUnitCoverage("R_EVENT", 60.0, 20.0, 50.0),  # beside the event's edge
            RoadsideUnitCoverage("R_WEST", -250.0, 20.0, 50.0),  # 61 m from where the zone ends on WJ
            RoadsideUnitCoverage("R_WEST_IN", -150.0, 30.0, 50.0),  # 30 m from the edge of WJ's path
            RoadsideUnitCoverage("R_DOWNSTREAM", 300.0, 0.0, 100.0),  # past the event only
            RoadsideUnitCoverage("R_NORTH_FAR", 0.0, 390.0, 150.0),  # NJ, but beyond the zone
            RoadsideUnitCoverage("R_SOUTH", 40.0, -150.0, 40.0),  # 33.6 m from the edge of SJ's path
        ]
    )
    assert set(units.covering(zone)) == {"R_EVENT", "R_WEST_IN", "R_SOUTH"}
    assert CoverageTable([]).covering(zone) == ()


def test_coverage_from_the_registry_uses_provisioned_positions(road_map: RoadMap) -> None:
    lon, lat = road_map.geo.local_to_wgs84(np.array([60.0, 5.0]), np.array([20.0, 5.0]))

    class Device:
        def __init__(self, device_id: str, kind: str, lon_deg: float | None, lat_deg: float | None) -> None:
            self.id, self.kind, self.lon_deg, self.lat_deg = device_id, kind, lon_deg, lat_deg

    devices = [
        Device("R1", "rsu", float(lon[0]), float(lat[0])),
        Device("S1", "signal", float(lon[1]), float(lat[1])),
        Device("R2", "rsu", None, None),
    ]
    units = RoadsideUnitCoverage.from_registry(devices, road_map.geo, range_m=120.0)
    assert [unit.rsu_id for unit in units] == ["R1"]
    assert units[0].x_m == pytest.approx(60.0, abs=1e-3) and units[0].y_m == pytest.approx(20.0, abs=1e-3)
    assert units[0].range_m == 120.0
