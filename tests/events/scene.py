"""Constructed LDM snapshots and SPAT messages with known answers, on the tiny grid of ``conftest.py``.

An ``Actor`` is placed by lane and position (or by coordinates); ``Scene.snapshot`` turns actors into an
``LdmSnapshot`` the way fusion would: velocity from speed and heading, lane and ``s`` from the same
heading-aware ``LaneMatcher`` fusion uses. ``spat`` builds the SPAT a signal controller would send.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from roadcloud.events import EventDetector, RoadEvent, SignalStates
from roadcloud.events.lanes import LaneTable
from roadcloud.fusion import LdmSnapshot
from roadcloud.map import LaneMatcher, RoadMap
from roadcloud.messages import (
    SPAT,
    IntersectionState,
    LightState,
    NodeReferenceId,
    Phase,
    PhaseState,
    TimeCountingDown,
)
from roadcloud.messages.truth import ActorKind
from roadcloud.messages.units import epoch_ms_to_moy, epoch_ms_to_sec_mark

T0_MS = 1_780_000_000_000  # on the 100 ms grid, as fusion's snapshots are
STEP_MS = 100


@dataclass(frozen=True, slots=True)
class Actor:
    """One road user: on ``lane_id`` at ``s_m`` (``lateral_m`` left of the centre line, ``reverse``
    against the lane), or at ``x_m``/``y_m`` with ``heading_deg`` when those are given."""

    track_id: int
    lane_id: str | None = None
    s_m: float = 0.0
    speed_mps: float = 0.0
    kind: ActorKind = ActorKind.CAR
    lateral_m: float = 0.0
    reverse: bool = False
    x_m: float | None = None
    y_m: float | None = None
    heading_deg: float | None = None
    length_m: float = 4.6
    width_m: float = 1.8
    sources: int = 2


class Scene:
    def __init__(self, road_map: RoadMap) -> None:
        self.road_map = road_map
        self.lanes = LaneTable(road_map)
        self.matcher = LaneMatcher(road_map)

    def length(self, lane_id: str) -> float:
        return self.road_map.lanes[lane_id].length_m

    def place(self, actor: Actor) -> tuple[float, float, float]:
        """(x, y, heading) of an actor."""
        if actor.x_m is not None and actor.y_m is not None:
            return actor.x_m, actor.y_m, actor.heading_deg or 0.0
        assert actor.lane_id is not None
        lane = np.array([self.lanes.index[actor.lane_id]])
        x, y, heading = self.lanes.centre(lane, np.array([actor.s_m]))
        h = math.radians(float(heading[0]))
        # Left of the travel direction (heading clockwise from north) is (-cos h, sin h).
        x_m = float(x[0]) - actor.lateral_m * math.cos(h)
        y_m = float(y[0]) + actor.lateral_m * math.sin(h)
        heading_deg = (float(heading[0]) + (180.0 if actor.reverse else 0.0)) % 360.0
        return x_m, y_m, heading_deg

    def snapshot(self, time_ms: int, actors: Iterable[Actor]) -> LdmSnapshot:
        actors = list(actors)
        count = len(actors)
        if count == 0:
            empty = LdmSnapshot.empty(time_ms)
            return dataclasses.replace(empty, lane_id=np.empty(0, dtype=object))
        placed = np.array([self.place(a) for a in actors], dtype=np.float64).reshape(-1, 3)
        x, y, heading = placed[:, 0], placed[:, 1], placed[:, 2]
        speed = np.array([a.speed_mps for a in actors])
        rad = np.radians(heading)
        match = self.matcher.match(x, y, heading)
        return LdmSnapshot(
            time_ms=time_ms,
            track_id=np.array([a.track_id for a in actors], dtype=np.int64),
            x_m=x,
            y_m=y,
            vx_mps=speed * np.sin(rad),
            vy_mps=speed * np.cos(rad),
            speed_mps=speed,
            heading_deg=heading,
            length_m=np.array([a.length_m for a in actors]),
            width_m=np.array([a.width_m for a in actors]),
            kind=np.array([int(a.kind) for a in actors], dtype=np.int64),
            position_cov_m2=np.broadcast_to(np.eye(2) * 0.02, (count, 2, 2)).copy(),
            lane_id=match.lane_ids,
            s_m=match.s_m,
            source_count=np.array([a.sources for a in actors], dtype=np.int64),
        )

    def node_id(self, tls_id: str) -> int:
        """SPAT intersection id of a traffic light, numbered as the twin numbers them."""
        junction = self.road_map.signal_controllers[tls_id].junction_ids[0]
        return sorted(self.road_map.junctions).index(junction) + 1

    def spat(
        self,
        time_ms: int,
        tls_id: str,
        lights: Mapping[int, LightState],
        *,
        default: LightState = LightState.RED,
        end_ms: int | None = None,
        next_light: LightState | None = None,
    ) -> SPAT:
        """SPAT of one controller: each group's light (``default`` where not given), changing at
        ``end_ms`` (unknown if None) to ``next_light``."""
        controller = self.road_map.signal_controllers[tls_id]
        end_tm = 36_001 if end_ms is None else max(0, round((end_ms - time_ms) / 100))
        phases = []
        for group in controller.groups:
            states = [
                PhaseState(
                    light=lights.get(group.index, default),
                    timing=TimeCountingDown(start_time=0, likely_end_time=end_tm),
                )
            ]
            if next_light is not None and end_ms is not None:
                states.append(
                    PhaseState(
                        light=next_light, timing=TimeCountingDown(start_time=end_tm, likely_end_time=36_001)
                    )
                )
            phases.append(Phase(id=group.index, phase_states=states))
        moy = epoch_ms_to_moy(time_ms)
        sec_mark = epoch_ms_to_sec_mark(time_ms)
        return SPAT(
            msg_cnt=(time_ms // 100) % 128,
            moy=moy,
            time_stamp=sec_mark,
            intersections=[
                IntersectionState(
                    intersection_id=NodeReferenceId(id=self.node_id(tls_id), region=1),
                    moy=moy,
                    time_stamp=sec_mark,
                    phases=phases,
                )
            ],
        )

    def group_of(self, from_lane: str, to_lane: str) -> int:
        for controller in self.road_map.signal_controllers.values():
            for group in controller.groups:
                if (from_lane, to_lane) in group.connections:
                    return group.index
        raise KeyError((from_lane, to_lane))


def run(
    detector: EventDetector,
    signals: SignalStates,
    scene: Scene,
    frames: Iterable[tuple[int, list[Actor]]],
    *,
    spats: Mapping[int, list[SPAT]] | None = None,
) -> list[RoadEvent]:
    """Feed frames (time, actors) in order, with SPATs due at each time first; every publication out."""
    published: list[RoadEvent] = []
    for time_ms, actors in frames:
        for spat in (spats or {}).get(time_ms, []):
            signals.update(spat, received_ms=time_ms)
        published.extend(detector.update(scene.snapshot(time_ms, actors), signals))
    return published


def ticks(seconds: float, *, start_ms: int = T0_MS) -> list[int]:
    """Snapshot times every 100 ms for ``seconds``."""
    return [start_ms + STEP_MS * k for k in range(round(seconds * 1000 / STEP_MS))]
