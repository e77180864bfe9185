"""MQTT end to end: field publisher process → Mosquitto → MqttBus → HandoffQueue → Ingestor.handle.

Starts its own Mosquitto on a free loopback port (never the machine's 1883), a publisher in a separate
process (RSM, 16 participants, through ``MqttBus``), and ingest in this process as ``roadcloud ingest``
runs it. Two bounded phases:

- latency: a paced stream; publish → ingested latency per message, p50/p95/p99 (CLOCK_MONOTONIC is shared
  by both processes, so send and receive stamps compare directly);
- throughput: the publisher as fast as it can; messages ingested per second and messages lost (QoS 0).

Run: python benchmarks/bench_mqtt.py [--rate 2000] [--latency-messages 10000] [--throughput-messages 30000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from bench_ingest import NOW_MS, UNITS, ZONE, payloads
from machine import machine_line
from roadcloud.bus.handoff import HandoffQueue
from roadcloud.bus.mqtt import MqttBus
from roadcloud.bus.topics import zone_filter
from roadcloud.ingest import DeviceRegistry, Ingestor

SEED = 11
IDLE_END_S = 3.0  # a phase ends when everything arrived or nothing more arrived for this long
PHASE_LIMIT_S = 120.0


def publish(port: int, count: int, rate_hz: float, stamps: Path) -> None:
    """The publisher process: send ``count`` payloads (paced when ``rate_hz`` > 0), write send stamps."""
    import random

    corpus = payloads(count, random.Random(SEED))
    sent_ns = [0] * count
    with MqttBus("127.0.0.1", port, client_id="bench-publisher") as bus:
        sys.stdout.buffer.write(b"ready\n")
        sys.stdout.buffer.flush()
        sys.stdin.readline()  # the subscriber says go
        start_ns = time.perf_counter_ns()
        period_ns = int(1e9 / rate_hz) if rate_hz > 0 else 0
        for index, (topic_name, payload) in enumerate(corpus):
            if period_ns:
                due_ns = start_ns + index * period_ns
                wait_ns = due_ns - time.perf_counter_ns()
                if wait_ns > 0:
                    time.sleep(wait_ns / 1e9)
            sent_ns[index] = time.perf_counter_ns()
            bus.publish(topic_name, payload)
        time.sleep(0.5)  # let paho write what it holds before disconnecting
    stamps.write_bytes(msgspec.json.encode(sent_ns))


def run_phase(
    port: int, corpus_index: dict[bytes, int], *, count: int, rate_hz: float, label: str, scratch: Path
) -> None:
    registry = DeviceRegistry()
    for unit in range(UNITS):
        registry.provision(f"R{unit:04d}", kind="rsu", zone=ZONE)
    ingestor = Ingestor(registry, clock_ms=lambda: NOW_MS)  # payloads are stamped for this instant
    received_ns = [0] * count
    queue = HandoffQueue(1_000_000)
    received = 0

    def ingest(topic_name: str, payload: bytes) -> None:
        nonlocal received
        if ingestor.handle(topic_name, payload) is not None:
            index = corpus_index.get(payload)
            if index is not None and index < count:
                received_ns[index] = time.perf_counter_ns()
                received += 1

    stamps = scratch / "sent.json"
    with MqttBus("127.0.0.1", port, client_id=f"bench-ingest-{label}") as bus:
        bus.subscribe(zone_filter(ZONE), queue.put)
        publisher = subprocess.Popen(
            [sys.executable, __file__, "--publisher", str(port), str(count), str(rate_hz), str(stamps)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert publisher.stdin is not None and publisher.stdout is not None
        assert publisher.stdout.readline().strip() == b"ready"
        time.sleep(0.3)  # both subscriptions are live at the broker
        publisher.stdin.write(b"go\n")
        publisher.stdin.flush()
        deadline_s = time.monotonic() + PHASE_LIMIT_S
        last_progress_s = time.monotonic()
        while received < count and time.monotonic() < deadline_s:
            if queue.drain(ingest, timeout_s=0.2):
                last_progress_s = time.monotonic()
            elif time.monotonic() - last_progress_s > IDLE_END_S and publisher.poll() is not None:
                break
        publisher.wait(timeout=30)
        sent_ns = msgspec.json.decode(stamps.read_bytes(), type=list[int])
        bus_stats = bus.stats()

    arrived = [index for index in range(count) if received_ns[index]]
    latencies_ms = sorted((received_ns[i] - sent_ns[i]) / 1e6 for i in arrived)
    span_s = (max(received_ns[i] for i in arrived) - min(sent_ns)) / 1e9
    publish_s = (max(sent_ns) - min(sent_ns)) / 1e9
    print(
        f"{label}: {count} RSM sent at {count / publish_s:,.0f} msg/s, {len(arrived)} ingested "
        f"({count - len(arrived)} lost, hand-off drops {queue.dropped}), "
        f"{len(arrived) / span_s:,.0f} msg/s = {len(arrived) * 16 / span_s:,.0f} objects/s end to end"
    )
    if latencies_ms:
        print(
            f"{label}: publish → ingested latency p50 {_pct(latencies_ms, 50):.2f} ms, "
            f"p95 {_pct(latencies_ms, 95):.2f} ms, p99 {_pct(latencies_ms, 99):.2f} ms, "
            f"max {latencies_ms[-1]:.2f} ms (mean {statistics.fmean(latencies_ms):.2f} ms)"
        )
    assert ingestor.stats().dropped_total == 0, ingestor.stats().dropped
    assert bus_stats.handler_errors == 0


def _pct(sorted_values: list[float], percent: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(percent / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def start_broker(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    executable = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.access(executable, os.X_OK):
        sys.exit("mosquitto is not installed: apt-get install -y mosquitto")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n"
    )
    broker = subprocess.Popen(
        [executable, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return broker, port
        except OSError:
            time.sleep(0.05)
    broker.kill()
    sys.exit(f"mosquitto did not start on port {port}")


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--publisher":
        publish(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), Path(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=2_000.0, help="latency phase rate, msg/s")
    parser.add_argument("--latency-messages", type=int, default=10_000)
    parser.add_argument("--throughput-messages", type=int, default=30_000)
    args = parser.parse_args()
    version = subprocess.run(
        [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-h"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()[:1]
    print(
        machine_line(
            f"{version[0] if version else 'mosquitto'}; publisher, broker and ingest share the machine "
            "over loopback"
        )
    )
    import random

    largest = max(args.latency_messages, args.throughput_messages)
    corpus_index = {
        payload: index for index, (_, payload) in enumerate(payloads(largest, random.Random(SEED)))
    }
    with tempfile.TemporaryDirectory() as scratch:
        broker, port = start_broker(Path(scratch))
        try:
            folder = Path(scratch)
            label = f"latency at {args.rate:,.0f} msg/s"
            run_phase(
                port,
                corpus_index,
                count=args.latency_messages,
                rate_hz=args.rate,
                label=label,
                scratch=folder,
            )
            run_phase(
                port,
                corpus_index,
                count=args.throughput_messages,
                rate_hz=0.0,
                label="throughput, unpaced",
                scratch=folder,
            )
        finally:
            broker.send_signal(signal.SIGTERM)
            broker.wait(timeout=10)


if __name__ == "__main__":
    main()
