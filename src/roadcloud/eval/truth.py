"""What the system could have known: the twin's ground truth per 100 ms frame, cut to what was observable.

Where it sits: evaluation reads a twin recording (``roadcloud.twin.recording``); this module turns its
``truth`` messages into ``TruthFrame`` arrays that ``metrics.score_frames`` compares with fused tracks and
with the baselines.

An actor is *observable* in a frame when it lies within range and field of view of at least one roadside unit
of the recording's manifest (the same coverage test the twin's sensor model uses, ``twin.sensors.visible``),
or when it is a connected vehicle (it reports itself in BSMs). Everything else was outside the system's
sight: it is left out and not scored, neither as a miss nor as a match.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
from numpy.typing import NDArray

from roadcloud.bus.topics import parse_topic
from roadcloud.errors import RecordingError
from roadcloud.messages.json_codec import decode
from roadcloud.messages.truth import GroundTruth
from roadcloud.twin.manifest import Manifest
from roadcloud.twin.recording import RecordingHeader, read_header, read_recording
from roadcloud.twin.sensors import Actors, RoadsideUnits, visible

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

FRAME_MS = 100
"""The platform's cadence: truth, RSMs and fused snapshots all refer to multiples of this."""


@dataclass(frozen=True, slots=True, eq=False)
class TruthFrame:
    """The observable actors at ``time_ms`` (UTC epoch ms). ``actor_id`` is a number given to each twin
    actor id in order of first appearance in the recording, stable for the whole recording; ``kind`` holds
    ``ActorKind`` codes."""

    time_ms: int
    actor_id: IntArray
    x_m: FloatArray
    y_m: FloatArray
    kind: IntArray
    connected: BoolArray

    def __len__(self) -> int:
        return len(self.actor_id)


def manifest_of(header: RecordingHeader, path: Path) -> Manifest:
    """The zone manifest a recording carries in its header."""
    try:
        return msgspec.toml.decode(header.manifest_toml, type=Manifest)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise RecordingError(
            f"{path}: the zone manifest in its header is not valid ({error}); record the run again"
        ) from None


def roadside_units(manifest: Manifest) -> RoadsideUnits:
    """The manifest's roadside units as the sensor model's arrays (coverage only)."""
    specs = manifest.rsu
    return RoadsideUnits(
        x_m=np.array([u.x_m for u in specs], dtype=np.float64),
        y_m=np.array([u.y_m for u in specs], dtype=np.float64),
        range_m=np.array([u.range_m for u in specs], dtype=np.float64),
        fov_deg=np.array([u.fov_deg for u in specs], dtype=np.float64),
        facing_deg=np.array([u.facing_deg for u in specs], dtype=np.float64),
    )


def observable(units: RoadsideUnits, x_m: FloatArray, y_m: FloatArray, connected: BoolArray) -> BoolArray:
    """Per actor: covered by at least one unit, or connected. Vectorised over all actors of a frame."""
    count = len(x_m)
    zeros = np.zeros(count, dtype=np.float64)
    actors = Actors(
        x_m=x_m,
        y_m=y_m,
        speed_mps=zeros,
        heading_deg=zeros,
        length_m=zeros,
        width_m=zeros,
        kind=np.zeros(count, dtype=np.int64),
    )
    _, actor_index = visible(units, actors)
    seen = np.zeros(count, dtype=np.bool_)
    seen[actor_index] = True
    result: BoolArray = seen | np.asarray(connected, dtype=np.bool_)
    return result


class ActorNumbers:
    """Twin actor ids (text) to stable integers, in order of first appearance."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}

    def of(self, actor_ids: Iterable[str]) -> IntArray:
        numbers = self._numbers
        return np.array([numbers.setdefault(a, len(numbers)) for a in actor_ids], dtype=np.int64)


def truth_frame(truth: GroundTruth, units: RoadsideUnits, numbers: ActorNumbers) -> TruthFrame:
    """One ground-truth message as a frame of its observable actors."""
    x_m = np.array(truth.x_m, dtype=np.float64)
    y_m = np.array(truth.y_m, dtype=np.float64)
    connected = np.array(truth.connected, dtype=np.bool_)
    keep = observable(units, x_m, y_m, connected)
    return TruthFrame(
        time_ms=truth.time_ms,
        actor_id=numbers.of(truth.actor_ids)[keep],
        x_m=x_m[keep],
        y_m=y_m[keep],
        kind=np.array(truth.kinds, dtype=np.int64)[keep],
        connected=connected[keep],
    )


def truth_frames(path: Path) -> list[TruthFrame]:
    """Per 100 ms frame of a twin recording, in time order, the ground-truth actors that were OBSERVABLE:
    within range and field of view of at least one roadside unit of the recording's manifest, or a
    connected vehicle. Actors outside the system's sight are not included and are not scored."""
    header = read_header(path)
    units = roadside_units(manifest_of(header, path))
    numbers = ActorNumbers()
    return sorted(
        (truth_frame(truth, units, numbers) for truth in _truths(path)), key=lambda frame: frame.time_ms
    )


def _truths(path: Path) -> Iterator[GroundTruth]:
    for emission in read_recording(path):
        if "/truth/" in emission.topic and parse_topic(emission.topic).message == "truth":
            yield decode(emission.payload, GroundTruth)
