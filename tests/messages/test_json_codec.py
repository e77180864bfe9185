"""The JSON codec round-trips every message type and rejects bad payloads with errors that name the field."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roadcloud.errors import DecodeError, ValidationError
from roadcloud.messages import MESSAGE_TYPES, RSM, RSM_MAX_PARTICIPANTS, Message
from roadcloud.messages.json_codec import MAX_PAYLOAD_BYTES, decode, decode_named, encode

from .examples import EXAMPLES, participant, rsm
from .strategies import from_model, int_fields, wire_form

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_every_message_type_has_a_hand_built_example() -> None:
    assert set(EXAMPLES) == set(MESSAGE_TYPES)


@pytest.mark.parametrize("name", sorted(MESSAGE_TYPES))
def test_hand_built_example_round_trips(name: str) -> None:
    message = EXAMPLES[name]
    payload = encode(message)
    assert decode(payload, MESSAGE_TYPES[name]) == message
    assert decode_named(payload, name) == message


def test_wire_names_are_camel_case_and_defaults_are_left_out() -> None:
    wire = json.loads(encode(EXAMPLES["rsm"]))
    assert set(wire) == {"msgCnt", "id", "refPos", "participants"}
    assert "ptcType" in wire["participants"][0]
    assert "id" not in wire["participants"][0]  # None is omitted


@pytest.mark.parametrize("name", sorted(MESSAGE_TYPES))
@FAST
@given(data=st.data())
def test_random_valid_messages_round_trip(name: str, data: st.DataObject) -> None:
    message = data.draw(from_model(MESSAGE_TYPES[name]))
    assert decode(encode(message), MESSAGE_TYPES[name]) == message


def test_rsm_with_the_most_participants_round_trips() -> None:
    message = rsm(RSM_MAX_PARTICIPANTS)
    assert decode(encode(message), RSM) == message


def test_rsm_with_too_many_participants_names_the_field() -> None:
    wire = wire_form(rsm(RSM_MAX_PARTICIPANTS))
    wire["participants"].append(wire_form(participant(99)))
    with pytest.raises(ValidationError, match=r"RSM.*\$\.participants"):
        decode(msgspec.json.encode(wire), RSM)


def _int_field_cases() -> list[tuple[str, str, str, int]]:
    return [
        (name, attribute, wire_name, upper)
        for name, message_type in sorted(MESSAGE_TYPES.items())
        for attribute, wire_name, upper in int_fields(message_type)
    ]


@pytest.mark.parametrize(("name", "attribute", "wire_name", "upper"), _int_field_cases())
def test_out_of_range_value_is_a_validation_error_naming_the_field(
    name: str, attribute: str, wire_name: str, upper: int
) -> None:
    wire = wire_form(EXAMPLES[name])
    wire[wire_name] = upper + 1
    with pytest.raises(ValidationError) as raised:
        decode(msgspec.json.encode(wire), MESSAGE_TYPES[name])
    message = str(raised.value)
    assert message.startswith(MESSAGE_TYPES[name].__name__)
    assert f"$.{wire_name}" in message


def test_nested_out_of_range_value_names_the_path() -> None:
    wire = wire_form(EXAMPLES["rsm"])
    wire["participants"][3]["speed"] = 8192
    with pytest.raises(ValidationError, match=r"\$\.participants\[3\]\.speed"):
        decode(msgspec.json.encode(wire), RSM)


def test_wrong_json_type_names_the_field() -> None:
    wire = wire_form(EXAMPLES["bsm"])
    wire["speed"] = "fast"
    with pytest.raises(ValidationError, match=r"\$\.speed"):
        decode_named(msgspec.json.encode(wire), "bsm")


def test_missing_field_names_it() -> None:
    wire = wire_form(EXAMPLES["spat"])
    del wire["intersections"]
    with pytest.raises(ValidationError, match="intersections"):
        decode_named(msgspec.json.encode(wire), "spat")


@pytest.mark.parametrize("name", sorted(MESSAGE_TYPES))
def test_truncated_payload_is_a_decode_error(name: str) -> None:
    payload = encode(EXAMPLES[name])
    for cut in (1, len(payload) // 2, len(payload) - 1):
        with pytest.raises(DecodeError, match=MESSAGE_TYPES[name].__name__):
            decode(payload[:cut], MESSAGE_TYPES[name])


def test_oversized_payload_is_refused_unread() -> None:
    payload = b" " * (MAX_PAYLOAD_BYTES + 1)
    with pytest.raises(DecodeError, match="over the"):
        decode(payload, RSM)


@given(garbage=st.binary(max_size=200))
@settings(max_examples=200, deadline=None)
def test_garbage_is_a_decode_or_validation_error_never_a_crash(garbage: bytes) -> None:
    for message_type in MESSAGE_TYPES.values():
        with contextlib.suppress(DecodeError, ValidationError):
            decode(garbage, message_type)


@given(data=st.data())
@FAST
def test_a_valid_message_of_another_type_is_rejected(data: st.DataObject) -> None:
    message: Message = data.draw(from_model(MESSAGE_TYPES["bsm"]))
    with pytest.raises(ValidationError, match="RSM"):
        decode(encode(message), RSM)


def test_unknown_message_name_lists_the_known_ones() -> None:
    with pytest.raises(DecodeError, match="expected one of: bsm"):
        decode_named(b"{}", "cam")


def test_trailing_bytes_after_the_object_are_a_decode_error() -> None:
    payload: Any = encode(EXAMPLES["heartbeat"]) + b"{}"
    with pytest.raises(DecodeError):
        decode_named(payload, "heartbeat")
