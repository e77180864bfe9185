"""The bus seam: what every transport offers, so ingest, services and the twin never know which one runs.

The bus carries the wire form, ``(topic, payload bytes)``, in both transports: a message crosses the bus
exactly as it would cross a broker, so ingest decodes and validates the same way in one process and across
machines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

Handler = Callable[[str, bytes], object]
"""Receives ``(topic, payload)``; its return value is ignored. Exceptions are caught, counted and logged
by the bus."""


@dataclass(frozen=True, slots=True)
class BusStats:
    """Counters since the bus was opened."""

    published: int = 0  # accepted by publish(), including those queued while disconnected
    delivered: int = 0  # handler calls made
    handler_errors: int = 0  # handler calls that raised
    queued: int = 0  # waiting for a connection now (MQTT only)
    dropped_queue_full: int = 0  # publishes lost because the disconnected-queue was full (MQTT only)
    connects: int = 0  # successful connections, the first one included (MQTT only)


class Bus(Protocol):
    """Publish/subscribe over MQTT topic names with MQTT wildcard semantics (``+``, ``#``)."""

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Send one message. Messages of a retained kind (``retain_for``) are retained whatever ``retain``
        says."""
        ...

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        """Call ``handler(topic, payload)`` for every message matching ``topic_filter``, starting with the
        retained ones."""
        ...

    def stats(self) -> BusStats: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class ClosesOnExit:
    """``with bus:`` closes the bus however the block ends; transports inherit it and define ``close``."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class HandlerErrorLog:
    """Logs handler exceptions at counts 1, 10, 100, …, so a handler that fails on every message of a
    10 Hz stream leaves a few lines, not thousands, and needs no clock."""

    __slots__ = ("_count", "_logger_name")

    def __init__(self, logger_name: str) -> None:
        self._logger_name = logger_name
        self._count = 0

    @property
    def count(self) -> int:
        return self._count

    def record(self, topic: str, handler: Handler) -> None:
        """Call from inside an ``except`` block."""
        self._count += 1
        count = self._count
        if _is_power_of_ten(count):
            logging.getLogger(self._logger_name).exception(
                "bus handler %r raised on topic %s (handler error #%d; later ones are logged at 10, 100, …)",
                handler,
                topic,
                count,
            )


def _is_power_of_ten(value: int) -> bool:
    while value >= 10 and value % 10 == 0:
        value //= 10
    return value == 1
