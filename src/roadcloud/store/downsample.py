"""Track downsampling: from the LDM's 10 Hz snapshots to a history of one position per track per period.

Between fusion and the store: ``StoreWriter.submit_snapshot`` runs every snapshot through a
``TrackDownsampler`` on the pipeline's thread (it is cheap and vectorised) and queues only the rows that
will be stored. Pure: state is the last stored period of each track, nothing reads a clock.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from roadcloud.errors import SettingError
from roadcloud.fusion.ldm import LdmSnapshot


class TrackDownsampler:
    """Keeps the first sample of each track in every ``period_ms`` window of data time (1 Hz by default).

    Windows are aligned to the epoch (``time_ms // period_ms``), so a track is stored at the first
    snapshot it appears in within each window, even when the pipeline skips a tick. A track unseen for
    ``forget_after_ms`` is forgotten (memory stays bounded by the live tracks); if it comes back it is
    stored again at once.
    """

    def __init__(self, period_ms: int = 1_000, *, forget_after_ms: int = 60_000) -> None:
        if period_ms <= 0:
            raise SettingError(f"track history period is {period_ms} ms; use a positive number of ms")
        if forget_after_ms < period_ms:
            raise SettingError(
                f"forget_after_ms {forget_after_ms} is shorter than the period {period_ms} ms; "
                "use at least the period"
            )
        self._period_ms = period_ms
        self._forget_periods = -(-forget_after_ms // period_ms)
        # Sorted track ids and the window in which each was last stored.
        self._ids: NDArray[np.int64] = np.empty(0, np.int64)
        self._window: NDArray[np.int64] = np.empty(0, np.int64)
        self._newest_window: int | None = None

    @property
    def period_ms(self) -> int:
        return self._period_ms

    def __len__(self) -> int:
        """Tracks remembered."""
        return len(self._ids)

    def select(self, snapshot: LdmSnapshot) -> NDArray[np.int64]:
        """Rows of ``snapshot`` to store, and remember them as stored."""
        window = snapshot.time_ms // self._period_ms
        if self._newest_window is None or window > self._newest_window:
            self._newest_window = window
            keep = self._window >= window - self._forget_periods
            if not keep.all():
                self._ids, self._window = self._ids[keep], self._window[keep]
        track_id = np.asarray(snapshot.track_id, np.int64)
        if len(track_id) == 0:
            return np.empty(0, np.int64)
        position = np.searchsorted(self._ids, track_id)
        clipped = np.minimum(position, max(len(self._ids) - 1, 0))
        known = (
            (position < len(self._ids)) & (self._ids[clipped] == track_id) if len(self._ids) else position < 0
        )
        # "Differs" rather than "later": a replay that starts again from an earlier time is stored too.
        take = ~known | (self._window[clipped] != window) if len(self._ids) else np.ones(len(track_id), bool)
        self._window[clipped[known & take]] = window
        new_ids = np.unique(track_id[~known])
        if len(new_ids):
            ids = np.concatenate([self._ids, new_ids])
            order = np.argsort(ids, kind="stable")
            self._ids = ids[order]
            self._window = np.concatenate([self._window, np.full(len(new_ids), window, np.int64)])[order]
        return np.flatnonzero(take).astype(np.int64)

    def reduce(self, snapshot: LdmSnapshot) -> LdmSnapshot:
        """The sub-snapshot of the tracks to store (``select`` then ``take``)."""
        rows = self.select(snapshot)
        return snapshot if len(rows) == len(snapshot) else snapshot.take(rows)
