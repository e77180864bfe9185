"""Helpers shared by the ETSI mappings: validate a decoded message against the roadcloud model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import msgspec

from roadcloud.errors import ValidationError

ModelT = TypeVar("ModelT")
_ASCII_DEL = 0x7F  # IA5String is ASCII; pycrate also refuses DEL, so names stop just below it


def to_model(wire_value: dict[str, Any], model_type: type[ModelT], *, source: str) -> ModelT:
    """Build and validate a roadcloud message from its camelCase wire form.

    Going through ``msgspec.convert`` rather than the constructors checks every value range, so an ETSI
    value that the T/CSAE 53 model cannot hold is a ``ValidationError`` naming the field.
    """
    try:
        return msgspec.convert(wire_value, model_type)
    except msgspec.ValidationError as error:
        raise ValidationError(f"{source} does not fit {model_type.__name__}: {error}") from None


@contextmanager
def mapping_guard(source: str) -> Iterator[None]:
    """Turn a lookup failure while mapping a decoded PDU into a ``ValidationError``.

    A well-formed PDU can still carry what the mapping tables do not know (an enumeration extension
    added in a later ASN.1 version, an unexpected CHOICE alternative); at the ingest edge that must be
    a rejected message, not a crash.
    """
    try:
        yield
    except (KeyError, IndexError, ValueError, TypeError) as error:
        raise ValidationError(
            f"{source} carries a value roadcloud cannot map: {type(error).__name__} {error}"
        ) from None


def ia5_name(name: str | None, *, field: str) -> str | None:
    """A DescriptiveName (IA5String, 1..63 characters) or None for an empty name."""
    if not name:
        return None
    if not all(ord(character) < _ASCII_DEL for character in name):
        raise ValidationError(
            f"{field} {name!r} has characters outside ASCII 0-126; ETSI names are IA5 strings, use ASCII"
        )
    return name


def clip(value: int, lower: int, upper: int) -> int:
    return max(lower, min(value, upper))


def round_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounded to nearest, halves away from zero (symmetric for signed values)."""
    quotient = (abs(numerator) + denominator // 2) // denominator
    return quotient if numerator >= 0 else -quotient
