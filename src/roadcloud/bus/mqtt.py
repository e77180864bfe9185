"""The MQTT bus: paho-mqtt 2 (MQTT 5) against Mosquitto or a clustered broker.

It is the bus of a split deployment: RSUs, vehicles and the twin publish field messages, ingest and
services subscribe, each in its own process. Topic, payload bytes, wildcard and retain rules are those of
the in-process bus, so the pipeline runs unchanged on either.

Delivery policy comes from the topic's message name (``roadcloud.bus.delivery``): streams at QoS 0,
MAP at QoS 1 retained, advisories and heartbeats at QoS 1.

Threads. paho's network thread (``loop_start``) reads and writes the socket and **calls every handler**.
A handler that blocks stalls the connection (keepalive, acknowledgements, other subscriptions); a slow
consumer should hand messages to its own thread with ``roadcloud.bus.handoff.HandoffQueue``. ``publish``
and ``subscribe`` may be called from any thread, handlers included.

Broker restarts. paho reconnects with exponential back-off (``reconnect_delay_set``); ``on_connect``
restores every subscription, because a new session at the broker starts with none, then sends the
messages published while disconnected. Those wait in a bounded queue; when it is full the oldest is
dropped and counted, since fresh field data is worth more than old.

Latency. The client turns Nagle's algorithm off on its socket; give the broker ``set_tcp_nodelay true``
(Mosquitto 2) as well, or each hop may hold a small message back for tens of milliseconds.

Each filter is one MQTT subscription with its own subscription identifier (MQTT 5), and incoming
messages go to the handlers of the identifiers they carry. Overlapping filters therefore reach each
handler once, whether the broker sends one copy per subscription or one copy for all.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from roadcloud.bus.base import BusStats, ClosesOnExit, Handler, HandlerErrorLog
from roadcloud.bus.delivery import delivery_for
from roadcloud.bus.matching import topic_matches, validate_filter, validate_topic
from roadcloud.bus.topics import message_name
from roadcloud.errors import InputError

_log = logging.getLogger(__name__)

# Subscriptions ask for QoS 1 so that QoS 1 kinds (MAP, RSI, heartbeat) stay QoS 1 on the way out of the
# broker; QoS 0 kinds stay QoS 0 (delivery QoS is the lower of the two).
SUBSCRIBE_QOS = 1


@dataclass(frozen=True, slots=True)
class _Subscription:
    topic_filter: str
    identifier: int
    handlers: tuple[Handler, ...]


class MqttBus(ClosesOnExit):
    """A connected MQTT client; see the module docstring for threads and reconnection."""

    def __init__(
        self,
        host: str,
        port: int = 1883,
        *,
        client_id: str | None = None,
        keepalive_s: int = 30,
        max_queued: int = 10_000,
        reconnect_min_delay_s: int = 1,
        reconnect_max_delay_s: int = 30,
        connect_timeout_s: float | None = 5.0,
    ) -> None:
        """Connect to ``host:port``; wait up to ``connect_timeout_s`` for the broker (None: do not wait,
        keep trying in the background)."""
        if max_queued < 1:
            raise InputError(f"max_queued is {max_queued}; it must be at least 1")
        self._address = f"{host}:{port}"
        self._max_queued = max_queued
        self._lock = threading.Lock()  # guards the connected flag, the queue and the subscriptions
        self._connected = False
        self._closed = False
        self._queue: deque[tuple[str, bytes, int, bool]] = deque()
        self._subscriptions: dict[str, _Subscription] = {}
        self._by_identifier: dict[int, _Subscription] = {}
        self._errors = HandlerErrorLog(__name__)
        self._published = 0
        self._delivered = 0
        self._dropped = 0
        self._connects = 0
        self._refusal: str | None = None
        self._first_connect = threading.Event()

        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"roadcloud-{uuid.uuid4().hex[:12]}",
            protocol=paho.MQTTv5,
        )
        self._client.reconnect_delay_set(min_delay=reconnect_min_delay_s, max_delay=reconnect_max_delay_s)
        # paho keeps QoS 1 messages until acknowledged; bound that queue too.
        self._client.max_queued_messages_set(max_queued)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_socket_open = _no_delay
        self._client.connect_async(host, port, keepalive=keepalive_s)
        self._client.loop_start()
        if connect_timeout_s is not None and not self._first_connect.wait(connect_timeout_s):
            self.close()
            why = f"the broker refused: {self._refusal}" if self._refusal else "no broker answered"
            raise InputError(
                f"cannot connect to the MQTT broker at {self._address} within {connect_timeout_s:g} s "
                f"({why}); start the broker or fix the bus URL"
            )

    @property
    def connected(self) -> bool:
        return self._connected

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        validate_topic(topic)
        delivery = delivery_for(message_name(topic))
        item = (topic, payload, delivery.qos, retain or delivery.retain)
        with self._lock:
            if self._closed:
                raise RuntimeError(f"publish to {topic!r} on a closed MQTT bus")
            self._published += 1
            if self._connected and self._send(item):
                return
            self._enqueue(item)

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        validate_filter(topic_filter)
        with self._lock:
            if self._closed:
                raise RuntimeError(f"subscribe to {topic_filter!r} on a closed MQTT bus")
            known = self._subscriptions.get(topic_filter)
            if known is None:
                subscription = _Subscription(topic_filter, len(self._subscriptions) + 1, (handler,))
            else:
                # Same filter, same MQTT subscription: the broker would not resend retained messages.
                subscription = _Subscription(topic_filter, known.identifier, (*known.handlers, handler))
            self._subscriptions[topic_filter] = subscription
            self._by_identifier[subscription.identifier] = subscription
            if known is None and self._connected:
                self._send_subscribe(subscription)

    def stats(self) -> BusStats:
        with self._lock:
            return BusStats(
                published=self._published,
                delivered=self._delivered,
                handler_errors=self._errors.count,
                queued=len(self._queue),
                dropped_queue_full=self._dropped,
                connects=self._connects,
            )

    def close(self) -> None:
        """Disconnect and stop the network thread. Messages still queued for a connection are lost."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._client.disconnect()
        self._client.loop_stop()

    # -- with self._lock held -------------------------------------------------------------------------

    def _send(self, item: tuple[str, bytes, int, bool]) -> bool:
        """Hand one message to paho; False when it must wait in our queue for the next connection."""
        topic, payload, qos, retain = item
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
            return True
        if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            self._dropped += 1  # paho's own QoS 1 queue is full: the broker is not keeping up
            return True
        # NO_CONN: the connection dropped before on_disconnect ran. paho keeps QoS 1 messages itself and
        # resends them after reconnecting; QoS 0 ones it forgets, so they join our queue.
        return qos > 0

    def _enqueue(self, item: tuple[str, bytes, int, bool]) -> None:
        if len(self._queue) >= self._max_queued:
            self._queue.popleft()
            self._dropped += 1
        self._queue.append(item)

    def _send_subscribe(self, subscription: _Subscription) -> None:
        properties = Properties(PacketTypes.SUBSCRIBE)  # type: ignore[no-untyped-call]
        properties.SubscriptionIdentifier = subscription.identifier
        options = SubscribeOptions(qos=SUBSCRIBE_QOS, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        self._client.subscribe(subscription.topic_filter, options=options, properties=properties)

    # -- paho callbacks, on the network thread ------------------------------------------------------------

    def _on_connect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._refusal = str(reason_code)
            _log.warning("MQTT broker %s refused the connection: %s", self._address, reason_code)
            return
        with self._lock:
            self._connected = True
            self._connects += 1
            for subscription in self._subscriptions.values():
                self._send_subscribe(subscription)
            flushed = 0
            while self._queue:
                item = self._queue.popleft()
                if not self._send(item):
                    self._queue.appendleft(item)
                    break
                flushed += 1
            connects = self._connects
        self._first_connect.set()
        if connects > 1:
            _log.info(
                "reconnected to MQTT broker %s: %d subscriptions restored, %d queued messages sent",
                self._address,
                len(self._subscriptions),
                flushed,
            )

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: Any,
        flags: paho.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._lock:
            self._connected = False
            closing = self._closed
        if not closing:
            _log.warning("lost MQTT broker %s (%s); reconnecting", self._address, reason_code)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        topic = message.topic
        payload = bytes(message.payload)  # paho types it bytes | bytearray; it reads bytes
        identifiers = getattr(message.properties, "SubscriptionIdentifier", None)
        handlers: list[Handler] = []
        if identifiers:
            for identifier in identifiers:
                subscription = self._by_identifier.get(identifier)
                if subscription is not None:
                    handlers.extend(subscription.handlers)
        else:  # a broker without subscription identifiers: match the filters ourselves
            for subscription in list(self._subscriptions.values()):
                if topic_matches(subscription.topic_filter, topic):
                    handlers.extend(subscription.handlers)
        self._delivered += len(handlers)
        for handler in handlers:
            try:
                handler(topic, payload)
            except Exception:
                self._errors.record(topic, handler)


def _no_delay(client: paho.Client, userdata: Any, sock: Any) -> None:
    """Send each message at once. paho leaves Nagle's algorithm on, which holds a small publish back until
    the previous one is acknowledged: tens of milliseconds on a path with a 100 ms safety budget."""
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
