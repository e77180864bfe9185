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
    STOPPED_VEHICLE = "stopped_vehicle"
    LANE_CLOSURE = "lane_closure"
    SLOW_VEHICLE = "slow_vehicle"
    WRONG_WAY_VEHICLE = "wrong_way_vehicle"
    PEDESTRIAN_ON_CARRIAGEWAY = "pedestrian_on_carriageway"
    DEMAND_SURGE = "demand_surge"


class IncidentTruth(Struct, frozen=True, kw_only=True):
    """One scripted incident as it really happened; ``end_ms`` is None while it lasts."""

    incident_id: str
    kind: IncidentKind
    lane_id: str
    pos_m: float
    x_m: float
    y_m: float
    start_ms: int
    end_ms: int | None = None
    actor_id: str | None = None


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
