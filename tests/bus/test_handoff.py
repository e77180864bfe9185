"""The hand-off queue between the bus's thread and a consumer's thread."""

from __future__ import annotations

import threading
import time

from roadcloud.bus import HandoffQueue, InprocBus


def test_drain_hands_over_in_order_and_counts_what_did_not_fit() -> None:
    queue = HandoffQueue(max_items=3)
    for n in range(5):
        queue.put("t", bytes([n]))
    assert len(queue) == 3 and queue.dropped == 2
    received: list[bytes] = []
    assert queue.drain(lambda t, p: received.append(p), timeout_s=0.0) == 3
    assert received == [b"\x00", b"\x01", b"\x02"]


def test_drain_waits_for_the_first_message_then_returns() -> None:
    queue = HandoffQueue()
    start = time.monotonic()
    assert queue.drain(lambda t, p: None, timeout_s=0.05) == 0
    assert time.monotonic() - start >= 0.04

    timer = threading.Timer(0.05, queue.put, args=("t", b"x"))
    timer.start()
    received: list[bytes] = []
    assert queue.drain(lambda t, p: received.append(p), timeout_s=5.0) == 1
    assert received == [b"x"]
    timer.join()


def test_drain_respects_max_items() -> None:
    queue = HandoffQueue()
    for _ in range(10):
        queue.put("t", b"")
    assert queue.drain(lambda t, p: None, timeout_s=0.0, max_items=4) == 4
    assert len(queue) == 6


def test_consumer_thread_sees_every_message_of_a_producer_thread() -> None:
    bus = InprocBus()
    queue = HandoffQueue()
    bus.subscribe("#", queue.put)
    count = 20_000

    def produce() -> None:
        for n in range(count):
            bus.publish("t", n.to_bytes(4, "big"))

    producer = threading.Thread(target=produce)
    producer.start()
    received: list[int] = []
    deadline = time.monotonic() + 10
    while len(received) < count and time.monotonic() < deadline:
        queue.drain(lambda t, p: received.append(int.from_bytes(p, "big")), timeout_s=0.1)
    producer.join()
    assert received == list(range(count))
