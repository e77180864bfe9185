"""Speeding over the lane limit by the margin, and abnormally slow vehicles with the lane free ahead."""

from __future__ import annotations

from roadcloud.events import EventConfig, EventDetector, EventPhase, EventType, RoadEvent, SignalStates
from roadcloud.map import RoadMap
from roadcloud.messages.truth import ActorKind

from .scene import T0_MS, Actor, Scene, run, ticks

LANE = "A0B0_1"  # 179 m at 13.89 m/s (50 km/h)


def along(
    speed_mps: float,
    *,
    start_s_m: float,
    seconds: float,
    kind: ActorKind = ActorKind.CAR,
    length_m: float = 4.6,
    width_m: float = 1.8,
) -> list[tuple[int, list[Actor]]]:
    return [
        (
            t,
            [
                Actor(
                    3,
                    LANE,
                    s_m=start_s_m + speed_mps * (t - T0_MS) / 1000.0,
                    speed_mps=speed_mps,
                    kind=kind,
                    length_m=length_m,
                    width_m=width_m,
                )
            ],
        )
        for t in ticks(seconds)
    ]


def types(published: list[RoadEvent]) -> list[EventType]:
    return [e.event_type for e in published if e.phase == EventPhase.STARTED]


def test_speeding_is_reported_after_it_is_sustained(grid_map: RoadMap, scene: Scene) -> None:
    config = EventConfig()
    detector = EventDetector(grid_map, config)
    limit = grid_map.lanes[LANE].speed_limit_mps
    published = run(detector, SignalStates(grid_map), scene, along(limit + 8.0, start_s_m=10.0, seconds=5.0))
    starts = [e for e in published if e.phase == EventPhase.STARTED]
    assert types(published) == [EventType.SPEEDING]
    assert starts[0].update_ms - T0_MS >= config.speeding_confirm_s * 1000
    assert abs(starts[0].details["over_mps"] - 8.0) < 1e-6 and starts[0].details["limit_mps"] == limit


def test_a_little_over_the_limit_is_not_speeding(grid_map: RoadMap, scene: Scene) -> None:
    detector = EventDetector(grid_map)
    limit = grid_map.lanes[LANE].speed_limit_mps
    assert run(detector, SignalStates(grid_map), scene, along(limit + 4.0, start_s_m=10.0, seconds=5.0)) == []


def test_slow_vehicle_on_a_free_lane(grid_map: RoadMap, scene: Scene) -> None:
    detector = EventDetector(grid_map)
    published = run(detector, SignalStates(grid_map), scene, along(3.0, start_s_m=20.0, seconds=12.0))
    assert types(published) == [EventType.SLOW_VEHICLE]


def test_crawling_to_the_stop_line_or_cycling_is_not_slow(grid_map: RoadMap, scene: Scene) -> None:
    end_m = scene.length(LANE)
    detector = EventDetector(grid_map)
    # The last 30 m before the stop line: braking and turning, not an obstruction.
    assert (
        run(detector, SignalStates(grid_map), scene, along(2.5, start_s_m=end_m - 29.0, seconds=10.0)) == []
    )
    detector = EventDetector(grid_map)
    assert (
        run(
            detector,
            SignalStates(grid_map),
            scene,
            along(5.0, start_s_m=20.0, seconds=12.0, kind=ActorKind.BICYCLE, length_m=1.7, width_m=0.65),
        )
        == []
    )
    # A fused "car" track that took over a cyclist keeps the car class but has a bicycle's size.
    detector = EventDetector(grid_map)
    assert (
        run(
            detector,
            SignalStates(grid_map),
            scene,
            along(5.0, start_s_m=20.0, seconds=12.0, length_m=1.7, width_m=0.7),
        )
        == []
    )


def test_slow_behind_a_slow_leader_is_one_event_for_the_leader(grid_map: RoadMap, scene: Scene) -> None:
    detector = EventDetector(grid_map)
    frames = [
        (t, [*actors, Actor(4, LANE, s_m=actors[0].s_m - 12.0, speed_mps=3.0)])
        for t, actors in along(3.0, start_s_m=40.0, seconds=12.0)
    ]
    published = run(detector, SignalStates(grid_map), scene, frames)
    starts = [e for e in published if e.phase == EventPhase.STARTED]
    assert [e.event_type for e in starts] == [EventType.SLOW_VEHICLE] and starts[0].track_ids == [3]


def test_car_following_a_cyclist_out_of_sight_is_not_slow(grid_map: RoadMap, scene: Scene) -> None:
    """A car 10 m behind a cyclist at 4.5 m/s; the cyclist drops out of the LDM after 3 s: no event."""
    frames = []
    for k, t in enumerate(ticks(15.0)):
        s_m = 20.0 + 4.5 * (t - T0_MS) / 1000.0
        car = Actor(1, "A0B0_1", s_m=s_m, speed_mps=4.5)
        bike = Actor(
            2, "A0B0_1", s_m=s_m + 12.0, speed_mps=4.5, kind=ActorKind.BICYCLE, length_m=1.8, width_m=0.6
        )
        frames.append((t, [car, bike] if k < 30 else [car]))
    published = run(EventDetector(grid_map), SignalStates(grid_map), scene, frames)
    assert EventType.SLOW_VEHICLE not in types(published)
