"""CAM (EN 302 637-2 v1.4.1) ↔ BSM: a vehicle's own state, for ETSI-speaking vehicles and RSUs.

Ingest decodes CAMs from ETSI vehicles into the same ``BSM`` that Chinese OBUs send as JSON; the
platform can also speak for a vehicle towards ETSI equipment. Units are converted in
``roadcloud.messages.units``. Lat/lon (1e-7 degree) and elevation ↔ altitude are exact.

What the mapping loses (round-trip tests compare only what survives):

- ``msg_cnt`` has no CAM field; decoding gives 0. ``size.height`` is not in a CAM; decoding gives None.
- ``id`` is not sent; the CAM carries ``station_id``, and decoding sets ``id`` to the station id as
  16 upper-case hex digits (the 8-octet form of T/CSAE 53).
- ``sec_mark`` becomes generationDeltaTime (TimestampIts mod 65 536) via ``reference_epoch_ms``, the
  caller's clock; exact while that clock is within 30 s of the measurement. sec_mark ≥ 60000 (reserved)
  cannot be encoded.
- heading 0.0125° → 0.1°: rounded to the nearest multiple of 8 units. Speed 0.02 → 0.01 m/s is exact
  one way; decoding odd ETSI values rounds half up.
- vehicle width and length cm → 0.1 m (rounded; width 0.1-6.1 m; 0 cm = unavailable); lengths of
  ETSI vehicles over 40.95 m (the T/CSAE 53 maximum) decode as 40.95 m.
- acceleration: longitudinal and lateral 0.01 → 0.1 m/s² (±16 m/s²), vertical 0.02 g → 0.1 m/s²
  (exact within ±81 units), yaw rate exact within ±327.66 °/s. T/CSAE 53 follows J2735 (right and
  clockwise positive), ETSI follows ISO 8855 (left and counter-clockwise positive): lateral acceleration
  and yaw rate change sign. ``accel_set`` None ↔ all acceleration fields unavailable; vertical -127 ↔
  absent; lateral 2001 (unavailable) ↔ absent.
- transmission: only FORWARD_GEARS, REVERSE_GEARS and UNAVAILABLE survive (driveDirection); NEUTRAL and
  PARK come back as UNAVAILABLE.
- vehicle class ↔ StationType by table (``EMERGENCY`` also sets vehicleRole emergency in the
  low-frequency container); classes outside roadcloud's ``BasicVehicleClass`` become unknown (0).
- CAM confidences, curvature, path history, special-vehicle containers and RSU containers are not in
  the model: encoding sends 'unavailable', decoding drops them.
"""

from __future__ import annotations

import enum
from typing import Any, Final

from roadcloud.errors import ValidationError
from roadcloud.messages.common import BasicVehicleClass, TransmissionState
from roadcloud.messages.etsi._convert import clip, mapping_guard, round_half_up, to_model
from roadcloud.messages.etsi._pdu import EtsiMessage, decode_pdu, encode_pdu, header, reference_position
from roadcloud.messages.units import (
    MS_PER_MINUTE,
    elevation_units_to_etsi_altitude,
    epoch_ms_to_generation_delta_time,
    etsi_altitude_to_elevation_units,
    etsi_heading_to_heading_units,
    etsi_speed_to_speed_units,
    heading_units_to_etsi_heading,
    resolve_generation_delta_time,
    resolve_sec_mark,
    speed_units_to_etsi_speed,
)
from roadcloud.messages.vehicle import BSM


class StationType(enum.IntEnum):
    """StationType of TS 102 894-2."""

    UNKNOWN = 0
    PEDESTRIAN = 1
    CYCLIST = 2
    MOPED = 3
    MOTORCYCLE = 4
    PASSENGER_CAR = 5
    BUS = 6
    LIGHT_TRUCK = 7
    HEAVY_TRUCK = 8
    TRAILER = 9
    SPECIAL_VEHICLE = 10
    TRAM = 11
    ROAD_SIDE_UNIT = 15


