"""The WebSocket hub: live frames from the pipeline thread to every stream client, without ever letting a
client slow the pipeline.

    pipeline thread ── listener(frame) ──▶ one pending slot ──call_soon_threadsafe──▶ event loop
                                                                                      │ offer(frame)
                                             per client: due at its rate? ──▶ bounded deque (drop oldest)
                                                                                      │
                                             client task: encode for its filter ──▶ WebSocket text frames

The listener only swaps a reference under a lock held for a few instructions and schedules the loop at
most once per drain, so it returns in microseconds however many clients there are and however busy the
loop is; a frame superseded before the loop took it is counted (``loop_busy``). Each client has its own
queue of a few frames: a slow reader loses its oldest frames (``slow_client``), never anyone else's.
Encoding happens on the loop, once per frame and filter: the tracks of a frame are projected once
(``encode.FrameTracks``) and a bounding box is a vectorised mask.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from roadcloud.api.encode import FrameTracks, encode_json, event_dicts, signal_dicts, stats_dict
from roadcloud.api.params import (
    MAX_STREAM_HZ,
    STREAMS,
    parse_bbox,
    parse_choices,
    parse_format,
    parse_hz,
)
from roadcloud.api.view import CloudView, Unsubscribe
from roadcloud.cloud.frame import LiveFrame, SignalHeadState
from roadcloud.errors import InputError
from roadcloud.events.model import RoadEvent
from roadcloud.map import GeoReference

DEFAULT_QUEUE_FRAMES = 4
# Event changes seen between two sends of a slow client; beyond this the oldest are dropped (the
# ``active`` list of each events message still gives the full current state).
MAX_PENDING_EVENT_CHANGES = 1_000
# Messages that carry state rather than motion are repeated at least this often, so a client that
# joins or missed a change converges within a second.
REFRESH_S = 1.0
# A frame may be sent up to this share of a period early: frames arrive on a 100 ms grid with jitter,
# and a strict schedule would halve a 5 Hz client to 3.3 Hz. The long-run rate stays at ``hz``.
_EARLY_SHARE = 0.5
_CACHED_FRAMES = 8


@dataclass(frozen=True, slots=True)
class StreamFilter:
    """What one client wants: an area (WGS84 box or everything), which streams, how often, which form."""

    bbox_deg: tuple[float, float, float, float] | None = None
    streams: frozenset[str] = frozenset(STREAMS)
    hz: float = MAX_STREAM_HZ
    as_rows: bool = False

    @classmethod
    def parse(
        cls,
        *,
        bbox: str | None = None,
        streams: str | None = None,
        hz: str | None = None,
        format: str | None = None,
    ) -> StreamFilter:
        """From query-string values; ``InputError`` naming the bad parameter."""
        return cls(
            bbox_deg=None if bbox is None else parse_bbox(bbox),
            streams=frozenset(STREAMS)
            if streams is None
            else parse_choices(streams, name="streams", choices=STREAMS),
            hz=MAX_STREAM_HZ if hz is None else parse_hz(hz),
            as_rows=False if format is None else parse_format(format),
        )

    def updated(self, changes: dict[str, Any]) -> StreamFilter:
        """A new filter from a client's control message ``{"bbox": …, "streams": …, "hz": …}``."""
        unknown = sorted(set(changes) - {"bbox", "streams", "hz", "format"})
        if unknown:
            raise InputError(f"unknown stream setting(s) {', '.join(unknown)}; use bbox, streams, hz, format")
        bbox = changes.get("bbox", _KEEP)
        merged = StreamFilter.parse(
            bbox=None if bbox is None or bbox is _KEEP else _bbox_text(bbox),
            streams=str(changes["streams"]) if "streams" in changes else None,
            hz=str(changes["hz"]) if "hz" in changes else None,
            format=str(changes["format"]) if "format" in changes else None,
        )
        return StreamFilter(
            bbox_deg=self.bbox_deg if bbox is _KEEP else merged.bbox_deg,
            streams=merged.streams if "streams" in changes else self.streams,
            hz=merged.hz if "hz" in changes else self.hz,
            as_rows=merged.as_rows if "format" in changes else self.as_rows,
        )


_KEEP: Any = object()


def _bbox_text(value: Any) -> str:
    """A control message may give the box as "a,b,c,d" or as [a, b, c, d]."""
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


@dataclass(eq=False)
class StreamClient:
    """One subscriber: its filter, its bounded queue of due frames and its counters."""

    client_id: int
    filter: StreamFilter
    queue: deque[LiveFrame]
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    connected_at_s: float = 0.0
    next_due_s: float = 0.0
    dropped: int = 0  # frames this client lost because it read too slowly
    sent_frames: int = 0
    pending_changes: deque[RoadEvent] = field(default_factory=lambda: deque(maxlen=MAX_PENDING_EVENT_CHANGES))
    last_events_s: float = -np.inf
    last_stats_s: float = -np.inf
    last_signals: tuple[SignalHeadState, ...] | None = None
    last_signals_s: float = -np.inf
    notices: deque[str] = field(default_factory=lambda: deque(maxlen=16))  # e.g. a bad control message
    closed: bool = False

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.client_id,
            "bbox": None if self.filter.bbox_deg is None else list(self.filter.bbox_deg),
            "streams": sorted(self.filter.streams),
            "hz": self.filter.hz,
            "format": "rows" if self.filter.as_rows else "columns",
            "queued": len(self.queue),
            "sent_frames": self.sent_frames,
            "dropped": self.dropped,
        }


