"""Pedestrian or cyclist on the carriageway: on a car lane that does not admit them, away from crossings."""

from __future__ import annotations

from roadcloud.events import EventDetector, EventPhase, EventType, SignalStates
from roadcloud.map import RoadMap
from roadcloud.messages.truth import ActorKind

from .scene import Actor, Scene, run, ticks


def person(track_id: int = 9, **where: object) -> Actor:
    return Actor(track_id, speed_mps=1.0, kind=ActorKind.PEDESTRIAN, length_m=0.25, width_m=0.5, **where)  # type: ignore[arg-type]


def test_pedestrian_walking_in_a_travel_lane(grid_map: RoadMap, scene: Scene) -> None:
    detector = EventDetector(grid_map)
    frames = [(t, [person(lane_id="A0B0_1", s_m=80.0, heading_deg=None)]) for t in ticks(4.0)]
    published = run(detector, SignalStates(grid_map), scene, frames)
    starts = [e for e in published if e.phase == EventPhase.STARTED]
    assert [e.event_type for e in starts] == [EventType.VULNERABLE_USER_ON_CARRIAGEWAY]
    assert starts[0].lane_id == "A0B0_1" and starts[0].severity >= 4


def test_pedestrian_on_a_crossing_or_the_sidewalk_is_not_on_the_carriageway(
    grid_map: RoadMap, scene: Scene
) -> None:
    crossing = grid_map.lanes[":B0_c3_0"]  # across the eastbound approach to B0
    mid_x, mid_y = crossing.shape_xy.mean(axis=0)
    for actor in (
        person(x_m=float(mid_x), y_m=float(mid_y), heading_deg=0.0),
        person(lane_id="A0B0_0", s_m=80.0),  # the sidewalk, walking with it
        person(lane_id="A0B0_0", s_m=80.0, reverse=True, lateral_m=0.8),  # against it, at the kerb
    ):
        detector = EventDetector(grid_map)
        assert run(detector, SignalStates(grid_map), scene, [(t, [actor]) for t in ticks(4.0)]) == [], actor


def test_cyclist_on_a_lane_open_to_bicycles_is_not_an_event(grid_map: RoadMap, scene: Scene) -> None:
    assert grid_map.lanes["A0B0_1"].allows("bicycle")
    detector = EventDetector(grid_map)
    cyclist = Actor(5, "A0B0_1", s_m=80.0, speed_mps=5.0, kind=ActorKind.BICYCLE, length_m=1.7, width_m=0.65)
    assert run(detector, SignalStates(grid_map), scene, [(t, [cyclist]) for t in ticks(4.0)]) == []
