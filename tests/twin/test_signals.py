from __future__ import annotations

from roadcloud.messages.signal import LightState
from roadcloud.twin.signals import UNKNOWN_END_S, ProgramTiming, build_spat

# Two groups on links 0 and 1: group 0 green-yellow-red-red, group 1 red-red-green-yellow.
PHASES = [(30.0, "Gr"), (3.0, "yr"), (25.0, "rG"), (4.0, "ry")]


def test_light_lasts_until_the_group_changes() -> None:
    timing = ProgramTiming.from_program("0", PHASES, [0, 1])
    group0_in_phase0, group1_in_phase0 = timing.by_phase[0]
    assert group0_in_phase0.light == LightState.PROTECTED_GREEN
    assert group0_in_phase0.after_phase_end_s == 0.0  # yellow follows directly
    assert group0_in_phase0.next_light == LightState.YELLOW
    assert group0_in_phase0.next_duration_s == 3.0
    assert group1_in_phase0.light == LightState.RED
    assert group1_in_phase0.after_phase_end_s == 3.0  # red through the yellow phase of group 0
    assert group1_in_phase0.next_light == LightState.PROTECTED_GREEN
    assert group1_in_phase0.next_duration_s == 25.0


def test_red_spans_the_cycle_end() -> None:
    timing = ProgramTiming.from_program("0", PHASES, [0, 1])
    group0_in_phase2 = timing.by_phase[2][0]
    assert group0_in_phase2.light == LightState.RED
    assert group0_in_phase2.after_phase_end_s == 4.0
    assert group0_in_phase2.next_light == LightState.PROTECTED_GREEN
    assert group0_in_phase2.next_duration_s == 30.0


def test_a_group_that_never_changes_has_unknown_end() -> None:
    timing = ProgramTiming.from_program("0", [(10.0, "Gr"), (10.0, "Gy")], [0])
    assert timing.by_phase[0][0].after_phase_end_s == UNKNOWN_END_S


def test_spat_counts_down_from_the_phase_end() -> None:
    timing = ProgramTiming.from_program("0", PHASES, [0, 1])
    spat = build_spat(timing.by_phase[0], remaining_s=12.3, node_id=7, msg_cnt=130, moy=100, sec_mark=4200)
    state = spat.intersections[0]
    assert state.intersection_id.id == 7 and spat.msg_cnt == 2  # wraps at 128
    green, red = state.phases
    assert green.phase_states[0].light == LightState.PROTECTED_GREEN
    assert green.phase_states[0].timing is not None
    assert green.phase_states[0].timing.likely_end_time == 123  # 12.3 s in 0.1 s
    assert green.phase_states[1].light == LightState.YELLOW
    assert green.phase_states[1].timing is not None
    assert green.phase_states[1].timing.likely_end_time == 153  # then 3 s of yellow
    assert red.phase_states[0].timing is not None
    assert red.phase_states[0].timing.likely_end_time == 153  # red until the yellow of group 0 ends
