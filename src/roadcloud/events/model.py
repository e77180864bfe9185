"""Road events: what the event detectors raise from the live dynamic map, and what services, storage, the
API and evaluation consume.

An event is one real incident for its whole life: detectors publish it when it starts (``phase`` STARTED),
again when its location, severity or extent changes materially (UPDATED) and once when it ends (ENDED,
``end_ms`` set). Every publication carries the full state, so a consumer that sees only the latest one
still knows everything. Positions are in the zone's local metric frame, times in UTC epoch ms (twin time
in a replay).
"""

from __future__ import annotations

import enum
from typing import Annotated

from msgspec import Meta

from roadcloud.messages.common import Struct


class EventType(enum.StrEnum):
    STOPPED_VEHICLE = "stopped_vehicle"
    WRONG_WAY = "wrong_way"
    CONGESTION = "congestion"
    SPEEDING = "speeding"
    SLOW_VEHICLE = "slow_vehicle"
    VULNERABLE_USER_ON_CARRIAGEWAY = "vulnerable_user_on_carriageway"
    RED_LIGHT_VIOLATION = "red_light_violation"
    COLLISION_RISK = "collision_risk"


class EventPhase(enum.StrEnum):
    STARTED = "started"
    UPDATED = "updated"
    ENDED = "ended"


class RoadEvent(Struct, frozen=True, kw_only=True):
    """One road event at one publication.

    ``severity`` 1 (information) … 5 (danger to life); ``confidence`` 0 … 1. ``lane_id`` and ``s_m``
    (distance along the lane, metres) locate the event on the precise map; for congestion they are the
    queue's end (upstream tail), and ``extent_m`` is the queue length. ``track_ids`` are the fused tracks
    involved (LDM global ids). ``details`` holds type-specific numbers with units in their names, e.g.
    ``speed_mps``, ``limit_mps``, ``ttc_s``, ``dwell_s``.
    """

    event_id: str
    event_type: EventType
    phase: EventPhase
    lane_id: str | None
    s_m: float
    x_m: float
    y_m: float
    severity: Annotated[int, Meta(ge=1, le=5)]
    confidence: Annotated[float, Meta(ge=0.0, le=1.0)]
    start_ms: int
    update_ms: int
    end_ms: int | None = None
    extent_m: float = 0.0
    track_ids: list[int] = []
    details: dict[str, float] = {}
