"""DENM ↔ DenmEvent: events, times and traces survive; confidences and extra traces do not."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roadcloud.errors import DecodeError, ValidationError
from roadcloud.messages import Position3D, PositionOffsetLL
from roadcloud.messages.etsi import (
    DenmEvent,
    EtsiMessage,
    Termination,
    decode_denm,
    decode_to_json,
    encode_denm,
)
from roadcloud.messages.etsi._pdu import decode_pdu, encode_pdu
from roadcloud.messages.units import epoch_ms_to_its_timestamp_ms

from ..examples import CAUSE_ROADWORKS, CAUSE_STATIONARY_VEHICLE, NOW_EPOCH_MS
from ..examples import denm_event as roadworks
from ..strategies import from_model
from .fuzz import (
    assert_decodes_or_rejects,
    assert_rejects_trailing_bytes,
    assert_rejects_truncations,
    bit_flips,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Offsets within ±60 000 units (±0.006°) keep consecutive trace points at most 120 000 apart, inside
# the 131 071 a DENM path point can step.
trace_offset_units = st.integers(min_value=-60_000, max_value=60_000)
valid_events = from_model(
    DenmEvent,
    max_list=6,
    overrides={(PositionOffsetLL, "lon"): trace_offset_units, (PositionOffsetLL, "lat"): trace_offset_units},
)


def expected_after_denm(event: DenmEvent) -> DenmEvent:
    """What a DENM carries back, by the rules in roadcloud.messages.etsi.denm."""
    heading = event.event_heading
    if heading is not None and heading != 28_800:
        heading = ((heading + 4) // 8 % 3_600) * 8
    situation_defaults = {"sub_cause_code": 0, "information_quality": 0} if event.cause_code is None else {}
    elevation = None if event.event_pos.elevation == -4096 else event.event_pos.elevation
    return msgspec.structs.replace(
        event,
        event_heading=heading,
        event_pos=msgspec.structs.replace(event.event_pos, elevation=elevation),
        **situation_defaults,
    )


def test_hand_built_event_round_trips() -> None:
    event = roadworks()
    assert decode_denm(encode_denm(event)) == event


@SETTINGS
@given(event=valid_events)
def test_random_event_round_trips_what_survives(event: DenmEvent) -> None:
    decoded = decode_denm(encode_denm(event))
    assert decoded == expected_after_denm(event)
    assert decode_denm(encode_denm(decoded)) == decoded


def test_times_are_its_timestamps_and_trace_points_are_deltas() -> None:
    wire = decode_to_json(EtsiMessage.DENM, encode_denm(roadworks()))
    management = wire["denm"]["management"]
    assert management["detectionTime"] == epoch_ms_to_its_timestamp_ms(NOW_EPOCH_MS - 60_000)
    assert management["actionID"] == {"originatingStationID": 0x42, "sequenceNumber": 12}
    trace = wire["denm"]["location"]["traces"][0]
    assert [point["pathPosition"]["deltaLongitude"] for point in trace] == [-900, -900]
    assert wire["denm"]["situation"]["eventType"] == {"causeCode": CAUSE_ROADWORKS, "subCauseCode": 4}


def test_a_cancellation_without_situation_round_trips() -> None:
    event = DenmEvent(
        station_id=9,
        sequence_number=1,
        detection_time_ms=NOW_EPOCH_MS,
        reference_time_ms=NOW_EPOCH_MS,
        termination=Termination.CANCELLATION,
        event_pos=Position3D(lat=397_956_123, long=1_165_063_456),
    )
    payload = encode_denm(event)
    assert "situation" not in decode_to_json(EtsiMessage.DENM, payload)["denm"]
    assert decode_denm(payload) == event


def test_only_the_first_trace_is_kept() -> None:
    pdu = decode_pdu(EtsiMessage.DENM, encode_denm(roadworks()))
    first = pdu["denm"]["location"]["traces"][0]
    pdu["denm"]["location"]["traces"].append(list(reversed(first)))
    assert decode_denm(encode_pdu(EtsiMessage.DENM, pdu)).trace == roadworks().trace


def test_a_trace_step_too_long_for_a_denm_says_so() -> None:
    event = msgspec.structs.replace(roadworks(), trace=[PositionOffsetLL(lon=200_000, lat=0)])
    with pytest.raises(ValidationError, match=r"trace point 0.*add points between"):
        encode_denm(event)


def test_stationary_vehicle_from_a_vehicle_keeps_speed_exactly() -> None:
    event = msgspec.structs.replace(
        roadworks(), cause_code=CAUSE_STATIONARY_VEHICLE, sub_cause_code=0, station_type=5, event_speed=0
    )
    assert decode_denm(encode_denm(event)).event_speed == 0


def test_truncated_and_padded_payloads_are_decode_errors() -> None:
    payload = encode_denm(roadworks())
    assert_rejects_truncations(decode_denm, payload)
    assert_rejects_trailing_bytes(decode_denm, payload)


def test_a_cam_is_not_a_denm() -> None:
    with pytest.raises(DecodeError, match="looks like a CAM"):
        decode_denm(b"\x02\x02\x00\x00\x00\x07" + b"\x00" * 30)


@settings(max_examples=300, deadline=None)
@given(garbage=st.binary(max_size=120))
def test_garbage_never_crashes(garbage: bytes) -> None:
    assert_decodes_or_rejects(decode_denm, b"\x02\x01" + garbage)


@settings(max_examples=300, deadline=None)
@given(corrupted=bit_flips(encode_denm(roadworks())))
def test_corrupted_denms_never_crash(corrupted: bytes) -> None:
    assert_decodes_or_rejects(decode_denm, corrupted)
