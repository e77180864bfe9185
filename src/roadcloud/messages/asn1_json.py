"""ASN.1 values as JSON-ready data, in the shape an operator's decoder page shows.

Both ASN.1 runtimes roadcloud uses hand back plain Python values: pycrate for the ETSI modules it ships,
asn1tools for user-supplied modules (SAE J2735, ETSI CPM). They agree on SEQUENCE (dict), SEQUENCE OF (list),
OCTET STRING (bytes) and CHOICE (``(alternative, value)``) and differ on BIT STRING, which pycrate gives as
``(value, bit count)`` and asn1tools as ``(bytes, bit count)``; pycrate also gives open types as
``((module, type), value)``. One function renders them all:

    SEQUENCE → object · CHOICE → {alternative: value} · BIT STRING → "0101…" · OCTET STRING → hex
    open type → {"module/type": value}
"""

from __future__ import annotations

from typing import Any


def asn1_to_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: asn1_to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [asn1_to_json(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, tuple) and len(value) == 2:
        return _pair_to_json(*value)
    return value


def _pair_to_json(first: Any, second: Any) -> Any:
    if isinstance(first, str):  # CHOICE
        return {first: asn1_to_json(second)}
    if isinstance(first, tuple):  # pycrate open type: ((module, type name), value)
        return {"/".join(str(part) for part in first): asn1_to_json(second)}
    if isinstance(first, int) and isinstance(second, int):  # pycrate BIT STRING (value, length)
        return format(first, f"0{second}b") if second else ""
    if isinstance(first, bytes | bytearray) and isinstance(second, int):  # asn1tools BIT STRING
        return "".join(format(byte, "08b") for byte in first)[:second]
    return [asn1_to_json(first), asn1_to_json(second)]
