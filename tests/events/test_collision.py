"""Collision risk: time to collision on predicted paths; not for car-following, queues or passing."""

from __future__ import annotations

from roadcloud.events import EventConfig, EventDetector, EventPhase, EventType, RoadEvent, SignalStates
from roadcloud.map import RoadMap
from roadcloud.messages import LightState

from .scene import T0_MS, Actor, Scene, run, ticks

LANE = "A0B0_1"  # eastbound, 179 m, to B0


def started(published: list[RoadEvent]) -> list[RoadEvent]:
    return [e for e in published if e.phase == EventPhase.STARTED]


def test_crossing_paths_at_a_junction(grid_map: RoadMap, scene: Scene) -> None:
    """Eastbound and northbound cars, 24 m from where their paths cross at A0, both at 12 m/s."""
    frames = []
    for t in ticks(1.6):
        travelled_m = 12.0 * (t - T0_MS) / 1000.0
        frames.append(
            (
                t,
                [
                    Actor(1, x_m=130.8 + travelled_m, y_m=145.2, heading_deg=90.0, speed_mps=12.0),
                    Actor(2, x_m=154.8, y_m=121.2 + travelled_m, heading_deg=0.0, speed_mps=12.0),
                ],
            )
        )
    events = started(run(EventDetector(grid_map), SignalStates(grid_map), scene, frames))
    assert [e.event_type for e in events] == [EventType.COLLISION_RISK]
    event = events[0]
    assert sorted(event.track_ids) == [1, 2]
    assert event.details["ttc_s"] <= 1.5 and event.details["required_decel_mps2"] >= 6.0
    # Published once the risk has held for the confirmation time, with contact still ahead.
    assert event.update_ms - event.start_ms <= EventConfig().collision_confirm_s * 1000 + 100
    assert event.details["ttc_s"] >= 0.5


def test_rear_end_near_miss_with_emergency_braking(grid_map: RoadMap, scene: Scene) -> None:
    """A follower at 14 m/s closes on a car crawling at 2 m/s and brakes at 8.5 m/s² at TTC 1.2 s."""
    lead_s, follow_s, follow_v = 120.0, 60.0, 14.0
    braking = False
    frames = []
    for t in ticks(6.0):
        gap = lead_s - follow_s - 4.6
        if not braking and gap / max(follow_v - 2.0, 0.1) <= 1.2:
            braking = True
        frames.append(
            (t, [Actor(1, LANE, s_m=lead_s, speed_mps=2.0), Actor(2, LANE, s_m=follow_s, speed_mps=follow_v)])
        )
        lead_s += 0.2
        follow_s += follow_v * 0.1
        if braking:
            follow_v = max(follow_v - 0.85, 2.0)
    events = started(run(EventDetector(grid_map), SignalStates(grid_map), scene, frames))
    assert [e.event_type for e in events] == [EventType.COLLISION_RISK]
    assert sorted(events[0].track_ids) == [1, 2]


def test_car_following_and_braking_for_a_queue_are_not_collision_risk(
    grid_map: RoadMap, scene: Scene
) -> None:
    end_m = scene.length(LANE)
    queue = [Actor(10 + k, LANE, s_m=end_m - 3.0 - 7.0 * k, speed_mps=0.0) for k in range(4)]
    queue_end_m = queue[-1].s_m - 2.3
    follow_s, follow_v = 20.0, 14.0
    frames = []
    for t in ticks(10.0):
        leader_s = 45.0 + 12.0 * (t - T0_MS) / 1000.0  # following at 12 m/s with a 20 m gap …
        actors = [
            Actor(1, "left0A0_1", s_m=min(leader_s, 135.0), speed_mps=12.0),
            Actor(2, "left0A0_1", s_m=min(leader_s - 24.6, 110.0), speed_mps=12.0),
        ]
        # … and a car braking at 3 m/s² to stop 3 m behind the queue at B0.
        actors.append(Actor(3, LANE, s_m=follow_s, speed_mps=follow_v))
        actors.extend(queue)
        # … with a car passing the queue in the next lane.
        actors.append(Actor(4, "A0B0_2", s_m=(10.0 + 14.0 * (t - T0_MS) / 1000.0) % 170.0, speed_mps=14.0))
        frames.append((t, actors))
        gap = queue_end_m - (follow_s + 2.3)
        if follow_v * follow_v / (2 * 3.0) >= gap - 3.0:
            follow_v = max(follow_v - 0.3, 0.0)
        follow_s += follow_v * 0.1
    red = {t: [scene.spat(t, "B0", {}, default=LightState.RED)] for t in ticks(10.0)}
    published = run(EventDetector(grid_map), SignalStates(grid_map), scene, frames, spats=red)
    assert [e for e in published if e.event_type == EventType.COLLISION_RISK] == []
