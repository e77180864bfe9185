"""Events, advisories, devices and LDM snapshots with sensible defaults, for the store's tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from roadcloud.events.model import EventPhase, EventType, RoadEvent
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.ingest.registry import Device
from roadcloud.messages import DeviceKind
from roadcloud.services.model import Advisory, AdvisoryKind, AdvisoryState

T0_MS = 1_778_328_030_000  # 2026-05-09T12:00:30Z, on the 100 ms grid


def event(event_id: str = "E1", **overrides: Any) -> RoadEvent:
    values: dict[str, Any] = {
        "event_id": event_id,
        "event_type": EventType.STOPPED_VEHICLE,
        "phase": EventPhase.STARTED,
        "lane_id": "e1_0",
        "s_m": 42.5,
        "x_m": 100.0,
        "y_m": 200.0,
        "severity": 3,
        "confidence": 0.8,
        "start_ms": T0_MS,
        "update_ms": T0_MS,
        "track_ids": [7],
        "details": {"dwell_s": 12.0},
    }
    values.update(overrides)
    return RoadEvent(**values)


def advisory(advisory_id: str = "A1", **overrides: Any) -> Advisory:
    values: dict[str, Any] = {
        "advisory_id": advisory_id,
        "kind": AdvisoryKind.ROAD_EVENT,
        "state": AdvisoryState.ACTIVE,
        "event_id": "E1",
        "sent_ms": T0_MS,
        "relevance_lane_ids": ["e0_0", "e0_1"],
        "via_rsu_ids": ["R0001"],
        "vehicle_ids": ["V1", "V2"],
        "summary": "stopped vehicle ahead, lane 1",
    }
    values.update(overrides)
    return Advisory(**values)


def device(device_id: str = "R0001", **overrides: Any) -> Device:
    values: dict[str, Any] = {
        "id": device_id,
        "kind": DeviceKind.RSU,
        "zone": "yizhuang",
        "provisioned_at_ms": T0_MS - 86_400_000,
        "name": "Kechuang 6th St north",
        "lon_deg": 116.5123,
        "lat_deg": 39.7945,
    }
    values.update(overrides)
    return Device(**values)


def snapshot(
    time_ms: int,
    track_ids: Sequence[int],
    *,
    x_m: Sequence[float] | None = None,
    y_m: Sequence[float] | None = None,
    lane_ids: Sequence[str | None] | None = None,
    s_m: Sequence[float] | None = None,
) -> LdmSnapshot:
    """Tracks moving east at 10 m/s; positions default to ``x = 10 * id``, ``y = 5``."""
    count = len(track_ids)
    ids = np.asarray(track_ids, np.int64)
    lane = None
    if lane_ids is not None:
        lane = np.empty(count, object)
        lane[:] = list(lane_ids)
    return LdmSnapshot(
        time_ms=time_ms,
        track_id=ids,
        x_m=np.asarray(x_m if x_m is not None else 10.0 * ids, np.float64),
        y_m=np.asarray(y_m if y_m is not None else np.full(count, 5.0), np.float64),
        vx_mps=np.full(count, 10.0),
        vy_mps=np.zeros(count),
        speed_mps=np.full(count, 10.0),
        heading_deg=np.full(count, 90.0),
        length_m=np.full(count, 4.5),
        width_m=np.full(count, 1.8),
        kind=np.ones(count, np.int64),
        position_cov_m2=np.tile(np.eye(2) * 0.25, (count, 1, 1)),
        lane_id=lane,
        s_m=np.asarray(s_m if s_m is not None else np.full(count, np.nan), np.float64),
        source_count=np.ones(count, np.int64),
    )
