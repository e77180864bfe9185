"""Red-light violation: crossing the stop line on red (SPAT); stopping at red or crossing on green is not."""

from __future__ import annotations

from roadcloud.events import EventConfig, EventDetector, EventPhase, EventType, SignalStates
from roadcloud.map import RoadMap
from roadcloud.messages import SPAT, LightState

from .scene import T0_MS, Actor, Scene, run, ticks

APPROACH = "left0A0_1"  # eastbound into A0; the stop line is at x = 139.6
LINE_X_M = 139.6
Y_M = 145.2  # the approach lane and the straight path through A0 (to A0B0_1) share this line


def lights(
    scene: Scene,
    seconds: float,
    light: LightState,
    *,
    switch_at_s: float | None = None,
    then: LightState | None = None,
) -> dict[int, list[SPAT]]:
    """SPAT of A0 every 100 ms: the eastbound straight and right movements show ``light`` (``then`` from
    ``switch_at_s``), every other group red."""
    groups = {scene.group_of(APPROACH, "A0B0_1"), scene.group_of(APPROACH, "A0bottom0_1")}
    spats = {}
    for t in ticks(seconds):
        now = (
            then
            if switch_at_s is not None and then is not None and t >= T0_MS + switch_at_s * 1000
            else light
        )
        spats[t] = [scene.spat(t, "A0", dict.fromkeys(groups, now))]
    return spats


def eastbound(x_of_time: dict[int, float], speed_of_time: dict[int, float]) -> list[tuple[int, list[Actor]]]:
    return [
        (t, [Actor(21, x_m=x_of_time[t], y_m=Y_M, heading_deg=90.0, speed_mps=speed_of_time[t])])
        for t in sorted(x_of_time)
    ]


def cruise(seconds: float, *, start_x_m: float, speed_mps: float) -> list[tuple[int, list[Actor]]]:
    times = ticks(seconds)
    return eastbound(
        {t: start_x_m + speed_mps * (t - T0_MS) / 1000.0 for t in times}, dict.fromkeys(times, speed_mps)
    )


def test_running_a_red_light_is_a_violation(grid_map: RoadMap, scene: Scene) -> None:
    detector = EventDetector(grid_map)
    frames = cruise(6.0, start_x_m=90.0, speed_mps=12.0)  # crosses the line at ~4.1 s
    spats = lights(scene, 6.0, LightState.YELLOW, switch_at_s=1.0, then=LightState.RED)
    published = run(detector, SignalStates(grid_map), scene, frames, spats=spats)
    starts = [e for e in published if e.phase == EventPhase.STARTED]
    assert [e.event_type for e in starts] == [EventType.RED_LIGHT_VIOLATION]
    event = starts[0]
    assert event.lane_id == APPROACH and abs(event.s_m - grid_map.lanes[APPROACH].length_m) < 0.01
    crossed_ms = T0_MS + (LINE_X_M - 90.0) / 12.0 * 1000
    assert abs(event.start_ms - crossed_ms) <= 150  # the interpolated moment of crossing
    assert event.update_ms - crossed_ms <= 1_000
    assert abs(event.details["red_s"] - (crossed_ms - T0_MS - 1_000) / 1000.0) < 0.15
    assert event.severity == 5 and event.track_ids == [21]  # 3 s into red: cross traffic has green


def test_stopping_at_red_and_going_on_green_is_not_a_violation(grid_map: RoadMap, scene: Scene) -> None:
    """Brakes to a stop 1 m before the line (position noise reaches across it), waits, goes at green."""
    times = ticks(20.0)
    x, v = {}, {}
    for t in times:
        s = (t - T0_MS) / 1000.0
        if s < 4.0:  # 10 m/s braking at 2.5 m/s² from x = 118.6 to a stop at 138.6
            v[t] = 10.0 - 2.5 * s
            x[t] = 118.6 + 10.0 * s - 1.25 * s * s
        elif s < 12.0:  # standing, jittering by ±0.4 m
            v[t] = 0.1
            x[t] = 138.6 + 0.4 * (((t // 100) % 3) - 1)
        else:  # green: off it goes
            v[t] = min(2.0 * (s - 12.0), 10.0)
            x[t] = 138.6 + (s - 12.0) ** 2
    spats = lights(scene, 20.0, LightState.RED, switch_at_s=12.0, then=LightState.PROTECTED_GREEN)
    assert run(EventDetector(grid_map), SignalStates(grid_map), scene, eastbound(x, v), spats=spats) == []


def test_crossing_on_green_or_just_as_red_begins_is_not_a_violation(grid_map: RoadMap, scene: Scene) -> None:
    frames = cruise(6.0, start_x_m=90.0, speed_mps=12.0)
    green = lights(scene, 6.0, LightState.PROTECTED_GREEN)
    assert run(EventDetector(grid_map), SignalStates(grid_map), scene, frames, spats=green) == []
    # Red from 0.2 s before the crossing: inside the grace period.
    crossing_s = (LINE_X_M - 90.0) / 12.0
    late = lights(scene, 6.0, LightState.YELLOW, switch_at_s=crossing_s - 0.2, then=LightState.RED)
    config = EventConfig()
    assert config.red_light_grace_s >= 0.3
    assert run(EventDetector(grid_map, config), SignalStates(grid_map), scene, frames, spats=late) == []


def test_without_signal_data_nothing_is_claimed(grid_map: RoadMap, scene: Scene) -> None:
    frames = cruise(6.0, start_x_m=90.0, speed_mps=12.0)
    assert run(EventDetector(grid_map), SignalStates(grid_map), scene, frames) == []
