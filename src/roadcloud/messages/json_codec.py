"""JSON, the native wire form: T/CSAE 53 field names in camelCase, message units as integers.

Decoding validates structure and every value range in one pass (msgspec); any failure becomes a
``DecodeError`` or ``ValidationError`` whose text names the message type and the offending field.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from roadcloud.errors import DecodeError, ValidationError
from roadcloud.messages import MESSAGE_TYPES, Message

MAX_PAYLOAD_BYTES = 256 * 1024  # far above any real V2X message; bigger payloads are refused unread

MessageT = TypeVar("MessageT", bound=Message)

_encoder = msgspec.json.Encoder()
_decoders: dict[type, msgspec.json.Decoder[Message]] = {
    message_type: msgspec.json.Decoder(message_type) for message_type in MESSAGE_TYPES.values()
}


def encode(message: Message) -> bytes:
    return _encoder.encode(message)


def decode(payload: bytes, message_type: type[MessageT]) -> MessageT:
    """Decode and validate one message of a known type."""
    name = message_type.__name__
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise DecodeError(
            f"{name} payload is {len(payload)} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit; "
            "send one message per payload"
        )
    try:
        decoded = _decoders[message_type].decode(payload)
    except msgspec.ValidationError as error:
        raise ValidationError(f"{name}: {error}") from None
    except msgspec.DecodeError as error:
        raise DecodeError(f"{name} payload is not valid JSON: {error}") from None
    assert isinstance(decoded, message_type)
    return decoded


def decode_named(payload: bytes, message_name: str) -> Message:
    """Decode a message whose type is given by its topic name (``rsm``, ``bsm``, …)."""
    message_type = MESSAGE_TYPES.get(message_name)
    if message_type is None:
        known = ", ".join(sorted(MESSAGE_TYPES))
        raise DecodeError(f"unknown message type {message_name!r}; expected one of: {known}")
    return decode(payload, message_type)
