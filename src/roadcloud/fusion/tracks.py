"""The track table: every track of one tile as a struct of arrays, plus the sender-id memory.

One row per track. Rows are appended (new tracks, handed-over tracks) and removed (deleted, handed away)
in batches; no per-track objects exist. The owning tracker is the only writer.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from roadcloud.messages import ActorKind

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

KIND_COUNT = max(ActorKind) + 1
NO_BSM_ID = 0


@dataclass(slots=True, eq=False)
class TrackTable:
    """N tracks. ``time_ms`` is the time the state refers to (float: corrected sender times are not on
    the 100 ms grid); ``history`` holds one hit bit per past frame, newest in bit 0; ``kind_votes``
    counts reports per ``ActorKind``; ``bsm_id`` is the self-reported id of the vehicle (0 when none) and
    ``bsm_*`` its last raw self-report (time NaN when none), the GNSS-timed anchor for clock offsets;
    ``source_bits`` marks the senders (bit = source index mod 63) that updated the track this frame and
    ``source_count`` how many did in the last completed frame."""

    track_id: IntArray
    state: FloatArray
    covariance: FloatArray
    time_ms: FloatArray
    last_hit_ms: FloatArray
    history: IntArray
    misses: IntArray
    confirmed: BoolArray
    hit: BoolArray
    kind_votes: FloatArray
    length_m: FloatArray
    width_m: FloatArray
    bsm_id: IntArray
    bsm_xy_m: FloatArray
    bsm_velocity_mps: FloatArray
    bsm_time_ms: FloatArray
    source_bits: IntArray
    source_count: IntArray

    def __len__(self) -> int:
        return len(self.track_id)

    @classmethod
    def empty(cls) -> TrackTable:
        return cls(
            track_id=np.empty(0, np.int64),
            state=np.empty((0, 4)),
            covariance=np.empty((0, 4, 4)),
            time_ms=np.empty(0),
            last_hit_ms=np.empty(0),
            history=np.empty(0, np.int64),
            misses=np.empty(0, np.int64),
            confirmed=np.empty(0, np.bool_),
            hit=np.empty(0, np.bool_),
            kind_votes=np.empty((0, KIND_COUNT)),
            length_m=np.empty(0),
            width_m=np.empty(0),
            bsm_id=np.empty(0, np.int64),
            bsm_xy_m=np.empty((0, 2)),
            bsm_velocity_mps=np.empty((0, 2)),
            bsm_time_ms=np.empty(0),
            source_bits=np.empty(0, np.int64),
            source_count=np.empty(0, np.int64),
        )

    def take(self, index: IntArray | BoolArray) -> TrackTable:
        """A new table of the selected rows (copies)."""
        return TrackTable(*(getattr(self, name)[index] for name in _COLUMNS))

    def extend(self, other: TrackTable) -> None:
        """Append ``other``'s rows."""
        if len(other) == 0:
            return
        for name in _COLUMNS:
            setattr(self, name, np.concatenate([getattr(self, name), getattr(other, name)]))

    def keep(self, mask: BoolArray) -> None:
        """Drop every row where ``mask`` is False."""
        if mask.all():
            return
        for name in _COLUMNS:
            setattr(self, name, getattr(self, name)[mask])

    @classmethod
    def concatenate(cls, tables: list[TrackTable]) -> TrackTable:
        """One table of all rows, in order (one concatenation per column)."""
        if not tables:
            return cls.empty()
        return cls(*(np.concatenate([getattr(table, name) for table in tables]) for name in _COLUMNS))

    def columns(self) -> dict[str, NDArray[Any]]:
        return {name: getattr(self, name) for name in _COLUMNS}


_COLUMNS = tuple(f.name for f in fields(TrackTable))


def popcount(values: IntArray) -> IntArray:
    """Set bits per element of a non-negative int64 array (SWAR, no Python loop)."""
    v = values.astype(np.uint64)
    v = v - ((v >> np.uint64(1)) & np.uint64(0x5555555555555555))
    v = (v & np.uint64(0x3333333333333333)) + ((v >> np.uint64(2)) & np.uint64(0x3333333333333333))
    v = (v + (v >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return ((v * np.uint64(0x0101010101010101)) >> np.uint64(56)).astype(np.int64)


class IdentityMemory:
    """Which track each sender's object id last went to, as sorted key arrays (vectorised look-up).

    Key = source index · 2²⁰ + object id for a roadside unit's object (ids are 16-bit), the 64-bit
    temporary id itself for a self-report (a random id falls below 2³⁰ once in 2³⁴). Lets association keep
    an identity through a close call or a one-step lane change, and lets the engine route a detection to
    the tile that owns its track.
    """

    _SHIFT = 20

    def __init__(self) -> None:
        self._keys: IntArray = np.empty(0, np.int64)
        self._track_ids: IntArray = np.empty(0, np.int64)
        self._pending_keys: list[IntArray] = []
        self._pending_ids: list[IntArray] = []

    @classmethod
    def key(cls, source_index: IntArray, object_id: IntArray, self_report: BoolArray) -> IntArray:
        roadside = (source_index.astype(np.int64) << cls._SHIFT) + (object_id.astype(np.int64) & 0xFFFFF)
        keys: IntArray = np.where(self_report, object_id, roadside)
        return keys

    def lookup(self, keys: IntArray) -> IntArray:
        """The remembered track id per key, -1 where none."""
        if len(self._keys) == 0:
            return np.full(len(keys), -1, np.int64)
        position = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        found = self._keys[position] == keys
        return np.where(found, self._track_ids[position], -1)

    def remember(self, keys: IntArray, track_ids: IntArray) -> None:
        """Record pairs; they take effect at the next ``commit`` (the end of the frame)."""
        self._pending_keys.append(keys)
        self._pending_ids.append(track_ids)

    def commit(self, live_track_ids: IntArray) -> None:
        """Fold the frame's pairs in (newest wins) and forget pairs whose track no longer exists."""
        keys = np.concatenate([self._keys, *self._pending_keys])
        ids = np.concatenate([self._track_ids, *self._pending_ids])
        self._pending_keys, self._pending_ids = [], []
        # newest last → reverse so np.unique's first occurrence is the newest
        keys, ids = keys[::-1], ids[::-1]
        unique_keys, first = np.unique(keys, return_index=True)
        unique_ids = ids[first]
        alive = np.isin(unique_ids, live_track_ids)
        self._keys, self._track_ids = unique_keys[alive], unique_ids[alive]

    def __len__(self) -> int:
        return len(self._keys)
