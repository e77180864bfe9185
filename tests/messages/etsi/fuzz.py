"""Shared checks that an ETSI decoder turns every bad payload into DecodeError or ValidationError."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import strategies as st

from roadcloud.errors import DecodeError, ValidationError


def assert_rejects_truncations(decoder: Callable[[bytes], Any], payload: bytes) -> None:
    for cut in range(len(payload)):
        with pytest.raises(DecodeError):
            decoder(payload[:cut])


def assert_rejects_trailing_bytes(decoder: Callable[[bytes], Any], payload: bytes) -> None:
    for extra in (b"\x00", b"\xff\xff", b"\x00" * 64):
        with pytest.raises(DecodeError, match="after the end"):
            decoder(payload + extra)


def assert_decodes_or_rejects(decoder: Callable[[bytes], Any], payload: bytes) -> None:
    """Corrupt input may still be a valid PDU; what it may never do is raise anything else."""
    with contextlib.suppress(DecodeError, ValidationError):
        decoder(payload)


@st.composite
def bit_flips(draw: st.DrawFn, payload: bytes) -> bytes:
    """``payload`` with a few bits flipped, bytes dropped, or bytes inserted."""
    data = bytearray(payload)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        action = draw(st.sampled_from(["flip", "drop", "insert"]))
        position = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[position] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif action == "drop" and len(data) > 1:
            del data[position]
        else:
            data.insert(position, draw(st.integers(min_value=0, max_value=255)))
    return bytes(data)
