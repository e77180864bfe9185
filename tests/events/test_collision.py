"""Collision risk: time to collision on predicted paths; not for car-following, queues or passing."""

from __future__ import annotations

import numpy as np

from roadcloud.events import EventConfig, EventDetector, EventPhase, EventType, RoadEvent, SignalStates
from roadcloud.map import RoadMap
from roadcloud.messages import LightState
from roadcloud.messages.truth import ActorKind

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


def crossing_frames() -> list[tuple[int, list[Actor]]]:
    """The crossing of ``test_crossing_paths_at_a_junction``: eastbound and northbound at 12 m/s into A0."""
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
    return frames


def test_crossing_traffic_held_by_red_is_not_collision_risk(grid_map: RoadMap, scene: Scene) -> None:
    """The same crossing while A0 shows green east-west and red north-south: A0's program never lets the
    two movements go together, so the northbound car stops at its line and no conflict is reported."""
    east = scene.group_of("left0A0_1", "A0B0_1")
    assert scene.group_of("bottom0A0_1", "A0A1_1") != east
    lights = {east: LightState.PROTECTED_GREEN}
    spats = {t: [scene.spat(t, "A0", lights, default=LightState.RED)] for t in ticks(1.6)}
    published = run(EventDetector(grid_map), SignalStates(grid_map), scene, crossing_frames(), spats=spats)
    assert [e for e in published if e.event_type == EventType.COLLISION_RISK] == []


def test_conflict_table_from_the_signal_program(grid_map: RoadMap, scene: Scene) -> None:
    """Crossing straight movements are never green together; a movement is always with itself."""
    lanes = scene.lanes

    def groups(lane_id: str) -> list[int]:
        return [g for g in lanes.lane_groups[lanes.index[lane_id]].tolist() if g >= 0]

    east, north, west = groups("left0A0_1"), groups("bottom0A0_1"), groups("B0A0_1")
    compatible = lanes.groups_compatible
    assert east and north
    assert not compatible[np.ix_(east, north)].any()
    assert compatible[np.ix_(east, west)].any()  # opposing approaches share their green
    # A pedestrian crossing is governed by its own group.
    assert groups(":A0_c3_0")


def yielding_frames(*, braking_mps2: float) -> list[tuple[int, list[Actor]]]:
    """A pedestrian crossing A0's west arm southbound at 1.2 m/s on the crossing, and an eastbound car at
    12 m/s that brakes at ``braking_mps2`` once its front is 13 m from the crossing (it stops short)."""
    car_x, car_v, braking = 120.0, 12.0, False
    frames = []
    for k, t in enumerate(ticks(3.0)):
        walker_y = 149.0 - 1.2 * 0.1 * k
        frames.append(
            (
                t,
                [
                    Actor(1, x_m=car_x, y_m=145.2, heading_deg=90.0, speed_mps=car_v),
                    Actor(
                        2,
                        x_m=141.6,
                        y_m=walker_y,
                        heading_deg=180.0,
                        speed_mps=1.2,
                        kind=ActorKind.PEDESTRIAN,
                        length_m=0.5,
                        width_m=0.5,
                    ),
                ],
            )
        )
        braking = braking or 141.6 - (car_x + 2.3) <= 13.0
        if braking:
            car_v = max(car_v - braking_mps2 * 0.1, 0.0)
        car_x += car_v * 0.1
    return frames


def test_car_yielding_to_a_pedestrian_on_the_crossing_is_not_collision_risk(
    grid_map: RoadMap, scene: Scene
) -> None:
    """The car brakes hard for the pedestrian on the crossing and stops short: it is yielding to someone
    with right of way, not colliding. Without the yield rule the hard braking alone raised the event."""
    frames = yielding_frames(braking_mps2=8.0)
    published = run(EventDetector(grid_map), SignalStates(grid_map), scene, frames)
    assert [e for e in published if e.event_type == EventType.COLLISION_RISK] == []
    no_yield_rule = EventConfig(collision_yield_braking_mps2=1000.0)
    published = run(EventDetector(grid_map, no_yield_rule), SignalStates(grid_map), scene, frames)
    assert [e.event_type for e in started(published)] == [EventType.COLLISION_RISK]


def test_rear_end_near_miss_before_a_red_light_still_fires(grid_map: RoadMap, scene: Scene) -> None:
    """The lights keep crossing movements apart, never a follower from its leader in the same lane: the
    rear-end near miss of ``test_rear_end_near_miss_with_emergency_braking`` fires with B0 at red."""
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
    red = {t: [scene.spat(t, "B0", {}, default=LightState.RED)] for t in ticks(6.0)}
    events = started(run(EventDetector(grid_map), SignalStates(grid_map), scene, frames, spats=red))
    assert [e.event_type for e in events] == [EventType.COLLISION_RISK]
    assert sorted(events[0].track_ids) == [1, 2]
