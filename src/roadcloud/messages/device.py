"""Device status and road-and-bridge sensor messages (roadcloud extensions; no T/CSAE 53 equivalent)."""

from __future__ import annotations

import enum
from typing import Annotated

from msgspec import Meta

from roadcloud.messages.common import DeviceId, DSecond, MinuteOfTheYear, Position3D, Struct


class DeviceKind(enum.StrEnum):
    RSU = "rsu"
    SIGNAL = "signal"
    VEHICLE = "vehicle"
    SENSOR = "sensor"


class DeviceStatus(enum.StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    FAULT = "fault"


class Heartbeat(Struct, frozen=True, kw_only=True):
    """A device says it is alive, every few seconds."""

    device_id: DeviceId
    device_kind: DeviceKind
    moy: MinuteOfTheYear
    sec_mark: DSecond
    status: DeviceStatus = DeviceStatus.OK
    uptime_s: Annotated[int, Meta(ge=0)] = 0
    firmware: Annotated[str, Meta(max_length=64)] | None = None
    detail: Annotated[str, Meta(max_length=256)] | None = None


class ConditionQuantity(enum.StrEnum):
    """What a road or bridge sensor measures; the unit is part of the name."""

    SURFACE_TEMPERATURE_C = "surface_temperature_c"
    WATER_DEPTH_MM = "water_depth_mm"
    ICE_THICKNESS_MM = "ice_thickness_mm"
    FRICTION_COEFFICIENT = "friction_coefficient"
    VISIBILITY_M = "visibility_m"
    DEFLECTION_MM = "deflection_mm"
    STRAIN_MICROSTRAIN = "strain_microstrain"
    ACCELERATION_MPS2 = "acceleration_mps2"
    CRACK_WIDTH_MM = "crack_width_mm"


class RoadConditionReading(Struct, frozen=True, kw_only=True):
    """One measurement of a road or bridge asset's condition."""

    sensor_id: DeviceId
    asset_id: DeviceId
    moy: MinuteOfTheYear
    sec_mark: DSecond
    quantity: ConditionQuantity
    value: Annotated[float, Meta(ge=-1e6, le=1e6)]
    pos: Position3D | None = None
