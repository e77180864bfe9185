"""The MQTT bus against a real Mosquitto started for each test (see tests/conftest.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from roadcloud.bus import Bus, connect_bus
from roadcloud.bus.mqtt import MqttBus
from roadcloud.bus.topics import topic, zone_filter
from roadcloud.errors import InputError

pytestmark = pytest.mark.integration


class Inbox:
    """A thread-safe handler that remembers what it received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: list[tuple[str, bytes]] = []

    def __call__(self, topic_name: str, payload: bytes) -> None:
        with self._lock:
            self.items.append((topic_name, payload))

    def payloads(self) -> list[bytes]:
        with self._lock:
            return [payload for _, payload in self.items]

    def clear(self) -> None:
        with self._lock:
            self.items.clear()


def until_routed(publisher: Bus, topic_name: str, *inboxes: Inbox, timeout_s: float = 5.0) -> None:
    """Publish probes until every inbox got one, then empty them: the subscriptions are live at the
    broker (the SUBACK may trail the connection by a moment)."""
    deadline = time.monotonic() + timeout_s
    while not all(b"probe" in inbox.payloads() for inbox in inboxes):
        assert time.monotonic() < deadline, "subscription not live at the broker"
        publisher.publish(topic_name, b"probe")
        time.sleep(0.05)
    time.sleep(0.1)  # stragglers
    for inbox in inboxes:
        inbox.clear()


@contextmanager
def raw_observer(port: int, topic_filter: str) -> Iterator[list[paho.MQTTMessage]]:
    """A plain paho client subscribed at QoS 2, to see the QoS and retain flag the broker delivers with."""
    messages: list[paho.MQTTMessage] = []
    subscribed = threading.Event()
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.on_message = lambda c, u, message: messages.append(message)
    client.on_subscribe = lambda *args: subscribed.set()
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic_filter, qos=2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert subscribed.wait(5), "observer did not subscribe"
        yield messages
    finally:
        client.disconnect()
        client.loop_stop()


def test_publish_subscribe_round_trip(mosquitto, wait_until) -> None:
    inbox = Inbox()
    with connect_bus(mosquitto.url) as subscriber, connect_bus(mosquitto.url) as publisher:
        subscriber.subscribe(zone_filter("z"), inbox)
        until_routed(publisher, topic("z", "vehicle", "V1", "bsm"), inbox)
        published_before, delivered_before = publisher.stats().published, subscriber.stats().delivered
        payloads = [f'{{"n":{n}}}'.encode() for n in range(200)]
        for payload in payloads:
            publisher.publish(topic("z", "vehicle", "V1", "bsm"), payload)
        publisher.publish(topic("other", "vehicle", "V1", "bsm"), b"not for us")
        assert wait_until(lambda: len(inbox.items) >= 200)
        time.sleep(0.1)
        assert inbox.payloads() == payloads  # same bytes, same order, nothing from the other zone
        assert {name for name, _ in inbox.items} == {topic("z", "vehicle", "V1", "bsm")}
        assert publisher.stats().published - published_before == 201
        assert subscriber.stats().delivered - delivered_before == 200


def test_qos_and_retain_follow_the_message_kind(mosquitto, wait_until) -> None:
    map_topic = topic("z", "signal", "S1", "map")
    bsm_topic = topic("z", "vehicle", "V1", "bsm")
    heartbeat_topic = topic("z", "rsu", "R1", "heartbeat")
    with connect_bus(mosquitto.url) as publisher, connect_bus(mosquitto.url) as witness_bus:
        witness = Inbox()
        witness_bus.subscribe(heartbeat_topic, witness)
        until_routed(publisher, heartbeat_topic, witness)
        publisher.publish(map_topic, b"map-v1")
        publisher.publish(bsm_topic, b"old position")
        # The broker handles one client's messages in order: once the marker is through, MAP is stored.
        publisher.publish(heartbeat_topic, b"marker")
        assert wait_until(lambda: b"marker" in witness.payloads())
        with raw_observer(mosquitto.port, "roadcloud/#") as live:
            publisher.publish(map_topic, b"map-v2")
            publisher.publish(bsm_topic, b"position")
            publisher.publish(heartbeat_topic, b"alive")
            publisher.publish(topic("z", "rsu", "R1", "rsi", "down"), b"advisory")
            assert wait_until(lambda: len(live) >= 5)
            by_payload = {bytes(m.payload): m for m in live}
        # The observer saw the retained MAP first (retain flag set), then the live traffic.
        assert by_payload[b"map-v1"].retain and by_payload[b"map-v1"].qos == 1
        assert b"old position" not in by_payload  # streams are not retained
        assert by_payload[b"map-v2"].qos == 1
        assert by_payload[b"position"].qos == 0
        assert by_payload[b"alive"].qos == 1
        assert by_payload[b"advisory"].qos == 1

        # A subscriber that arrives later still gets the current MAP, and only that.
        late = Inbox()
        with connect_bus(mosquitto.url) as late_bus:
            late_bus.subscribe(zone_filter("z"), late)
            assert wait_until(lambda: late.items)
            time.sleep(0.2)
        assert late.items == [(map_topic, b"map-v2")]


