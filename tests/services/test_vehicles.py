"""Connected vehicles: the latest BSM per vehicle, in metres, on a lane."""

from __future__ import annotations

import numpy as np
import pytest

from roadcloud.map import LaneMatcher, RoadMap
from roadcloud.services import ConnectedVehicles

from .factories import NOW_MS, bsm
from .network import junction_map


@pytest.fixture(scope="module")
def road_map() -> RoadMap:
    return junction_map()


def test_states_in_local_units_on_lanes(road_map: RoadMap) -> None:
    vehicles = ConnectedVehicles(road_map.geo, lane_matcher=LaneMatcher(road_map, vehicle_class="passenger"))
    vehicles.update(bsm(road_map, "a", -100.0, -4.8, 90.0, speed_mps=12.0), arrival_ms=NOW_MS + 40)
    vehicles.update(bsm(road_map, "b", 1.6, 60.0, 0.0, speed_mps=8.0), arrival_ms=NOW_MS + 40)
    states = vehicles.states(NOW_MS + 100)
    order = np.argsort(states.vehicle_id.astype(str))
    states = states.take(order)
    assert states.vehicle_id.tolist() == ["a", "b"]
    np.testing.assert_allclose(states.x_m, [-100.0, 1.6], atol=0.02)
    np.testing.assert_allclose(states.y_m, [-4.8, 60.0], atol=0.02)
    np.testing.assert_allclose(states.speed_mps, [12.0, 8.0], atol=0.01)
    np.testing.assert_allclose(states.heading_deg, [90.0, 0.0], atol=0.02)
    assert states.measured_ms.tolist() == [NOW_MS, NOW_MS]
    assert states.lane_ids.tolist() == ["WJ_0", "JN_1"]
    np.testing.assert_allclose(states.s_m, [310.0, 50.0], atol=0.05)


def test_newest_report_wins_and_silent_vehicles_go(road_map: RoadMap) -> None:
    vehicles = ConnectedVehicles(road_map.geo, max_age_ms=1_000)
    newer = bsm(road_map, "a", 20.0, -1.6, 90.0, measured_ms=NOW_MS + 100)
    older = bsm(road_map, "a", 10.0, -1.6, 90.0, measured_ms=NOW_MS)
    vehicles.update(newer, arrival_ms=NOW_MS + 150)
    vehicles.update(older, arrival_ms=NOW_MS + 160)  # arrives late, within the same batch
    states = vehicles.states(NOW_MS + 200)
    assert states.x_m == pytest.approx([20.0], abs=0.02)
    vehicles.update(older, arrival_ms=NOW_MS + 260)  # and in a later batch
    assert vehicles.states(NOW_MS + 300).x_m == pytest.approx([20.0], abs=0.02)
    assert len(vehicles.states(NOW_MS + 1_099)) == 1
    assert len(vehicles.states(NOW_MS + 1_101)) == 0
    assert len(vehicles) == 0
    # Rows are reused: many vehicles over time, memory for those on the road only.
    for number in range(1_000):
        vehicles.update(
            bsm(road_map, f"v{number}", 0.0, -1.6, 90.0, measured_ms=NOW_MS + 2_000 + number),
            arrival_ms=NOW_MS + 2_000 + number,
        )
        if number % 100 == 99:
            vehicles.states(NOW_MS + 2_000 + number)
    assert len(vehicles.states(NOW_MS + 3_000)) == 1_000
    assert len(vehicles.states(NOW_MS + 3_500)) == 500


def test_predicted_positions_follow_heading(road_map: RoadMap) -> None:
    vehicles = ConnectedVehicles(road_map.geo)
    vehicles.update(bsm(road_map, "a", 0.0, -100.0, 0.0, speed_mps=10.0), arrival_ms=NOW_MS + 40)
    x_m, y_m = vehicles.states(NOW_MS).predicted_xy(NOW_MS + 500)
    assert x_m == pytest.approx([0.0], abs=0.05) and y_m == pytest.approx([-95.0], abs=0.05)
