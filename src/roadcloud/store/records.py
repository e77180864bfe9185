"""What the store's queries return: the platform's own types (``Device``, ``RoadEvent``, ``Advisory``) plus
what only the store knows (liveness history, publication history, past track positions).

Edge of the platform: ``store.Store`` builds these from rows; the API turns them into JSON. Nothing here
imports SQLAlchemy, so API code and tests can build them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from roadcloud.events.model import RoadEvent
from roadcloud.ingest.registry import Device
from roadcloud.services.model import Advisory

BoundingBox = tuple[float, float, float, float]
"""``(xmin_m, ymin_m, xmax_m, ymax_m)`` in the zone's local metric frame, edges included."""


@dataclass(frozen=True, slots=True)
class StoredDevice:
    """A device record with the liveness the registry last reported: ``online`` is None until the first
    status change was stored; ``status_changed_ms`` is when it became what ``online`` says."""

    device: Device
    online: bool | None
    status_changed_ms: int | None
    last_seen_ms: int | None


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One road event: its current state and every publication of it, oldest first."""

    current: RoadEvent
    history: tuple[RoadEvent, ...]


@dataclass(frozen=True, slots=True)
class AdvisoryRecord:
    """One advisory: its current state, when it was first sent, and every publication, oldest first."""

    current: Advisory
    first_sent_ms: int
    history: tuple[Advisory, ...]


@dataclass(frozen=True, slots=True, eq=False)
class TrackHistory:
    """Stored track positions, one row per (track, time), ordered by time then track id. ``lane_id`` holds
    None where fusion had no lane; ``s_m`` is NaN there."""

    time_ms: NDArray[np.int64]
    track_id: NDArray[np.int64]
    x_m: NDArray[np.float64]
    y_m: NDArray[np.float64]
    speed_mps: NDArray[np.float64]
    heading_deg: NDArray[np.float64]
    kind: NDArray[np.int64]
    lane_id: NDArray[np.object_]
    s_m: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.time_ms)

    @classmethod
    def empty(cls) -> TrackHistory:
        return cls(
            time_ms=np.empty(0, np.int64),
            track_id=np.empty(0, np.int64),
            x_m=np.empty(0),
            y_m=np.empty(0),
            speed_mps=np.empty(0),
            heading_deg=np.empty(0),
            kind=np.empty(0, np.int64),
            lane_id=np.empty(0, object),
            s_m=np.empty(0),
        )