def test_overlapping_filters_reach_each_handler_once(mosquitto, wait_until) -> None:
    zone_inbox, map_inbox, all_inbox = Inbox(), Inbox(), Inbox()
    with connect_bus(mosquitto.url) as bus:
        bus.subscribe(zone_filter("z"), zone_inbox)
        bus.subscribe("roadcloud/v1/z/+/+/rsm/up", map_inbox)
        bus.subscribe("roadcloud/#", all_inbox)
        until_routed(bus, topic("z", "rsu", "R0", "rsm"), zone_inbox, map_inbox, all_inbox)
        bus.publish(topic("z", "rsu", "R1", "rsm"), b"1")
        bus.publish(topic("z", "vehicle", "V1", "bsm"), b"2")
        assert wait_until(lambda: len(all_inbox.items) >= 2)
        time.sleep(0.2)
    assert zone_inbox.payloads() == [b"1", b"2"]
    assert map_inbox.payloads() == [b"1"]
    assert all_inbox.payloads() == [b"1", b"2"]


def test_a_failing_handler_does_not_stop_the_network_thread(mosquitto, wait_until) -> None:
    inbox = Inbox()

    def fails_on_first(topic_name: str, payload: bytes) -> None:
        if payload == b"0":
            raise ValueError("bad first message")
        inbox(topic_name, payload)

    with connect_bus(mosquitto.url) as bus:
        bus.subscribe("t/#", fails_on_first)
        until_routed(bus, "t/probe", inbox)
        for n in range(3):
            bus.publish(f"t/{n}", str(n).encode())
        assert wait_until(lambda: len(inbox.items) == 2)
        assert bus.stats().handler_errors == 1


def test_broker_restart_mid_stream(mosquitto, wait_until) -> None:
    """Kill the broker while a stream runs, publish during the outage, start it again on the same port:
    both clients reconnect, the publisher sends what it queued (bounded), the subscriber restores its
    subscription, and everything published after the restart arrives."""
    inbox = Inbox()
    bsm = topic("z", "vehicle", "V1", "bsm")
    subscriber = MqttBus("127.0.0.1", mosquitto.port, reconnect_min_delay_s=1)
    # The publisher waits 2 s before reconnecting, so the test's observer is subscribed before the
    # publisher flushes its queue (a QoS 0 message reaches only subscriptions that exist then).
    publisher = MqttBus("127.0.0.1", mosquitto.port, reconnect_min_delay_s=2, max_queued=5)
    try:
        subscriber.subscribe(zone_filter("z"), inbox)
        until_routed(publisher, bsm, inbox)
        stop = threading.Event()
        errors: list[BaseException] = []

        def stream() -> None:
            n = 0
            try:
                while not stop.is_set():
                    publisher.publish(bsm, f"stream-{n}".encode())
                    n += 1
                    time.sleep(0.005)
            except BaseException as error:  # reported by the assertion below
                errors.append(error)

        streamer = threading.Thread(target=stream)
        streamer.start()
        try:
            assert wait_until(lambda: len(inbox.items) >= 20)
            mosquitto.kill()  # mid-stream: the streamer keeps publishing into the outage
            assert wait_until(lambda: not publisher.connected and not subscriber.connected)
        finally:
            stop.set()
            streamer.join()
        for n in range(8):  # the queue holds 5: the oldest are dropped and counted
            publisher.publish(bsm, f"queued-{n}".encode())
        assert publisher.stats().queued == 5
        assert publisher.stats().dropped_queue_full >= 3

        mosquitto.start()
        with raw_observer(mosquitto.port, zone_filter("z")) as observed:
            assert wait_until(lambda: subscriber.connected and publisher.connected, timeout_s=10)
            assert wait_until(lambda: any(bytes(m.payload) == b"queued-7" for m in observed))
            flushed = [bytes(m.payload) for m in observed if bytes(m.payload).startswith(b"queued-")]
        assert flushed == [f"queued-{n}".encode() for n in range(3, 8)]
        assert publisher.stats().queued == 0

        until_routed(publisher, bsm, inbox)  # the subscriber restored its subscription by itself
        for n in range(50):
            publisher.publish(bsm, f"after-{n}".encode())
        assert wait_until(lambda: b"after-49" in inbox.payloads())
        assert inbox.payloads() == [f"after-{n}".encode() for n in range(50)]
        assert subscriber.stats().connects == 2 and publisher.stats().connects == 2
        assert not errors
    finally:
        publisher.close()
        subscriber.close()


def test_no_broker_is_one_clear_line(mosquitto) -> None:
    port = mosquitto.port
    mosquitto.stop()
    with pytest.raises(InputError) as caught:
        connect_bus(f"mqtt://127.0.0.1:{port}", connect_timeout_s=0.5)
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "start the broker" in message
    assert "\n" not in message
