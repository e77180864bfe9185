"""Baselines for fusion: what the roadside units' own reports score without any fusion.

Where it sits: beside the tracker. Both read the same recording; the baselines use the RSMs exactly as they
were received (each unit's clock as it stamped them, resolved against the delivery time, no offset
correction), bin each report to the nearest 100 ms frame by that resolved time, and are scored by
``metrics.score_frames`` against the same ``truth.TruthFrame`` as fusion.

- **Raw union**: every RSM detection is a hypothesis; each (unit, unit's object id) pair is one track. Where
  units overlap, the same vehicle appears several times: the extra copies are false positives.
- **Best single unit**: an oracle lower bar for fusion. In every frame each unit's detections are assigned to
  the observable truth objects (Hungarian, at most ``max_distance_m``); for each truth object the unit that
  was assigned to it in the most frames is its best unit, and only that unit's detections assigned to that
  object are kept (with that unit's object ids). Truth picks what is kept, so this baseline has no false
  alarms; it shows what one well-placed unit per object gives, including its id changes and misses.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from roadcloud.bus.topics import parse_topic
from roadcloud.eval.metrics import DEFAULT_MAX_DISTANCE_M, ScoringFrame, distance_matrix_m
from roadcloud.eval.truth import FRAME_MS, TruthFrame
from roadcloud.fusion.detections import Detections, concatenate
from roadcloud.messages import RSM
from roadcloud.messages.json_codec import decode
from roadcloud.twin.recording import read_header, read_recording

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


def best_unit_frames(
    truth: Sequence[TruthFrame],
    received: ReceivedDetections,
    *,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
) -> list[ScoringFrame]:
    """Per truth object, only its best unit's detections of it (see the module docstring)."""
    union = raw_union_frames(truth, received)
    # Per frame and unit, which truth object (row in the frame) each detection was assigned to, or -1.
    assigned: list[IntArray] = []
    pairs_object: list[IntArray] = []
    pairs_unit: list[IntArray] = []
    for frame in union:
        unit = frame.track_id >> _UNIT_ID_SHIFT
        owner = np.full(len(frame.track_id), -1, dtype=np.int64)
        for u in np.unique(unit).tolist():
            columns = np.flatnonzero(unit == u)
            distances = distance_matrix_m(
                frame.truth_x_m,
                frame.truth_y_m,
                frame.track_x_m[columns],
                frame.track_y_m[columns],
                max_distance_m=max_distance_m,
            )
            rows, cols = _assign(distances)
            owner[columns[cols]] = rows
        assigned.append(owner)
        matched = owner >= 0
        pairs_object.append(frame.truth_id[owner[matched]])
        pairs_unit.append(unit[matched])
    best = _best_unit_per_object(
        np.concatenate(pairs_object or [np.empty(0, np.int64)]),
        np.concatenate(pairs_unit or [np.empty(0, np.int64)]),
    )
    frames = []
    for frame, owner in zip(union, assigned, strict=True):
        unit = frame.track_id >> _UNIT_ID_SHIFT
        matched = owner >= 0
        object_id = np.full(len(owner), -1, dtype=np.int64)
        object_id[matched] = frame.truth_id[owner[matched]]
        keep = matched & (np.array([best.get(o, -1) for o in object_id.tolist()], dtype=np.int64) == unit)
        frames.append(
            ScoringFrame(
                time_ms=frame.time_ms,
                truth_id=frame.truth_id,
                truth_x_m=frame.truth_x_m,
                truth_y_m=frame.truth_y_m,
                track_id=frame.track_id[keep],
                track_x_m=frame.track_x_m[keep],
                track_y_m=frame.track_y_m[keep],
            )
        )
    return frames


def _assign(distances_m: FloatArray) -> tuple[IntArray, IntArray]:
    """Min-distance one-to-one assignment; NaN entries (beyond the threshold) never pair."""
    if distances_m.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy()
    allowed = np.isfinite(distances_m)
    # Only rows and columns with some allowed pair can be assigned: solve the (small) remainder.
    live_rows = np.flatnonzero(allowed.any(axis=1))
    live_cols = np.flatnonzero(allowed.any(axis=0))
    if live_rows.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy()
    sub_allowed = allowed[np.ix_(live_rows, live_cols)]
    never_m = 1e6  # larger than any allowed distance: such a pair is dropped after solving
    rows, cols = linear_sum_assignment(
        np.where(sub_allowed, distances_m[np.ix_(live_rows, live_cols)], never_m)
    )
    ok = sub_allowed[rows, cols]
    return live_rows[rows[ok]].astype(np.int64), live_cols[cols[ok]].astype(np.int64)


def _best_unit_per_object(object_id: IntArray, unit: IntArray) -> dict[int, int]:
    """For each truth object, the unit assigned to it in the most frames (ties: lowest unit index)."""
    if object_id.size == 0:
        return {}
    pairs, counts = np.unique(np.column_stack([object_id, unit]), axis=0, return_counts=True)
    # Sort by object, then count descending, then unit ascending; the first row per object wins.
    order = np.lexsort((pairs[:, 1], -counts, pairs[:, 0]))
    pairs = pairs[order]
    first = np.concatenate([[True], pairs[1:, 0] != pairs[:-1, 0]])
    return dict(zip(pairs[first, 0].tolist(), pairs[first, 1].tolist(), strict=True))
