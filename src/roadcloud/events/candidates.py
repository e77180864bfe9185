"""What a detector hands to the event life cycle each snapshot: the evidence rows of one event type.

A row is one piece of evidence (a track, a pair of tracks, a queue) for which the detector's condition
holds now. ``confirmed`` rows have held for the confirmation time and may start an event; the others can
only keep an existing event alive or join it (a flickering track whose new id has not yet been confirmed).
Rows carry everything a publication needs, so the life cycle never goes back to the snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from roadcloud.events.model import EventType
from roadcloud.fusion.ldm import LdmSnapshot

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True, eq=False)
class Candidates:
    """Evidence rows of one event type; every array has one entry per row.

    ``key``: what identifies the evidence across snapshots (track id; pair key; edge number for queues).
    ``x_m``/``y_m``, ``lane``/``s_m``: where to report it; ``match_x_m``/``match_y_m``: where to compare it
    with live events for merging (a queue's head; default the report position). ``onset_ms``: when the
    condition began. ``members``: track ids involved per row (default: ``[key]``). ``details``: columns of
    type-specific numbers, units in their names.
    """

    event_type: EventType
    key: IntArray
    confirmed: BoolArray
    x_m: FloatArray
    y_m: FloatArray
    lane: IntArray
    s_m: FloatArray
    severity: IntArray
    confidence: FloatArray
    onset_ms: IntArray
    extent_m: FloatArray | None = None
    match_x_m: FloatArray | None = None
    match_y_m: FloatArray | None = None
    members: Sequence[Sequence[int] | IntArray] | None = None
    details: dict[str, FloatArray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.key)

    @classmethod
    def empty(cls, event_type: EventType) -> Candidates:
        nothing = np.empty(0)
        return cls(
            event_type=event_type,
            key=np.empty(0, dtype=np.int64),
            confirmed=np.empty(0, dtype=bool),
            x_m=nothing,
            y_m=nothing,
            lane=np.empty(0, dtype=np.int64),
            s_m=nothing,
            severity=np.empty(0, dtype=np.int64),
            confidence=nothing,
            onset_ms=np.empty(0, dtype=np.int64),
        )

    @classmethod
    def of_tracks(
        cls,
        event_type: EventType,
        snapshot: LdmSnapshot,
        rows: IntArray,
        *,
        confirmed: BoolArray,
        lane: IntArray,
        s_m: FloatArray,
        severity: IntArray,
        confidence: FloatArray,
        onset_ms: IntArray,
        details: dict[str, FloatArray] | None = None,
    ) -> Candidates:
        """Rows that are single tracks (``rows`` index the snapshot; the other arrays are per row)."""
        return cls(
            event_type=event_type,
            key=snapshot.track_id[rows].astype(np.int64),
            confirmed=confirmed,
            x_m=snapshot.x_m[rows],
            y_m=snapshot.y_m[rows],
            lane=lane,
            s_m=s_m,
            severity=severity,
            confidence=confidence,
            onset_ms=onset_ms,
            details=details or {},
        )

    @property
    def match_x(self) -> FloatArray:
        return self.x_m if self.match_x_m is None else self.match_x_m

    @property
    def match_y(self) -> FloatArray:
        return self.y_m if self.match_y_m is None else self.match_y_m


def evidence_confidence(
    source_count: IntArray, held_s: FloatArray, confirm_s: float, margin: FloatArray
) -> FloatArray:
    """Confidence 0…1 from the evidence: how many senders saw the track (one roadside unit alone can be a
    false alarm; two agreeing are rarely both wrong), how long the condition has held relative to its
    confirmation time, and how far past the threshold it is (``margin`` 0…1)."""
    sources = 0.6 + 0.15 * np.clip(np.asarray(source_count, dtype=np.float64) - 1.0, 0.0, 2.0)
    duration = np.clip(np.asarray(held_s, dtype=np.float64) / max(2.0 * confirm_s, 0.1), 0.0, 1.0)
    over = np.clip(np.asarray(margin, dtype=np.float64), 0.0, 1.0)
    confidence: FloatArray = np.clip(sources * (0.7 + 0.15 * duration + 0.15 * over), 0.05, 1.0)
    return confidence
