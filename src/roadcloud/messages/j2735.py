"""SAE J2735 (and any other user-supplied ASN.1) in UPER, decoded to plain dicts.

SAE licenses the J2735 ASN.1 and it may not be redistributed, so roadcloud ships none: operators who hold
the files compile them at run time with asn1tools (``compile_j2735``) and decode or encode messages by
type name. The same machinery reads other ASN.1 roadcloud cannot ship, such as the ETSI CPM
(``compile_uper``). Values are asn1tools' Python values: dicts for SEQUENCE, ``(alternative, value)`` for
CHOICE, ``(bytes, bit count)`` for BIT STRING, bytes for OCTET STRING; ``to_json`` makes them printable.

J2735 wraps every message in a MessageFrame whose ``value`` is an open type chosen by ``messageId``;
asn1tools leaves open types as their encoded bytes, so ``decode_frame`` looks the id up in
``J2735_MESSAGE_IDS`` (the DSRCmsgID values of J2735 2016 and later) and decodes the inner message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import asn1tools

from roadcloud.errors import DecodeError, InputError, ValidationError
from roadcloud.messages.asn1_json import asn1_to_json as to_json

MAX_PAYLOAD_BYTES: Final = 64 * 1024
FRAME_TYPE: Final = "MessageFrame"

# DSRCmsgID → type name, as J2735 (2016 and later) assigns them; pass your own table for other editions.
J2735_MESSAGE_IDS: Final[Mapping[int, str]] = {
    18: "MapData",
    19: "SPAT",
    20: "BasicSafetyMessage",
    21: "CommonSafetyRequest",
    22: "EmergencyVehicleAlert",
    23: "IntersectionCollision",
    24: "NMEAcorrections",
    25: "ProbeDataManagement",
    26: "ProbeVehicleData",
    27: "RoadSideAlert",
    28: "RTCMcorrections",
    29: "SignalRequestMessage",
    30: "SignalStatusMessage",
    31: "TravelerInformation",
    32: "PersonalSafetyMessage",
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Frame:
    """A decoded MessageFrame; ``message_name`` is None (and ``value`` bytes) for an id we cannot decode."""

    message_id: int
    message_name: str | None
    value: Any


class UperCodec:
    """UPER encoding and decoding with a compiled set of ASN.1 modules."""

    def __init__(self, specification: Any, *, sources: tuple[Path, ...]) -> None:
        self._specification = specification
        self.sources = sources

    @property
    def message_names(self) -> tuple[str, ...]:
        """Every type the compiled modules define, sorted."""
        return tuple(sorted(self._specification.types))

    def decode(self, message_name: str, data: bytes) -> dict[str, Any]:
        """Decode one whole message of type ``message_name``; trailing bytes are an error."""
        self._require(message_name)
        if len(data) > MAX_PAYLOAD_BYTES:
            raise DecodeError(
                f"{message_name} payload is {len(data)} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit; "
                "send one message per payload"
            )
        if not data:
            raise DecodeError(f"{message_name} payload is empty")
        try:
            decoded = self._specification.decode(message_name, data, check_constraints=True)
        except Exception as error:
            # asn1tools raises its DecodeError for most malformed input, but bare built-in exceptions
            # for some; to the caller they all mean "not a message of this type".
            raise DecodeError(f"{message_name} payload is not valid UPER: {_first_line(error)}") from None
        self._refuse_trailing_bytes(message_name, decoded, len(data))
        return decoded if isinstance(decoded, dict) else {"value": decoded}

    def encode(self, message_name: str, value: Mapping[str, Any]) -> bytes:
        """Encode ``value`` as ``message_name``; out-of-constraint values are a ValidationError."""
        self._require(message_name)
        try:
            encoded: bytes = self._specification.encode(message_name, dict(value), check_constraints=True)
        except Exception as error:
            raise ValidationError(f"{message_name} cannot be encoded: {_first_line(error)}") from None
        return encoded

    def _require(self, message_name: str) -> None:
        if message_name not in self._specification.types:
            sample = ", ".join(self.message_names[:12])
            more = " …" if len(self.message_names) > 12 else ""
            raise InputError(
                f"the ASN.1 in {_names(self.sources)} defines no type {message_name!r}; "
                f"it defines: {sample}{more}"
            )

    def _refuse_trailing_bytes(self, message_name: str, decoded: Any, size_bytes: int) -> None:
        # asn1tools has no decode_with_length for UPER; re-encoding gives the length the value takes.
        try:
            used_bytes = len(self._specification.encode(message_name, decoded))
        except Exception:
            return  # a value asn1tools cannot re-encode (an open type left as bytes) skips the check
        if used_bytes < size_bytes:
            raise DecodeError(
                f"{message_name} payload has {size_bytes - used_bytes} bytes after the end of the message; "
                "send one message per payload"
            )


class J2735Codec(UperCodec):
    """A ``UperCodec`` that also unwraps and wraps J2735 MessageFrames."""

    def __init__(
        self,
        specification: Any,
        *,
        sources: tuple[Path, ...],
        message_ids: Mapping[int, str] = J2735_MESSAGE_IDS,
    ) -> None:
        super().__init__(specification, sources=sources)
        self.message_ids = dict(message_ids)

    def decode_frame(self, data: bytes) -> Frame:
        """Decode a MessageFrame and, when its id is known and defined, the message inside."""
        frame = self.decode(FRAME_TYPE, data)
        message_id = frame["messageId"]
        value = frame["value"]
        message_name = self.message_ids.get(message_id)
        if message_name is None or message_name not in self._specification.types:
            return Frame(message_id=message_id, message_name=None, value=value)
        if isinstance(value, bytes | bytearray):
            value = self.decode(message_name, bytes(value))
        return Frame(message_id=message_id, message_name=message_name, value=value)

    def encode_frame(self, message_name: str, value: Mapping[str, Any]) -> bytes:
        """Encode ``value`` as ``message_name`` and wrap it in a MessageFrame."""
        ids = {name: message_id for message_id, name in self.message_ids.items()}
        if message_name not in ids:
            raise InputError(
                f"{message_name!r} has no DSRCmsgID in the message id table; "
                f"known: {', '.join(sorted(ids))}; pass message_ids= to compile_j2735"
            )
        inner = self.encode(message_name, value)
        return self.encode(FRAME_TYPE, {"messageId": ids[message_name], "value": inner})


def compile_uper(asn_paths: Iterable[Path]) -> UperCodec:
    """Compile user-supplied ASN.1 files for UPER; missing or broken files are an ``InputError``."""
    specification, sources = _compile(asn_paths)
    return UperCodec(specification, sources=sources)


def compile_j2735(
    asn_paths: Iterable[Path], *, message_ids: Mapping[int, str] = J2735_MESSAGE_IDS
) -> J2735Codec:
    """Compile the operator's SAE J2735 ASN.1 files (roadcloud does not ship them) for UPER."""
    specification, sources = _compile(asn_paths)
    if FRAME_TYPE not in specification.types:
        raise InputError(
            f"the ASN.1 in {_names(sources)} defines no {FRAME_TYPE}; pass every J2735 module file, "
            "including the one with MessageFrame"
        )
    return J2735Codec(specification, sources=sources, message_ids=message_ids)


