"""The track table: every track of one tile as a struct of arrays, plus the sender-id memory.

One row per track. Rows are appended (new tracks, handed-over tracks) and removed (deleted, handed away)
in batches; no per-track objects exist. The owning tracker is the only writer. Columns live in buffers
with spare capacity: appending writes only the new rows, and removing moves the last rows into the
holes, so a frame's few births and deaths do not copy the whole table (with the out-of-sequence history
of ``oosm``, about 1 kB per track).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from roadcloud.messages import ActorKind

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

KIND_COUNT = max(ActorKind) + 1
NO_BSM_ID = 0
HISTORY_FRAMES = 6
"""Past posterior covariances kept per track for out-of-sequence updates (``oosm``): 600 ms of frames."""


@dataclass(slots=True, eq=False)
class TrackTable:
    """N tracks. ``time_ms`` is the time the state refers to (float: corrected sender times are not on
    the 100 ms grid); ``history`` holds one hit bit per past frame, newest in bit 0; ``kind_votes``
    counts reports per ``ActorKind``; ``bsm_id`` is the self-reported id of the vehicle (0 when none) and
    ``bsm_*`` its last raw self-report (time NaN when none), the GNSS-timed anchor for clock offsets;
    ``source_bits`` marks the senders (bit = source index mod 63) that updated the track this frame and
    ``source_count`` how many did in the last completed frame.

    For out-of-sequence updates (``oosm``), ``last_hit_ms`` is the measurement time of the newest data
    fused into the track, and ``past_*`` a ring of ``HISTORY_FRAMES`` earlier posteriors: covariance, the
    time it refers to and its ``last_hit_ms`` (+inf in a slot never written), one slot per fused frame."""

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
    past_time_ms: FloatArray
    past_info_ms: FloatArray
    past_covariance: FloatArray
    _buffers: dict[str, NDArray[Any]] = field(init=False, repr=False, default_factory=dict)

    def __len__(self) -> int:
        return len(self.track_id)

    def __reduce__(self) -> tuple[type[TrackTable], tuple[NDArray[Any], ...]]:
        # pickle the rows only, never the spare capacity (tables travel between worker processes)
        return (TrackTable, tuple(getattr(self, name) for name in _COLUMNS))

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
            past_time_ms=np.empty((0, HISTORY_FRAMES)),
            past_info_ms=np.empty((0, HISTORY_FRAMES)),
            past_covariance=np.empty((0, HISTORY_FRAMES, 4, 4)),
        )

    def take(self, index: IntArray | BoolArray) -> TrackTable:
        """A new table of the selected rows (copies)."""
        return TrackTable(*(getattr(self, name)[index] for name in _COLUMNS))

    def extend(self, other: TrackTable) -> None:
        """Append ``other``'s rows (into spare capacity; the buffer doubles when full)."""
        added = len(other)
        if added == 0:
            return
        count = len(self)
        for name in _COLUMNS:
            column = getattr(self, name)
            buffer = self._buffers.get(name)
            roomy = buffer is not None and len(buffer) >= count + added
            if buffer is None or not roomy:
                buffer = np.empty((max(2 * (count + added), 64), *column.shape[1:]), column.dtype)
                buffer[:count] = column
                self._buffers[name] = buffer
            elif not _is_head(column, buffer):
                # the column was replaced by a new array since (e.g. by predict): copy it back in
                if np.may_share_memory(column, buffer):
                    column = column.copy()
                buffer[:count] = column
            buffer[count : count + added] = getattr(other, name)
            setattr(self, name, buffer[: count + added])

    def keep(self, mask: BoolArray) -> None:
        """Drop every row where ``mask`` is False, in place: the last kept rows move into the holes, so
        row order changes (rows are positions within one frame; tracks are named by ``track_id``)."""
        dead = np.flatnonzero(~mask)
        if len(dead) == 0:
            return
        remaining = len(mask) - len(dead)
        holes = dead[dead < remaining]
        movers = remaining + np.flatnonzero(mask[remaining:])
        for name in _COLUMNS:
            column = getattr(self, name)
            if len(holes):
                column[holes] = column[movers]
            setattr(self, name, column[:remaining])

    @classmethod
    def concatenate(cls, tables: list[TrackTable]) -> TrackTable:
        """One table of all rows, in order (one concatenation per column)."""
        if not tables:
            return cls.empty()
        return cls(*(np.concatenate([getattr(table, name) for table in tables]) for name in _COLUMNS))

    def columns(self) -> dict[str, NDArray[Any]]:
        return {name: getattr(self, name) for name in _COLUMNS}

    @property
    def nbytes(self) -> int:
        """Memory held by the table's arrays."""
        return sum(getattr(self, name).nbytes for name in _COLUMNS)


_COLUMNS = tuple(f.name for f in fields(TrackTable) if not f.name.startswith("_"))


def _is_head(column: NDArray[Any], buffer: NDArray[Any]) -> bool:
    """Whether ``column`` is the leading rows of ``buffer`` (the table's own view of its buffer)."""
    return column.base is buffer and column.ctypes.data == buffer.ctypes.data


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

    def commit(
        self, live_track_ids: IntArray | None = None, *, deleted_track_ids: IntArray | None = None
    ) -> None:
        """Fold the frame's pairs in (newest wins) and forget pairs whose track no longer exists: given
        the ``deleted_track_ids`` of the frame (cheap), or else all ``live_track_ids``.

        One sort of the frame's pairs and a merge into the sorted memory: the memory itself is never
        re-sorted, so a frame costs O(pairs log pairs + memory)."""
        if self._pending_keys:
            keys = np.concatenate(self._pending_keys)
            ids = np.concatenate(self._pending_ids)
            self._pending_keys, self._pending_ids = [], []
            order = np.argsort(keys)
            sorted_keys = keys[order]
            starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
            # a key given twice in one frame (two frames of one sender fused together): the later wins
            newest = np.maximum.reduceat(order, starts) if len(order) else order
            keys, ids = keys[newest], ids[newest]
            position = np.searchsorted(self._keys, keys)
            found = position < len(self._keys)
            found[found] = self._keys[position[found]] == keys[found]
            self._track_ids[position[found]] = ids[found]
            fresh = ~found
            if fresh.any():
                self._keys = np.insert(self._keys, position[fresh], keys[fresh])
                self._track_ids = np.insert(self._track_ids, position[fresh], ids[fresh])
        if live_track_ids is not None:
            alive = np.isin(self._track_ids, live_track_ids)
        elif deleted_track_ids is not None and len(deleted_track_ids):
            alive = ~np.isin(self._track_ids, deleted_track_ids)
        else:
            return
        if not alive.all():
            self._keys, self._track_ids = self._keys[alive], self._track_ids[alive]

    def __len__(self) -> int:
        return len(self._keys)
