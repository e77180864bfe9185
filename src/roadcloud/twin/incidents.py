"""Scripted incidents: make them happen in the simulation and record when and where they really happened.

Where it sits: inside the twin's run loop (``runtime.Twin``), one ``IncidentRunner.step`` per 100 ms after
SUMO's step. What it records (``IncidentTruth``) goes out with every ground-truth message; evaluation
(``roadcloud.eval.events``) scores the platform's road events against it.

Stopped, slow, surge, speeding, red-light-running and near-collision vehicles are real SUMO vehicles, so
traffic reacts to them. A demand surge pours extra vehicles into the scripted lane's road, on across the
junction at its end, faster than its green can let them through, so a real queue builds there. A
wrong-way vehicle and a pedestrian on the carriageway are kinematic actors the twin moves itself (SUMO
cannot drive against a lane or walk a person across a lane away from a crossing); sensors see them like
any other actor, but SUMO's vehicles do not brake for them.

Three kinds wait for their moment and record it, because what makes them an incident is one act that the
scene must allow:

- ``red_light_runner`` is put on the road, at a steady speed, when it will reach the stop line just after
  its light turns red, with the lane ahead of it clear and nobody standing in the junction or walking on
  its crossings, so nothing stops it at the line; it ignores the red (SUMO speed mode 7: no right-of-way
  or red-light checks, still no driving into anyone) and the truth records when its front crossed the
  stop line and that the light was red then.
- ``near_collision`` puts a lead crawling at its scripted speed and, behind it, a follower at the lane's
  limit on an empty stretch; the follower keeps its speed (speed mode 0, its speed set every step) until
  the time to collision with whatever is ahead falls to ``BRAKE_TTC_S``, then brakes hard to the leader's
  speed. The truth records the true time to collision, gap and closing speed every step, and when the
  time to collision first fell under ``NEAR_COLLISION_TTC_S``.
- ``speeding_vehicle`` starts with a free lane and a green light ahead and drives at its scripted multiple
  of the limit; the truth records when its true speed first passed ``SPEEDING_RATIO`` times its lane's
  limit.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import libsumo
import msgspec
import numpy as np
from traci import constants as tc

from roadcloud.map import Connection, Lane, RoadMap
from roadcloud.messages import LightState
from roadcloud.messages.truth import (
    NEAR_COLLISION_TTC_S,
    SPEEDING_RATIO,
    SURGE_QUEUE_VEHICLES,
    ActorKind,
    IncidentKind,
    IncidentTruth,
)
from roadcloud.twin.manifest import MAX_WAIT_S, NEAR_COLLISION_FOLLOW_GAP_M, WAITING_KINDS, Incident
from roadcloud.twin.scene import lane_point, onward_connection, straight_signalised_connection
from roadcloud.twin.signals import light_of

SURGE_ROUTE_ATTEMPTS = 8

INCIDENT_VTYPE = "incident_car"
"""A copy of the zone's ``car`` type with no speed deviation, so scripted vehicles drive as scripted."""

DEFAULT_SPEED_MODE = 31  # SUMO: safe speed, acceleration and deceleration limits, right of way, red lights
RUN_RED_SPEED_MODE = 7  # keep safe speed and acceleration limits; ignore right of way and red lights
NO_CHECKS_SPEED_MODE = 0  # the speed set through libsumo is driven as it is
DEFAULT_LANE_CHANGE_MODE = 0b011001010101  # SUMO's default

RED_ARRIVAL_S = (1.0, 3.0)
"""A red-light runner starts only if, at its speed, it reaches the stop line this long after red begins…"""
RED_LIGHT_MARGIN_S = 3.0
"""…the light then stays red at least this much longer…"""
RED_LIGHT_CLEAR_AHEAD_M = 10.0
"""…and nobody is on its lane from this far behind its start to the stop line, on its way through the
junction, standing inside it or walking on its crossings: they would stop it at the line, and a runner
creeping over the line behind them is not what this incident is about."""
RED_LIGHT_AFTERMATH_S = 5.0
"""A red-light running incident ends this long after the crossing."""

NEAR_COLLISION_CLEAR_M = 80.0
"""A near collision starts on a lane with nobody from behind its follower to this far ahead of its lead."""
BRAKE_TTC_S = 1.2
"""The follower brakes once the time to collision with its leader is down to this."""
BRAKE_DECEL_MPS2 = 8.5
"""Emergency braking, just short of SUMO's emergency deceleration for a car (9 m/s²). Closing at ~15 m/s
from 1.2 s away this leaves a gap of ~4.5 m: a near miss that needed more than 6 m/s² to avoid."""
MIN_GAP_M = 2.0
"""Below this bumper gap the follower takes its leader's speed at once: a near collision, never a crash."""
MAX_CLOSING_S = 30.0
"""A follower that has not closed in on anyone by then gives up; the incident did not happen."""
NEAR_COLLISION_AFTERMATH_S = 3.0
"""A near collision ends this long after the follower has matched its leader's speed."""