STATION_TYPE_BY_VEHICLE_CLASS: Final = {
    BasicVehicleClass.UNKNOWN: StationType.UNKNOWN,
    BasicVehicleClass.SPECIAL: StationType.SPECIAL_VEHICLE,
    BasicVehicleClass.PASSENGER: StationType.PASSENGER_CAR,
    BasicVehicleClass.LIGHT_TRUCK: StationType.LIGHT_TRUCK,
    BasicVehicleClass.TRUCK: StationType.HEAVY_TRUCK,
    BasicVehicleClass.MOTORCYCLE: StationType.MOTORCYCLE,
    BasicVehicleClass.TRANSIT: StationType.BUS,
    BasicVehicleClass.EMERGENCY: StationType.SPECIAL_VEHICLE,
    BasicVehicleClass.CYCLIST: StationType.CYCLIST,
}
VEHICLE_CLASS_BY_STATION_TYPE: Final = {
    StationType.UNKNOWN: BasicVehicleClass.UNKNOWN,
    StationType.PEDESTRIAN: BasicVehicleClass.UNKNOWN,
    StationType.CYCLIST: BasicVehicleClass.CYCLIST,
    StationType.MOPED: BasicVehicleClass.MOTORCYCLE,
    StationType.MOTORCYCLE: BasicVehicleClass.MOTORCYCLE,
    StationType.PASSENGER_CAR: BasicVehicleClass.PASSENGER,
    StationType.BUS: BasicVehicleClass.TRANSIT,
    StationType.LIGHT_TRUCK: BasicVehicleClass.LIGHT_TRUCK,
    StationType.HEAVY_TRUCK: BasicVehicleClass.TRUCK,
    StationType.TRAILER: BasicVehicleClass.TRUCK,
    StationType.SPECIAL_VEHICLE: BasicVehicleClass.SPECIAL,
    StationType.TRAM: BasicVehicleClass.TRANSIT,
    StationType.ROAD_SIDE_UNIT: BasicVehicleClass.UNKNOWN,
}

# "Unavailable" codes of the CAM data elements (TS 102 894-2) and of the T/CSAE 53 model.
_LENGTH_DM_UNAVAILABLE: Final = 1023
_LENGTH_DM_MAX: Final = 1022
_CSAE_LENGTH_MAX_CM: Final = 4095
_WIDTH_DM_UNAVAILABLE: Final = 62
_WIDTH_DM_MAX: Final = 61
_ACCEL_DMPS2_UNAVAILABLE: Final = 161
_ACCEL_DMPS2_MAX: Final = 160
_ACCEL_CONFIDENCE_UNAVAILABLE: Final = 102
_YAW_RATE_UNAVAILABLE: Final = 32767
_YAW_RATE_MAX: Final = 32766
_CONFIDENCE_UNAVAILABLE: Final = 127
_CSAE_ACCEL_UNAVAILABLE: Final = 2001
_CSAE_VERT_UNAVAILABLE: Final = -127
_CSAE_VERT_MAX: Final = 127
_G_MPS2: Final = 9.80665
_DMPS2_PER_VERT_UNIT: Final = 0.02 * _G_MPS2 / 0.1  # one 0.02 g step in 0.1 m/s²
_SEC_MARK_RESERVED_FROM: Final = MS_PER_MINUTE
_LONGITUDE_MINUS_180: Final = -1_800_000_000

_DRIVE_DIRECTION_BY_TRANSMISSION: Final = {
    TransmissionState.FORWARD_GEARS: "forward",
    TransmissionState.REVERSE_GEARS: "backward",
}
_TRANSMISSION_BY_DRIVE_DIRECTION: Final = {
    "forward": TransmissionState.FORWARD_GEARS,
    "backward": TransmissionState.REVERSE_GEARS,
    "unavailable": TransmissionState.UNAVAILABLE,
}


def encode_cam(bsm: BSM, *, station_id: int, reference_epoch_ms: int) -> bytes:
    """UPER-encode ``bsm`` as a CAM from ``station_id``.

    ``reference_epoch_ms`` (UTC ms, normally now) says which minute ``bsm.sec_mark`` belongs to.
    """
    if bsm.sec_mark >= _SEC_MARK_RESERVED_FROM:
        raise ValidationError(
            f"BSM sec_mark {bsm.sec_mark} is a reserved 'unavailable' code; a CAM needs the measurement time"
        )
    measured_epoch_ms = resolve_sec_mark(bsm.sec_mark, reference_epoch_ms=reference_epoch_ms)
    station_type = _station_type(bsm.vehicle_class.classification)
    parameters: dict[str, Any] = {
        "basicContainer": {
            "stationType": int(station_type),
            "referencePosition": reference_position(
                bsm.pos.lat, bsm.pos.long, elevation_units_to_etsi_altitude(bsm.pos.elevation)
            ),
        },
        "highFrequencyContainer": ("basicVehicleContainerHighFrequency", _high_frequency(bsm)),
    }
    if bsm.vehicle_class.classification == BasicVehicleClass.EMERGENCY:
        parameters["lowFrequencyContainer"] = (
            "basicVehicleContainerLowFrequency",
            {"vehicleRole": "emergency", "exteriorLights": (0, 8), "pathHistory": []},
        )
    return encode_pdu(
        EtsiMessage.CAM,
        {
            "header": header(EtsiMessage.CAM, station_id=station_id),
            "cam": {
                "generationDeltaTime": epoch_ms_to_generation_delta_time(measured_epoch_ms),
                "camParameters": parameters,
            },
        },
    )


