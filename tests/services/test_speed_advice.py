"""Speed advice (GLOSA): the speeds that reach the stop line on green, on constructed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from roadcloud.events.signal_state import SignalStates
from roadcloud.map import LaneMatcher, RoadMap
from roadcloud.messages import (
    SPAT,
    IntersectionState,
    LightState,
    NodeReferenceId,
    Phase,
    PhaseState,
    TimeCountingDown,
)
from roadcloud.messages.guidance import GuidanceAdvice
from roadcloud.messages.units import epoch_ms_to_moy, epoch_ms_to_sec_mark
from roadcloud.services import ConnectedVehicles, ServiceConfig, SpeedAdvisor, green_window_speeds

from .factories import NOW_MS, FixedSignals, Light, bsm
from .network import GROUP_STRAIGHT_EAST, LIMIT_MPS, NODE_J, junction_map

EVERY_FRAME = ServiceConfig(glosa_period_ms=100)
SLOWEST_UNITS = math.ceil(180.0 / 32.0 / 0.02)  # 5.625 m/s in 0.02 m/s, rounded up: 282
FASTEST_UNITS = math.floor(LIMIT_MPS / 0.02)  # the lane's limit, rounded down: 694


@pytest.fixture(scope="module")
def road_map() -> RoadMap:
    return junction_map()


@pytest.fixture(scope="module")
def matcher(road_map: RoadMap) -> LaneMatcher:
    return LaneMatcher(road_map, vehicle_class="passenger")


def test_green_window_numbers() -> None:
    # 180 m to go, limit 13.89 m/s.
    window = green_window_speeds(
        distance_m=np.array([180.0, 180.0, 120.0, 180.0, 180.0, 180.0]),
        speed_mps=np.array([10.0, 8.0, 10.0, 10.0, 10.0, 10.0]),
        limit_mps=np.full(6, LIMIT_MPS),
        green_now=np.array([False, False, True, True, False, False]),
        green_next=np.array([True, True, False, False, True, False]),
        change_s=np.array([12.0, 12.0, 10.0, 10.0, 70.0, 3.0]),
        next_green_s=np.array([20.0, 20.0, np.nan, np.nan, 5.0, np.nan]),
        min_speed_mps=3.0,
    )
    # red for 12 s then 20 s of green: arrive within [12, 32] s → 180/32 = 5.625 … 180/12 = 15 → limit
    assert window.speed_min_mps[0] == pytest.approx(5.625)
    assert window.speed_max_mps[0] == pytest.approx(LIMIT_MPS)
    assert window.advice[:2].tolist() == [GuidanceAdvice.KEEP_SPEED, GuidanceAdvice.KEEP_SPEED]
    # green for 10 more s, 120 m: at least 12 m/s
    assert window.speed_min_mps[2] == pytest.approx(12.0)
    assert window.advice[2] == GuidanceAdvice.ADJUST_SPEED
    # green for 10 more s, 180 m: 18 m/s needed, over the limit → stop
    assert window.advice[3] == GuidanceAdvice.PREPARE_TO_STOP and np.isnan(window.speed_min_mps[3])
    # red for 70 s: arriving on green would take under 180/70 = 2.6 m/s, below the 3 m/s worth driving
    assert window.advice[4] == GuidanceAdvice.PREPARE_TO_STOP
    # yellow (neither green now nor red then green): stop
    assert window.advice[5] == GuidanceAdvice.PREPARE_TO_STOP


def test_advisor_sends_the_window_in_message_units(road_map: RoadMap, matcher: LaneMatcher) -> None:
    advisor = SpeedAdvisor(road_map, EVERY_FRAME, lane_table=matcher.lane_ids)
    vehicles = ConnectedVehicles(road_map.geo, lane_matcher=matcher)
    vehicles.update(bsm(road_map, "00000000000000a1", -190.0, -4.8, 90.0, speed_mps=10.0), arrival_ms=NOW_MS)
    vehicles.update(bsm(road_map, "00000000000000a2", 60.0, -4.8, 90.0), arrival_ms=NOW_MS)  # past the line
    vehicles.update(bsm(road_map, "00000000000000a3", -350.0, -4.8, 90.0), arrival_ms=NOW_MS)  # 340 m away
    signals = FixedSignals(
        Light(LightState.RED, NOW_MS + 12_000, LightState.PROTECTED_GREEN, NOW_MS + 32_000)
    )
    (advice,) = advisor.advise(vehicles.states(NOW_MS), signals, NOW_MS)
    assert signals.asked == {("WJ_0", "JE_0")}  # the lane's straight movement
    assert advice.id == "00000000000000a1"
    assert advice.intersection_id.id == NODE_J and advice.phase_id == GROUP_STRAIGHT_EAST
    assert advice.distance == 1_800  # 180 m in 0.1 m
    assert advice.light == LightState.RED and advice.time_to_change == 120  # 12 s in 0.1 s
    assert advice.advice == GuidanceAdvice.KEEP_SPEED
    # Rounded inwards, so both ends of the advice still arrive on green.
    assert (advice.speed_min, advice.speed_max) == (SLOWEST_UNITS, FASTEST_UNITS)
    assert advice.moy == epoch_ms_to_moy(NOW_MS) and advice.sec_mark == epoch_ms_to_sec_mark(NOW_MS)


def test_each_vehicle_is_advised_once_a_period_in_its_own_frame(
    road_map: RoadMap, matcher: LaneMatcher
) -> None:
    advisor = SpeedAdvisor(road_map, ServiceConfig(glosa_period_ms=1_000), lane_table=matcher.lane_ids)
    vehicles = ConnectedVehicles(road_map.geo, lane_matcher=matcher)
    ids = [f"{number:016x}" for number in range(40)]
    for number, vehicle_id in enumerate(ids):
        vehicles.update(bsm(road_map, vehicle_id, -290.0 + 5.0 * number, -4.8, 90.0), arrival_ms=NOW_MS)
    signals = FixedSignals(
        Light(LightState.RED, NOW_MS + 12_000, LightState.PROTECTED_GREEN, NOW_MS + 32_000)
    )
    states = vehicles.states(NOW_MS)
    per_frame = [advisor.advise(states, signals, NOW_MS + 100 * frame) for frame in range(10)]
    advised = sorted(item.id for frame in per_frame for item in frame)
    assert advised == ids  # each exactly once in the period
    assert max(len(frame) for frame in per_frame) < 10  # spread over the frames, not all in the first
    assert sorted(item.id for item in advisor.advise(states, signals, NOW_MS + 1_000)) == sorted(
        item.id for item in per_frame[0]
    )


def test_advisor_reads_signal_states_fed_with_spat(road_map: RoadMap, matcher: LaneMatcher) -> None:
    signals = SignalStates(road_map)
    red_then_green = Phase(
        id=GROUP_STRAIGHT_EAST,
        phase_states=[
            PhaseState(light=LightState.RED, timing=TimeCountingDown(start_time=0, likely_end_time=120)),
            PhaseState(
                light=LightState.PROTECTED_GREEN, timing=TimeCountingDown(start_time=120, likely_end_time=320)
            ),
        ],
    )
    spat = SPAT(
        msg_cnt=1,
        moy=epoch_ms_to_moy(NOW_MS),
        time_stamp=epoch_ms_to_sec_mark(NOW_MS),
        intersections=[
            IntersectionState(intersection_id=NodeReferenceId(id=NODE_J, region=1), phases=[red_then_green])
        ],
    )
    signals.update(spat, received_ms=NOW_MS + 20)
    advisor = SpeedAdvisor(road_map, EVERY_FRAME, lane_table=matcher.lane_ids)
    vehicles = ConnectedVehicles(road_map.geo, lane_matcher=matcher)
    vehicles.update(bsm(road_map, "00000000000000a1", -190.0, -4.8, 90.0, speed_mps=12.0), arrival_ms=NOW_MS)
    (advice,) = advisor.advise(vehicles.states(NOW_MS), signals, NOW_MS)
    assert advice.light == LightState.RED and advice.time_to_change == 120
    assert advice.advice == GuidanceAdvice.KEEP_SPEED
    # The SPAT says the green lasts 20 s: arrive by 32 s, at least 180 m / 32 s.
    assert (advice.speed_min, advice.speed_max) == (SLOWEST_UNITS, FASTEST_UNITS)
    # Signals never heard of give no advice.
    assert advisor.advise(vehicles.states(NOW_MS), SignalStates(road_map), NOW_MS + 100) == []