@dataclass(slots=True)
class HubCounters:
    """Totals since start, read by ``/metrics`` and ``/api/v1/stats``."""

    frames_in: int = 0  # frames the pipeline handed over
    dropped_loop_busy: int = 0  # superseded before the event loop took them
    dropped_slow_client: int = 0  # sum over clients, disconnected ones included
    frames_sent: int = 0
    messages_sent: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STREAMS, 0))
    clients_total: int = 0


class StreamHub:
    """Fans live frames out to WebSocket clients; see the module docstring for the threading."""

    def __init__(
        self,
        view: CloudView,
        *,
        queue_frames: int = DEFAULT_QUEUE_FRAMES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if queue_frames < 1:
            raise InputError(f"stream queue of {queue_frames} frames; use 1 or more")
        self._view = view
        self._geo: GeoReference = view.road_map.geo
        self._queue_frames = queue_frames
        self._clock = clock
        self._clients: dict[int, StreamClient] = {}
        self._ids = itertools.count(1)
        self.counters = HubCounters()
        # Hand-over from the pipeline thread: one slot, guarded by a lock held only to swap references.
        self._lock = threading.Lock()
        self._pending: LiveFrame | None = None
        self._drain_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Unsubscribe | None = None
        self._encoded: OrderedDict[int, tuple[LiveFrame, FrameTracks, dict[Any, bytes]]] = OrderedDict()

    # -- lifecycle (event loop) ---------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start receiving frames from the pipeline onto ``loop``."""
        if self._unsubscribe is not None:
            return
        self._loop = loop
        self._unsubscribe = self._view.add_frame_listener(self.on_pipeline_frame)

    def detach(self) -> None:
        """Stop receiving frames and wake every client so its task can finish."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for client in list(self._clients.values()):
            client.closed = True
            client.wakeup.set()
        self._loop = None

    # -- pipeline thread ----------------------------------------------------------------------------

    def on_pipeline_frame(self, frame: LiveFrame) -> None:
        """The frame listener. Runs on the pipeline thread: never blocks, never grows without bound."""
        loop = self._loop
        with self._lock:
            self.counters.frames_in += 1
            if self._pending is not None:
                self.counters.dropped_loop_busy += 1
            self._pending = frame
            if self._drain_scheduled or loop is None:
                return
            self._drain_scheduled = True
        try:
            loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop closed during shutdown; nobody is listening any more
            with self._lock:
                self._drain_scheduled = False

    def _drain(self) -> None:
        with self._lock:
            frame, self._pending = self._pending, None
            self._drain_scheduled = False
        if frame is not None:
            self.offer(frame)

    # -- event loop ---------------------------------------------------------------------------------

    def offer(self, frame: LiveFrame) -> None:
        """Queue ``frame`` for every client it is due for, dropping a slow client's oldest frame."""
        now_s = self._clock()
        for client in self._clients.values():
            if frame.event_changes:
                client.pending_changes.extend(frame.event_changes)
            period_s = 1.0 / client.filter.hz
            if now_s < client.next_due_s - _EARLY_SHARE * period_s:
                continue
            client.next_due_s = max(client.next_due_s, now_s - _EARLY_SHARE * period_s) + period_s
            self._enqueue(client, frame)

    def connect(self, stream_filter: StreamFilter) -> StreamClient:
        client = StreamClient(
            client_id=next(self._ids),
            filter=stream_filter,
            queue=deque(maxlen=self._queue_frames),
            connected_at_s=self._clock(),
        )
        self._clients[client.client_id] = client
        self.counters.clients_total += 1
        # Start from the newest frame at once, so a new dashboard is not blank until the next tick.
        client.next_due_s = client.connected_at_s + 1.0 / stream_filter.hz
        self._enqueue(client, self._view.latest())
        return client

    def disconnect(self, client: StreamClient) -> None:
        client.closed = True
        client.wakeup.set()
        self._clients.pop(client.client_id, None)

    @property
    def clients(self) -> list[StreamClient]:
        return list(self._clients.values())

    async def wait(self, client: StreamClient) -> bool:
        """Until the client has a frame or a notice to send: True; False once it or the hub is closed."""
        while not (client.queue or client.notices):
            if client.closed:
                return False
            client.wakeup.clear()
            await client.wakeup.wait()
        return not client.closed

    def notify(self, client: StreamClient, text: str) -> None:
        client.notices.append(text)
        client.wakeup.set()

    def update_filter(self, client: StreamClient, changes: dict[str, Any]) -> None:
        """Apply a control message; the newest frame follows at once under the new filter."""
        client.filter = client.filter.updated(changes)
        client.next_due_s = self._clock() + 1.0 / client.filter.hz
        client.last_events_s = client.last_signals_s = client.last_stats_s = -np.inf
        self._enqueue(client, self._view.latest())

    def _enqueue(self, client: StreamClient, frame: LiveFrame) -> None:
        if len(client.queue) == client.queue.maxlen:
            client.dropped += 1
            self.counters.dropped_slow_client += 1
        client.queue.append(frame)
        client.wakeup.set()

    def messages(self, client: StreamClient, frame: LiveFrame) -> list[bytes]:
        """The JSON messages to send ``client`` for ``frame``, per its filter and what it already has."""
        wanted = client.filter.streams
        now_s = self._clock()
        out: list[bytes] = []
        if "tracks" in wanted:
            out.append(self._tracks_message(frame, client))
            self.counters.messages_sent["tracks"] += 1
        if "events" in wanted and (client.pending_changes or now_s - client.last_events_s >= REFRESH_S):
            changes = list(client.pending_changes)
            client.pending_changes.clear()
            out.append(self._events_message(frame, changes, client.filter.bbox_deg))
            client.last_events_s = now_s
            self.counters.messages_sent["events"] += 1
        if "signals" in wanted and (
            frame.signals != client.last_signals or now_s - client.last_signals_s >= REFRESH_S
        ):
            out.append(self._signals_message(frame, client.filter.bbox_deg))
            client.last_signals = frame.signals
            client.last_signals_s = now_s
            self.counters.messages_sent["signals"] += 1
        if "stats" in wanted and now_s - client.last_stats_s >= REFRESH_S:
            body = stats_dict(self._view.stats(), stream=self.stream_counts())
            out.append(encode_json({"type": "stats", **body}))
            client.last_stats_s = now_s
            self.counters.messages_sent["stats"] += 1
        client.sent_frames += 1
        self.counters.frames_sent += 1
        return out

    def stream_counts(self) -> dict[str, int]:
        counters = self.counters
        return {
            "clients": len(self._clients),
            "frames_in": counters.frames_in,
            "frames_sent": counters.frames_sent,
            "dropped_loop_busy": counters.dropped_loop_busy,
            "dropped_slow_client": counters.dropped_slow_client,
        }

    # -- encoding -----------------------------------------------------------------------------------

    def frame_tracks(self, frame: LiveFrame) -> FrameTracks:
        """The frame's tracks in wire units, computed once per frame (shared with ``/api/v1/ldm``)."""
        return self._cache_entry(frame)[1]

    def _cache_entry(self, frame: LiveFrame) -> tuple[LiveFrame, FrameTracks, dict[Any, bytes]]:
        key = id(frame)  # the entry holds the frame, so the id cannot be reused while cached
        entry = self._encoded.get(key)
        if entry is None or entry[0] is not frame:
            entry = (frame, FrameTracks.of(frame.snapshot, self._geo), {})
            self._encoded[key] = entry
            while len(self._encoded) > _CACHED_FRAMES:
                self._encoded.popitem(last=False)
        return entry

    def _tracks_message(self, frame: LiveFrame, client: StreamClient) -> bytes:
        _, tracks, encoded = self._cache_entry(frame)
        key = (client.filter.bbox_deg, client.filter.as_rows)
        body = encoded.get(key)
        if body is None:
            rows = None if client.filter.bbox_deg is None else tracks.in_bbox(client.filter.bbox_deg)
            payload = tracks.as_rows(rows) if client.filter.as_rows else tracks.as_columns(rows)
            count = len(tracks) if rows is None else len(rows)
            body = encode_json(
                {"type": "tracks", "time_ms": frame.time_ms, "count": count, "tracks": payload}
            )
            encoded[key] = body
        return body

    def _events_message(
        self,
        frame: LiveFrame,
        changes: list[RoadEvent],
        bbox_deg: tuple[float, float, float, float] | None,
    ) -> bytes:
        return encode_json(
            {
                "type": "events",
                "time_ms": frame.time_ms,
                "changes": _in_box(event_dicts(changes, self._geo), bbox_deg),
                "active": _in_box(event_dicts(frame.events_active, self._geo), bbox_deg),
            }
        )

    def _signals_message(self, frame: LiveFrame, bbox_deg: tuple[float, float, float, float] | None) -> bytes:
        signals = _in_box(signal_dicts(frame.signals, self._geo), bbox_deg)
        return encode_json({"type": "signals", "time_ms": frame.time_ms, "signals": signals})


def _in_box(
    items: list[dict[str, Any]], bbox_deg: tuple[float, float, float, float] | None
) -> list[dict[str, Any]]:
    if bbox_deg is None:
        return items
    lon_min, lat_min, lon_max, lat_max = bbox_deg
    return [item for item in items if lon_min <= item["lon"] <= lon_max and lat_min <= item["lat"] <= lat_max]
