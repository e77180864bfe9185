"""CAM ↔ BSM: what survives the trip through UPER is exactly what the module docstring promises."""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roadcloud.errors import DecodeError, ValidationError
from roadcloud.messages import BSM, BasicVehicleClass, TransmissionState
from roadcloud.messages.etsi import EtsiMessage, decode_cam, decode_to_json, encode_cam
from roadcloud.messages.etsi._pdu import decode_pdu, encode_pdu
from roadcloud.messages.units import resolve_sec_mark
from roadcloud.messages.vehicle import AccelerationSet4Way

from ..examples import NOW_EPOCH_MS, bsm
from ..strategies import from_model
from .fuzz import (
    assert_decodes_or_rejects,
    assert_rejects_trailing_bytes,
    assert_rejects_truncations,
    bit_flips,
)

STATION_ID = 0xB7A10042
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAMED_CLASSES = {int(vehicle_class) for vehicle_class in BasicVehicleClass}
DMPS2_PER_VERT_UNIT = 0.02 * 9.80665 / 0.1

valid_bsms = from_model(BSM, overrides={(BSM, "sec_mark"): st.integers(min_value=0, max_value=59_999)})


def _half_up(value: float) -> int:
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _decimetres_back(length_cm: int, upper_dm: int) -> int:
    return 0 if length_cm == 0 else min(min(max(_half_up(length_cm / 10), 1), upper_dm) * 10, 4095)


def _tenths_back(accel_cmps2: int) -> int:
    return 2001 if accel_cmps2 == 2001 else max(-160, min(_half_up(accel_cmps2 / 10), 160)) * 10


