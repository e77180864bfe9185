"""SPATEM ↔ SPAT: phases and countdowns survive through absolute TimeMarks."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roadcloud.errors import DecodeError, ValidationError
from roadcloud.messages import SPAT, LightState, PhaseState, TimeCountingDown
from roadcloud.messages.etsi import EtsiMessage, decode_spatem, decode_to_json, encode_spatem
from roadcloud.messages.etsi._pdu import decode_pdu, encode_pdu
from roadcloud.messages.units import TIME_INTERVAL_CONFIDENCE_PERCENT, TIMEMARK_UNKNOWN

from ..examples import NOW_EPOCH_MS, spat
from ..strategies import from_model
from .fuzz import (
    assert_decodes_or_rejects,
    assert_rejects_trailing_bytes,
    assert_rejects_truncations,
    bit_flips,
)

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ascii_names = st.none() | st.text(alphabet=st.characters(max_codepoint=126), max_size=63)
valid_spats = from_model(SPAT, overrides={(SPAT, "name"): ascii_names})


def _countdown_back(countdown: int) -> int:
    return countdown if countdown == TIMEMARK_UNKNOWN else min(countdown, 35_999)


def _confidence_back(confidence: int) -> int:
    nearest = min(TIME_INTERVAL_CONFIDENCE_PERCENT, key=lambda percent: abs(percent - confidence / 2))
    return nearest * 2


def _timing_back(timing: TimeCountingDown | None) -> TimeCountingDown | None:
    if timing is None:
        return None
    return TimeCountingDown(
        start_time=_countdown_back(timing.start_time),
        min_end_time=(
            None if timing.min_end_time in (None, TIMEMARK_UNKNOWN) else _countdown_back(timing.min_end_time)  # type: ignore[arg-type]
        ),
        max_end_time=None if timing.max_end_time is None else _countdown_back(timing.max_end_time),
        likely_end_time=_countdown_back(timing.likely_end_time),
        time_confidence=None if timing.time_confidence is None else _confidence_back(timing.time_confidence),
        next_start_time=None if timing.next_start_time is None else _countdown_back(timing.next_start_time),
    )


def expected_after_spatem(message: SPAT) -> SPAT:
    """What a SPATEM carries back, by the rules in roadcloud.messages.etsi.spatem."""
    return msgspec.structs.replace(
        message,
        time_stamp=None,
        name=message.name or None,
        intersections=[
            msgspec.structs.replace(
                state,
                phases=[
                    msgspec.structs.replace(
                        phase,
                        phase_states=[
                            PhaseState(light=phase_state.light, timing=_timing_back(phase_state.timing))
                            for phase_state in phase.phase_states
                        ],
                    )
                    for phase in state.phases
                ],
            )
            for state in message.intersections
        ],
    )


def test_hand_built_spat_round_trips_but_its_time_stamp() -> None:
    message = spat()
    payload = encode_spatem(message, station_id=4201, reference_epoch_ms=NOW_EPOCH_MS)
    decoded = decode_spatem(payload, reference_epoch_ms=NOW_EPOCH_MS + 350)
    assert decoded == expected_after_spatem(message)
    assert decoded.time_stamp is None
    assert decoded.intersections[0].phases[0] == message.intersections[0].phases[0]
    # confidence 90 % travels as TimeIntervalConfidence 91 %
    assert decoded.intersections[0].phases[1].phase_states[0].timing == TimeCountingDown(
        start_time=0, likely_end_time=153, time_confidence=182
    )


@SETTINGS
@given(message=valid_spats, reference_offset_ms=st.integers(min_value=-86_400_000, max_value=86_400_000))
def test_random_spat_round_trips_what_survives(message: SPAT, reference_offset_ms: int) -> None:
    now_ms = NOW_EPOCH_MS + reference_offset_ms
    decoded = decode_spatem(
        encode_spatem(message, station_id=1, reference_epoch_ms=now_ms), reference_epoch_ms=now_ms
    )
    assert decoded == expected_after_spatem(message)
    again = encode_spatem(decoded, station_id=1, reference_epoch_ms=now_ms)
    assert decode_spatem(again, reference_epoch_ms=now_ms) == decoded


def test_countdowns_become_time_marks_in_the_hour() -> None:
    wire = decode_to_json(
        EtsiMessage.SPATEM, encode_spatem(spat(), station_id=1, reference_epoch_ms=NOW_EPOCH_MS)
    )
    state = wire["spat"]["intersections"][0]
    # the intersection's own time: moy 238 522 + 3.456 s = 15:22:03.4, 13 234 tenths into the hour
    first = state["states"][0]["state-time-speed"][0]
    assert first["eventState"] == "protected-Movement-Allowed"
    assert first["timing"]["startTime"] == 13_234
    assert first["timing"]["likelyTime"] == 13_234 + 123
    assert state["status"] == "0" * 16


def test_intersection_time_beats_the_receivers_clock() -> None:
    payload = encode_spatem(spat(), station_id=1, reference_epoch_ms=NOW_EPOCH_MS)
    late_receiver_ms = NOW_EPOCH_MS + 4_000
    decoded = decode_spatem(payload, reference_epoch_ms=late_receiver_ms)
    assert decoded.intersections[0].phases[0].phase_states[0].timing == TimeCountingDown(
        start_time=0, likely_end_time=123, min_end_time=100
    )


def test_without_intersection_time_the_reference_clock_is_used() -> None:
    state = msgspec.structs.replace(spat().intersections[0], moy=None, time_stamp=None)
    message = msgspec.structs.replace(spat(), intersections=[state])
    payload = encode_spatem(message, station_id=1, reference_epoch_ms=NOW_EPOCH_MS)
    decoded = decode_spatem(payload, reference_epoch_ms=NOW_EPOCH_MS + 1_000)  # one second later
    assert decoded.intersections[0].phases[0].phase_states[0].timing.likely_end_time == 113  # type: ignore[union-attr]


def test_clearance_states_from_etsi_are_yellow() -> None:
    pdu = decode_pdu(EtsiMessage.SPATEM, encode_spatem(spat(), station_id=1, reference_epoch_ms=NOW_EPOCH_MS))
    pdu["spat"]["intersections"][0]["states"][0]["state-time-speed"][1]["eventState"] = "protected-clearance"
    decoded = decode_spatem(encode_pdu(EtsiMessage.SPATEM, pdu), reference_epoch_ms=NOW_EPOCH_MS)
    assert decoded.intersections[0].phases[0].phase_states[1].light == LightState.YELLOW


def test_more_phases_than_the_model_holds_names_the_field() -> None:
    pdu = decode_pdu(EtsiMessage.SPATEM, encode_spatem(spat(), station_id=1, reference_epoch_ms=NOW_EPOCH_MS))
    movement = pdu["spat"]["intersections"][0]["states"][1]
    pdu["spat"]["intersections"][0]["states"] = [dict(movement, signalGroup=group) for group in range(20)]
    with pytest.raises(ValidationError, match=r"SPATEM does not fit SPAT.*phases"):
        decode_spatem(encode_pdu(EtsiMessage.SPATEM, pdu), reference_epoch_ms=NOW_EPOCH_MS)


def test_non_ascii_names_cannot_be_encoded() -> None:
    with pytest.raises(ValidationError, match="ASCII"):
        encode_spatem(
            msgspec.structs.replace(spat(), name="经海路"), station_id=1, reference_epoch_ms=NOW_EPOCH_MS
        )


def _decode(data: bytes) -> SPAT:
    return decode_spatem(data, reference_epoch_ms=NOW_EPOCH_MS)


def test_truncated_and_padded_payloads_are_decode_errors() -> None:
    payload = encode_spatem(spat(), station_id=1, reference_epoch_ms=NOW_EPOCH_MS)
    assert_rejects_truncations(_decode, payload)
    assert_rejects_trailing_bytes(_decode, payload)


def test_a_mapem_is_not_a_spatem() -> None:
    with pytest.raises(DecodeError, match="looks like a MAPEM"):
        _decode(b"\x02\x05\x00\x00\x00\x07" + b"\x00" * 30)


@settings(max_examples=300, deadline=None)
@given(garbage=st.binary(max_size=120))
def test_garbage_never_crashes(garbage: bytes) -> None:
    assert_decodes_or_rejects(_decode, b"\x02\x04" + garbage)


@settings(max_examples=300, deadline=None)
@given(corrupted=bit_flips(encode_spatem(spat(), station_id=1, reference_epoch_ms=NOW_EPOCH_MS)))
def test_corrupted_spatems_never_crash(corrupted: bytes) -> None:
    assert_decodes_or_rejects(_decode, corrupted)
