"""EventDetector as a whole: its inputs checked, its public surface, and silence on normal traffic."""

from __future__ import annotations

import math

import numpy as np
import pytest

import roadcloud.events
from roadcloud.errors import InputError, SettingError
from roadcloud.events import EventConfig, EventDetector, SignalStates
from roadcloud.fusion import LdmSnapshot
from roadcloud.map import RoadMap
from roadcloud.messages import LightState
from roadcloud.messages.truth import ActorKind

from .scene import T0_MS, Actor, Scene, run, ticks


def test_public_surface() -> None:
    assert set(roadcloud.events.__all__) == {
        "EventConfig",
        "EventDetector",
        "EventPhase",
        "EventType",
        "RoadEvent",
        "SignalLight",
        "SignalStates",
    }
    for name in roadcloud.events.__all__:
        assert getattr(roadcloud.events, name) is not None


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"release_s": -1.0}, "release_s"),
        ({"stopped_dwell_s": 0.0}, "stopped_dwell_s"),
        ({"collision_ttc_s": math.nan}, "collision_ttc_s"),
        ({"wrong_way_heading_deg": 80.0}, "wrong_way_heading_deg"),
        ({"slow_ratio": 1.5}, "slow_ratio"),
        ({"queue_min_vehicles": 1}, "queue_min_vehicles"),
        ({"queue_speed_mps": 0.5}, "queue_speed_mps"),
        ({"congestion_green_s": 90.0}, "congestion_green_s"),
    ],
)
def test_impossible_settings_name_themselves(changes: dict[str, float], named: str) -> None:
    with pytest.raises(SettingError, match=named):
        EventConfig(**changes)  # type: ignore[arg-type]


def test_snapshots_must_come_in_order_and_carry_lanes(grid_map: RoadMap, scene: Scene) -> None:
    detector = EventDetector(grid_map)
    signals = SignalStates(grid_map)
    detector.update(scene.snapshot(T0_MS, [Actor(1, "A0B0_1", s_m=50.0, speed_mps=10.0)]), signals)
    with pytest.raises(InputError, match="not after the previous"):
        detector.update(scene.snapshot(T0_MS, []), signals)
    laneless = LdmSnapshot.empty(T0_MS + 100)
    laneless = LdmSnapshot(
        **{
            **{name: getattr(laneless, name) for name in laneless.__dataclass_fields__},
            "track_id": np.array([5]),
            "x_m": np.array([1.0]),
            "y_m": np.array([1.0]),
            "vx_mps": np.zeros(1),
            "vy_mps": np.zeros(1),
            "speed_mps": np.zeros(1),
            "heading_deg": np.zeros(1),
            "length_m": np.ones(1),
            "width_m": np.ones(1),
            "kind": np.ones(1, dtype=np.int64),
            "position_cov_m2": np.zeros((1, 2, 2)),
            "s_m": np.full(1, np.nan),
            "source_count": np.ones(1, dtype=np.int64),
        }
    )
    with pytest.raises(InputError, match="LaneMatcher"):
        detector.update(laneless, signals)
    assert detector.update(scene.snapshot(T0_MS + 200, []), signals) == []


def test_normal_traffic_at_a_red_light_raises_nothing(grid_map: RoadMap, scene: Scene) -> None:
    """A minute at B0: queues building and waiting on red in both lanes of the eastbound approach,
    cars arriving and braking to join them, traffic flowing past in the other direction and on the
    cross street on green, pedestrians on the sidewalk and crossing in front of the queue."""
    lane_1, lane_2 = "A0B0_1", "A0B0_2"
    end_m = scene.length(lane_1)
    arrivals = [(lane_1, 0.0), (lane_2, 2.0), (lane_1, 7.0), (lane_2, 11.0), (lane_1, 16.0), (lane_1, 24.0)]
    crossing = grid_map.lanes[":B0_c3_0"].shape_xy  # across the western arm of B0, before the red queue
    frames = []
    for t in ticks(60.0):
        now_s = (t - T0_MS) / 1000.0
        actors = []
        places = {lane_1: 0, lane_2: 0}
        for n, (lane, arrive_s) in enumerate(arrivals):
            slot = places[lane]
            places[lane] += 1
            stop_m = end_m - 3.0 - 7.5 * slot
            # 14 m/s, braking at 3 m/s² to stop at its place in the queue.
            brake_m = 14.0**2 / (2 * 3.0)
            start_m = stop_m - brake_m - 14.0 * 2.0
            travel_s = now_s - arrive_s
            if travel_s < 0:
                continue
            if travel_s < 2.0:
                s_m, v = start_m + 14.0 * travel_s, 14.0
            else:
                b = min(travel_s - 2.0, 14.0 / 3.0)
                s_m, v = start_m + 28.0 + 14.0 * b - 1.5 * b * b, max(14.0 - 3.0 * b, 0.0)
            actors.append(Actor(100 + n, lane, s_m=s_m, speed_mps=v))
        for k in range(3):  # the other direction flows
            actors.append(
                Actor(200 + k, "B0A0_1", s_m=(14.0 * now_s + 60.0 * k) % 170.0 + 4.0, speed_mps=14.0)
            )
        for k in range(2):  # the cross street has green
            actors.append(
                Actor(300 + k, "bottom1B0_1", s_m=(12.0 * now_s + 70.0 * k) % 130.0 + 4.0, speed_mps=12.0)
            )
        walk_m = (1.2 * now_s) % 150.0 + 10.0
        actors.append(
            Actor(
                400, "A0B0_0", s_m=walk_m, speed_mps=1.2, kind=ActorKind.PEDESTRIAN, length_m=0.3, width_m=0.5
            )
        )
        cross = min((1.0 * now_s) % 20.0, 12.8) / 12.8
        x, y = crossing[0] + cross * (crossing[-1] - crossing[0])
        actors.append(
            Actor(
                401,
                x_m=float(x),
                y_m=float(y),
                heading_deg=90.0,
                speed_mps=1.0,
                kind=ActorKind.PEDESTRIAN,
                length_m=0.3,
                width_m=0.5,
            )
        )
        frames.append((t, actors))
    east = {scene.group_of(lane_1, "B0right0_1"), scene.group_of(lane_2, "B0right0_2")}
    north = {scene.group_of("bottom1B0_1", "B0B1_1")}
    spats = {
        t: [
            scene.spat(
                t,
                "B0",
                {**dict.fromkeys(east, LightState.RED), **dict.fromkeys(north, LightState.PROTECTED_GREEN)},
            )
        ]
        for t in ticks(60.0)
    }
    assert run(EventDetector(grid_map), SignalStates(grid_map), scene, frames, spats=spats) == []
