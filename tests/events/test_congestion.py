"""Congestion: a queue that outlasts the lights, with its length and the position of its end."""

from __future__ import annotations

from roadcloud.events import EventConfig, EventDetector, EventPhase, EventType, SignalStates
from roadcloud.map import RoadMap
from roadcloud.messages import SPAT, LightState

from .scene import T0_MS, Actor, Scene, run, ticks

APPROACH = "A0B0_1"  # eastbound into B0
EXIT = "B0right0_1"  # on from B0, 140 m to the zone's edge
SPACING_M = 7.0


def queue(lane_id: str, *, head_s_m: float, count: int, first_id: int, speed_mps: float = 0.3) -> list[Actor]:
    return [
        Actor(first_id + k, lane_id, s_m=head_s_m - SPACING_M * k, speed_mps=speed_mps) for k in range(count)
    ]


def b0_spats(
    scene: Scene,
    seconds: float,
    light: LightState,
    *,
    switch_at_s: float | None = None,
    then: LightState | None = None,
) -> dict[int, list[SPAT]]:
    groups = {scene.group_of(APPROACH, EXIT), scene.group_of(APPROACH, "B0bottom1_1")}
    spats = {}
    for t in ticks(seconds):
        now = (
            then
            if switch_at_s is not None and then is not None and t >= T0_MS + switch_at_s * 1000
            else light
        )
        spats[t] = [scene.spat(t, "B0", dict.fromkeys(groups, now))]
    return spats


def test_queue_spilling_back_through_a_green_junction_is_congestion(grid_map: RoadMap, scene: Scene) -> None:
    """The exit road is jammed to its end, so the queue on the approach stands through its green."""
    config = EventConfig()
    exit_queue = queue(EXIT, head_s_m=scene.length(EXIT) - 4.0, count=19, first_id=100)
    approach_queue = queue(APPROACH, head_s_m=scene.length(APPROACH) - 3.0, count=10, first_id=200)
    frames = [(t, [*exit_queue, *approach_queue]) for t in ticks(60.0)]
    published = run(
        EventDetector(grid_map, config),
        SignalStates(grid_map),
        scene,
        frames,
        spats=b0_spats(scene, 60.0, LightState.PROTECTED_GREEN),
    )
    starts = [e for e in published if e.phase == EventPhase.STARTED]
    assert [e.event_type for e in starts] == [EventType.CONGESTION]
    event = starts[0]
    # One queue, chained across B0: its end is the last car on the approach, its length both parts.
    tail_s_m = scene.length(APPROACH) - 3.0 - SPACING_M * 9 - 2.3
    assert event.lane_id == APPROACH and abs(event.s_m - tail_s_m) < 0.5
    assert 6.0 * 28 < event.extent_m < 7.0 * 28 + 40.0
    assert event.details["vehicles"] == 29
    assert event.update_ms - T0_MS >= config.congestion_confirm_s * 1000
    assert len(event.track_ids) == 29 or len(event.track_ids) == 32  # capped at 32 ids


def test_queue_at_red_that_clears_at_green_is_not_congestion(grid_map: RoadMap, scene: Scene) -> None:
    red_s = 45.0
    end_m = scene.length(APPROACH)
    frames = []
    for t in ticks(70.0):
        s = (t - T0_MS) / 1000.0
        if s < red_s:
            frames.append((t, queue(APPROACH, head_s_m=end_m - 3.0, count=10, first_id=200, speed_mps=0.0)))
        else:  # discharging at 8 m/s: the queue is gone within seconds
            moved = 8.0 * (s - red_s)
            cars = [
                Actor(a.track_id, APPROACH, s_m=a.s_m + moved, speed_mps=8.0)
                for a in queue(APPROACH, head_s_m=end_m - 3.0, count=10, first_id=200)
            ]
            frames.append((t, [c for c in cars if c.s_m < end_m - 0.5]))
    spats = b0_spats(scene, 70.0, LightState.RED, switch_at_s=red_s, then=LightState.PROTECTED_GREEN)
    assert run(EventDetector(grid_map), SignalStates(grid_map), scene, frames, spats=spats) == []
