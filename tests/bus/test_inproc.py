"""The in-process bus: wildcards, retained kinds, synchronous dispatch, faulty handlers."""

from __future__ import annotations

import logging

import pytest

from roadcloud.bus import InprocBus, connect_bus
from roadcloud.bus.topics import topic, zone_filter
from roadcloud.errors import InputError

Received = list[tuple[str, bytes]]


def test_wildcard_subscriptions_receive_exactly_their_topics() -> None:
    bus = InprocBus()
    zone_up: Received = []
    rsm_only: Received = []
    everything: Received = []
    bus.subscribe(zone_filter("z"), lambda t, p: zone_up.append((t, p)))
    bus.subscribe("roadcloud/v1/z/+/+/rsm/up", lambda t, p: rsm_only.append((t, p)))
    bus.subscribe("#", lambda t, p: everything.append((t, p)))

    rsm = topic("z", "rsu", "R1", "rsm")
    bsm = topic("z", "vehicle", "V1", "bsm")
    down = topic("z", "vehicle", "V1", "rsi", "down")
    other_zone = topic("y", "rsu", "R9", "rsm")
    for name in (rsm, bsm, down, other_zone):
        bus.publish(name, name.encode())

    assert zone_up == [(rsm, rsm.encode()), (bsm, bsm.encode())]
    assert rsm_only == [(rsm, rsm.encode())]
    assert [name for name, _ in everything] == [rsm, bsm, down, other_zone]
    assert bus.stats().published == 4
    assert bus.stats().delivered == 7


def test_dispatch_is_synchronous_and_carries_the_same_bytes() -> None:
    bus = InprocBus()
    received: Received = []
    bus.subscribe("#", lambda t, p: received.append((t, p)))
    payload = b'{"msgCnt":1}'
    bus.publish("a/b", payload)
    assert received == [("a/b", payload)]  # before publish returned
    assert received[0][1] is payload


def test_map_is_retained_for_late_subscribers_and_streams_are_not() -> None:
    bus = InprocBus()
    map_topic = topic("z", "signal", "S1", "map")
    bus.publish(map_topic, b"map-1")
    bus.publish(map_topic, b"map-2")  # the latest one is kept
    bus.publish(topic("z", "vehicle", "V1", "bsm"), b"bsm")
    bus.publish("custom/state", b"kept", retain=True)

    late: Received = []
    bus.subscribe("#", lambda t, p: late.append((t, p)))
    assert late == [("custom/state", b"kept"), (map_topic, b"map-2")]

    # An empty retained payload clears the retained message, as in MQTT.
    bus.publish(map_topic, b"")
    later: Received = []
    bus.subscribe(zone_filter("z"), lambda t, p: later.append((t, p)))
    assert later == []


def test_retained_messages_only_reach_matching_late_subscribers() -> None:
    bus = InprocBus()
    bus.publish(topic("z", "signal", "S1", "map"), b"z")
    bus.publish(topic("y", "signal", "S2", "map"), b"y")
    late: Received = []
    bus.subscribe(zone_filter("y"), lambda t, p: late.append((t, p)))
    assert late == [(topic("y", "signal", "S2", "map"), b"y")]


def test_a_failing_handler_is_counted_and_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    bus = InprocBus()
    received: Received = []

    def broken(topic_name: str, payload: bytes) -> None:
        raise ValueError("boom")

    bus.subscribe("#", broken)
    bus.subscribe("#", lambda t, p: received.append((t, p)))
    with caplog.at_level(logging.ERROR):
        for n in range(25):
            bus.publish("a", bytes([n]))
    assert len(received) == 25
    assert bus.stats().handler_errors == 25
    # Logged at the 1st and 10th error only, not 25 times.
    assert len([r for r in caplog.records if "handler" in r.getMessage()]) == 2


def test_handlers_may_publish_while_being_dispatched() -> None:
    bus = InprocBus()
    replies: Received = []
    bus.subscribe("request", lambda t, p: bus.publish("reply", p + b"!"))
    bus.subscribe("reply", lambda t, p: replies.append((t, p)))
    bus.publish("request", b"hi")
    assert replies == [("reply", b"hi!")]


def test_subscriptions_added_later_see_later_messages() -> None:
    bus = InprocBus()
    first: Received = []
    bus.subscribe("a/+", lambda t, p: first.append((t, p)))
    bus.publish("a/1", b"1")  # fills the route cache for a/1
    second: Received = []
    bus.subscribe("a/1", lambda t, p: second.append((t, p)))
    bus.publish("a/1", b"2")
    assert first == [("a/1", b"1"), ("a/1", b"2")]
    assert second == [("a/1", b"2")]


def test_publishing_to_a_wildcard_or_a_closed_bus_fails() -> None:
    with InprocBus() as bus:
        with pytest.raises(InputError, match="wildcard"):
            bus.publish("a/+", b"")
        with pytest.raises(InputError, match="'#'"):
            bus.subscribe("a/#/b", lambda t, p: None)
    with pytest.raises(RuntimeError, match="closed"):
        bus.publish("a", b"")


def test_connect_bus_gives_a_fresh_inproc_bus_by_default() -> None:
    first, second = connect_bus(), connect_bus("inproc://")
    assert isinstance(first, InprocBus) and isinstance(second, InprocBus)
    assert first is not second