def decode_cam(data: bytes, *, reference_epoch_ms: int) -> BSM:
    """Decode a UPER CAM into a ``BSM``; ``reference_epoch_ms`` (UTC ms, normally now) resolves its time."""
    pdu = decode_pdu(EtsiMessage.CAM, data)
    with mapping_guard("CAM"):
        wire = _bsm_wire(pdu, reference_epoch_ms=reference_epoch_ms)
    return to_model(wire, BSM, source="CAM")


def _bsm_wire(pdu: dict[str, Any], *, reference_epoch_ms: int) -> dict[str, Any]:
    cam = pdu["cam"]
    parameters = cam["camParameters"]
    basic = parameters["basicContainer"]
    kind, high = parameters["highFrequencyContainer"]
    if kind != "basicVehicleContainerHighFrequency":
        raise ValidationError(
            f"CAM from station {pdu['header']['stationID']} is an RSU CAM ({kind}), not a vehicle's"
        )
    measured_epoch_ms = resolve_generation_delta_time(
        cam["generationDeltaTime"], reference_epoch_ms=reference_epoch_ms
    )
    position = basic["referencePosition"]
    longitude = position["longitude"]
    vehicle_role = None
    low = parameters.get("lowFrequencyContainer")
    if low is not None and low[0] == "basicVehicleContainerLowFrequency":
        vehicle_role = low[1]["vehicleRole"]
    width_dm = high["vehicleWidth"]
    length_dm = high["vehicleLength"]["vehicleLengthValue"]
    wire: dict[str, Any] = {
        "msgCnt": 0,
        "id": f"{pdu['header']['stationID']:016X}",
        "secMark": measured_epoch_ms % MS_PER_MINUTE,
        "pos": {
            "lat": position["latitude"],
            # -180° and +180° are one meridian; T/CSAE 53 only has the positive one.
            "long": -longitude if longitude == _LONGITUDE_MINUS_180 else longitude,
            "elevation": etsi_altitude_to_elevation_units(position["altitude"]["altitudeValue"]),
        },
        "transmission": int(_TRANSMISSION_BY_DRIVE_DIRECTION[high["driveDirection"]]),
        "speed": etsi_speed_to_speed_units(high["speed"]["speedValue"]),
        "heading": etsi_heading_to_heading_units(high["heading"]["headingValue"]),
        "accelSet": _accel_set(high),
        "size": {
            "width": 0 if width_dm == _WIDTH_DM_UNAVAILABLE else width_dm * 10,
            # ETSI lengths go to 102.2 m, T/CSAE 53 lengths to 40.95 m
            "length": 0 if length_dm == _LENGTH_DM_UNAVAILABLE else min(length_dm * 10, _CSAE_LENGTH_MAX_CM),
        },
        "vehicleClass": {"classification": int(_vehicle_class(basic["stationType"], vehicle_role))},
    }
    if wire["pos"]["elevation"] is None:
        del wire["pos"]["elevation"]
    if wire["accelSet"] is None:
        del wire["accelSet"]
    return wire


def _station_type(classification: int) -> StationType:
    try:
        return STATION_TYPE_BY_VEHICLE_CLASS[BasicVehicleClass(classification)]
    except ValueError:
        return StationType.UNKNOWN


def _vehicle_class(station_type: int, vehicle_role: str | None) -> BasicVehicleClass:
    if station_type == StationType.SPECIAL_VEHICLE and vehicle_role == "emergency":
        return BasicVehicleClass.EMERGENCY
    try:
        return VEHICLE_CLASS_BY_STATION_TYPE[StationType(station_type)]
    except ValueError:
        return BasicVehicleClass.UNKNOWN


