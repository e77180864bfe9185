"""The live dynamic map (LDM): every confirmed track of the zone at one instant, with spatial queries.

A snapshot is immutable and refers to one time ``time_ms`` (UTC epoch ms, on the 100 ms grid): each
track's state was predicted to exactly that time. Arrays are in the local metric frame; ``heading_deg``
is clockwise from north, ``heading = atan2(vx, vy)``.

Fusion waits a latency budget for late data, so a snapshot is published after its time: ``published_ms``
(the fusion tick) says when, ``freshness_ms`` how old the map was then; a service acting at publication
predicts the tracks forward by that much.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
IndexArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class LdmSnapshot:
    """N confirmed tracks at ``time_ms``. ``lane_id`` (object array of str) and ``s_m`` (distance along
    the lane) are filled only when fusion was given a lane matcher; otherwise ``lane_id`` is None and
    ``s_m`` is NaN. ``source_count``: senders that reported the track in its last frame. ``published_ms``:
    when fusion made the snapshot (None when not made by a fusion tick)."""

    time_ms: int
    track_id: IntArray
    x_m: FloatArray
    y_m: FloatArray
    vx_mps: FloatArray
    vy_mps: FloatArray
    speed_mps: FloatArray
    heading_deg: FloatArray
    length_m: FloatArray
    width_m: FloatArray
    kind: IntArray
    position_cov_m2: FloatArray
    lane_id: NDArray[np.object_] | None
    s_m: FloatArray
    source_count: IntArray
    published_ms: int | None = None

    def __len__(self) -> int:
        return len(self.track_id)

    @property
    def freshness_ms(self) -> int | None:
        """How old the map was when published: ``published_ms - time_ms`` (None if not published)."""
        return None if self.published_ms is None else self.published_ms - self.time_ms

    @classmethod
    def empty(cls, time_ms: int, *, published_ms: int | None = None) -> LdmSnapshot:
        return cls(
            time_ms=time_ms,
            track_id=np.empty(0, np.int64),
            x_m=np.empty(0),
            y_m=np.empty(0),
            vx_mps=np.empty(0),
            vy_mps=np.empty(0),
            speed_mps=np.empty(0),
            heading_deg=np.empty(0),
            length_m=np.empty(0),
            width_m=np.empty(0),
            kind=np.empty(0, np.int64),
            position_cov_m2=np.empty((0, 2, 2)),
            lane_id=None,
            s_m=np.empty(0),
            source_count=np.empty(0, np.int64),
            published_ms=published_ms,
        )

    def take(self, index: IndexArray | NDArray[np.bool_]) -> LdmSnapshot:
        """A sub-snapshot of the selected tracks (same time)."""
        values: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            scalar = f.name in ("time_ms", "published_ms")
            values[f.name] = value if scalar or value is None else value[index]
        return LdmSnapshot(**values)

    def in_area(self, xmin_m: float, ymin_m: float, xmax_m: float, ymax_m: float) -> IndexArray:
        """Indices of tracks inside the closed rectangle."""
        inside = (self.x_m >= xmin_m) & (self.x_m <= xmax_m) & (self.y_m >= ymin_m) & (self.y_m <= ymax_m)
        return np.flatnonzero(inside).astype(np.int64)

    def around(self, x_m: float, y_m: float, radius_m: float) -> IndexArray:
        """Indices of tracks within ``radius_m`` of a point, nearest first."""
        distance2 = (self.x_m - x_m) ** 2 + (self.y_m - y_m) ** 2
        inside = np.flatnonzero(distance2 <= radius_m * radius_m)
        return inside[np.argsort(distance2[inside], kind="stable")].astype(np.int64)

    def on_lane(self, lane_id: str) -> IndexArray:
        """Indices of tracks matched to ``lane_id``, in order along the lane; empty without lane matching."""
        if self.lane_id is None:
            return np.empty(0, np.int64)
        inside = np.flatnonzero(self.lane_id == lane_id)
        return inside[np.argsort(self.s_m[inside], kind="stable")].astype(np.int64)

    def index_of(self, track_id: int) -> int | None:
        """Row of a global track id, or None."""
        rows = np.flatnonzero(self.track_id == track_id)
        return int(rows[0]) if len(rows) else None
