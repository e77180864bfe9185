"""Advisories: what the cloud sends down to the field, and the record of it that storage, the API and
evaluation read.

One advisory follows one road event for its life: ACTIVE when first sent (the RSI/DENM broadcast through
the roadside units covering its relevance zone and sent directly to connected vehicles inside it),
UPDATED when the event or its zone changes, CANCELLED once when the event ends. Times are UTC epoch ms
(twin time in a replay).
"""

from __future__ import annotations

import enum

from roadcloud.messages.common import Struct


class AdvisoryKind(enum.StrEnum):
    ROAD_EVENT = "road_event"  # RSI (and ETSI DENM where the codec allows) for a road event
    SPEED_ADVICE = "speed_advice"  # green light optimal speed at a signalised junction
    SENSOR_SHARING = "sensor_sharing"  # fused objects around a connected vehicle


class AdvisoryState(enum.StrEnum):
    ACTIVE = "active"
    UPDATED = "updated"
    CANCELLED = "cancelled"


class Advisory(Struct, frozen=True, kw_only=True):
    """One advisory at one publication. ``relevance_lane_ids``: the lanes upstream of the event whose
    vehicles it concerns; ``via_rsu_ids``: the roadside units that broadcast it; ``vehicle_ids``: the
    connected vehicles (BSM ids) it was sent to directly in this publication; ``rte_id``: the RTE id the
    RSI carries (0-255, reused after the advisory ends), which receivers key it by."""

    advisory_id: str
    kind: AdvisoryKind
    state: AdvisoryState
    event_id: str | None
    sent_ms: int
    cancelled_ms: int | None = None
    relevance_lane_ids: list[str] = []
    via_rsu_ids: list[str] = []
    vehicle_ids: list[str] = []
    summary: str = ""
    rte_id: int | None = None