def _high_frequency(bsm: BSM) -> dict[str, Any]:
    width_cm, length_cm = bsm.size.width, bsm.size.length
    container: dict[str, Any] = {
        "heading": {
            "headingValue": heading_units_to_etsi_heading(bsm.heading),
            "headingConfidence": _CONFIDENCE_UNAVAILABLE,
        },
        "speed": {
            "speedValue": speed_units_to_etsi_speed(bsm.speed),
            "speedConfidence": _CONFIDENCE_UNAVAILABLE,
        },
        "driveDirection": _DRIVE_DIRECTION_BY_TRANSMISSION.get(bsm.transmission, "unavailable"),
        "vehicleLength": {
            "vehicleLengthValue": (
                clip(round_half_up(length_cm, 10), 1, _LENGTH_DM_MAX) if length_cm else _LENGTH_DM_UNAVAILABLE
            ),
            "vehicleLengthConfidenceIndication": "unavailable",
        },
        "vehicleWidth": clip(round_half_up(width_cm, 10), 1, _WIDTH_DM_MAX)
        if width_cm
        else _WIDTH_DM_UNAVAILABLE,
        "curvature": {"curvatureValue": 1023, "curvatureConfidence": "unavailable"},
        "curvatureCalculationMode": "unavailable",
    }
    accel = bsm.accel_set
    longitudinal = _ACCEL_DMPS2_UNAVAILABLE
    yaw_rate = _YAW_RATE_UNAVAILABLE
    if accel is not None:
        longitudinal = _centi_to_deci_mps2(accel.long)
        yaw_rate = clip(-accel.yaw, -_YAW_RATE_MAX, _YAW_RATE_MAX)
        if accel.lat != _CSAE_ACCEL_UNAVAILABLE:
            container["lateralAcceleration"] = {
                "lateralAccelerationValue": -_centi_to_deci_mps2(accel.lat),
                "lateralAccelerationConfidence": _ACCEL_CONFIDENCE_UNAVAILABLE,
            }
        if accel.vert != _CSAE_VERT_UNAVAILABLE:
            container["verticalAcceleration"] = {
                "verticalAccelerationValue": clip(
                    round(accel.vert * _DMPS2_PER_VERT_UNIT), -_ACCEL_DMPS2_MAX, _ACCEL_DMPS2_MAX
                ),
                "verticalAccelerationConfidence": _ACCEL_CONFIDENCE_UNAVAILABLE,
            }
    container["longitudinalAcceleration"] = {
        "longitudinalAccelerationValue": longitudinal,
        "longitudinalAccelerationConfidence": _ACCEL_CONFIDENCE_UNAVAILABLE,
    }
    container["yawRate"] = {"yawRateValue": yaw_rate, "yawRateConfidence": "unavailable"}
    return container


def _centi_to_deci_mps2(accel_cmps2: int) -> int:
    if accel_cmps2 == _CSAE_ACCEL_UNAVAILABLE:
        return _ACCEL_DMPS2_UNAVAILABLE
    return clip(round_half_up(accel_cmps2, 10), -_ACCEL_DMPS2_MAX, _ACCEL_DMPS2_MAX)


def _accel_set(high: dict[str, Any]) -> dict[str, int] | None:
    longitudinal = high["longitudinalAcceleration"]["longitudinalAccelerationValue"]
    yaw_rate = high["yawRate"]["yawRateValue"]
    lateral = high.get("lateralAcceleration", {}).get("lateralAccelerationValue", _ACCEL_DMPS2_UNAVAILABLE)
    vertical = high.get("verticalAcceleration", {}).get("verticalAccelerationValue", _ACCEL_DMPS2_UNAVAILABLE)
    if (longitudinal, lateral, vertical, yaw_rate) == (
        _ACCEL_DMPS2_UNAVAILABLE,
        _ACCEL_DMPS2_UNAVAILABLE,
        _ACCEL_DMPS2_UNAVAILABLE,
        _YAW_RATE_UNAVAILABLE,
    ):
        return None
    return {
        "long": _CSAE_ACCEL_UNAVAILABLE if longitudinal == _ACCEL_DMPS2_UNAVAILABLE else longitudinal * 10,
        "lat": _CSAE_ACCEL_UNAVAILABLE if lateral == _ACCEL_DMPS2_UNAVAILABLE else -lateral * 10,
        "vert": (
            _CSAE_VERT_UNAVAILABLE
            if vertical == _ACCEL_DMPS2_UNAVAILABLE
            else clip(round(vertical / _DMPS2_PER_VERT_UNIT), -_CSAE_VERT_MAX + 1, _CSAE_VERT_MAX)
        ),
        "yaw": 0 if yaw_rate == _YAW_RATE_UNAVAILABLE else -yaw_rate,
    }


__all__ = [
    "STATION_TYPE_BY_VEHICLE_CLASS",
    "VEHICLE_CLASS_BY_STATION_TYPE",
    "StationType",
    "decode_cam",
    "encode_cam",
]
