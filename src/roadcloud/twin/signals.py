"""Signal phase and timing from a SUMO signal program, per signal group.

A SUMO program is a cycle of phases, each a state string with one character per controlled link. A
signal group (``roadcloud.map.SignalGroup``) is a set of links that always show the same light. For SPAT
each group needs its light now, when that light ends and what comes next. Those follow from the program
alone, so they are computed once per program (``ProgramTiming``) and each step only adds the time left in
the current phase.
"""

from __future__ import annotations

from dataclasses import dataclass

from roadcloud.messages import (
    SPAT,
    IntersectionState,
    LightState,
    NodeReferenceId,
    Phase,
    PhaseState,
    TimeCountingDown,
)

# SUMO link state characters (sumo.dlr.de "Traffic Lights": signal state definitions).
_LIGHT_OF_CHAR = {
    "r": LightState.RED,
    "u": LightState.RED,  # red+yellow before green: still stop
    "y": LightState.YELLOW,
    "Y": LightState.YELLOW,
    "g": LightState.PERMISSIVE_GREEN,
    "G": LightState.PROTECTED_GREEN,
    "s": LightState.PERMISSIVE_GREEN,  # green right turn after stopping
    "o": LightState.FLASHING_YELLOW,
    "O": LightState.DARK,
}

UNKNOWN_END_S = 3600.0  # TimeMark's largest meaningful value; a group that never changes
MAX_TIMEMARK = 36000  # 3600 s in 0.1 s; 36001 means "unknown"
MAX_SPAT_PHASES = 16  # an IntersectionState carries at most 16 phases


def light_of(char: str) -> LightState:
    return _LIGHT_OF_CHAR.get(char, LightState.UNAVAILABLE)


@dataclass(frozen=True, slots=True)
class GroupTiming:
    light: LightState
    after_phase_end_s: float  # how long the light lasts after the current phase ends
    next_light: LightState
    next_duration_s: float


@dataclass(frozen=True, slots=True)
class ProgramTiming:
    """Per phase index, per signal group: the light and how long it lasts beyond the phase."""

    program_id: str
    by_phase: tuple[tuple[GroupTiming, ...], ...]

    @classmethod
    def from_program(
        cls, program_id: str, phases: list[tuple[float, str]], group_links: list[int]
    ) -> ProgramTiming:
        """``phases``: (duration_s, state) in order; ``group_links``: one link index per signal group."""
        lights = [[light_of(state[link]) for link in group_links] for _, state in phases]
        durations = [duration for duration, _ in phases]
        count = len(phases)
        by_phase = []
        for phase in range(count):
            timings = []
            for group, light in enumerate(lights[phase]):
                after_s = 0.0
                step = 1
                while step < count and lights[(phase + step) % count][group] == light:
                    after_s += durations[(phase + step) % count]
                    step += 1
                if step == count:  # the light never changes in this program
                    timings.append(GroupTiming(light, UNKNOWN_END_S, light, UNKNOWN_END_S))
                    continue
                first_next = (phase + step) % count
                next_light = lights[first_next][group]
                next_duration_s = 0.0
                while lights[(phase + step) % count][group] == next_light and step < 2 * count:
                    next_duration_s += durations[(phase + step) % count]
                    step += 1
                timings.append(GroupTiming(light, after_s, next_light, next_duration_s))
            by_phase.append(tuple(timings))
        return cls(program_id, tuple(by_phase))


def build_spat(
    group_timings: tuple[GroupTiming, ...],
    *,
    remaining_s: float,
    node_id: int,
    msg_cnt: int,
    moy: int,
    sec_mark: int,
    region: int = 1,
) -> SPAT:
    """SPAT of one intersection: per signal group the light now with its likely end, then the next light.

    ``remaining_s`` is the time left in the controller's current phase; times are TimeMark (0.1 s) from now.
    """
    phases = []
    for group, timing in enumerate(group_timings[:MAX_SPAT_PHASES]):
        end_tm = min(round((remaining_s + timing.after_phase_end_s) * 10), MAX_TIMEMARK)
        next_end_tm = min(end_tm + round(timing.next_duration_s * 10), MAX_TIMEMARK)
        phases.append(
            Phase(
                id=group,
                phase_states=[
                    PhaseState(
                        light=timing.light, timing=TimeCountingDown(start_time=0, likely_end_time=end_tm)
                    ),
                    PhaseState(
                        light=timing.next_light,
                        timing=TimeCountingDown(start_time=end_tm, likely_end_time=next_end_tm),
                    ),
                ],
            )
        )
    return SPAT(
        msg_cnt=msg_cnt % 128,
        moy=moy,
        time_stamp=sec_mark,
        intersections=[
            IntersectionState(
                intersection_id=NodeReferenceId(id=node_id, region=region),
                moy=moy,
                time_stamp=sec_mark,
                phases=phases,
            )
        ],
    )
