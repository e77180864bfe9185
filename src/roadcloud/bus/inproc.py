"""The in-process bus: one process, synchronous dispatch, MQTT semantics.

It is the bus of ``make demo`` and of the tests: the twin, ingest and services publish and subscribe
exactly as they would through a broker (same topics, same wildcard rules, same retained kinds, same bytes),
so nothing changes when the pipeline is split across processes.

``publish`` calls every matching handler before it returns, on the publishing thread. A handler may
publish in turn; that nests. Handler exceptions are caught, counted and logged so one faulty subscriber
cannot break the publisher or its siblings.
"""

from __future__ import annotations

import threading

from roadcloud.bus.base import BusStats, ClosesOnExit, Handler, HandlerErrorLog
from roadcloud.bus.delivery import retain_for
from roadcloud.bus.matching import topic_matches, validate_filter, validate_topic
from roadcloud.bus.topics import message_name

# Topics repeat (one per device and message kind), so the handlers of a topic are cached; the bound keeps
# a stream of ever-new topics from growing the cache without limit.
MAX_CACHED_ROUTES = 65_536


class InprocBus(ClosesOnExit):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: list[tuple[str, Handler]] = []
        self._retained: dict[str, bytes] = {}
        self._routes: dict[str, tuple[Handler, ...]] = {}
        self._errors = HandlerErrorLog(__name__)
        self._published = 0
        self._delivered = 0
        self._closed = False

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        validate_topic(topic)
        with self._lock:
            if self._closed:
                raise RuntimeError(f"publish to {topic!r} on a closed in-process bus")
            self._published += 1
            if retain or retain_for(message_name(topic)):
                # As in MQTT: an empty retained payload clears the retained message.
                if payload:
                    self._retained[topic] = payload
                else:
                    self._retained.pop(topic, None)
            handlers = self._routes.get(topic)
            if handlers is None:
                handlers = tuple(handler for flt, handler in self._subscriptions if topic_matches(flt, topic))
                if len(self._routes) >= MAX_CACHED_ROUTES:
                    self._routes.clear()
                self._routes[topic] = handlers
            self._delivered += len(handlers)
        self._dispatch(topic, payload, handlers)

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        validate_filter(topic_filter)
        with self._lock:
            if self._closed:
                raise RuntimeError(f"subscribe to {topic_filter!r} on a closed in-process bus")
            self._subscriptions.append((topic_filter, handler))
            self._routes.clear()
            retained = sorted(
                (topic, payload)
                for topic, payload in self._retained.items()
                if topic_matches(topic_filter, topic)
            )
            self._delivered += len(retained)
        for topic, payload in retained:
            self._dispatch(topic, payload, (handler,))

    def stats(self) -> BusStats:
        return BusStats(
            published=self._published, delivered=self._delivered, handler_errors=self._errors.count
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._subscriptions.clear()
            self._routes.clear()

    def _dispatch(self, topic: str, payload: bytes, handlers: tuple[Handler, ...]) -> None:
        for handler in handlers:
            try:
                handler(topic, payload)
            except Exception:
                self._errors.record(topic, handler)
