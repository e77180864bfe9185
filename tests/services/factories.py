"""Events, BSMs and snapshots for the service tests, placed on the hand-built junction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from roadcloud.events import EventPhase, EventType, RoadEvent
from roadcloud.fusion import LdmSnapshot
from roadcloud.map import RoadMap
from roadcloud.messages import BSM, LightState, Position3D, VehicleClassification, VehicleSize
from roadcloud.messages.units import (
    deg_to_heading_units,
    deg_to_latlon_units,
    epoch_ms_to_sec_mark,
    mps_to_speed_units,
)

NOW_MS = 1_780_000_000_000  # 2026-05-28T20:26:40Z


def event(
    phase: EventPhase = EventPhase.STARTED,
    *,
    event_id: str = "E1",
    event_type: EventType = EventType.STOPPED_VEHICLE,
    lane_id: str | None = "JE_1",
    s_m: float = 100.0,
    x_m: float = 110.0,
    y_m: float = -1.6,
    severity: int = 4,
    confidence: float = 0.9,
    start_ms: int = NOW_MS - 12_000,
    end_ms: int | None = None,
    extent_m: float = 0.0,
) -> RoadEvent:
    return RoadEvent(
        event_id=event_id,
        event_type=event_type,
        phase=phase,
        lane_id=lane_id,
        s_m=s_m,
        x_m=x_m,
        y_m=y_m,
        severity=severity,
        confidence=confidence,
        start_ms=start_ms,
        update_ms=NOW_MS,
        end_ms=end_ms,
        extent_m=extent_m,
    )


def bsm(
    road_map: RoadMap,
    vehicle_id: str,
    x_m: float,
    y_m: float,
    heading_deg: float,
    *,
    speed_mps: float = 10.0,
    measured_ms: int = NOW_MS,
) -> BSM:
    lon, lat = road_map.geo.local_to_wgs84(np.array([x_m]), np.array([y_m]))
    return BSM(
        msg_cnt=1,
        id=vehicle_id,
        sec_mark=epoch_ms_to_sec_mark(measured_ms),
        pos=Position3D(lat=int(deg_to_latlon_units(lat)[0]), long=int(deg_to_latlon_units(lon)[0])),
        speed=int(mps_to_speed_units(np.array([speed_mps]))[0]),
        heading=int(deg_to_heading_units(np.array([heading_deg]))[0]),
        size=VehicleSize(width=180, length=460),
        vehicle_class=VehicleClassification(classification=10),
    )


def snapshot(
    time_ms: int,
    xy: Sequence[tuple[float, float]],
    *,
    heading_deg: Sequence[float] | None = None,
    speed_mps: float = 10.0,
    kind: int = 1,
) -> LdmSnapshot:
    """Fused tracks at the given positions, ids 1, 2, …"""
    points = np.array(xy, dtype=np.float64).reshape(-1, 2)
    count = len(points)
    heading = np.array(heading_deg if heading_deg is not None else [90.0] * count, dtype=np.float64)
    radians = np.radians(heading)
    return LdmSnapshot(
        time_ms=time_ms,
        track_id=np.arange(1, count + 1, dtype=np.int64),
        x_m=points[:, 0],
        y_m=points[:, 1],
        vx_mps=speed_mps * np.sin(radians),
        vy_mps=speed_mps * np.cos(radians),
        speed_mps=np.full(count, speed_mps),
        heading_deg=heading,
        length_m=np.full(count, 4.6),
        width_m=np.full(count, 1.8),
        kind=np.full(count, kind, dtype=np.int64),
        position_cov_m2=np.tile(np.eye(2) * 0.1, (count, 1, 1)),
        lane_id=None,
        s_m=np.full(count, np.nan),
        source_count=np.ones(count, dtype=np.int64),
    )


@dataclass(frozen=True)
class Light:
    """A light as SignalStates answers it; ``next_end_ms`` is when the coming light ends."""

    light: LightState
    likely_end_ms: int | None
    next_light: LightState | None
    next_end_ms: int | None = None


class FixedSignals:
    """One light for every movement, then the next one from its start, as SignalStates answers."""

    def __init__(self, light: Light) -> None:
        self.light = light
        self.asked: set[tuple[str, str]] = set()

    def connection_light(self, from_lane_id: str, to_lane_id: str, time_ms: int) -> Light | None:
        self.asked.add((from_lane_id, to_lane_id))
        light = self.light
        if light.likely_end_ms is not None and time_ms >= light.likely_end_ms:
            if light.next_light is None:
                return None
            return Light(light.next_light, light.next_end_ms, None)
        return light
