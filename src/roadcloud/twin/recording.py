"""Record a twin run to one compact file and replay it, byte for byte, in the same order.

Format: a gzip stream of length-prefixed MessagePack frames. The first frame is a ``RecordingHeader``; each
further frame is ``[delivery_ms, topic, payload]`` with the wire payload exactly as it was delivered.
Benchmarks of fusion and events replay these files, so they measure roadcloud, not SUMO.
"""

from __future__ import annotations

import gzip
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import msgspec

from roadcloud.errors import RecordingError, SettingError
from roadcloud.map import GeoReference
from roadcloud.twin.runtime import Emission

FORMAT = "roadcloud-recording"
VERSION = 1
_LENGTH = struct.Struct(">I")
_MAX_FRAME_BYTES = 64 * 1024 * 1024


class RecordingHeader(msgspec.Struct, frozen=True, kw_only=True):
    format: str = FORMAT
    version: int = VERSION
    zone: str
    start_epoch_ms: int
    manifest_toml: str  # the zone as it was run, so a recording explains itself
    # The map's geo-reference, so WGS84 positions in the messages convert back to the local frame without
    # the zone folder (evaluation of a recording needs nothing else).
    geo_proj: str
    geo_offset_m: tuple[float, float] = (0.0, 0.0)

    def geo(self) -> GeoReference:
        return GeoReference(self.geo_proj, self.geo_offset_m)


class RecordingWriter:
    """Appends deliveries to a recording; use as a context manager so the file is always closed."""

    def __init__(self, path: Path, header: RecordingHeader) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Level 3: close to level 9 in size, several times faster. Closed in close() / __exit__.
        self._file: gzip.GzipFile = gzip.open(path, "wb", compresslevel=3)  # noqa: SIM115
        self._encoder = msgspec.msgpack.Encoder()
        self.frames = 0
        self._write(self._encoder.encode(header))

    def write(self, emission: Emission) -> None:
        self._write(self._encoder.encode((emission.delivery_ms, emission.topic, emission.payload)))
        self.frames += 1

    def _write(self, frame: bytes) -> None:
        self._file.write(_LENGTH.pack(len(frame)))
        self._file.write(frame)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def read_header(path: Path) -> RecordingHeader:
    with _open(path) as stream:
        return _header(stream, path)


def read_recording(path: Path) -> Iterator[Emission]:
    """Every delivery of a recording, in recorded order; a damaged file raises RecordingError."""
    frame_type = tuple[int, str, bytes]
    decoder = msgspec.msgpack.Decoder(frame_type)
    with _open(path) as stream:
        _header(stream, path)
        number = 0
        while True:
            frame = _read_frame(stream, path, number)
            if frame is None:
                return
            try:
                delivery_ms, topic_name, payload = decoder.decode(frame)
            except msgspec.DecodeError as error:
                raise RecordingError(
                    f"{path}: frame {number} is damaged ({error}); record the run again"
                ) from None
            yield Emission(delivery_ms, topic_name, payload)
            number += 1


@dataclass(frozen=True, slots=True)
class ReplayStats:
    messages: int
    span_s: float  # recorded time covered
    wall_s: float


def replay(
    path: Path,
    publish: Callable[[str, bytes], None],
    *,
    speed: float | None = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayStats:
    """Publish every recorded message; ``speed`` 1.0 keeps recorded timing, None is as fast as possible."""
    if speed is not None and speed <= 0:
        raise SettingError(
            f"replay speed is {speed}; give a positive factor, or 'max' for as fast as possible"
        )
    started = clock()
    first_ms: int | None = None
    last_ms = 0
    count = 0
    for emission in read_recording(path):
        if first_ms is None:
            first_ms = emission.delivery_ms
        last_ms = emission.delivery_ms
        if speed is not None:
            wait_s = (emission.delivery_ms - first_ms) / 1000.0 / speed - (clock() - started)
            if wait_s > 0:
                sleep(wait_s)
        publish(emission.topic, emission.payload)
        count += 1
    span_s = (last_ms - first_ms) / 1000.0 if first_ms is not None else 0.0
    return ReplayStats(count, span_s, clock() - started)


def _open(path: Path) -> gzip.GzipFile:
    if not path.exists():
        raise RecordingError(
            f"recording {path} does not exist; record one with 'roadcloud twin ZONE --record FILE'"
        )
    return gzip.open(path, "rb")


def _header(stream: gzip.GzipFile, path: Path) -> RecordingHeader:
    frame = _read_frame(stream, path, -1)
    if frame is None:
        raise RecordingError(f"{path} is empty; it is not a roadcloud recording")
    try:
        header = msgspec.msgpack.decode(frame, type=RecordingHeader)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise RecordingError(f"{path} is not a roadcloud recording (no valid header)") from None
    if header.format != FORMAT or header.version != VERSION:
        raise RecordingError(
            f"{path} is {header.format} version {header.version}; "
            f"this roadcloud reads {FORMAT} version {VERSION}"
        )
    return header


def _read_frame(stream: gzip.GzipFile, path: Path, number: int) -> bytes | None:
    try:
        prefix = stream.read(_LENGTH.size)
        if not prefix:
            return None
        if len(prefix) < _LENGTH.size:
            raise RecordingError(f"{path} is truncated after frame {number}; record the run again")
        (length,) = _LENGTH.unpack(prefix)
        if length > _MAX_FRAME_BYTES:
            raise RecordingError(f"{path}: frame {number + 1} claims {length} bytes; the file is damaged")
        frame = stream.read(length)
    except (OSError, EOFError, zlib.error) as error:
        raise RecordingError(
            f"{path} cannot be read as a recording ({error}); record the run again"
        ) from None
    if len(frame) < length:
        raise RecordingError(f"{path} is truncated in frame {number + 1}; record the run again")
    return frame