LEADER_LOOKAHEAD_M = 200.0  # how far ahead the follower looks for whoever it is closing in on
SPEEDING_CLEAR_AHEAD_M = 120.0
"""A speeding vehicle starts with nobody this far ahead on its lane, and a green light it can make."""

_GO = frozenset({LightState.PROTECTED_GREEN, LightState.PERMISSIVE_GREEN})


@dataclass(slots=True)
class ScriptedActor:
    """An actor outside SUMO: position follows a closed-form path in time."""

    actor_id: str
    kind: ActorKind
    lane_id: str
    x_m: float
    y_m: float
    speed_mps: float
    heading_deg: float
    length_m: float
    width_m: float


@dataclass(slots=True)
class _RedLightRun:
    connection: Connection
    crossed: bool = False
    released: bool = False


@dataclass(slots=True)
class _NearCollision:
    lead_id: str
    limit_mps: float
    phase: str = "closing"  # closing → braking → released
    started_s: float = 0.0
    min_ttc_s: float = math.inf
    min_gap_m: float = math.inf
    max_closing_mps: float = 0.0
    max_needed_decel_mps2: float = 0.0


@dataclass(slots=True)
class _Speeding:
    max_ratio: float = 0.0


@dataclass(slots=True)
class _State:
    """What an active incident needs to remember between steps, per kind."""

    red_light: _RedLightRun | None = None
    near_collision: _NearCollision | None = None
    speeding: _Speeding | None = None


def incident_of_actor(actor_id: str, incident_ids: Collection[str]) -> str | None:
    """Which of ``incident_ids`` a twin actor belongs to, by the ids the runner gives its actors:
    ``incident_{id}`` (the incident's own vehicle or pedestrian), ``incident_{id}_lead`` (a near
    collision's lead) and ``surge_{id}_{n}`` (a demand surge's extra vehicles); None for everyone else."""
    if actor_id.startswith("incident_"):
        rest = actor_id.removeprefix("incident_")
        if rest in incident_ids:
            return rest
        lead_of = rest.removesuffix("_lead")
        return lead_of if lead_of != rest and lead_of in incident_ids else None
    if actor_id.startswith("surge_"):
        head, _, number = actor_id.removeprefix("surge_").rpartition("_")
        return head if number.isdigit() and head in incident_ids else None
    return None


