"""``CloudView``: what the API reads from the running cloud pipeline — the one seam between the service
edge and the core.

``roadcloud.cloud.CloudPipeline`` provides these members; tests use a small in-memory implementation
built from real maps, snapshots and a real device registry. Every member is safe to call from the API's
event loop while the pipeline runs on its own thread: ``latest()`` returns an immutable frame, the rest
are short reads or updates under the pipeline's own lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from roadcloud.cloud.frame import LiveFrame, PipelineStats
from roadcloud.events.model import RoadEvent
from roadcloud.ingest.registry import Device, DeviceState
from roadcloud.map import RoadMap
from roadcloud.services.model import Advisory
from roadcloud.store.records import EventRecord

FrameListener = Callable[[LiveFrame], None]
Unsubscribe = Callable[[], None]


class RoadsideUnitView(Protocol):
    """A roadside unit's placement (local metres) and sensing range."""

    @property
    def id(self) -> str: ...

    @property
    def x_m(self) -> float: ...

    @property
    def y_m(self) -> float: ...

    @property
    def range_m(self) -> float: ...


class HistoryView(Protocol):
    """The store's read side, as far as the API uses it (history beyond the live frame).

    Filters are keyword-only and optional; times are UTC epoch ms; ``bbox_m`` is a local-metre box
    ``(xmin, ymin, xmax, ymax)``; lists are newest first. Calls may block on the database: the API runs
    them in its thread pool.
    """

    def events(
        self,
        *,
        active: bool | None = None,
        event_type: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        bbox_m: tuple[float, float, float, float] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[RoadEvent]: ...

    def event(self, event_id: str) -> EventRecord | None: ...

    def advisories(
        self, *, active: bool | None = None, event_id: str | None = None, limit: int = 100
    ) -> Sequence[Advisory]: ...


class CloudView(Protocol):
    """The running pipeline as the API sees it."""

    @property
    def zone(self) -> str: ...

    @property
    def road_map(self) -> RoadMap: ...

    @property
    def units(self) -> Sequence[RoadsideUnitView]: ...

    @property
    def store(self) -> HistoryView | None: ...

    def latest(self) -> LiveFrame:
        """The newest frame (lock-free: a single reference swapped by the pipeline)."""
        ...

    def add_frame_listener(self, callback: FrameListener) -> Unsubscribe:
        """Call ``callback`` on the pipeline thread after each tick; it must return at once."""
        ...

    def devices(self) -> list[DeviceState]: ...

    def device(self, device_id: str) -> DeviceState | None: ...

    def provision(
        self,
        device_id: str,
        *,
        kind: str,
        name: str | None = None,
        lon_deg: float | None = None,
        lat_deg: float | None = None,
    ) -> Device:
        """Provision a device; ``InputError`` on a duplicate id or a bad value."""
        ...

    def remove_device(self, device_id: str) -> bool: ...

    def stats(self) -> PipelineStats: ...

    def health(self) -> dict[str, str]:
        """Component → "ok" | "off" | "error"."""
        ...
