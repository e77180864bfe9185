"""BSM: a connected vehicle's own state, 10 Hz, vehicle → cloud."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from roadcloud.messages.common import (
    DSecond,
    Heading,
    MsgCount,
    Position3D,
    Speed,
    Struct,
    TransmissionState,
    VehicleClassification,
    VehicleSize,
)


class AccelerationSet4Way(Struct, frozen=True, kw_only=True):
    long: Annotated[int, Meta(ge=-2000, le=2001)]  # 0.01 m/s²
    lat: Annotated[int, Meta(ge=-2000, le=2001)]  # 0.01 m/s²
    vert: Annotated[int, Meta(ge=-127, le=127)] = 0  # 0.02 g
    yaw: Annotated[int, Meta(ge=-32767, le=32767)] = 0  # 0.01 degree/s


class BSM(Struct, frozen=True, kw_only=True):
    """Basic safety message (BasicSafetyMessage of T/CSAE 53-2020)."""

    msg_cnt: MsgCount
    id: Annotated[str, Meta(min_length=1, max_length=16)]  # temporary vehicle id (8 octets, hex on the wire)
    sec_mark: DSecond
    pos: Position3D
    transmission: TransmissionState = TransmissionState.FORWARD_GEARS
    speed: Speed
    heading: Heading
    accel_set: AccelerationSet4Way | None = None
    size: VehicleSize
    vehicle_class: VehicleClassification
