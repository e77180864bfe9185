"""A bounded hand-off from the bus's delivery thread to a consumer's own thread.

The MQTT bus calls handlers on paho's network thread; work that is slow or not thread-safe (ingest with
its registry, fusion) subscribes ``HandoffQueue.put`` instead and drains the queue on its own thread. When
the consumer falls behind, new messages are dropped and counted rather than stalling the network thread
(which would stop keepalives and acknowledgements for every subscription of the process).
"""

from __future__ import annotations

import threading
import time
from collections import deque

from roadcloud.bus.base import Handler
from roadcloud.errors import InputError


class HandoffQueue:
    def __init__(self, max_items: int = 100_000) -> None:
        if max_items < 1:
            raise InputError(f"hand-off queue size is {max_items}; it must be at least 1")
        self._max_items = max_items
        self._items: deque[tuple[str, bytes]] = deque()
        self._ready = threading.Event()
        self._dropped = 0

    @property
    def dropped(self) -> int:
        """Messages refused because the queue was full."""
        return self._dropped

    def __len__(self) -> int:
        return len(self._items)

    def put(self, topic: str, payload: bytes) -> None:
        """A bus ``Handler``: never blocks."""
        if len(self._items) >= self._max_items:
            self._dropped += 1
            return
        self._items.append((topic, payload))  # deque.append is atomic: no lock on the hot path
        self._ready.set()

    def drain(self, handler: Handler, *, timeout_s: float, max_items: int | None = None) -> int:
        """Call ``handler`` for queued messages, oldest first, waiting up to ``timeout_s`` for the first;
        returns how many were handled. The handler runs on the calling thread."""
        deadline_s = time.monotonic() + timeout_s
        handled = 0
        while max_items is None or handled < max_items:
            try:
                topic, payload = self._items.popleft()
            except IndexError:
                if handled:
                    return handled
                # Clear before the final check: a put() after the check sets the event again.
                self._ready.clear()
                if self._items:
                    continue
                remaining_s = deadline_s - time.monotonic()
                if remaining_s <= 0 or not self._ready.wait(remaining_s):
                    return handled
                continue
            handler(topic, payload)
            handled += 1
        return handled
