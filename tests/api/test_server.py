"""A real uvicorn server on loopback: a stream client that stops reading loses its own oldest frames while
the pipeline's listener keeps returning at once and a reading client keeps getting every due frame."""

from __future__ import annotations

import base64
import os
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.sync.client import connect

from roadcloud.api import StreamHub, create_app
from roadcloud.api.server import address, bind, make_server, serve_in_thread

from .fakes import NOW_MS, FakeCloud, frame_at, snapshot

TRACKS = 5_000
PUBLISH_HZ = 20.0
PUBLISH_S = 2.0


def stalled_stream_client(host: str, port: int, path: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads: a tiny receive buffer, and
    no library behind it that would keep draining the socket."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: sets the window
    sock.connect((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    response = b""
    while not response.endswith(b"\r\n\r\n"):  # byte by byte: leave the first frames unread
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


@pytest.fixture
def served(cloud: FakeCloud) -> Iterator[tuple[str, StreamHub]]:
    app = create_app(cloud)
    sock = bind("127.0.0.1", 0)
    stop = serve_in_thread(make_server(app), sock)
    host, port = address(sock)
    try:
        yield f"{host}:{port}", app.state.api.hub
    finally:
        stop()


def test_a_client_that_stops_reading_slows_nobody(cloud: FakeCloud, served: tuple[str, StreamHub]) -> None:
    where, hub = served
    positions = [(1700.0 + (i % 100) * 20.0, 10.0 + (i // 100) * 18.0) for i in range(TRACKS)]
    big = frame_at(NOW_MS, snapshot(NOW_MS, positions))
    cloud.frame = big
    url = f"ws://{where}/api/v1/stream?streams=tracks"

    host, port = where.rsplit(":", 1)
    stalled = stalled_stream_client(host, int(port), "/api/v1/stream?streams=tracks")
    received = 0
    stop_reading = threading.Event()

    def read() -> None:
        nonlocal received
        with connect(url, max_size=None) as reader:
            while not stop_reading.is_set():
                try:
                    reader.recv(timeout=0.5)
                except TimeoutError:
                    continue
                received += 1

    reader_thread = threading.Thread(target=read, daemon=True)
    reader_thread.start()
    deadline_s = time.monotonic() + 5.0
    while len(hub.clients) < 2 and time.monotonic() < deadline_s:
        time.sleep(0.01)
    assert len(hub.clients) == 2

    worst_call_s = 0.0
    for index in range(int(PUBLISH_S * PUBLISH_HZ)):
        time.sleep(1.0 / PUBLISH_HZ)
        time_ms = NOW_MS + (index + 1) * 100
        started_s = time.perf_counter()
        cloud.publish(frame_at(time_ms, big.snapshot))
        worst_call_s = max(worst_call_s, time.perf_counter() - started_s)

    clients = {c["id"]: c for c in httpx.get(f"http://{where}/api/v1/stream/clients", timeout=10.0).json()}
    stop_reading.set()
    reader_thread.join(5.0)
    stalled.close()

    slow, fast = clients[1], clients[2]
    assert worst_call_s < 0.05, worst_call_s  # the pipeline thread never waited for anyone
    assert slow["dropped"] > 0 and slow["queued"] <= 4  # bounded: its oldest frames went
    assert fast["dropped"] == 0 and received >= 10  # the reading client was not held back
    assert hub.counters.dropped_slow_client >= slow["dropped"]


def test_rest_over_a_real_socket(served: tuple[str, StreamHub]) -> None:
    where, _ = served
    with httpx.Client(base_url=f"http://{where}", timeout=10.0) as client:
        assert client.get("/health").json()["status"] == "ok"
        assert client.get("/api/v1/ldm").json()["count"] == 3
