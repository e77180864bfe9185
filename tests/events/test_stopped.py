"""Stopped vehicle on a travel lane: fires within its dwell time + 1 s; a queue at red is not one."""

from __future__ import annotations

import msgspec

from roadcloud.events import EventConfig, EventDetector, EventPhase, EventType, RoadEvent, SignalStates
from roadcloud.map import RoadMap
from roadcloud.messages import LightState

from .scene import T0_MS, Actor, Scene, run, ticks

LANE = "A0B0_1"  # eastbound, 179 m, ends at junction B0
NEIGHBOUR = "A0B0_2"


def traffic_beside(time_ms: int, first_id: int = 100) -> list[Actor]:
    """Cars flowing on the neighbouring lane at 12 m/s, one every 40 m."""
    offset_m = (time_ms - T0_MS) / 1000.0 * 12.0
    return [
        Actor(first_id + k, NEIGHBOUR, s_m=(offset_m + 40.0 * k) % 170.0 + 5.0, speed_mps=12.0)
        for k in range(4)
    ]


def test_stopped_vehicle_is_reported_within_dwell_plus_one_second(grid_map: RoadMap, scene: Scene) -> None:
    config = EventConfig()
    detector = EventDetector(grid_map, config)
    frames = [(t, [Actor(1, LANE, s_m=80.0, speed_mps=0.0), *traffic_beside(t)]) for t in ticks(15.0)]
    published = run(detector, SignalStates(grid_map), scene, frames)
    started = [e for e in published if e.phase == EventPhase.STARTED]
    assert [e.event_type for e in started] == [EventType.STOPPED_VEHICLE]
    event = started[0]
    assert event.lane_id == LANE and abs(event.s_m - 80.0) < 0.5
    assert event.track_ids == [1] and event.event_id == "ev-stopped_vehicle-1"
    assert event.start_ms == T0_MS
    assert event.update_ms - T0_MS <= (config.stopped_dwell_s + 1.0) * 1000
    assert event.details["dwell_s"] >= config.stopped_dwell_s
    assert 1 <= event.severity <= 5 and 0.0 < event.confidence <= 1.0


def test_vehicle_standing_shorter_than_the_dwell_is_not_reported(grid_map: RoadMap, scene: Scene) -> None:
    detector = EventDetector(grid_map)
    frames = [(t, [Actor(1, LANE, s_m=80.0, speed_mps=0.0)]) for t in ticks(8.0)]
    frames += [
        (t, [Actor(1, LANE, s_m=80.0 + (t - frames[-1][0]) / 100.0, speed_mps=10.0)])
        for t in ticks(5.0, start_ms=T0_MS + 8_000)
    ]
    assert run(detector, SignalStates(grid_map), scene, frames) == []


def test_queue_at_a_red_light_is_not_a_stopped_vehicle(grid_map: RoadMap, scene: Scene) -> None:
    """Eight cars queued from the stop line of B0 for 60 s of red: no event of any type."""
    signals = SignalStates(grid_map)
    detector = EventDetector(grid_map)
    end_m = scene.length(LANE)
    queue = [Actor(10 + k, LANE, s_m=end_m - 3.0 - 7.0 * k, speed_mps=0.0) for k in range(8)]
    red = {t: [scene.spat(t, "B0", {}, default=LightState.RED)] for t in ticks(60.0)}
    frames = [(t, [*queue, *traffic_beside(t)]) for t in ticks(60.0)]
    assert run(detector, signals, scene, frames, spats=red) == []