class IncidentRunner:
    """Starts and ends the manifest's incidents as twin time passes; keeps their ground truth."""

    def __init__(
        self, incidents: list[Incident], road_map: RoadMap, *, start_epoch_ms: int, seed: int
    ) -> None:
        self._pending = sorted(incidents, key=lambda incident: incident.start_s)
        self._road_map = road_map
        self._start_epoch_ms = start_epoch_ms
        self._rng = np.random.default_rng(seed + 13)
        self._waiting: dict[str, Incident] = {}  # scheduled, waiting for the scene to allow them
        self._active: dict[str, Incident] = {}
        self._state: dict[str, _State] = {}
        self._truth: dict[str, IncidentTruth] = {}
        self._saved_permissions: dict[str, list[str]] = {}
        self._surge_next_s: dict[str, float] = {}
        self._surge_count: dict[str, int] = {}
        self._junction_lanes: dict[str, list[str]] = {}
        self._programs: dict[tuple[str, str], tuple[tuple[float, str], ...]] = {}
        self._vtype_ready = False
        self.never_happened: list[str] = []  # ids of incidents the scene never allowed
        self._origins = [
            edge.id
            for edge in road_map.edges.values()
            if edge.function == "normal"
            and any("passenger" in road_map.lanes[lane].allowed_classes for lane in edge.lane_ids)
        ]

    @property
    def active(self) -> list[IncidentTruth]:
        return [self._truth[incident_id] for incident_id in self._active]

    @property
    def all_truth(self) -> list[IncidentTruth]:
        return list(self._truth.values())

    def step(self, time_s: float, departed: set[str], arrived: set[str]) -> None:
        while self._pending and self._pending[0].start_s <= time_s:
            incident = self._pending.pop(0)
            if incident.kind in WAITING_KINDS:
                self._waiting[incident.id] = incident
            else:
                self._start(incident, time_s)
        for incident in list(self._waiting.values()):
            self._try_start(incident, time_s)
        for incident in list(self._active.values()):
            truth = self._truth[incident.id]
            ended_early = truth.actor_id is not None and truth.actor_id in arrived
            if time_s >= incident.start_s + incident.duration_s or ended_early:
                self._end(incident, time_s)
            elif incident.kind == IncidentKind.DEMAND_SURGE:
                self._surge(incident, time_s)
            elif incident.kind == IncidentKind.SPEEDING_VEHICLE:
                self._watch_speeding(incident, time_s)
            elif incident.kind == IncidentKind.RED_LIGHT_RUNNER:
                self._watch_red_light(incident, time_s)
            elif incident.kind == IncidentKind.NEAR_COLLISION:
                self._control_near_collision(incident, time_s)

    def scripted_actors(self, time_s: float) -> list[ScriptedActor]:
        """Positions of the kinematic actors of the active incidents at ``time_s``."""
        actors = []
        for incident in self._active.values():
            if incident.kind == IncidentKind.WRONG_WAY_VEHICLE:
                lane = self._road_map.lane(incident.lane)
                travelled_m = incident.speed_mps * (time_s - incident.start_s)
                x_m, y_m, heading_deg = lane_point(lane, incident.pos_m - travelled_m)
                actors.append(
                    ScriptedActor(
                        f"incident_{incident.id}",
                        ActorKind.CAR,
                        lane.id,
                        x_m,
                        y_m,
                        incident.speed_mps,
                        (heading_deg + 180.0) % 360.0,
                        4.6,
                        1.8,
                    )
                )
            elif incident.kind == IncidentKind.PEDESTRIAN_ON_CARRIAGEWAY:
                lane = self._road_map.lane(incident.lane)
                x_m, y_m, heading_deg = lane_point(lane, incident.pos_m)
                # Walks back and forth across the lane, one lane width each way.
                span_m = lane.width_m
                phase_m = (incident.speed_mps * (time_s - incident.start_s)) % (2 * span_m)
                offset_m = phase_m - span_m / 2 if phase_m < span_m else 1.5 * span_m - phase_m
                walking_deg = heading_deg + (90.0 if phase_m < span_m else -90.0)
                across = math.radians(heading_deg + 90.0)
                actors.append(
                    ScriptedActor(
                        f"incident_{incident.id}",
                        ActorKind.PEDESTRIAN,
                        lane.id,
                        x_m + offset_m * math.sin(across),
                        y_m + offset_m * math.cos(across),
                        incident.speed_mps,
                        walking_deg % 360.0,
                        0.5,
                        0.6,
                    )
                )
        return actors

    # -- starting -----------------------------------------------------------------------------------

    def _start(self, incident: Incident, time_s: float) -> None:
        lane = self._road_map.lane(incident.lane)
        x_m, y_m, _ = lane_point(lane, incident.pos_m)
        actor_id: str | None = None
        vehicle_id = f"incident_{incident.id}"
        if incident.kind in (IncidentKind.STOPPED_VEHICLE, IncidentKind.SLOW_VEHICLE):
            route = [lane.edge_id]
            connection = onward_connection(self._road_map, lane.id)
            if incident.kind == IncidentKind.SLOW_VEHICLE and connection is not None:
                # On through a movement its own lane has: it may not change lanes while it crawls.
                route += self._onward_route(self._road_map.lanes[connection.to_lane_id].edge_id)
            libsumo.route.add(f"route_{vehicle_id}", route)
            libsumo.vehicle.add(
                vehicle_id,
                f"route_{vehicle_id}",
                typeID="car",
                depart="now",
                departLane=str(lane.index),
                departPos=f"{incident.pos_m:.1f}",
                departSpeed="0" if incident.kind == IncidentKind.STOPPED_VEHICLE else "desired",
            )
            libsumo.vehicle.setLaneChangeMode(vehicle_id, 0)
            if incident.kind == IncidentKind.STOPPED_VEHICLE:
                libsumo.vehicle.setSpeed(vehicle_id, 0.0)
            else:
                libsumo.vehicle.setMaxSpeed(vehicle_id, max(incident.speed_mps, 0.5))
            actor_id = vehicle_id
        elif incident.kind == IncidentKind.LANE_CLOSURE:
            self._saved_permissions[lane.id] = list(libsumo.lane.getAllowed(lane.id))
            libsumo.lane.setAllowed(lane.id, ["authority"])
        elif incident.kind in (IncidentKind.WRONG_WAY_VEHICLE, IncidentKind.PEDESTRIAN_ON_CARRIAGEWAY):
            actor_id = vehicle_id
        elif incident.kind == IncidentKind.DEMAND_SURGE:
            self._surge_next_s[incident.id] = time_s
            self._surge_count[incident.id] = 0
        self._begin(
            incident, time_s, _State(), lane=lane, pos_m=incident.pos_m, xy=(x_m, y_m), actor_id=actor_id
        )

    def _try_start(self, incident: Incident, time_s: float) -> None:
        """Start a waiting incident once the scene allows it; give up after ``MAX_WAIT_S``."""
        if time_s >= incident.start_s + MAX_WAIT_S:
            del self._waiting[incident.id]
            self.never_happened.append(incident.id)
            return
        if incident.kind == IncidentKind.SPEEDING_VEHICLE:
            started = self._start_speeding(incident, time_s)
        elif incident.kind == IncidentKind.RED_LIGHT_RUNNER:
            started = self._start_red_light_run(incident, time_s)
        else:
            started = self._start_near_collision(incident, time_s)
        if started:
            self._waiting.pop(incident.id, None)
            # Its duration counts from now, when it really started.
            self._active[incident.id] = msgspec.structs.replace(incident, start_s=time_s)

    def _start_speeding(self, incident: Incident, time_s: float) -> bool:
        lane = self._road_map.lane(incident.lane)
        if not self._lane_clear(lane.id, incident.pos_m - 10.0, incident.pos_m + SPEEDING_CLEAR_AHEAD_M):
            return False
        connection = straight_signalised_connection(self._road_map, lane.id)
        if connection is not None:
            # Through the junction at speed: red ahead would only make it brake for the stop line.
            to_stop_line_s = (lane.length_m - incident.pos_m) / max(incident.speed_mps, 1.0)
            if self._light_left_s(connection, time_s, _GO) < to_stop_line_s + 1.0:
                return False
        else:
            connection = onward_connection(self._road_map, lane.id)
        route = [lane.edge_id]
        if connection is not None:
            route += self._onward_route(self._road_map.lanes[connection.to_lane_id].edge_id)
        self._ensure_vtype()
        vehicle_id = f"incident_{incident.id}"
        libsumo.route.add(f"route_{vehicle_id}", route)
        libsumo.vehicle.add(
            vehicle_id,
            f"route_{vehicle_id}",
            typeID=INCIDENT_VTYPE,
            depart="now",
            departLane=str(lane.index),
            departPos=f"{incident.pos_m:.1f}",
            departSpeed="desired",
        )
        # The speed factor scales every lane's limit, so it speeds by the same share all along its route.
        libsumo.vehicle.setSpeedFactor(vehicle_id, incident.speed_mps / lane.speed_limit_mps)
        x_m, y_m, _ = lane_point(lane, incident.pos_m)
        self._begin(
            incident,
            time_s,
            _State(speeding=_Speeding()),
            lane=lane,
            pos_m=incident.pos_m,
            xy=(x_m, y_m),
            actor_id=vehicle_id,
        )
        self._update(incident.id, details={"limit_mps": round(lane.speed_limit_mps, 3)})
        return True

    def _start_red_light_run(self, incident: Incident, time_s: float) -> bool:
        lane = self._road_map.lane(incident.lane)
        connection = straight_signalised_connection(self._road_map, lane.id)
        if connection is None or connection.tls_id is None:
            # The manifest names a lane without a signalised straight movement: it can never happen.
            self._waiting.pop(incident.id, None)
            self.never_happened.append(incident.id)
            return False
        if not self._red_light_moment(incident, lane, connection, time_s):
            return False
        self._ensure_vtype()
        vehicle_id = f"incident_{incident.id}"
        to_edge = self._road_map.lanes[connection.to_lane_id].edge_id
        libsumo.route.add(f"route_{vehicle_id}", [lane.edge_id, *self._onward_route(to_edge)])
        libsumo.vehicle.add(
            vehicle_id,
            f"route_{vehicle_id}",
            typeID=INCIDENT_VTYPE,
            depart="now",
            departLane=str(lane.index),
            departPos=f"{incident.pos_m:.1f}",
            departSpeed=f"{incident.speed_mps:.2f}",
        )
        libsumo.vehicle.setSpeedMode(vehicle_id, RUN_RED_SPEED_MODE)
        libsumo.vehicle.setLaneChangeMode(vehicle_id, 0)
        libsumo.vehicle.setMaxSpeed(vehicle_id, incident.speed_mps)  # at a steady speed: on time at the line
        stop_x_m, stop_y_m, _ = lane_point(lane, lane.length_m)
        # Where it happens is the stop line; the truth keeps that, not where the vehicle was put on the road.
        self._begin(
            incident,
            time_s,
            _State(red_light=_RedLightRun(connection)),
            lane=lane,
            pos_m=lane.length_m,
            xy=(stop_x_m, stop_y_m),
            actor_id=vehicle_id,
        )
        return True

    def _red_light_moment(
        self, incident: Incident, lane: Lane, connection: Connection, time_s: float
    ) -> bool:
        """Whether a red-light runner put on the road now reaches the stop line just after the light turns
        red, as red-light runners do: the cross traffic is still starting then, so the junction is clear
        for it (SUMO keeps it from hitting anyone already inside, which would stop it at the line)."""
        timing = self._red_timing_s(connection, time_s)
        if timing is None:
            return False  # red already: wait for the next cycle
        until_red_s, red_s = timing
        arrives_after_red_s = (lane.length_m - incident.pos_m) / max(incident.speed_mps, 1.0) - until_red_s
        via_busy = (
            bool(connection.via_lane_id) and libsumo.lane.getLastStepVehicleNumber(connection.via_lane_id) > 0
        )
        return (
            RED_ARRIVAL_S[0] <= arrives_after_red_s <= RED_ARRIVAL_S[1]
            and red_s >= arrives_after_red_s + RED_LIGHT_MARGIN_S
            and self._lane_clear(lane.id, incident.pos_m - RED_LIGHT_CLEAR_AHEAD_M, lane.length_m)
            and not via_busy
            and not self._standing_in_junction(self._road_map.edges[lane.edge_id].to_junction_id)
            and not self._people_crossing(self._road_map.edges[lane.edge_id].to_junction_id)
        )

    def _start_near_collision(self, incident: Incident, time_s: float) -> bool:
        lane = self._road_map.lane(incident.lane)
        follower_pos_m = incident.pos_m - NEAR_COLLISION_FOLLOW_GAP_M
        if follower_pos_m < 0.0 or not self._lane_clear(
            lane.id, follower_pos_m - 10.0, incident.pos_m + NEAR_COLLISION_CLEAR_M
        ):
            return False
        self._ensure_vtype()
        follower_id = f"incident_{incident.id}"
        lead_id = f"incident_{incident.id}_lead"
        connection = onward_connection(self._road_map, lane.id)
        route = [lane.edge_id]
        if connection is not None:
            route += self._onward_route(self._road_map.lanes[connection.to_lane_id].edge_id)
        libsumo.route.add(f"route_{follower_id}", route)
        for vehicle_id, pos_m, speed in (
            (lead_id, incident.pos_m, f"{incident.speed_mps:.2f}"),
            (follower_id, follower_pos_m, "desired"),
        ):
            libsumo.vehicle.add(
                vehicle_id,
                f"route_{follower_id}",
                typeID=INCIDENT_VTYPE,
                depart="now",
                departLane=str(lane.index),
                departPos=f"{pos_m:.1f}",
                departSpeed=speed,
            )
            libsumo.vehicle.setLaneChangeMode(vehicle_id, 0)
        libsumo.vehicle.setMaxSpeed(lead_id, max(incident.speed_mps, 0.5))
        libsumo.vehicle.setSpeedMode(follower_id, NO_CHECKS_SPEED_MODE)
        x_m, y_m, _ = lane_point(lane, incident.pos_m)
        self._begin(
            incident,
            time_s,
            _State(near_collision=_NearCollision(lead_id, lane.speed_limit_mps, started_s=time_s)),
            lane=lane,
            pos_m=incident.pos_m,
            xy=(x_m, y_m),
            actor_id=follower_id,
        )
        self._update(incident.id, other_actor_id=lead_id)
        return True

    def _begin(
        self,
        incident: Incident,
        time_s: float,
        state: _State,
        *,
        lane: Lane,
        pos_m: float,
        xy: tuple[float, float],
        actor_id: str | None,
    ) -> None:
        self._active[incident.id] = incident
        self._state[incident.id] = state
        self._truth[incident.id] = IncidentTruth(
            incident_id=incident.id,
            kind=incident.kind,
            lane_id=lane.id,
            pos_m=round(pos_m, 2),
            x_m=round(xy[0], 3),
            y_m=round(xy[1], 3),
            start_ms=self._epoch_ms(time_s),
            actor_id=actor_id,
        )

    # -- while active -------------------------------------------------------------------------------

    def _watch_speeding(self, incident: Incident, time_s: float) -> None:
        state = self._state[incident.id].speeding
        vehicle_id = self._truth[incident.id].actor_id
        if state is None or vehicle_id is None or not _on_road(vehicle_id):
            return
        speed_mps = libsumo.vehicle.getSpeed(vehicle_id)
        lane_id = libsumo.vehicle.getLaneID(vehicle_id)
        lane = self._road_map.lanes.get(lane_id)
        if lane is None or lane.is_internal:
            return  # junction paths carry turning speeds, not the road's limit
        ratio = speed_mps / lane.speed_limit_mps
        if ratio <= state.max_ratio:
            return
        state.max_ratio = ratio
        truth = self._truth[incident.id]
        details = {**truth.details, "max_speed_mps": round(speed_mps, 3), "max_ratio": round(ratio, 3)}
        if truth.event_ms is None and ratio > SPEEDING_RATIO:
            self._update(incident.id, event_ms=self._epoch_ms(time_s), details=details)
        else:
            self._update(incident.id, details=details)

    def _watch_red_light(self, incident: Incident, time_s: float) -> None:
        state = self._state[incident.id].red_light
        vehicle_id = self._truth[incident.id].actor_id
        if state is None or vehicle_id is None or not _on_road(vehicle_id):
            return
        lane_id = libsumo.vehicle.getLaneID(vehicle_id)
        connection = state.connection
        if not state.crossed and lane_id and lane_id != connection.from_lane_id:
            state.crossed = True
            assert connection.tls_id is not None
            light = light_of(
                libsumo.trafficlight.getRedYellowGreenState(connection.tls_id)[connection.link_index]
            )
            speed_mps = libsumo.vehicle.getSpeed(vehicle_id)
            # The front passed the stop line during the last step: back off by what it drove past it.
            past_line_m = (
                libsumo.vehicle.getLanePosition(vehicle_id) if lane_id == connection.via_lane_id else 0.0
            )
            back_s = min(past_line_m / speed_mps, 0.1) if speed_mps > 0.1 else 0.0
            details = {"speed_mps": round(speed_mps, 3), "red": 1.0 if light == LightState.RED else 0.0}
            if light == LightState.RED:
                self._update(incident.id, event_ms=self._epoch_ms(time_s - back_s), details=details)
            else:
                self._update(incident.id, details=details)
            # The act is over: let the incident end shortly after, whatever its scheduled window.
            self._schedule_end(incident, time_s + RED_LIGHT_AFTERMATH_S)
        if state.crossed and not state.released and not lane_id.startswith(":"):
            libsumo.vehicle.setSpeedMode(vehicle_id, DEFAULT_SPEED_MODE)
            libsumo.vehicle.setLaneChangeMode(vehicle_id, DEFAULT_LANE_CHANGE_MODE)
            libsumo.vehicle.setMaxSpeed(vehicle_id, libsumo.vehicletype.getMaxSpeed(INCIDENT_VTYPE))
            state.released = True

    def _control_near_collision(self, incident: Incident, time_s: float) -> None:
        state = self._state[incident.id].near_collision
        follower_id = self._truth[incident.id].actor_id
        if state is None or follower_id is None or state.phase == "released":
            return
        if not _on_road(follower_id):
            if time_s - state.started_s > MAX_CLOSING_S:
                self._release_near_collision(incident, time_s)
            return  # still waiting to be inserted
        leader = libsumo.vehicle.getLeader(follower_id, LEADER_LOOKAHEAD_M)
        follower_edge = libsumo.vehicle.getRoadID(follower_id)
        left_its_road = follower_edge != self._road_map.lane(
            incident.lane
        ).edge_id and not follower_edge.startswith(":")
        if not leader or not leader[0] or left_its_road:
            # Nobody ahead to close in on, or past the scripted road: never drive blind with checks off.
            self._release_near_collision(incident, time_s)
            return
        follower_mps = libsumo.vehicle.getSpeed(follower_id)
        leader_id, leader_dist_m = leader
        gap_m = leader_dist_m + libsumo.vehicle.getMinGap(follower_id)  # SUMO measures from front + minGap
        leader_mps = libsumo.vehicle.getSpeed(leader_id)
        closing_mps = follower_mps - leader_mps
        ttc_s = gap_m / closing_mps if closing_mps > 1e-3 else math.inf
        self._record_conflict(
            incident, time_s, state, ttc_s=ttc_s, gap_m=gap_m, closing_mps=closing_mps, other_id=leader_id
        )
        if state.phase == "closing":
            if ttc_s <= BRAKE_TTC_S or gap_m <= MIN_GAP_M:
                state.phase = "braking"
            elif time_s - state.started_s > MAX_CLOSING_S:
                self._release_near_collision(incident, time_s)
                return
            else:
                libsumo.vehicle.setSpeed(follower_id, state.limit_mps)
                return
        # Braking: hard, down to the leader's speed; at once if the gap is nearly gone.
        target_mps = max(leader_mps, follower_mps - BRAKE_DECEL_MPS2 * 0.1)
        if gap_m <= MIN_GAP_M:
            target_mps = min(leader_mps, follower_mps)
        libsumo.vehicle.setSpeed(follower_id, target_mps)
        if follower_mps <= leader_mps + 0.3:
            self._release_near_collision(incident, time_s)

    def _record_conflict(
        self,
        incident: Incident,
        time_s: float,
        state: _NearCollision,
        *,
        ttc_s: float,
        gap_m: float,
        closing_mps: float,
        other_id: str,
    ) -> None:
        """Keep the conflict's extremes from the true states: least time to collision and gap, highest
        closing speed and the deceleration it took to avoid contact (closing speed² / 2 gap)."""
        needed_decel_mps2 = closing_mps**2 / (2.0 * gap_m) if closing_mps > 0 and gap_m > 0 else 0.0
        if (
            ttc_s >= state.min_ttc_s
            and gap_m >= state.min_gap_m
            and closing_mps <= state.max_closing_mps
            and needed_decel_mps2 <= state.max_needed_decel_mps2
        ):
            return
        state.min_ttc_s = min(state.min_ttc_s, ttc_s)
        state.min_gap_m = min(state.min_gap_m, gap_m)
        state.max_closing_mps = max(state.max_closing_mps, closing_mps)
        state.max_needed_decel_mps2 = max(state.max_needed_decel_mps2, needed_decel_mps2)
        truth = self._truth[incident.id]
        details = {
            **truth.details,
            "min_gap_m": round(state.min_gap_m, 3),
            "max_closing_mps": round(state.max_closing_mps, 3),
            "max_needed_decel_mps2": round(state.max_needed_decel_mps2, 3),
        }
        if math.isfinite(state.min_ttc_s):
            details["min_ttc_s"] = round(state.min_ttc_s, 3)
        if truth.event_ms is None and ttc_s < NEAR_COLLISION_TTC_S:
            assert truth.actor_id is not None
            x_m, y_m = libsumo.vehicle.getPosition(truth.actor_id)
            # Where it happened: the follower at the moment the time to collision fell under the threshold.
            self._update(
                incident.id,
                event_ms=self._epoch_ms(time_s),
                other_actor_id=other_id,
                x_m=round(x_m, 3),
                y_m=round(y_m, 3),
                pos_m=round(libsumo.vehicle.getLanePosition(truth.actor_id), 2),
                lane_id=libsumo.vehicle.getLaneID(truth.actor_id),
                details=details,
            )
        else:
            self._update(incident.id, details=details)

    def _release_near_collision(self, incident: Incident, time_s: float) -> None:
        state = self._state[incident.id].near_collision
        assert state is not None
        state.phase = "released"
        follower_id = self._truth[incident.id].actor_id
        for vehicle_id in (follower_id, state.lead_id):
            if vehicle_id is not None and _on_road(vehicle_id):
                libsumo.vehicle.setLaneChangeMode(vehicle_id, DEFAULT_LANE_CHANGE_MODE)
        if follower_id is not None and _on_road(follower_id):
            libsumo.vehicle.setSpeedMode(follower_id, DEFAULT_SPEED_MODE)
            libsumo.vehicle.setSpeed(follower_id, -1.0)  # back to SUMO's car following
        if _on_road(state.lead_id):
            libsumo.vehicle.setMaxSpeed(state.lead_id, libsumo.vehicletype.getMaxSpeed(INCIDENT_VTYPE))
        self._schedule_end(incident, time_s + NEAR_COLLISION_AFTERMATH_S)

    def _schedule_end(self, incident: Incident, end_s: float) -> None:
        """End an incident at ``end_s`` (twin seconds) instead of at the end of its scheduled window."""
        if end_s < incident.start_s + incident.duration_s:
            self._active[incident.id] = msgspec.structs.replace(
                incident, duration_s=max(end_s - incident.start_s, 0.1)
            )

    # -- ending -------------------------------------------------------------------------------------

    def _end(self, incident: Incident, time_s: float) -> None:
        truth = self._truth[incident.id]
        vehicles = set(libsumo.vehicle.getIDList())
        if incident.kind in (IncidentKind.STOPPED_VEHICLE, IncidentKind.SLOW_VEHICLE):
            if truth.actor_id in vehicles:
                if incident.kind == IncidentKind.STOPPED_VEHICLE:
                    libsumo.vehicle.setSpeed(truth.actor_id, -1.0)  # back to normal driving
                else:
                    libsumo.vehicle.setMaxSpeed(truth.actor_id, 50.0)
                libsumo.vehicle.setLaneChangeMode(truth.actor_id, DEFAULT_LANE_CHANGE_MODE)
        elif incident.kind == IncidentKind.SPEEDING_VEHICLE:
            if truth.actor_id in vehicles:
                libsumo.vehicle.setSpeedFactor(truth.actor_id, 1.0)
        elif incident.kind == IncidentKind.RED_LIGHT_RUNNER:
            if truth.actor_id in vehicles:
                libsumo.vehicle.setSpeedMode(truth.actor_id, DEFAULT_SPEED_MODE)
                libsumo.vehicle.setLaneChangeMode(truth.actor_id, DEFAULT_LANE_CHANGE_MODE)
                libsumo.vehicle.setMaxSpeed(truth.actor_id, libsumo.vehicletype.getMaxSpeed(INCIDENT_VTYPE))
        elif incident.kind == IncidentKind.NEAR_COLLISION:
            state = self._state[incident.id].near_collision
            if state is not None and state.phase != "released":
                self._release_near_collision(incident, time_s)
        elif incident.kind == IncidentKind.LANE_CLOSURE:
            libsumo.lane.setAllowed(incident.lane, self._saved_permissions.pop(incident.lane))
        del self._active[incident.id]
        del self._state[incident.id]
        self._update(incident.id, end_ms=self._epoch_ms(time_s))

    # -- helpers ------------------------------------------------------------------------------------

    def _update(self, incident_id: str, **changes: object) -> None:
        self._truth[incident_id] = msgspec.structs.replace(self._truth[incident_id], **changes)

    def _ensure_vtype(self) -> None:
        if not self._vtype_ready:
            libsumo.vehicletype.copy("car", INCIDENT_VTYPE)
            libsumo.vehicletype.setSpeedDeviation(INCIDENT_VTYPE, 0.0)
            self._vtype_ready = True

    def _program(self, tls_id: str) -> tuple[tuple[float, str], ...]:
        """The (duration_s, state) phases of the program a traffic light runs now."""
        program_id = libsumo.trafficlight.getProgram(tls_id)
        phases = self._programs.get((tls_id, program_id))
        if phases is None:
            logic = next(
                lg for lg in libsumo.trafficlight.getAllProgramLogics(tls_id) if lg.programID == program_id
            )
            phases = self._programs[(tls_id, program_id)] = tuple(
                (float(p.duration), str(p.state)) for p in logic.phases
            )
        return phases

    def _light_left_s(self, connection: Connection, time_s: float, lights: frozenset[LightState]) -> float:
        """How long the light of a signalised connection stays one of ``lights`` from now (0 when it is
        none of them), by the program SUMO runs: the rest of this phase and every following phase that
        keeps it so."""
        assert connection.tls_id is not None
        tls_id, link = connection.tls_id, connection.link_index
        if light_of(libsumo.trafficlight.getRedYellowGreenState(tls_id)[link]) not in lights:
            return 0.0
        phases = self._program(tls_id)
        current = libsumo.trafficlight.getPhase(tls_id)
        left_s = libsumo.trafficlight.getNextSwitch(tls_id) - time_s
        for step in range(1, len(phases)):
            duration_s, state = phases[(current + step) % len(phases)]
            if light_of(state[link]) not in lights:
                break
            left_s += duration_s
        return max(float(left_s), 0.0)

    def _red_timing_s(self, connection: Connection, time_s: float) -> tuple[float, float] | None:
        """(seconds until the movement's light turns red, how long that red lasts) by the program SUMO
        runs; None while it is red."""
        assert connection.tls_id is not None
        tls_id, link = connection.tls_id, connection.link_index
        if light_of(libsumo.trafficlight.getRedYellowGreenState(tls_id)[link]) == LightState.RED:
            return None
        phases = self._program(tls_id)
        current = libsumo.trafficlight.getPhase(tls_id)
        until_s = float(libsumo.trafficlight.getNextSwitch(tls_id)) - time_s
        red_s = 0.0
        for step in range(1, len(phases) + 1):
            duration_s, state = phases[(current + step) % len(phases)]
            if light_of(state[link]) == LightState.RED:
                red_s += duration_s
            elif red_s > 0.0:
                break
            else:
                until_s += duration_s
        return (max(until_s, 0.0), red_s) if red_s > 0.0 else None

    def _standing_in_junction(self, junction_id: str) -> bool:
        """Whether a vehicle stands inside a junction (e.g. waiting to turn left across oncoming traffic)."""
        lanes = self._junction_lanes.get(junction_id)
        if lanes is None:
            prefix = f":{junction_id}_"
            lanes = self._junction_lanes[junction_id] = [
                lane.id
                for lane in self._road_map.lanes.values()
                if lane.is_internal and lane.id.startswith(prefix)
            ]
        return any(
            libsumo.vehicle.getSpeed(vehicle_id) < 1.0
            for lane_id in lanes
            for vehicle_id in libsumo.lane.getLastStepVehicleIDs(lane_id)
        )

    @staticmethod
    def _people_crossing(junction_id: str) -> bool:
        """Whether anyone walks on a pedestrian crossing of a junction (SUMO persons, read from the twin's
        subscriptions): a vehicle always yields to them, so a runner would wait at the line."""
        prefix = f":{junction_id}_c"
        return any(
            str(row[tc.VAR_ROAD_ID]).startswith(prefix)
            for row in libsumo.person.getAllSubscriptionResults().values()
            if row
        )

    def _lane_clear(self, lane_id: str, from_m: float, to_m: float) -> bool:
        """No vehicle on the lane between two positions (front positions, metres along the lane)."""
        return not any(
            from_m <= libsumo.vehicle.getLanePosition(vehicle_id) <= to_m
            for vehicle_id in libsumo.lane.getLastStepVehicleIDs(lane_id)
        )

    def _surge(self, incident: Incident, time_s: float) -> None:
        """Extra vehicles enter the scripted lane's road at its start, as if a crowd of cars had just
        turned into it, and drive on through the junction at its end, each to its own destination.

        They enter the road itself: from farther away the junctions upstream would meter them into a
        trickle. They go on across the junction, so the extra demand meets its stop line's capacity and
        the queue builds on the scripted road (ending their trips on it, they would leave the road before
        its stop line); each to its own destination, so they spread out there and the queue stays on it.
        """
        interval_s = 3600.0 / incident.extra_vehicles_per_hour
        edge_id = self._road_map.lane(incident.lane).edge_id
        while self._surge_next_s[incident.id] <= time_s:
            self._surge_next_s[incident.id] += interval_s
            number = self._surge_count[incident.id]
            self._surge_count[incident.id] = number + 1
            vehicle_id = route_id = f"surge_{incident.id}_{number}"
            libsumo.route.add(route_id, self._onward_route(edge_id))
            libsumo.vehicle.add(
                vehicle_id,
                route_id,
                typeID="car",
                depart="now",
                departLane="best",
                departSpeed="max",
            )
        # How long the queue grew: the most vehicles standing on the road at once, and when it first
        # held enough of them to call it congested.
        halting = libsumo.edge.getLastStepHaltingNumber(self._road_map.lane(incident.lane).edge_id)
        truth = self._truth[incident.id]
        if halting > truth.details.get("max_halting", -1.0):
            details = {**truth.details, "max_halting": float(halting)}
            if truth.event_ms is None and halting >= SURGE_QUEUE_VEHICLES:
                self._update(incident.id, details=details, event_ms=self._epoch_ms(time_s))
            else:
                self._update(incident.id, details=details)

    def _onward_route(self, edge_id: str) -> list[str]:
        for _ in range(SURGE_ROUTE_ATTEMPTS):
            destination = self._origins[int(self._rng.integers(len(self._origins)))]
            edges = libsumo.simulation.findRoute(edge_id, destination, vType="car").edges
            if len(edges) > 1:
                return list(edges)
        return [edge_id]

    def _epoch_ms(self, time_s: float) -> int:
        return self._start_epoch_ms + round(time_s * 1000)


def _on_road(vehicle_id: str) -> bool:
    """Whether a vehicle added through libsumo has been inserted and not yet arrived."""
    try:
        return bool(libsumo.vehicle.getLaneID(vehicle_id))
    except libsumo.TraCIException:
        return False
