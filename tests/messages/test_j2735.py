"""The J2735 path with a tiny ASN.1 module written here, shaped like J2735's MessageFrame (not SAE's text)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roadcloud.errors import DecodeError, InputError, ValidationError
from roadcloud.messages.j2735 import (
    FRAME_TYPE,
    J2735Codec,
    compile_j2735,
    compile_uper,
    to_json,
)

from .asn_samples import BSM_VALUE, CPM_LIKE_ASN, MINI_FRAME_ASN


@pytest.fixture(scope="module")
def asn_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("asn") / "mini-frame.asn"
    path.write_text(MINI_FRAME_ASN)
    return path


@pytest.fixture(scope="module")
def codec(asn_file: Path) -> J2735Codec:
    return compile_j2735([asn_file])


def test_message_round_trips(codec: J2735Codec) -> None:
    assert codec.decode("BasicSafetyMessage", codec.encode("BasicSafetyMessage", BSM_VALUE)) == BSM_VALUE


def test_frame_round_trips_and_names_the_message(codec: J2735Codec) -> None:
    frame = codec.decode_frame(codec.encode_frame("BasicSafetyMessage", BSM_VALUE))
    assert (frame.message_id, frame.message_name, frame.value) == (20, "BasicSafetyMessage", BSM_VALUE)


def test_frame_is_the_inner_encoding_behind_id_and_length(codec: J2735Codec) -> None:
    inner = codec.encode("BasicSafetyMessage", BSM_VALUE)
    framed = codec.encode_frame("BasicSafetyMessage", BSM_VALUE)
    assert framed.endswith(inner)
    assert codec.decode(FRAME_TYPE, framed) == {"messageId": 20, "value": inner}


def test_frame_with_an_id_outside_the_table_keeps_the_bytes(codec: J2735Codec) -> None:
    framed = codec.encode(FRAME_TYPE, {"messageId": 99, "value": codec.encode("Ping", {"seq": 5})})
    frame = codec.decode_frame(framed)
    assert frame.message_name is None and frame.value == codec.encode("Ping", {"seq": 5})


def test_custom_message_id_table(asn_file: Path) -> None:
    codec = compile_j2735([asn_file], message_ids={99: "Ping"})
    assert codec.decode_frame(codec.encode_frame("Ping", {"seq": 5})).value == {"seq": 5}
    with pytest.raises(InputError, match="no DSRCmsgID"):
        codec.encode_frame("BasicSafetyMessage", BSM_VALUE)


def test_to_json_makes_values_printable(codec: J2735Codec) -> None:
    assert to_json(BSM_VALUE) == {
        "msgCnt": 17,
        "id": "b7a10042",
        "secMark": 3_456,
        "lat": 397_956_123,
        "long": 1_165_063_456,
        "brakes": "1010",
        "source": {"fused": 3},
    }


def test_unknown_type_lists_what_the_asn1_defines(codec: J2735Codec) -> None:
    with pytest.raises(InputError, match=r"defines no type 'SPAT'.*BasicSafetyMessage"):
        codec.decode("SPAT", b"\x00")


def test_out_of_range_value_cannot_be_encoded(codec: J2735Codec) -> None:
    with pytest.raises(ValidationError, match="BasicSafetyMessage cannot be encoded"):
        codec.encode("BasicSafetyMessage", {**BSM_VALUE, "msgCnt": 128})


def test_truncated_payloads_are_decode_errors(codec: J2735Codec) -> None:
    payload = codec.encode_frame("BasicSafetyMessage", BSM_VALUE)
    for cut in range(len(payload)):
        with pytest.raises(DecodeError):
            codec.decode_frame(payload[:cut])


def test_trailing_bytes_are_decode_errors(codec: J2735Codec) -> None:
    payload = codec.encode("BasicSafetyMessage", BSM_VALUE)
    with pytest.raises(DecodeError, match="2 bytes after the end"):
        codec.decode("BasicSafetyMessage", payload + b"\x00\x00")


def test_oversized_payload_is_refused(codec: J2735Codec) -> None:
    with pytest.raises(DecodeError, match="over the"):
        codec.decode("BasicSafetyMessage", b"\x00" * 70_000)


@settings(max_examples=300, deadline=None)
@given(garbage=st.binary(max_size=60))
def test_garbage_never_crashes(codec: J2735Codec, garbage: bytes) -> None:
    for decode in (
        codec.decode_frame,
        lambda data: codec.decode("BasicSafetyMessage", data),
    ):
        with contextlib.suppress(DecodeError, ValidationError):
            decode(garbage)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"not found: .*J2735\.asn; check the --asn paths"):
        compile_j2735([tmp_path / "J2735.asn"])


def test_no_files_says_how_to_pass_them() -> None:
    with pytest.raises(InputError, match="--asn FILE"):
        compile_j2735([])


def test_broken_asn1_is_an_input_error_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.asn"
    broken.write_text("Broken DEFINITIONS ::= BEGIN Foo ::= SEQUENCE { a INTEGER ")
    with pytest.raises(InputError, match=r"broken\.asn does not compile"):
        compile_j2735([broken])


def test_unresolved_import_is_an_input_error(tmp_path: Path) -> None:
    partial = tmp_path / "partial.asn"
    partial.write_text("Partial DEFINITIONS ::= BEGIN MessageFrame ::= SEQUENCE { a Missing } END")
    with pytest.raises(InputError, match=r"partial\.asn does not compile"):
        compile_j2735([partial])


def test_j2735_needs_a_message_frame_but_other_asn1_does_not(tmp_path: Path) -> None:
    cpm_like = tmp_path / "cpm-like.asn"
    cpm_like.write_text(CPM_LIKE_ASN)
    with pytest.raises(InputError, match="defines no MessageFrame"):
        compile_j2735([cpm_like])
    codec = compile_uper([cpm_like])
    value = {"objects": [1, 2, 3]}
    assert (
        codec.decode("CollectivePerceptionMessage", codec.encode("CollectivePerceptionMessage", value))
        == value
    )
    assert codec.message_names == ("CollectivePerceptionMessage",)
