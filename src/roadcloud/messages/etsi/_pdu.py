"""UPER encoding and decoding of whole ETSI PDUs with the ASN.1 modules compiled into pycrate.

This is the only module that touches pycrate. It turns pycrate's failures into ``DecodeError`` (the bytes
are not a well-formed PDU) and ``ValidationError`` (a value cannot be put on the wire), checks the
ItsPduHeader's message id, refuses trailing bytes, and converts decoded values to plain JSON-ready data.

Modules used (pycrate_asn1dir, pycrate 0.8):

- ``ITS_CAM_2``: CAM-PDU-Descriptions of EN 302 637-2 v1.4.1 with ITS-Container v2 (TS 102 894-2 v1.3.1)
- ``ITS_DENM_3``: DENM-PDU-Descriptions of EN 302 637-3 v1.3.1 with the same ITS-Container
- ``ITS_IS``: SPATEM- and MAPEM-PDU-Descriptions of TS 103 301 with DSRC of ISO TS 19091:2019
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Mapping
from typing import Any, Final

from pycrate_asn1dir import ITS_CAM_2, ITS_DENM_3, ITS_IS
from pycrate_asn1rt.utils import Charpy, CharpyErr  # pycrate_core's bit reader, re-exported

from roadcloud.errors import DecodeError, ValidationError

# Far above any real PDU (a large MAPEM is a few kB); bigger payloads are refused unread.
MAX_PAYLOAD_BYTES: Final = 64 * 1024
PROTOCOL_VERSION: Final = 2
_BITS_PER_BYTE: Final = 8
_HEADER_BYTES: Final = 6  # protocolVersion, messageID (one octet each) and a 32-bit stationID


class EtsiMessage(enum.Enum):
    """The ETSI messages roadcloud encodes, with their ItsPduHeader messageID."""

    DENM = 1
    CAM = 2
    SPATEM = 4
    MAPEM = 5

    @property
    def label(self) -> str:
        return self.name.lower()


_PDUS: Final[Mapping[EtsiMessage, Any]] = {
    EtsiMessage.CAM: ITS_CAM_2.CAM_PDU_Descriptions.CAM,
    EtsiMessage.DENM: ITS_DENM_3.DENM_PDU_Descriptions.DENM,
    EtsiMessage.SPATEM: ITS_IS.SPATEM_PDU_Descriptions.SPATEM,
    EtsiMessage.MAPEM: ITS_IS.MAPEM_PDU_Descriptions.MAPEM,
}

# pycrate keeps the value being encoded or decoded inside one shared object per ASN.1 type, and its PER
# codec switches aligned/unaligned through a class attribute: concurrent calls would trample each other.
_codec_lock = threading.Lock()


def header(message: EtsiMessage, *, station_id: int) -> dict[str, int]:
    return {"protocolVersion": PROTOCOL_VERSION, "messageID": message.value, "stationID": station_id}


def reference_position(lat: int, long: int, altitude_cm: int) -> dict[str, Any]:
    """An ETSI ReferencePosition whose confidences are 'unavailable' (the model carries none)."""
    return {
        "latitude": lat,
        "longitude": long,
        "positionConfidenceEllipse": {
            "semiMajorConfidence": 4095,
            "semiMinorConfidence": 4095,
            "semiMajorOrientation": 3601,
        },
        "altitude": {"altitudeValue": altitude_cm, "altitudeConfidence": "unavailable"},
    }


def encode_pdu(message: EtsiMessage, value: Mapping[str, Any]) -> bytes:
    """UPER-encode a PDU given as pycrate values; an unencodable value is a ``ValidationError``."""
    pdu = _PDUS[message]
    try:
        with _codec_lock:
            pdu.set_val(value)
            encoded: bytes = pdu.to_uper()
    except Exception as error:
        # pycrate signals out-of-constraint values with ASN1ObjErr but bad shapes with assorted
        # built-in exceptions; all of them mean the same thing to our caller.
        raise ValidationError(f"{message.name} cannot be encoded: {_first_line(error)}") from None
    return encoded


def decode_pdu(message: EtsiMessage, data: bytes) -> dict[str, Any]:
    """UPER-decode one whole PDU to pycrate values, checking size, header and trailing bytes."""
    name = message.name
    if len(data) > MAX_PAYLOAD_BYTES:
        raise DecodeError(
            f"{name} payload is {len(data)} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit; "
            "send one message per payload"
        )
    if len(data) < _HEADER_BYTES:
        raise DecodeError(
            f"{name} payload is {len(data)} bytes, shorter than the {_HEADER_BYTES}-byte ItsPduHeader; "
            "the message is truncated"
        )
    if data[1] != message.value:
        raise DecodeError(
            f"{name} payload has ItsPduHeader messageID {data[1]}, expected {message.value} ({name}); "
            f"{_message_hint(data[1])}"
        )
    pdu = _PDUS[message]
    cursor = Charpy(data)
    try:
        with _codec_lock:
            pdu.from_uper(cursor)
            value: dict[str, Any] = pdu.get_val()
    except Exception as error:
        # Malformed input makes pycrate raise CharpyErr, ASN1PERDecodeErr, and at times IndexError or
        # AssertionError from deep inside; none of them should escape as anything but "not a PDU".
        if isinstance(error, CharpyErr):  # the bit reader ran out of input
            raise DecodeError(
                f"{name} payload ends before the message does ({len(data)} bytes); it is truncated "
                f"or not a {name}"
            ) from None
        raise DecodeError(f"{name} payload is not valid UPER: {_first_line(error)}") from None
    leftover_bits = cursor.len_bit()
    if leftover_bits:
        raise DecodeError(
            f"{name} payload has {leftover_bits // _BITS_PER_BYTE} bytes after the end of the message; "
            "send one message per payload"
        )
    return value


def _message_hint(message_id: int) -> str:
    try:
        return f"this looks like a {EtsiMessage(message_id).name}"
    except ValueError:
        return "the payload is not a roadcloud-supported ETSI message or not an ETSI PDU at all"


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def flags_to_bits(flags: int, size: int) -> tuple[int, int]:
    """Roadcloud keeps named bits as integer flags, bit n of the standard = ``1 << n``; pycrate wants
    the BIT STRING as (value, length) with the first named bit as the most significant."""
    return int(format(flags, f"0{size}b")[::-1], 2), size


def bits_to_flags(bits: tuple[int, int]) -> int:
    value, size = bits
    return int(format(value, f"0{size}b")[::-1], 2) if size else 0
