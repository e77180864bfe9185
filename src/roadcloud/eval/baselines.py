"""Baselines for fusion: what the roadside units' own reports score without any fusion.

Where it sits: beside the tracker. Both read the same recording; the baselines use the RSMs exactly as they
were received (each unit's clock as it stamped them, resolved against the delivery time, no offset
correction), bin each report to the nearest 100 ms frame by that resolved time, and are scored by
``metrics.score_frames`` against the same ``truth.TruthFrame`` as fusion. Neither looks at the truth to
decide what to report, and neither waits for late data: binning by measurement time gives them every
report in its own frame whatever its delay, which fusion only gets by waiting.

- **Raw union**: every RSM detection is a hypothesis; each (unit, unit's object id) pair is one track. Where
  units overlap, the same vehicle appears several times: the extra copies are false positives.
- **Single unit**: what a platform without fusion can serve, one unit per place. Every point of the zone is
  served by the nearest unit whose coverage (range, field of view, from the manifest) contains it, else by
  the nearest unit; each unit's reports that fall in its own service area are kept, as they are, with the
  unit's object ids as track ids. So an object is followed by the unit nearest to it (with uniform
  detection over a sector, the one that sees it best), a hand-over between service areas is an id switch,
  the unit's false alarms in its area are false positives, its misses are misses, and an object in a unit's
  coverage but in a neighbour's area is missed when the neighbour does not see it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from roadcloud.bus.topics import parse_topic
from roadcloud.eval.metrics import ScoringFrame
from roadcloud.eval.truth import FRAME_MS, TruthFrame
from roadcloud.fusion.detections import Detections, concatenate
from roadcloud.messages import RSM
from roadcloud.messages.json_codec import decode
from roadcloud.twin.recording import read_header, read_recording
from roadcloud.twin.sensors import Actors, RoadsideUnits, visible

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_UNIT_ID_SHIFT = 32  # raw-union track id = unit index << 32 | unit's object id (object ids are < 2**16)


@dataclass(frozen=True, slots=True, eq=False)
class ReceivedDetections:
    """Every RSM detection of a recording, flat, sorted by ``frame_ms``. ``frame_ms`` is the unit's
    resolved measurement time rounded to the nearest 100 ms frame; ``unit_index`` numbers the units in
    order of first appearance (``unit_ids`` gives their names)."""

    frame_ms: IntArray
    unit_index: IntArray
    object_id: IntArray
    x_m: FloatArray
    y_m: FloatArray
    unit_ids: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.frame_ms)

    def frames(self) -> Iterator[tuple[int, slice]]:
        """(frame_ms, slice of this frame's detections) in time order."""
        if len(self) == 0:
            return
        starts = np.flatnonzero(np.diff(self.frame_ms)) + 1
        bounds = [0, *starts.tolist(), len(self)]
        for start, stop in itertools.pairwise(bounds):
            yield int(self.frame_ms[start]), slice(start, stop)


def received_detections(path: Path) -> ReceivedDetections:
    """Every RSM of a recording as received: positions in the local frame, time by the unit's clock."""
    header = read_header(path)
    geo = header.geo()
    unit_numbers: dict[str, int] = {}
    batches: list[Detections] = []
    for emission in read_recording(path):
        if "/rsm/" not in emission.topic:
            continue
        topic = parse_topic(emission.topic)
        if topic.message != "rsm" or topic.device_kind != "rsu":
            continue
        unit = unit_numbers.setdefault(topic.device_id, len(unit_numbers))
        rsm = decode(emission.payload, RSM)
        if rsm.participants:
            batches.append(
                Detections.from_rsm(rsm, geo=geo, reference_ms=emission.delivery_ms, source_index=unit)
            )
    merged = concatenate(batches)
    frame_ms = (
        header.start_epoch_ms
        + np.round((merged.time_ms - header.start_epoch_ms) / FRAME_MS).astype(np.int64) * FRAME_MS
    )
    order = np.argsort(frame_ms, kind="stable")
    return ReceivedDetections(
        frame_ms=frame_ms[order],
        unit_index=merged.source_index[order],
        object_id=merged.object_id[order],
        x_m=merged.x_m[order],
        y_m=merged.y_m[order],
        unit_ids=tuple(unit_numbers),
    )


def scored_window(truth: Sequence[TruthFrame], received: ReceivedDetections) -> list[TruthFrame]:
    """The truth frames between the first and last frame any unit reported: before the first report and
    after the last the field had not spoken yet (or the recording ended), for fusion and baselines alike."""
    if len(received) == 0:
        return []
    first_ms, last_ms = int(received.frame_ms[0]), int(received.frame_ms[-1])
    return [frame for frame in truth if first_ms <= frame.time_ms <= last_ms]


def raw_union_frames(truth: Sequence[TruthFrame], received: ReceivedDetections) -> list[ScoringFrame]:
    """Every received detection as a hypothesis; track id = (unit, unit's object id)."""
    by_frame = dict(received.frames())
    frames = []
    for frame in truth:
        part = by_frame.get(frame.time_ms, slice(0, 0))
        track_id = (received.unit_index[part] << _UNIT_ID_SHIFT) | received.object_id[part]
        # A unit reports an object once per frame; if two reports land in one bin keep the first.
        _, first = np.unique(track_id, return_index=True)
        first.sort()
        frames.append(
            ScoringFrame(
                time_ms=frame.time_ms,
                truth_id=frame.actor_id,
                truth_x_m=frame.x_m,
                truth_y_m=frame.y_m,
                track_id=track_id[first],
                track_x_m=received.x_m[part][first],
                track_y_m=received.y_m[part][first],
            )
        )
    return frames


def serving_units(received: ReceivedDetections, units: RoadsideUnits, unit_ids: Sequence[str]) -> IntArray:
    """Per detection, the manifest index of the unit that serves the place it reports: the nearest unit
    whose coverage (range and field of view) contains it, else (a report outside every sector, noise at
    a range's edge or a phantom) the nearest unit. Uses the installation plan only, never the truth.
    ``unit_ids`` names the manifest's units in order."""
    count = len(received)
    if count == 0 or len(units) == 0:
        return np.full(count, -1, dtype=np.int64)
    zeros = np.zeros(count)
    places = Actors(
        x_m=received.x_m,
        y_m=received.y_m,
        speed_mps=zeros,
        heading_deg=zeros,
        length_m=zeros,
        width_m=zeros,
        kind=np.zeros(count, dtype=np.int64),
    )
    unit_xy = np.column_stack([units.x_m, units.y_m])
    _, nearest = cKDTree(unit_xy).query(np.column_stack([received.x_m, received.y_m]))
    serving = np.asarray(nearest, dtype=np.int64)
    unit, detection = visible(units, places)
    if len(unit):
        distance_m = np.hypot(
            received.x_m[detection] - units.x_m[unit], received.y_m[detection] - units.y_m[unit]
        )
        order = np.lexsort((distance_m, detection))  # per detection, nearest covering unit first
        first = order[np.concatenate([[True], detection[order][1:] != detection[order][:-1]])]
        serving[detection[first]] = unit[first]
    return serving


def single_unit_frames(
    truth: Sequence[TruthFrame],
    received: ReceivedDetections,
    *,
    units: RoadsideUnits,
    unit_ids: Sequence[str],
) -> list[ScoringFrame]:
    """Every place served by one unit, that unit's reports there as they are (see the module docstring)."""
    manifest_index = {unit_id: index for index, unit_id in enumerate(unit_ids)}
    own = np.array([manifest_index.get(unit_id, -1) for unit_id in received.unit_ids], dtype=np.int64)
    sender = own[received.unit_index] if len(received) else np.empty(0, dtype=np.int64)
    keep = serving_units(received, units, unit_ids) == sender
    served = ReceivedDetections(
        frame_ms=received.frame_ms[keep],
        unit_index=received.unit_index[keep],
        object_id=received.object_id[keep],
        x_m=received.x_m[keep],
        y_m=received.y_m[keep],
        unit_ids=received.unit_ids,
    )
    return raw_union_frames(truth, served)