def _compile(asn_paths: Iterable[Path]) -> tuple[Any, tuple[Path, ...]]:
    sources = tuple(Path(path) for path in asn_paths)
    if not sources:
        raise InputError("no ASN.1 files given; pass the module files with --asn FILE (repeat for each)")
    missing = [str(path) for path in sources if not path.is_file()]
    if missing:
        raise InputError(f"ASN.1 file not found: {', '.join(missing)}; check the --asn paths")
    try:
        specification = asn1tools.compile_files([str(path) for path in sources], "uper")
    except Exception as error:
        # asn1tools reports syntax errors as ParseError and unresolved names as CompileError, but some
        # unsupported constructs surface as KeyError or AttributeError from its compiler.
        raise InputError(
            f"the ASN.1 in {_names(sources)} does not compile: {_first_line(error)}; "
            "pass all the modules it imports from"
        ) from None
    return specification, sources


def _names(sources: tuple[Path, ...]) -> str:
    return ", ".join(path.name for path in sources)


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


__all__ = [
    "FRAME_TYPE",
    "J2735_MESSAGE_IDS",
    "MAX_PAYLOAD_BYTES",
    "Frame",
    "J2735Codec",
    "UperCodec",
    "compile_j2735",
    "compile_uper",
    "to_json",
]
