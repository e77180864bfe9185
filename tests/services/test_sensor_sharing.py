"""Sensor sharing: each connected vehicle gets the fused objects around it, nearest first, not itself."""

from __future__ import annotations

import numpy as np
import pytest

from roadcloud.map import RoadMap
from roadcloud.messages import ParticipantType
from roadcloud.messages.units import latlon_units_to_deg
from roadcloud.services import ConnectedVehicles, SensorSharing, ServiceConfig
from roadcloud.services.sensor_sharing import nearest_within

from .factories import NOW_MS, bsm, snapshot
from .network import junction_map


@pytest.fixture(scope="module")
def road_map() -> RoadMap:
    return junction_map()


def scene(road_map: RoadMap) -> tuple[ConnectedVehicles, list[tuple[float, float]], list[float]]:
    """A vehicle at (0, -100) heading north; its own track 0.4 m off; an oncoming car 1.5 m beside it;
    then cars every 8 m along the road, up to 200 m away."""
    vehicles = ConnectedVehicles(road_map.geo)
    vehicles.update(
        bsm(road_map, "00000000000000a1", 1.6, -100.0, 0.0, measured_ms=NOW_MS), arrival_ms=NOW_MS
    )
    xy = [(1.9, -99.8), (-1.6, -100.0)] + [(1.6, -100.0 + 8.0 * step) for step in range(1, 26)]
    heading = [0.0, 180.0] + [0.0] * 25
    return vehicles, xy, heading


def test_nearest_objects_within_the_radius_without_itself(road_map: RoadMap) -> None:
    vehicles, xy, heading = scene(road_map)
    sharing = SensorSharing(road_map.geo, ServiceConfig(sharing_radius_m=150.0, sharing_period_ms=100))
    frame = snapshot(NOW_MS, xy, heading_deg=heading)
    ((vehicle_id, rsm),) = sharing.share(frame, vehicles.states(NOW_MS), NOW_MS)
    assert vehicle_id == "00000000000000a1"
    assert rsm.id == "RC-CLOUD"
    ids = [participant.ptc_id for participant in rsm.participants]
    # Track 1 is the vehicle itself; 2 is the oncoming car beside it (same spot, other heading);
    # then 3, 4, … nearest first, 16 in all.
    assert 1 not in ids
    assert ids == [2, *range(3, 18)]
    # Positions as offsets from the vehicle's own position, 1e-7 degree.
    ref_lon = float(latlon_units_to_deg(np.array([rsm.ref_pos.long]))[0])
    ref_lat = float(latlon_units_to_deg(np.array([rsm.ref_pos.lat]))[0])
    offsets = np.array([[p.pos.lon, p.pos.lat] for p in rsm.participants], dtype=np.int64)
    x_m, y_m = road_map.geo.wgs84_to_local(
        ref_lon + latlon_units_to_deg(offsets[:, 0]), ref_lat + latlon_units_to_deg(offsets[:, 1])
    )
    expected = np.array(xy)[np.array(ids) - 1]
    np.testing.assert_allclose(np.column_stack([x_m, y_m]), expected, atol=0.03)
    assert {p.ptc_type for p in rsm.participants} == {ParticipantType.MOTOR}


def test_radius_and_period_are_respected(road_map: RoadMap) -> None:
    vehicles, xy, heading = scene(road_map)
    sharing = SensorSharing(road_map.geo, ServiceConfig(sharing_radius_m=30.0, sharing_period_ms=1_000))
    frame = snapshot(NOW_MS, xy, heading_deg=heading)
    states = vehicles.states(NOW_MS)
    per_frame = [sharing.share(frame, states, NOW_MS + 100 * step) for step in range(10)]
    # Once in the period, in the vehicle's own frame of it.
    ((_, rsm),) = [item for shared in per_frame for item in shared]
    # Within 30 m: the oncoming car and the cars 8, 16 and 24 m ahead.
    assert [p.ptc_id for p in rsm.participants] == [2, 3, 4, 5]


def test_nothing_around_means_no_message(road_map: RoadMap) -> None:
    vehicles, _, _ = scene(road_map)
    sharing = SensorSharing(road_map.geo, ServiceConfig(sharing_period_ms=100))
    alone = snapshot(NOW_MS, [(1.9, -99.8)], heading_deg=[0.0])  # only itself
    assert sharing.share(alone, vehicles.states(NOW_MS), NOW_MS) == []
    far = snapshot(NOW_MS, [(300.0, 300.0)])
    assert sharing.share(far, vehicles.states(NOW_MS), NOW_MS) == []


def test_nearest_within_matches_brute_force() -> None:
    rng = np.random.default_rng(5)
    points = rng.uniform(0.0, 500.0, (3_000, 2))
    queries = np.vstack([rng.uniform(-50.0, 550.0, (40, 2)), [[np.nan, 0.0]]])
    index, distance = nearest_within(
        points[:, 0], points[:, 1], queries[:, 0], queries[:, 1], radius_m=40.0, k=5
    )
    for row, (qx, qy) in enumerate(queries):
        gap = np.hypot(points[:, 0] - qx, points[:, 1] - qy)
        expected = [i for i in np.argsort(gap, kind="stable") if gap[i] <= 40.0][:5]
        found = [i for i in index[row].tolist() if i >= 0]
        assert found == expected
        np.testing.assert_allclose(distance[row, : len(found)], gap[expected])
        assert np.all(np.isinf(distance[row, len(found) :]))