def test_flickering_track_is_one_event(grid_map: RoadMap, scene: Scene) -> None:
    """The stopped car's track changes id every 4 s and drops out for single frames: still one event."""
    detector = EventDetector(grid_map)
    frames: list[tuple[int, list[Actor]]] = []
    for k, t in enumerate(ticks(40.0)):
        if k % 23 == 22:
            frames.append((t, []))  # missed by every sensor this frame
            continue
        track_id = 1000 + k // 40  # a new id every 4 s
        jitter_m = 0.3 * ((k * 7) % 5 - 2) / 2
        frames.append((t, [Actor(track_id, LANE, s_m=80.0 + jitter_m, speed_mps=0.2)]))
    published = run(detector, SignalStates(grid_map), scene, frames)
    ids = {e.event_id for e in published}
    assert ids == {"ev-stopped_vehicle-1"}
    assert [e.phase for e in published].count(EventPhase.STARTED) == 1
    assert EventPhase.ENDED not in [e.phase for e in published]
    assert set(detector.active[0].track_ids) >= {1002, 1009}


def test_event_starts_updates_and_ends(grid_map: RoadMap, scene: Scene) -> None:
    config = EventConfig()
    detector = EventDetector(grid_map, config)
    stand = [(t, [Actor(1, LANE, s_m=80.0, speed_mps=0.0)]) for t in ticks(25.0)]
    leave_start = T0_MS + 25_000
    leave = [
        (t, [Actor(1, LANE, s_m=80.0 + 10.0 * (t - leave_start) / 1000.0, speed_mps=10.0)])
        for t in ticks(8.0, start_ms=leave_start)
    ]
    published = run(detector, SignalStates(grid_map), scene, [*stand, *leave])
    phases = [e.phase for e in published]
    assert phases[0] == EventPhase.STARTED and phases[-1] == EventPhase.ENDED
    assert EventPhase.UPDATED in phases  # refreshed while it stands (refresh_s = 10 s)
    assert len({e.event_id for e in published}) == 1
    ended = published[-1]
    assert ended.end_ms is not None and ended.end_ms == leave_start - 100  # last seen standing
    assert ended.update_ms - ended.end_ms >= config.release_s * 1000
    assert detector.active == []


def test_two_incidents_are_two_events_with_their_own_ids(grid_map: RoadMap, scene: Scene) -> None:
    detector = EventDetector(grid_map)
    frames = [(t, [Actor(1, LANE, s_m=40.0), Actor(2, "B0A0_1", s_m=120.0)]) for t in ticks(12.0)]
    published = run(detector, SignalStates(grid_map), scene, frames)
    assert sorted(e.event_id for e in published) == ["ev-stopped_vehicle-1", "ev-stopped_vehicle-2"]
    assert {e.lane_id for e in published} == {LANE, "B0A0_1"}
    # Every publication is a valid wire message (no NaN, ranges respected).
    for event in published:
        assert msgspec.json.decode(msgspec.json.encode(event), type=RoadEvent) == event


def test_car_standing_at_a_green_stop_line_is_waiting_not_stopped(grid_map: RoadMap, scene: Scene) -> None:
    """A car standing 3 m before the stop line at green for 40 s (yielding to turn): no event."""
    end_m = scene.length(LANE)
    green = {t: [scene.spat(t, "B0", {}, default=LightState.PROTECTED_GREEN)] for t in ticks(40.0)}
    frames = [(t, [Actor(1, LANE, s_m=end_m - 3.0, speed_mps=0.0)]) for t in ticks(40.0)]
    assert run(EventDetector(grid_map), SignalStates(grid_map), scene, frames, spats=green) == []


def test_car_in_a_queue_behind_a_gap_is_queueing(grid_map: RoadMap, scene: Scene) -> None:
    """A standing queue with a 35 m hole in it (a coverage gap): the car behind the hole is queueing."""
    end_m = scene.length(LANE)
    queue = [Actor(10 + k, LANE, s_m=end_m - 3.0 - 7.0 * k) for k in range(3)]
    queue.append(Actor(20, LANE, s_m=end_m - 3.0 - 14.0 - 40.0))  # 35 m bumper to bumper behind the third
    frames = [(t, queue) for t in ticks(30.0)]
    published = run(EventDetector(grid_map), SignalStates(grid_map), scene, frames)
    assert [e for e in published if e.event_type == EventType.STOPPED_VEHICLE] == []
