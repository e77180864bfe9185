"""``roadcloud decode``: read one V2X message the way an operator's decoder page does.

Binary messages (ETSI CAM, DENM, SPATEM, MAPEM in UPER; J2735 or CPM with your own ASN.1) are given as
hex, or as a binary or hex file, and printed as JSON with the ASN.1 field names; ``--as-model`` prints
what roadcloud makes of an ETSI message instead. JSON messages (bsm, rsm, spat, …) are validated
against the model and pretty-printed. Every failure is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import binascii
import string
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from roadcloud.errors import DecodeError, InputError
from roadcloud.messages import MESSAGE_TYPES, etsi, j2735, json_codec

_ETSI_ORDER = (etsi.EtsiMessage.CAM, etsi.EtsiMessage.DENM, etsi.EtsiMessage.SPATEM, etsi.EtsiMessage.MAPEM)
_ETSI_TYPES = {message.label: message for message in _ETSI_ORDER}
_USER_ASN_TYPES = ("j2735", "cpm")
_CPM_TYPE_NAMES = ("CollectivePerceptionMessage", "CPM")
_HEX_DIGITS = frozenset(string.hexdigits)


def register(subparsers: Any) -> None:
    """Add ``decode`` to the ``roadcloud`` command."""
    types = [*_ETSI_TYPES, *_USER_ASN_TYPES, *MESSAGE_TYPES]
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "decode",
        help="decode one V2X message (ETSI UPER, J2735, or roadcloud JSON) and print it as JSON",
        description=(
            "Decode one V2X message and print it as indented JSON. Binary types take hex digits "
            "(spaces and a 0x prefix allowed) or --file with raw bytes or hex; JSON types take the JSON "
            "text or --file, and are validated against the roadcloud message model."
        ),
        epilog=(
            "examples: roadcloud decode --type cam 0202000000…  |  "
            "roadcloud decode --type j2735 --asn J2735.asn --file bsm.uper  |  "
            "roadcloud decode --type rsm --file rsm.json"
        ),
    )
    parser.add_argument("--type", required=True, choices=types, dest="message_type", help="message type")
    parser.add_argument(
        "--asn",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="ASN.1 module file for j2735 and cpm (repeat for each module); roadcloud ships none",
    )
    parser.add_argument(
        "--message",
        metavar="NAME",
        help="ASN.1 type to decode with --asn (default: MessageFrame for j2735, the CPM type for cpm)",
    )
    parser.add_argument(
        "--as-model",
        action="store_true",
        help="for cam, denm, spatem, mapem: print the roadcloud message it maps to, timed against now",
    )
    parser.add_argument(
        "--file", type=Path, metavar="PATH", help="read the payload from PATH ('-' for stdin)"
    )
    parser.add_argument(
        "payload", nargs="?", metavar="PAYLOAD", help="hex digits, or JSON text for JSON types"
    )
    parser.set_defaults(run=run_decode)


def run_decode(args: argparse.Namespace) -> int:
    message_type: str = args.message_type
    if args.as_model and message_type not in _ETSI_TYPES:
        raise InputError(f"--as-model works for {', '.join(_ETSI_TYPES)}, not {message_type}")
    if message_type in MESSAGE_TYPES:
        message = json_codec.decode_named(_json_payload(args), message_type)
        _print_json(msgspec.to_builtins(message))
        return 0
    data = _binary_payload(args)
    if message_type in _ETSI_TYPES:
        etsi_message = _ETSI_TYPES[message_type]
        if args.as_model:
            _print_json(msgspec.to_builtins(_MODEL_DECODERS[etsi_message](data)))
        else:
            _print_json(etsi.decode_to_json(etsi_message, data))
        return 0
    _print_json(_decode_user_asn(message_type, args.asn, args.message, data))
    return 0


def _decode_with_clock(decoder: Callable[..., Any]) -> Callable[[bytes], Any]:
    def decode(data: bytes) -> Any:
        return decoder(data, reference_epoch_ms=time.time_ns() // 1_000_000)

    return decode


_MODEL_DECODERS: dict[etsi.EtsiMessage, Callable[[bytes], Any]] = {
    etsi.EtsiMessage.CAM: _decode_with_clock(etsi.decode_cam),
    etsi.EtsiMessage.DENM: etsi.decode_denm,
    etsi.EtsiMessage.SPATEM: _decode_with_clock(etsi.decode_spatem),
    etsi.EtsiMessage.MAPEM: etsi.decode_mapem,
}


def _decode_user_asn(message_type: str, asn_paths: list[Path], message_name: str | None, data: bytes) -> Any:
    if not asn_paths:
        if message_type == "cpm":
            raise InputError(
                "pycrate ships no CPM ASN.1; pass the ETSI TS 103 324 module files with --asn FILE (repeat)"
            )
        raise InputError("SAE J2735 ASN.1 cannot be shipped; pass your licensed module files with --asn FILE")
    if message_type == "j2735":
        codec = j2735.compile_j2735(asn_paths)
        if message_name is None or message_name == j2735.FRAME_TYPE:
            frame = codec.decode_frame(data)
            return {
                "messageId": frame.message_id,
                "messageName": frame.message_name,
                "value": j2735.to_json(frame.value),
            }
        return j2735.to_json(codec.decode(message_name, data))
    codec_any = j2735.compile_uper(asn_paths)
    if message_name is None:
        known = [name for name in _CPM_TYPE_NAMES if name in codec_any.message_names]
        if not known:
            raise InputError(
                f"the ASN.1 defines none of {', '.join(_CPM_TYPE_NAMES)}; name the CPM type with --message"
            )
        message_name = known[0]
    return j2735.to_json(codec_any.decode(message_name, data))


def _read_file(path: Path) -> bytes:
    if str(path) == "-":
        return sys.stdin.buffer.read()
    try:
        return path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read --file {path}: {error.strerror or error}") from None


def _raw_payload(args: argparse.Namespace) -> bytes | str:
    if args.file is not None and args.payload is not None:
        raise InputError("give the payload either as PAYLOAD or with --file, not both")
    if args.file is not None:
        return _read_file(args.file)
    if args.payload is None:
        raise InputError("no payload; give it as PAYLOAD or with --file PATH")
    payload: str = args.payload
    return payload


def _json_payload(args: argparse.Namespace) -> bytes:
    raw = _raw_payload(args)
    return raw.encode() if isinstance(raw, str) else raw


def _binary_payload(args: argparse.Namespace) -> bytes:
    raw = _raw_payload(args)
    if isinstance(raw, bytes):
        # A file holds either raw bytes or hex text; hex text is the only kind made of hex digits alone.
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            return raw
        compact = _compact_hex(text)
        if compact and set(compact) <= _HEX_DIGITS and len(compact) % 2 == 0:
            return bytes.fromhex(compact)
        return raw
    return parse_hex(raw)


def _compact_hex(text: str) -> str:
    compact = "".join(text.split())
    return compact[2:] if compact[:2].lower() == "0x" else compact


def parse_hex(text: str) -> bytes:
    """Hex digits (whitespace, ':' separators and a 0x prefix allowed) as bytes; a DecodeError otherwise."""
    compact = _compact_hex(text.replace(":", ""))
    if not compact:
        raise DecodeError("the payload is empty; give the message as hex digits")
    bad = sorted(set(compact) - _HEX_DIGITS)
    if bad:
        raise DecodeError(f"the payload is not hex: it contains {''.join(bad)!r}; give hex digits 0-9 a-f")
    if len(compact) % 2:
        raise DecodeError(
            f"the payload has an odd number of hex digits ({len(compact)}); a byte is two digits"
        )
    try:
        return binascii.unhexlify(compact)
    except binascii.Error as error:  # pragma: no cover - the checks above leave nothing for it to reject
        raise DecodeError(f"the payload is not hex: {error}") from None


def _print_json(value: Any) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value), indent=2).decode() + "\n")