def expected_after_cam(message: BSM, *, station_id: int) -> BSM:
    """The BSM a CAM decoder can give back, by the rules in roadcloud.messages.etsi.cam."""
    accel = message.accel_set
    if accel is not None:
        vertical_dmps2 = max(-160, min(round(accel.vert * DMPS2_PER_VERT_UNIT), 160))
        accel = AccelerationSet4Way(
            long=_tenths_back(accel.long),
            lat=_tenths_back(accel.lat),
            vert=-127
            if accel.vert == -127
            else max(-126, min(round(vertical_dmps2 / DMPS2_PER_VERT_UNIT), 127)),
            yaw=max(-32766, min(accel.yaw, 32766)),
        )
    heading = message.heading if message.heading == 28_800 else ((message.heading + 4) // 8 % 3_600) * 8
    transmission = (
        message.transmission
        if message.transmission in (TransmissionState.FORWARD_GEARS, TransmissionState.REVERSE_GEARS)
        else TransmissionState.UNAVAILABLE
    )
    classification = message.vehicle_class.classification
    elevation = message.pos.elevation
    return msgspec.structs.replace(
        message,
        msg_cnt=0,
        id=f"{station_id:016X}",
        pos=msgspec.structs.replace(message.pos, elevation=None if elevation == -4096 else elevation),
        transmission=transmission,
        heading=heading,
        accel_set=accel,
        size=msgspec.structs.replace(
            message.size,
            width=_decimetres_back(message.size.width, 61),
            length=_decimetres_back(message.size.length, 1022),
            height=None,
        ),
        vehicle_class=msgspec.structs.replace(
            message.vehicle_class, classification=classification if classification in NAMED_CLASSES else 0
        ),
    )


def test_hand_built_bsm_survives_except_what_cam_cannot_carry() -> None:
    message = bsm()
    payload = encode_cam(message, station_id=STATION_ID, reference_epoch_ms=NOW_EPOCH_MS)
    decoded = decode_cam(payload, reference_epoch_ms=NOW_EPOCH_MS + 900)
    assert decoded == msgspec.structs.replace(
        message,
        msg_cnt=0,
        id="00000000B7A10042",
        size=msgspec.structs.replace(message.size, width=190, height=None),  # 1.85 m → 1.9 m
    )


@SETTINGS
@given(
    message=valid_bsms,
    sender_offset_ms=st.integers(min_value=-29_999, max_value=29_999),
    delay_ms=st.integers(min_value=-30_000, max_value=30_000),
)
def test_random_bsm_round_trips_what_survives(message: BSM, sender_offset_ms: int, delay_ms: int) -> None:
    sender_clock_ms = NOW_EPOCH_MS + sender_offset_ms
    measured_ms = resolve_sec_mark(message.sec_mark, reference_epoch_ms=sender_clock_ms)
    receiver_clock_ms = measured_ms + delay_ms  # within the 32 s a generationDeltaTime can resolve
    payload = encode_cam(message, station_id=STATION_ID, reference_epoch_ms=sender_clock_ms)
    decoded = decode_cam(payload, reference_epoch_ms=receiver_clock_ms)
    assert decoded == expected_after_cam(message, station_id=STATION_ID)
    # what survived once survives again unchanged
    again = encode_cam(decoded, station_id=STATION_ID, reference_epoch_ms=receiver_clock_ms)
    assert decode_cam(again, reference_epoch_ms=receiver_clock_ms) == decoded


def test_sec_mark_resolves_across_the_minute_boundary() -> None:
    minute_ms = NOW_EPOCH_MS - NOW_EPOCH_MS % 60_000
    message = msgspec.structs.replace(bsm(), sec_mark=59_950)  # measured 50 ms before the minute
    payload = encode_cam(message, station_id=1, reference_epoch_ms=minute_ms + 20)
    assert decode_cam(payload, reference_epoch_ms=minute_ms + 180).sec_mark == 59_950


def test_etsi_conventions_on_the_wire() -> None:
    payload = encode_cam(bsm(), station_id=STATION_ID, reference_epoch_ms=NOW_EPOCH_MS)
    high = decode_to_json(EtsiMessage.CAM, payload)["cam"]["camParameters"]["highFrequencyContainer"][
        "basicVehicleContainerHighFrequency"
    ]
    assert high["speed"]["speedValue"] == 1388  # 13.88 m/s in 0.01 m/s
    assert high["heading"]["headingValue"] == 900  # 90.0 degrees in 0.1 degree
    assert high["vehicleWidth"] == 19 and high["vehicleLength"]["vehicleLengthValue"] == 48
    assert high["longitudinalAcceleration"]["longitudinalAccelerationValue"] == -15
    # J2735 right/clockwise positive → ISO 8855 left/counter-clockwise positive
    assert high["lateralAcceleration"]["lateralAccelerationValue"] == -2
    assert high["yawRate"]["yawRateValue"] == 120


def test_emergency_vehicles_keep_their_role() -> None:
    message = msgspec.structs.replace(
        bsm(),
        vehicle_class=msgspec.structs.replace(
            bsm().vehicle_class, classification=BasicVehicleClass.EMERGENCY
        ),
    )
    payload = encode_cam(message, station_id=7, reference_epoch_ms=NOW_EPOCH_MS)
    low = decode_to_json(EtsiMessage.CAM, payload)["cam"]["camParameters"]["lowFrequencyContainer"]
    assert low["basicVehicleContainerLowFrequency"]["vehicleRole"] == "emergency"
    decoded = decode_cam(payload, reference_epoch_ms=NOW_EPOCH_MS)
    assert decoded.vehicle_class.classification == BasicVehicleClass.EMERGENCY


def test_no_acceleration_travels_as_unavailable() -> None:
    message = msgspec.structs.replace(bsm(), accel_set=None)
    payload = encode_cam(message, station_id=7, reference_epoch_ms=NOW_EPOCH_MS)
    assert decode_cam(payload, reference_epoch_ms=NOW_EPOCH_MS).accel_set is None


def test_odd_etsi_speed_from_foreign_equipment_rounds_half_up() -> None:
    pdu = decode_pdu(EtsiMessage.CAM, encode_cam(bsm(), station_id=7, reference_epoch_ms=NOW_EPOCH_MS))
    pdu["cam"]["camParameters"]["highFrequencyContainer"][1]["speed"]["speedValue"] = 1389
    decoded = decode_cam(encode_pdu(EtsiMessage.CAM, pdu), reference_epoch_ms=NOW_EPOCH_MS)
    assert decoded.speed == 695


def test_reserved_sec_mark_cannot_be_encoded() -> None:
    with pytest.raises(ValidationError, match="sec_mark 65535"):
        encode_cam(
            msgspec.structs.replace(bsm(), sec_mark=65_535), station_id=1, reference_epoch_ms=NOW_EPOCH_MS
        )


def test_station_id_out_of_range_names_the_field() -> None:
    with pytest.raises(ValidationError, match="stationID"):
        encode_cam(bsm(), station_id=2**32, reference_epoch_ms=NOW_EPOCH_MS)


def test_rsu_cam_is_not_a_vehicle() -> None:
    pdu = decode_pdu(EtsiMessage.CAM, encode_cam(bsm(), station_id=7, reference_epoch_ms=NOW_EPOCH_MS))
    pdu["cam"]["camParameters"]["highFrequencyContainer"] = ("rsuContainerHighFrequency", {})
    with pytest.raises(ValidationError, match="RSU CAM"):
        decode_cam(encode_pdu(EtsiMessage.CAM, pdu), reference_epoch_ms=NOW_EPOCH_MS)


def _decode(data: bytes) -> BSM:
    return decode_cam(data, reference_epoch_ms=NOW_EPOCH_MS)


def test_truncated_and_padded_payloads_are_decode_errors() -> None:
    payload = encode_cam(bsm(), station_id=STATION_ID, reference_epoch_ms=NOW_EPOCH_MS)
    assert_rejects_truncations(_decode, payload)
    assert_rejects_trailing_bytes(_decode, payload)


def test_oversized_payload_is_refused_unread() -> None:
    with pytest.raises(DecodeError, match="over the"):
        _decode(b"\x02\x02" + b"\x00" * 70_000)


def test_another_message_type_is_named() -> None:
    with pytest.raises(DecodeError, match="looks like a DENM"):
        _decode(b"\x02\x01\x00\x00\x00\x07" + b"\x00" * 30)


@settings(max_examples=300, deadline=None)
@given(garbage=st.binary(max_size=80))
def test_garbage_never_crashes(garbage: bytes) -> None:
    assert_decodes_or_rejects(_decode, b"\x02\x02" + garbage)
    assert_decodes_or_rejects(_decode, garbage)


@settings(max_examples=300, deadline=None)
@given(corrupted=bit_flips(encode_cam(bsm(), station_id=STATION_ID, reference_epoch_ms=NOW_EPOCH_MS)))
def test_corrupted_cams_never_crash(corrupted: bytes) -> None:
    assert_decodes_or_rejects(_decode, corrupted)
