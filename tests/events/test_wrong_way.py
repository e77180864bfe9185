"""Wrong-way driving: sustained against the lane (also one lane over, where heading matching misleads)."""

from __future__ import annotations

import dataclasses

from roadcloud.events import EventDetector, EventPhase, EventType, RoadEvent, SignalStates
from roadcloud.map import RoadMap

from .scene import T0_MS, Actor, Scene, run, ticks


def drive(
    lane_id: str, *, start_s_m: float, speed_mps: float, reverse: bool, seconds: float
) -> list[tuple[int, list[Actor]]]:
    """One car along a lane (backwards along it when ``reverse``) at constant speed."""
    sign = -1.0 if reverse else 1.0
    return [
        (
            t,
            [
                Actor(
                    7,
                    lane_id,
                    s_m=start_s_m + sign * speed_mps * (t - T0_MS) / 1000.0,
                    speed_mps=speed_mps,
                    reverse=reverse,
                )
            ],
        )
        for t in ticks(seconds)
    ]


def started(published: list[RoadEvent]) -> list[RoadEvent]:
    return [e for e in published if e.phase == EventPhase.STARTED]


def test_wrong_way_on_the_outer_lane(grid_map: RoadMap, scene: Scene) -> None:
    detector = EventDetector(grid_map)
    published = run(
        detector,
        SignalStates(grid_map),
        scene,
        drive("A0B0_1", start_s_m=160.0, speed_mps=8.0, reverse=True, seconds=6.0),
    )
    events = started(published)
    assert [e.event_type for e in events] == [EventType.WRONG_WAY]
    assert events[0].lane_id == "A0B0_1" and events[0].severity == 5
    assert events[0].details["distance_m"] >= 15.0 and events[0].details["heading_error_deg"] > 170.0


def test_wrong_way_on_the_inner_lane_next_to_traffic_of_its_direction(
    grid_map: RoadMap, scene: Scene
) -> None:
    """On the inner lane, heading-aware matching puts the car on the opposite lane one over (its own
    direction); the detector must still see it on the lane it physically drives against."""
    snapshot = scene.snapshot(T0_MS, [Actor(7, "A0B0_2", s_m=120.0, speed_mps=8.0, reverse=True)])
    assert snapshot.lane_id is not None and snapshot.lane_id[0] == "B0A0_2"  # what fusion would say
    detector = EventDetector(grid_map)
    published = run(
        detector,
        SignalStates(grid_map),
        scene,
        drive("A0B0_2", start_s_m=160.0, speed_mps=8.0, reverse=True, seconds=6.0),
    )
    events = started(published)
    assert [e.event_type for e in events] == [EventType.WRONG_WAY] and events[0].lane_id == "A0B0_2"


def test_driving_with_the_lane_or_turning_briefly_is_not_wrong_way(grid_map: RoadMap, scene: Scene) -> None:
    detector = EventDetector(grid_map)
    assert (
        run(
            detector,
            SignalStates(grid_map),
            scene,
            drive("A0B0_1", start_s_m=20.0, speed_mps=12.0, reverse=False, seconds=6.0),
        )
        == []
    )
    # One second against the lane (a U-turn manoeuvre, a heading glitch): short of 2 s and 15 m.
    detector = EventDetector(grid_map)
    frames = drive("A0B0_1", start_s_m=100.0, speed_mps=6.0, reverse=True, seconds=1.0)
    frames += [
        (t + 1_000, actors)
        for t, actors in drive("A0B0_1", start_s_m=94.0, speed_mps=6.0, reverse=False, seconds=5.0)
    ]
    assert run(detector, SignalStates(grid_map), scene, frames) == []


def test_wrong_way_run_across_a_coverage_gap_stays_one_event(grid_map: RoadMap, scene: Scene) -> None:
    """Seen for 6 s, unseen for 8 s (a gap between sensors), then seen again under a new track id."""
    frames = drive("A0B0_1", start_s_m=170.0, speed_mps=8.0, reverse=True, seconds=20.0)
    gapped = []
    for k, (t, actors) in enumerate(frames):
        if 60 <= k < 140:
            gapped.append((t, []))
        else:
            gapped.append((t, [dataclasses.replace(a, track_id=8) if k >= 140 else a for a in actors]))
    published = run(EventDetector(grid_map), SignalStates(grid_map), scene, gapped)
    assert [e.event_type for e in started(published)] == [EventType.WRONG_WAY]
    assert {e.event_id for e in published} == {"ev-wrong_way-1"}
    assert 8 in published[-1].track_ids
