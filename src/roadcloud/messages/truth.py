"""Ground truth that the digital twin publishes beside the field messages, for evaluation only.

Unlike field messages it is in the platform's internal frame: metres in the zone's local projection, m/s,
degrees clockwise from north, UTC epoch milliseconds. Actors are stored column-wise so a step with
hundreds of actors is one small struct.
"""

from __future__ import annotations

import enum

from roadcloud.messages.common import Struct


class ActorKind(enum.IntEnum):
    CAR = 1
    BUS = 2
    TRUCK = 3
    MOTORCYCLE = 4
    BICYCLE = 5
    PEDESTRIAN = 6


class IncidentKind(enum.StrEnum):
    """What the twin can script. Recordings store the value, so values are only ever added."""

    STOPPED_VEHICLE = "stopped_vehicle"
    LANE_CLOSURE = "lane_closure"
    SLOW_VEHICLE = "slow_vehicle"
    WRONG_WAY_VEHICLE = "wrong_way_vehicle"
    PEDESTRIAN_ON_CARRIAGEWAY = "pedestrian_on_carriageway"
    DEMAND_SURGE = "demand_surge"
    SPEEDING_VEHICLE = "speeding_vehicle"
    RED_LIGHT_RUNNER = "red_light_runner"
    NEAR_COLLISION = "near_collision"


class IncidentTruth(Struct, frozen=True, kw_only=True):
    """One scripted incident as it really happened; ``end_ms`` is None while it lasts.

    ``start_ms`` is when the incident began (its vehicle was put on the road, the lane closed, …).
    ``event_ms`` is set for kinds with one defining moment, once it has happened: ``speeding_vehicle`` the
    first time the vehicle's true speed passed ``SPEEDING_RATIO`` times the lane's limit,
    ``red_light_runner`` the moment its front crossed the stop line on red, ``near_collision`` the moment
    the true time to collision first fell under ``NEAR_COLLISION_TTC_S``, ``demand_surge`` the moment
    ``SURGE_QUEUE_VEHICLES`` first stood on its road. An incident of those kinds whose
    ``event_ms`` stays None never really happened (traffic prevented it) and is not to be detected.
    ``actor_id`` is the twin actor that is the incident, ``other_actor_id`` the road user a near collision
    nearly hit. ``details`` holds what was measured from the true states, units in the names (e.g.
    ``min_ttc_s``, ``min_gap_m``, ``speed_mps``, ``limit_mps``).
    """

    incident_id: str
    kind: IncidentKind
    lane_id: str
    pos_m: float
    x_m: float
    y_m: float
    start_ms: int
    end_ms: int | None = None
    actor_id: str | None = None
    event_ms: int | None = None
    other_actor_id: str | None = None
    details: dict[str, float] = {}


SPEEDING_RATIO = 1.2
"""A vehicle is speeding, for the ground truth, above this multiple of its lane's speed limit."""

NEAR_COLLISION_TTC_S = 2.0
"""A near collision, for the ground truth, is a time to collision under this many seconds."""

SURGE_QUEUE_VEHICLES = 20
"""A demand surge has congested its road, for the ground truth, once this many vehicles stand on it."""


class GroundTruth(Struct, frozen=True, kw_only=True):
    """Every actor in the zone at one instant."""

    time_ms: int
    actor_ids: list[str]
    kinds: list[ActorKind]
    x_m: list[float]
    y_m: list[float]
    speed_mps: list[float]
    heading_deg: list[float]
    length_m: list[float]
    width_m: list[float]
    lane_ids: list[str]
    connected: list[bool]
    incidents: list[IncidentTruth] = []
