"""Ingest: the cloud's front door. Every up-stream message from the bus passes here before fusion, events
or services see it.

    bus (topic, payload) ─▶ parse topic ─▶ known device? ─▶ decode + schema ─▶ identity ─▶ time window
                                                                                   │
                      registry (last seen, rates, status) ◀── accepted ────────────┴─▶ downstream handlers

A message that fails a step is dropped, counted under a ``DropReason`` and logged (rate-limited); nothing
that arrives on the bus makes ``handle`` raise. The device check comes before decoding so a flood from
unknown senders costs a dictionary lookup, not a JSON parse.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from roadcloud.bus.topics import Topic, parse_topic
from roadcloud.errors import DecodeError, InputError, ValidationError
from roadcloud.ingest.ratelog import RateLimitedLog
from roadcloud.ingest.registry import DeviceRegistry
from roadcloud.ingest.timing import measured_span_ms
from roadcloud.messages import (
    BSM,
    DOWNLINK_ONLY_MESSAGES,
    MESSAGE_TYPES,
    RSI,
    RSM,
    DeviceKind,
    Heartbeat,
    Message,
    RoadConditionReading,
)
from roadcloud.messages.json_codec import decode

_log = logging.getLogger(__name__)

Downstream = Callable[[Topic, Message], None]
"""Receives every accepted message with its parsed topic, on the thread that called ``handle``."""

# The message-name key of drops whose topic is unusable. Names from bad topics are not used as keys: a
# sender inventing names would otherwise grow the counters without bound.
NO_MESSAGE_NAME = "?"
MAX_CACHED_TOPICS = 65_536  # parsed topics kept; one per device and message kind in normal traffic


class DropReason(enum.StrEnum):
    BAD_TOPIC = "bad_topic"  # not the roadcloud layout, not up-stream, or an unknown message name
    UNKNOWN_DEVICE = "unknown_device"  # the topic's device is not provisioned
    WRONG_DEVICE = "wrong_device"  # provisioned, but with another kind or zone than the topic says
    DECODE = "decode"  # not JSON, not the message's structure, or over the size limit
    SCHEMA = "schema"  # a field missing, of the wrong type, out of range, or a reserved value
    ID_MISMATCH = "id_mismatch"  # the payload names another device (or kind) than its topic
    STALE = "stale"  # measured longer ago than max_age_ms
    FUTURE = "future"  # measured further ahead than max_future_ms
    INTERNAL = "internal"  # a bug in ingest itself; logged with its traceback


@dataclass(frozen=True, slots=True)
class IngestStats:
    """Counts since the ingestor started; ``dropped`` is keyed by (message name, reason), with ``"?"`` as
    the name when the topic gave none."""

    at_ms: int
    accepted: Mapping[str, int]
    dropped: Mapping[tuple[str, DropReason], int]
    downstream_errors: int

    @property
    def accepted_total(self) -> int:
        return sum(self.accepted.values())

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    @property
    def dropped_by_reason(self) -> Mapping[DropReason, int]:
        totals: dict[DropReason, int] = {}
        for (_, reason), count in self.dropped.items():
            totals[reason] = totals.get(reason, 0) + count
        return MappingProxyType(totals)

    @property
    def dropped_by_type(self) -> Mapping[str, int]:
        totals: dict[str, int] = {}
        for (name, _), count in self.dropped.items():
            totals[name] = totals.get(name, 0) + count
        return MappingProxyType(totals)


class _RejectError(Exception):
    """Leaves ``handle`` early; carries the reason and a human detail for the log."""

    def __init__(self, reason: DropReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Ingestor:
    """Decodes, validates and admits up-stream messages; not thread-safe (call ``handle`` from one thread,
    e.g. the consumer of a ``HandoffQueue``)."""

    def __init__(
        self,
        registry: DeviceRegistry,
        *,
        clock_ms: Callable[[], int],
        max_age_ms: int = 5_000,
        max_future_ms: int = 1_000,
        accept_unprovisioned_vehicles: bool = False,
        downstream: Iterable[Downstream] = (),
        log_interval_ms: int = 10_000,
    ) -> None:
        """``clock_ms`` returns the receiver's time (UTC epoch ms, or twin time in a replay); measurement
        times are judged against it. ``max_age_ms`` and ``max_future_ms`` bound the accepted window."""
        if max_age_ms < 0 or max_future_ms < 0:
            raise InputError(
                f"max_age_ms={max_age_ms} and max_future_ms={max_future_ms}: both must be 0 or more"
            )
        self._registry = registry
        self._clock_ms = clock_ms
        self._max_age_ms = max_age_ms
        self._max_future_ms = max_future_ms
        self._accept_vehicles = accept_unprovisioned_vehicles
        self._downstream = list(downstream)
        self._ratelog = RateLimitedLog(_log, interval_ms=log_interval_ms)
        self._topics: dict[str, Topic] = {}
        self._accepted: dict[str, int] = {}
        self._dropped: dict[tuple[str, DropReason], int] = {}
        self._downstream_errors = 0

    @property
    def registry(self) -> DeviceRegistry:
        return self._registry

    def add_downstream(self, handler: Downstream) -> None:
        self._downstream.append(handler)

    def handle(self, topic: str, payload: bytes) -> Message | None:
        """Admit one message from the bus: the decoded message, or None when it was dropped.

        A bus ``Handler`` when the return value is ignored; never raises.
        """
        now_ms = self._clock_ms()
        name = NO_MESSAGE_NAME
        try:
            parsed = self._parse(topic)
            name = parsed.message
            message = self._admit(parsed, payload, now_ms)
        except _RejectError as drop:
            self._count_drop(name, drop.reason, drop.detail, topic, now_ms)
            return None
        except Exception as error:
            self._count_drop(name, DropReason.INTERNAL, repr(error), topic, now_ms, exc_info=True)
            return None
        self._accepted[name] = self._accepted.get(name, 0) + 1
        for handler in self._downstream:
            try:
                handler(parsed, message)
            except Exception:
                self._downstream_errors += 1
                if self._ratelog.allow(f"downstream:{handler!r}", now_ms) is not None:
                    _log.exception("downstream handler %r raised on %s", handler, topic)
        return message

    def stats(self) -> IngestStats:
        return IngestStats(
            at_ms=self._clock_ms(),
            accepted=MappingProxyType(dict(self._accepted)),
            dropped=MappingProxyType(dict(self._dropped)),
            downstream_errors=self._downstream_errors,
        )

    # -- steps ----------------------------------------------------------------------------------------

    def _parse(self, topic: str) -> Topic:
        parsed = self._topics.get(topic)
        if parsed is not None:
            return parsed
        try:
            parsed = parse_topic(topic)
        except InputError as error:
            raise _RejectError(DropReason.BAD_TOPIC, str(error)) from None
        if parsed.direction != "up":
            raise _RejectError(DropReason.BAD_TOPIC, "a down-stream (cloud → field) topic reached ingest")
        if parsed.message in DOWNLINK_ONLY_MESSAGES:
            raise _RejectError(
                DropReason.BAD_TOPIC, f"message {parsed.message!r} only flows cloud → field, never up"
            )
        if parsed.message not in MESSAGE_TYPES:
            known = ", ".join(sorted(set(MESSAGE_TYPES) - DOWNLINK_ONLY_MESSAGES))
            raise _RejectError(
                DropReason.BAD_TOPIC, f"unknown message {parsed.message!r}; expected one of {known}"
            )
        # Only well-formed topics are cached, so garbage topics cannot fill the cache; the bound covers
        # a fleet of ever-new vehicle ids.
        if len(self._topics) >= MAX_CACHED_TOPICS:
            self._topics.clear()
        self._topics[topic] = parsed
        return parsed

    def _admit(self, parsed: Topic, payload: bytes, now_ms: int) -> Message:
        registry = self._registry
        device = registry.get(parsed.device_id)
        enrol = False
        if device is None:
            if not (self._accept_vehicles and parsed.device_kind == DeviceKind.VEHICLE):
                raise _RejectError(
                    DropReason.UNKNOWN_DEVICE, f"device {parsed.device_id!r} is not provisioned"
                )
            enrol = True
        elif device.kind != parsed.device_kind or device.zone != parsed.zone:
            raise _RejectError(
                DropReason.WRONG_DEVICE,
                f"device {device.id!r} is provisioned as {device.kind} in zone {device.zone}, "
                f"but the topic says {parsed.device_kind} in zone {parsed.zone}",
            )

        try:
            message = decode(payload, MESSAGE_TYPES[parsed.message])
        except ValidationError as error:
            raise _RejectError(DropReason.SCHEMA, str(error)) from None
        except DecodeError as error:
            raise _RejectError(DropReason.DECODE, str(error)) from None

        claimed_id, claimed_kind = _claimed_identity(message)
        if claimed_id is not None and claimed_id != parsed.device_id:
            raise _RejectError(DropReason.ID_MISMATCH, f"the payload names device {claimed_id!r}")
        if claimed_kind is not None and claimed_kind != parsed.device_kind:
            raise _RejectError(DropReason.ID_MISMATCH, f"the payload names device kind {claimed_kind!r}")

        try:
            span = measured_span_ms(message, now_ms)
        except ValidationError as error:
            raise _RejectError(DropReason.SCHEMA, str(error)) from None
        if span is not None:
            oldest_ms, newest_ms = span
            if oldest_ms < -self._max_age_ms:
                raise _RejectError(
                    DropReason.STALE, f"measured {-oldest_ms} ms ago; the limit is {self._max_age_ms} ms"
                )
            if newest_ms > self._max_future_ms:
                raise _RejectError(
                    DropReason.FUTURE,
                    f"measured {newest_ms} ms ahead of this clock; the limit is {self._max_future_ms} ms",
                )

        if enrol:
            try:
                enrolled = registry.enroll_vehicle(parsed.device_id, zone=parsed.zone, now_ms=now_ms)
            except InputError as error:  # an id or zone that cannot be a device's
                raise _RejectError(DropReason.BAD_TOPIC, str(error)) from None
            if enrolled is None:
                raise _RejectError(
                    DropReason.UNKNOWN_DEVICE, "the limit of auto-enrolled vehicles is reached"
                )
        status = message.status if isinstance(message, Heartbeat) else None
        registry.record(parsed.device_id, parsed.message, now_ms, status=status)
        return message

    def _count_drop(
        self,
        name: str,
        reason: DropReason,
        detail: str,
        topic: str,
        now_ms: int,
        *,
        exc_info: bool = False,
    ) -> None:
        key = (name, reason)
        self._dropped[key] = self._dropped.get(key, 0) + 1
        suppressed = self._ratelog.allow(reason, now_ms)
        if suppressed is None:
            return
        more = f" ({suppressed} more {reason} drops not logged)" if suppressed else ""
        _log.warning("dropped %s on %.200s: %s%s", reason, topic, detail, more, exc_info=exc_info)


def _claimed_identity(message: Message) -> tuple[str | None, str | None]:
    """The device id and kind a payload claims for its sender, where the message type has them."""
    if isinstance(message, RSM | BSM | RSI):
        return message.id, None
    if isinstance(message, Heartbeat):
        return message.device_id, message.device_kind
    if isinstance(message, RoadConditionReading):
        return message.sensor_id, None
    return None, None
