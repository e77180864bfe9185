"""Scripted incidents: make them happen in the simulation and record when and where they really happened.

Stopped, slow and surge vehicles are real SUMO vehicles, so traffic reacts to them. A wrong-way vehicle and
a pedestrian on the carriageway are kinematic actors the twin moves itself (SUMO cannot drive against a
lane or walk a person across a lane away from a crossing); sensors see them like any other actor, but
SUMO's vehicles do not brake for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import libsumo
import msgspec
import numpy as np

from roadcloud.map import Lane, RoadMap
from roadcloud.messages.truth import ActorKind, IncidentKind, IncidentTruth
from roadcloud.twin.manifest import Incident

SURGE_ROUTE_ATTEMPTS = 8


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


def lane_point(lane: Lane, pos_m: float) -> tuple[float, float, float]:
    """(x, y, heading_deg) at ``pos_m`` along a lane's centre line, heading clockwise from north."""
    shape = lane.shape_xy
    steps = np.hypot(*np.diff(shape, axis=0).T)
    cumulative = np.concatenate([[0.0], np.cumsum(steps)])
    pos = float(np.clip(pos_m, 0.0, cumulative[-1]))
    segment = int(np.clip(np.searchsorted(cumulative, pos, side="right") - 1, 0, len(steps) - 1))
    fraction = (pos - cumulative[segment]) / steps[segment] if steps[segment] > 0 else 0.0
    start, end = shape[segment], shape[segment + 1]
    x_m, y_m = start + fraction * (end - start)
    heading_deg = math.degrees(math.atan2(end[0] - start[0], end[1] - start[1])) % 360.0
    return float(x_m), float(y_m), heading_deg


class IncidentRunner:
    """Starts and ends the manifest's incidents as twin time passes; keeps their ground truth."""

    def __init__(
        self, incidents: list[Incident], road_map: RoadMap, *, start_epoch_ms: int, seed: int
    ) -> None:
        self._pending = sorted(incidents, key=lambda incident: incident.start_s)
        self._road_map = road_map
        self._start_epoch_ms = start_epoch_ms
        self._rng = np.random.default_rng(seed + 13)
        self._active: dict[str, Incident] = {}
        self._truth: dict[str, IncidentTruth] = {}
        self._saved_permissions: dict[str, list[str]] = {}
        self._surge_next_s: dict[str, float] = {}
        self._surge_count: dict[str, int] = {}
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
            self._start(self._pending.pop(0), time_s)
        for incident in list(self._active.values()):
            truth = self._truth[incident.id]
            ended_early = truth.actor_id is not None and truth.actor_id in arrived
            if time_s >= incident.start_s + incident.duration_s or ended_early:
                self._end(incident, time_s)
            elif incident.kind == IncidentKind.DEMAND_SURGE:
                self._surge(incident, time_s)

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

    def _start(self, incident: Incident, time_s: float) -> None:
        lane = self._road_map.lane(incident.lane)
        x_m, y_m, _ = lane_point(lane, incident.pos_m)
        actor_id: str | None = None
        vehicle_id = f"incident_{incident.id}"
        if incident.kind in (IncidentKind.STOPPED_VEHICLE, IncidentKind.SLOW_VEHICLE):
            route = (
                [lane.edge_id]
                if incident.kind == IncidentKind.STOPPED_VEHICLE
                else self._onward_route(lane.edge_id)
            )
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
        self._active[incident.id] = incident
        self._truth[incident.id] = IncidentTruth(
            incident_id=incident.id,
            kind=incident.kind,
            lane_id=lane.id,
            pos_m=incident.pos_m,
            x_m=round(x_m, 3),
            y_m=round(y_m, 3),
            start_ms=self._epoch_ms(time_s),
            actor_id=actor_id,
        )

    def _end(self, incident: Incident, time_s: float) -> None:
        truth = self._truth[incident.id]
        vehicles = set(libsumo.vehicle.getIDList())
        if incident.kind in (IncidentKind.STOPPED_VEHICLE, IncidentKind.SLOW_VEHICLE):
            if truth.actor_id in vehicles:
                if incident.kind == IncidentKind.STOPPED_VEHICLE:
                    libsumo.vehicle.setSpeed(truth.actor_id, -1.0)  # back to normal driving
                else:
                    libsumo.vehicle.setMaxSpeed(truth.actor_id, 50.0)
                libsumo.vehicle.setLaneChangeMode(truth.actor_id, 0b011001010101)  # SUMO's default mode
        elif incident.kind == IncidentKind.LANE_CLOSURE:
            libsumo.lane.setAllowed(incident.lane, self._saved_permissions.pop(incident.lane))
        del self._active[incident.id]
        self._truth[incident.id] = msgspec.structs.replace(truth, end_ms=self._epoch_ms(time_s))

    def _surge(self, incident: Incident, time_s: float) -> None:
        interval_s = 3600.0 / incident.extra_vehicles_per_hour
        target_edge = self._road_map.lane(incident.lane).edge_id
        while self._surge_next_s[incident.id] <= time_s:
            self._surge_next_s[incident.id] += interval_s
            for _ in range(SURGE_ROUTE_ATTEMPTS):
                origin = self._origins[int(self._rng.integers(len(self._origins)))]
                route = libsumo.simulation.findRoute(origin, target_edge, vType="car").edges
                if route:
                    number = self._surge_count[incident.id]
                    self._surge_count[incident.id] = number + 1
                    route_id = f"surge_{incident.id}_{number}"
                    libsumo.route.add(route_id, list(route))
                    libsumo.vehicle.add(route_id, route_id, typeID="car", depart="now", departLane="best")
                    break

    def _onward_route(self, edge_id: str) -> list[str]:
        for _ in range(SURGE_ROUTE_ATTEMPTS):
            destination = self._origins[int(self._rng.integers(len(self._origins)))]
            edges = libsumo.simulation.findRoute(edge_id, destination, vType="car").edges
            if len(edges) > 1:
                return list(edges)
        return [edge_id]

    def _epoch_ms(self, time_s: float) -> int:
        return self._start_epoch_ms + round(time_s * 1000)
