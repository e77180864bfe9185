"""ETSI C-ITS messages in UPER, mapped to and from the roadcloud message model.

The edge of the platform towards ETSI equipment: ingest decodes CAM, DENM, SPATEM and MAPEM from
vehicles, RSUs and signal controllers that speak ETSI into the same structs the Chinese V2X ecosystem
sends as JSON, and services encode advisories back. The ASN.1 is the set compiled into pycrate
(``pycrate_asn1dir``): CAM EN 302 637-2 v1.4.1, DENM EN 302 637-3 v1.3.1, ITS-Container TS 102 894-2
v1.3.1, SPATEM/MAPEM TS 103 301 with ISO TS 19091 DSRC. pycrate ships no CPM (TS 103 324), so CPM ↔ RSM
is not available here; ``roadcloud decode --type cpm --asn …`` reads CPMs with user-supplied ASN.1.

Each message module's docstring lists what its mapping loses. Decoding raises ``DecodeError`` for
payloads that are not a well-formed PDU of the type (garbage, truncated, trailing bytes, wrong
messageID) and ``ValidationError`` for PDUs whose values the model cannot hold; encoding raises
``ValidationError`` for messages that cannot be put on the ETSI wire. The codecs serialise calls
internally (pycrate is not thread-safe); scale out with processes.
"""

from __future__ import annotations

from typing import Any

from roadcloud.messages.asn1_json import asn1_to_json as to_json
from roadcloud.messages.etsi._pdu import MAX_PAYLOAD_BYTES, EtsiMessage, decode_pdu
from roadcloud.messages.etsi.cam import StationType, decode_cam, encode_cam
from roadcloud.messages.etsi.denm import (
    DenmEvent,
    RelevanceDistance,
    RelevanceTrafficDirection,
    Termination,
    decode_denm,
    encode_denm,
)
from roadcloud.messages.etsi.mapem import decode_mapem, encode_mapem
from roadcloud.messages.etsi.spatem import decode_spatem, encode_spatem


def decode_to_json(message: EtsiMessage, data: bytes) -> dict[str, Any]:
    """The whole decoded PDU as JSON-ready data, every field as the ASN.1 names it (for inspection)."""
    decoded: dict[str, Any] = to_json(decode_pdu(message, data))
    return decoded


__all__ = [
    "MAX_PAYLOAD_BYTES",
    "DenmEvent",
    "EtsiMessage",
    "RelevanceDistance",
    "RelevanceTrafficDirection",
    "StationType",
    "Termination",
    "decode_cam",
    "decode_denm",
    "decode_mapem",
    "decode_spatem",
    "decode_to_json",
    "encode_cam",
    "encode_denm",
    "encode_mapem",
    "encode_spatem",
]
