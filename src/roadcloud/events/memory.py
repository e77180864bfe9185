"""What the detectors remember about each track between LDM snapshots, as columns keyed by track id.

Detectors need history: how long a vehicle has stood, how far it has driven against the lane, which
approach lane it left before entering a junction. ``TrackMemory`` keeps those values in arrays sorted by
global track id, so a snapshot's rows find their past with one ``searchsorted`` instead of a dict lookup
per track. Tracks missing from a snapshot (occluded, coasting out) are kept for ``keep_ms`` so their
timers survive a short loss, and a track that reappears under a new id nearby takes its old state over.

``hold_timer`` is the one primitive behind every "held for a confirmation time" rule: an onset time that
survives lapses of at most a tolerance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from roadcloud.fusion.ldm import LdmSnapshot

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

NEVER = np.int64(-1)


class TrackMemory:
    """Columns of per-track state. ``defaults`` names every column and its value for unknown tracks.

    A track new to the memory takes over the state of a lost one (absent from the snapshot, last seen
    within ``keep_ms``) whose position, carried forward at its last velocity, lies within ``handover_m``
    and whose road user class (motor or not) matches: fusion sometimes gives one object a new id, and a
    stopped car must not start its dwell again when it does.
    """

    def __init__(self, defaults: Mapping[str, int | float], *, handover_m: float = 4.0) -> None:
        self._defaults = dict(defaults)
        self._handover_m = float(handover_m)
        self._ids = np.empty(0, dtype=np.int64)
        self._seen_ms = np.empty(0, dtype=np.int64)
        self._motion = np.empty((0, 4))  # x_m, y_m, vx_mps, vy_mps at the last sighting
        self._motor = np.empty(0, dtype=bool)
        self._columns: dict[str, NDArray[np.generic]] = {
            name: np.empty(0, dtype=_dtype(value)) for name, value in self._defaults.items()
        }
        self._handed_over = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._ids)

    def recall(self, snapshot: LdmSnapshot, motor: BoolArray) -> dict[str, NDArray[Any]]:
        """Each column's value for each track of the snapshot (the default where the track is new and
        takes over no lost track). ``motor``: which tracks are motor vehicles."""
        track_ids = snapshot.track_id
        count = len(track_ids)
        if len(self._ids) == 0:
            self._handed_over = np.empty(0, dtype=np.int64)
            return {
                name: np.full(count, self._defaults[name], dtype=column.dtype)
                for name, column in self._columns.items()
            }
        slot = np.minimum(np.searchsorted(self._ids, track_ids), len(self._ids) - 1)
        known = self._ids[slot] == track_ids
        self._hand_over(snapshot, motor, slot, known)
        recalled: dict[str, NDArray[Any]] = {}
        for name, column in self._columns.items():
            default = np.asarray(self._defaults[name], dtype=column.dtype)
            recalled[name] = np.where(known, column[slot], default)
        return recalled

    def store(
        self, snapshot: LdmSnapshot, motor: BoolArray, values: Mapping[str, NDArray[Any]], *, keep_ms: int
    ) -> None:
        """Replace the state with this snapshot's rows, plus rows of absent tracks seen within ``keep_ms``
        (less those taken over by a new id).

        ``values`` must hold every column, one value per track of the snapshot (unique ids).
        """
        missing = set(self._columns) - set(values)
        if missing:
            raise KeyError(f"TrackMemory.store lacks columns {sorted(missing)}")
        time_ms = snapshot.time_ms
        track_ids = snapshot.track_id.astype(np.int64)
        absent = (
            ~np.isin(self._ids, track_ids)
            & ~np.isin(self._ids, self._handed_over)
            & (time_ms - self._seen_ms <= keep_ms)
        )
        order = np.argsort(np.concatenate([track_ids, self._ids[absent]]), kind="stable")
        self._ids = np.concatenate([track_ids, self._ids[absent]])[order]
        self._seen_ms = np.concatenate(
            [np.full(len(track_ids), time_ms, dtype=np.int64), self._seen_ms[absent]]
        )[order]
        motion = np.column_stack([snapshot.x_m, snapshot.y_m, snapshot.vx_mps, snapshot.vy_mps])
        self._motion = np.concatenate([motion, self._motion[absent]])[order]
        self._motor = np.concatenate([motor, self._motor[absent]])[order]
        for name, column in self._columns.items():
            fresh = np.asarray(values[name], dtype=column.dtype)
            self._columns[name] = np.concatenate([fresh, column[absent]])[order]

    def _hand_over(self, snapshot: LdmSnapshot, motor: BoolArray, slot: IntArray, known: BoolArray) -> None:
        """Point new tracks at the lost track they continue (``slot``/``known`` are updated in place)."""
        self._handed_over = np.empty(0, dtype=np.int64)
        new_rows = np.flatnonzero(~known)
        if len(new_rows) == 0:
            return
        lost = np.flatnonzero(~np.isin(self._ids, snapshot.track_id))
        if len(lost) == 0:
            return
        age_s = (snapshot.time_ms - self._seen_ms[lost]) / 1000.0
        x, y, vx, vy = self._motion[lost].T
        tree = cKDTree(np.column_stack([x + vx * age_s, y + vy * age_s]))
        distance, nearest = tree.query(
            np.column_stack([snapshot.x_m[new_rows], snapshot.y_m[new_rows]]),
            distance_upper_bound=self._handover_m,
        )
        found = np.isfinite(distance)
        found[found] &= self._motor[lost[nearest[found]]] == motor[new_rows[found]]
        # One lost track continues as at most one new one: the nearest.
        rows, picks, distance = new_rows[found], lost[nearest[found]], distance[found]
        order = np.argsort(distance, kind="stable")
        _, first = np.unique(picks[order], return_index=True)
        keep = order[first]
        slot[rows[keep]] = picks[keep]
        known[rows[keep]] = True
        self._handed_over = self._ids[picks[keep]]


def hold_timer(
    holds: BoolArray, onset_ms: IntArray, last_ms: IntArray, now_ms: int, tolerance_ms: int
) -> tuple[IntArray, IntArray]:
    """Advance per-track condition timers by one snapshot; returns the new (onset_ms, last_ms).

    ``onset_ms`` is when the condition began (-1: not holding), ``last_ms`` when it last held. A lapse of
    at most ``tolerance_ms`` keeps the onset, so a flicker does not restart the clock; a longer one ends it.
    """
    continuing = (onset_ms >= 0) & (now_ms - last_ms <= tolerance_ms)
    onset = np.where(continuing, onset_ms, np.where(holds, now_ms, NEVER)).astype(np.int64)
    last = np.where(holds, now_ms, last_ms).astype(np.int64)
    return onset, last


def held_ms(holds: BoolArray, onset_ms: IntArray, now_ms: int) -> IntArray:
    """How long each condition has held as of now (0 where it does not hold now)."""
    held: IntArray = np.where(holds & (onset_ms >= 0), now_ms - onset_ms, 0).astype(np.int64)
    return held


def _dtype(value: int | float) -> type[np.generic]:
    return np.int64 if isinstance(value, int) and not isinstance(value, bool) else np.float64
