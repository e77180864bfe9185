"""SignalStates: lights per movement and approach lane from SPAT, their likely change, and recent history."""

from __future__ import annotations

import pytest

from roadcloud.errors import SettingError
from roadcloud.events import SignalStates
from roadcloud.map import RoadMap
from roadcloud.messages import LightState
from roadcloud.twin.devices import junction_node_ids
from roadcloud.twin.field import build_map_messages

from .scene import T0_MS, Scene

STRAIGHT = ("left0A0_1", "A0B0_1")  # eastbound through A0
RIGHT = ("left0A0_1", "A0bottom0_1")


def test_connection_light_and_its_likely_end(grid_map: RoadMap, scene: Scene) -> None:
    signals = SignalStates(grid_map)
    group = scene.group_of(*STRAIGHT)
    spat = scene.spat(
        T0_MS, "A0", {group: LightState.PROTECTED_GREEN}, end_ms=T0_MS + 12_300, next_light=LightState.YELLOW
    )
    assert signals.update(spat, received_ms=T0_MS + 20) == len(grid_map.signal_controllers["A0"].groups)
    light = signals.connection_light(*STRAIGHT, T0_MS + 50)
    assert light is not None and light.is_green and not light.is_red
    assert light.likely_end_ms == T0_MS + 12_300 and light.next_light == LightState.YELLOW
    assert light.since_ms is None  # it was green before the first SPAT: when it began is unknown
    # Predicted past the likely end: the next light.
    later = signals.connection_light(*STRAIGHT, T0_MS + 12_400)
    assert later is not None and later.light == LightState.YELLOW and later.since_ms == T0_MS + 12_300
    # Unsignalised movements and unknown lanes have no light.
    assert signals.connection_light("A0B0_1", "nowhere", T0_MS) is None
    assert signals.lane_light("A0B0_0", T0_MS) is None  # a sidewalk
    assert signals.is_signalised("left0A0_1") and not signals.is_signalised("A0B0_0")


def test_lane_light_is_the_most_permissive_movement(grid_map: RoadMap, scene: Scene) -> None:
    signals = SignalStates(grid_map)
    straight, right = scene.group_of(*STRAIGHT), scene.group_of(*RIGHT)
    assert straight != right
    signals.update(scene.spat(T0_MS, "A0", {straight: LightState.RED, right: LightState.PERMISSIVE_GREEN}))
    lights = signals.lane_lights("left0A0_1", T0_MS)
    assert (
        lights["A0B0_1"].light == LightState.RED
        and lights["A0bottom0_1"].light == LightState.PERMISSIVE_GREEN
    )
    lane = signals.lane_light("left0A0_1", T0_MS)
    assert lane is not None and lane.light == LightState.PERMISSIVE_GREEN


def test_history_answers_for_the_recent_past(grid_map: RoadMap, scene: Scene) -> None:
    """The LDM runs a latency budget behind the SPAT stream: lights are asked for slightly old times."""
    signals = SignalStates(grid_map)
    group = scene.group_of(*STRAIGHT)
    for k in range(50):  # green for 3 s (likely end announced), then red
        t = T0_MS + 100 * k
        light = LightState.PROTECTED_GREEN if t < T0_MS + 3_000 else LightState.RED
        signals.update(
            scene.spat(t, "A0", {group: light}, end_ms=T0_MS + 3_000 if t < T0_MS + 3_000 else None)
        )
    before = signals.connection_light(*STRAIGHT, T0_MS + 2_950)
    after = signals.connection_light(*STRAIGHT, T0_MS + 3_050)
    assert before is not None and before.is_green and before.likely_end_ms == T0_MS + 3_000
    assert after is not None and after.is_red and after.since_ms == T0_MS + 3_000  # the announced change
    assert signals.connection_light(*STRAIGHT, T0_MS - 1_000) is None  # before the first SPAT
    assert signals.latest_ms == T0_MS + 4_900


def test_a_silent_controller_is_unknown(grid_map: RoadMap, scene: Scene) -> None:
    signals = SignalStates(grid_map, max_age_ms=2_000)
    signals.update(scene.spat(T0_MS, "A0", {}, default=LightState.RED), received_ms=T0_MS + 20)
    signals.update(scene.spat(T0_MS + 1_900, "B0", {}, default=LightState.RED), received_ms=T0_MS + 1_920)
    assert signals.connection_light(*STRAIGHT, T0_MS + 1_900) is not None
    signals.update(scene.spat(T0_MS + 2_100, "B0", {}, default=LightState.RED), received_ms=T0_MS + 2_120)
    assert signals.connection_light(*STRAIGHT, T0_MS + 1_900) is None  # A0 has been silent for 2.1 s


def test_spat_waits_for_a_clock_and_resolves_its_time_stamp(grid_map: RoadMap, scene: Scene) -> None:
    """Without received_ms the first SPATs wait for the first query, which tells the year."""
    signals = SignalStates(grid_map)
    assert signals.update(scene.spat(T0_MS, "A0", {}, default=LightState.RED)) == 0
    light = signals.connection_light(*STRAIGHT, T0_MS + 100)
    assert light is not None and light.is_red and light.measured_ms == T0_MS


def test_unknown_intersections_and_phases_are_counted_not_applied(grid_map: RoadMap, scene: Scene) -> None:
    signals = SignalStates(grid_map, node_junctions={77: "B1"})
    spat = scene.spat(T0_MS, "B1", {}, default=LightState.RED)
    moved = spat.intersections[0].intersection_id
    import msgspec

    unknown = msgspec.structs.replace(
        spat,
        intersections=[
            msgspec.structs.replace(
                spat.intersections[0], intersection_id=msgspec.structs.replace(moved, id=999)
            )
        ],
    )
    assert signals.update(unknown, received_ms=T0_MS) == 0 and signals.unknown_intersections == 1
    renamed = msgspec.structs.replace(
        spat,
        intersections=[
            msgspec.structs.replace(
                spat.intersections[0], intersection_id=msgspec.structs.replace(moved, id=77)
            )
        ],
    )
    assert signals.update(renamed, received_ms=T0_MS) > 0
    assert signals.lane_light("A1B1_1", T0_MS) is not None


def test_map_messages_teach_node_ids(grid_map: RoadMap) -> None:
    numbers = junction_node_ids(grid_map)
    signals = SignalStates(grid_map)
    maps = build_map_messages(grid_map, numbers)
    assert sum(signals.learn_map(message) for message in maps) == len(grid_map.signalised_junctions())


def test_settings_are_checked(grid_map: RoadMap) -> None:
    with pytest.raises(SettingError, match="max_age_ms"):
        SignalStates(grid_map, max_age_ms=0)
    with pytest.raises(SettingError, match="'nowhere'"):
        SignalStates(grid_map, node_junctions={5: "nowhere"})
