"""The stream hub and ``WS /api/v1/stream``: rate, area filter, bounded per-client queues, a pipeline
thread that never waits, clean disconnects."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import msgspec
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from roadcloud.api import StreamFilter, StreamHub, create_app
from roadcloud.cloud.frame import LiveFrame
from roadcloud.errors import InputError

from .fakes import NOW_MS, FakeCloud, Scene, frame_at, road_event, snapshot


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def frames(cloud: FakeCloud, count: int, *, step_ms: int = 100) -> Iterator[LiveFrame]:
    for index in range(count):
        time_ms = NOW_MS + (index + 1) * step_ms
        yield replace(cloud.frame, time_ms=time_ms, tick_ms=time_ms, event_changes=())


def decode(message: bytes) -> dict[str, Any]:
    value: dict[str, Any] = msgspec.json.decode(message)
    return value


# -- the hub on its own ----------------------------------------------------------------------------------


def test_listener_returns_at_once_when_the_loop_never_takes_frames(cloud: FakeCloud) -> None:
    clock = FakeClock()
    hub = StreamHub(cloud, clock=clock)
    loop = asyncio.new_event_loop()
    try:
        hub.attach(loop)  # a loop that is not running: nothing ever drains what the listener hands over
        client = hub.connect(StreamFilter())
        worst_s = 0.0
        started_s = time.perf_counter()
        for frame in frames(cloud, 5_000):
            call_s = time.perf_counter()
            cloud.publish(frame)
            worst_s = max(worst_s, time.perf_counter() - call_s)
        total_s = time.perf_counter() - started_s
        assert total_s < 1.0 and worst_s < 0.05, (total_s, worst_s)
        assert hub.counters.frames_in == 5_000
        assert hub.counters.dropped_loop_busy == 4_999  # one pending slot: everything older was superseded
        clock.now_s += 1.0
        loop.run_until_complete(asyncio.sleep(0))  # the loop runs once: it takes the newest frame only
        assert len(client.queue) == 2 and client.queue[-1].time_ms == NOW_MS + 5_000 * 100
    finally:
        hub.detach()
        loop.close()
    assert cloud.listeners == []


def test_a_slow_client_loses_its_own_oldest_frames_only(cloud: FakeCloud) -> None:
    clock = FakeClock()
    hub = StreamHub(cloud, queue_frames=4, clock=clock)
    slow = hub.connect(StreamFilter())
    fast = hub.connect(StreamFilter())
    fast.queue.clear()
    sent = list(frames(cloud, 50))
    for frame in sent:
        clock.now_s += 0.1
        hub.offer(frame)
        assert len(fast.queue) == 1
        fast.queue.popleft()
    assert list(slow.queue) == sent[-4:]
    assert slow.dropped == 51 - 4  # 50 frames plus the one it got on connecting, 4 kept
    assert fast.dropped == 0
    assert hub.counters.dropped_slow_client == slow.dropped


@pytest.mark.parametrize("hz", [10.0, 5.0, 2.0, 0.5])
def test_frames_follow_the_requested_rate_despite_jitter(cloud: FakeCloud, hz: float) -> None:
    clock = FakeClock()
    hub = StreamHub(cloud, queue_frames=1000, clock=clock)
    client = hub.connect(StreamFilter(hz=hz))
    client.queue.clear()
    jitter_s = [0.03, -0.02, 0.0, 0.025, -0.03]
    start_s = clock.now_s
    for index, frame in enumerate(frames(cloud, 200)):  # 20 s of frames at 10 Hz
        clock.now_s = start_s + (index + 1) * 0.1 + jitter_s[index % len(jitter_s)]
        hub.offer(frame)
    assert abs(len(client.queue) - 20.0 * hz) <= 1


def test_event_changes_of_skipped_frames_reach_a_slow_rate_client(cloud: FakeCloud, scene: Scene) -> None:
    clock = FakeClock()
    hub = StreamHub(cloud, clock=clock)
    client = hub.connect(StreamFilter(hz=1.0, streams=frozenset({"events"})))
    hub.messages(client, client.queue.popleft())  # the first events message (the active list)
    x_m, y_m = scene.east_xy_m[0]
    change = road_event("E7", x_m=x_m, y_m=y_m)
    for index, frame in enumerate(frames(cloud, 10)):
        clock.now_s += 0.1
        hub.offer(replace(frame, event_changes=(change,)) if index == 2 else frame)
    assert len(client.queue) == 1  # one frame due in a second at 1 Hz, not the one that carried E7
    (message,) = hub.messages(client, client.queue.popleft())
    body = decode(message)
    assert body["type"] == "events" and [e["event_id"] for e in body["changes"]] == ["E7"]


def test_messages_keep_to_the_box(cloud: FakeCloud, scene: Scene) -> None:
    hub = StreamHub(cloud)
    client = hub.connect(StreamFilter.parse(bbox=scene.east_bbox))
    messages = {body["type"]: body for body in map(decode, hub.messages(client, client.queue.popleft()))}
    assert set(messages) == {"tracks", "events", "signals", "stats"}
    assert messages["tracks"]["tracks"]["id"] == [3] and messages["tracks"]["count"] == 1
    assert messages["events"]["active"] == []  # E1 lies in the west
    assert messages["signals"]["signals"] == []  # the signal head is not in the east box
    assert messages["stats"]["tracks"] == 3


def test_signals_and_stats_are_not_repeated_every_frame(cloud: FakeCloud) -> None:
    clock = FakeClock()
    hub = StreamHub(cloud, clock=clock)
    client = hub.connect(StreamFilter())
    first = [decode(m)["type"] for m in hub.messages(client, client.queue.popleft())]
    clock.now_s += 0.1
    second = [decode(m)["type"] for m in hub.messages(client, cloud.frame)]
    clock.now_s += 1.0
    third = [decode(m)["type"] for m in hub.messages(client, cloud.frame)]
    assert first == ["tracks", "events", "signals", "stats"]
    assert second == ["tracks"]  # nothing changed within the second
    assert third == ["tracks", "events", "signals", "stats"]  # refreshed once a second


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"hz": "50"}, ("hz", "(0, 10]")),
        ({"hz": "fast"}, ("hz",)),
        ({"streams": "tracks,weather"}, ("streams", "weather")),
        ({"bbox": "1,2,3"}, ("bbox", "lon_min,lat_min,lon_max,lat_max")),
        ({"format": "xml"}, ("format",)),
    ],
)
def test_filter_rejects_bad_values_by_name(query: dict[str, str], words: tuple[str, ...]) -> None:
    with pytest.raises(InputError) as caught:
        StreamFilter.parse(**query)
    for word in words:
        assert word in str(caught.value)


def test_filter_updates_keep_what_is_not_named(scene: Scene) -> None:
    base = StreamFilter.parse(bbox=scene.west_bbox, hz="5")
    moved = base.updated({"bbox": [float(v) for v in scene.east_bbox.split(",")]})
    assert moved.hz == 5.0 and moved.bbox_deg == StreamFilter.parse(bbox=scene.east_bbox).bbox_deg
    assert base.updated({"bbox": None}).bbox_deg is None
    assert base.updated({"streams": "tracks"}).streams == {"tracks"}
    with pytest.raises(InputError, match="colour"):
        base.updated({"colour": "red"})


# -- over a WebSocket ------------------------------------------------------------------------------------


class Publisher:
    """Plays the pipeline thread: a new frame every ``period_s`` until stopped."""

    def __init__(self, cloud: FakeCloud, period_s: float = 0.1) -> None:
        self._cloud = cloud
        self._period_s = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Publisher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5.0)

    def _run(self) -> None:
        for frame in frames(self._cloud, 10_000):
            if self._stop.wait(self._period_s):
                return
            self._cloud.publish(frame)


def test_stream_sends_tracks_in_the_box_at_the_requested_rate(cloud: FakeCloud, scene: Scene) -> None:
    app = create_app(cloud)
    with (
        TestClient(app) as client,
        client.websocket_connect(f"/api/v1/stream?bbox={scene.west_bbox}&hz=5&streams=tracks") as socket,
        Publisher(cloud),
    ):
        arrivals_s = []
        for _ in range(8):
            body = socket.receive_json()
            arrivals_s.append(time.monotonic())
            assert body["type"] == "tracks"
            assert body["tracks"]["id"] == [1, 2]  # the east track never comes
    rate_hz = (len(arrivals_s) - 2) / (arrivals_s[-1] - arrivals_s[1])  # after the frame sent on connecting
    assert 3.5 <= rate_hz <= 6.5, rate_hz


def test_stream_sends_every_kind_of_message_and_changes_filter_on_request(
    client: TestClient, cloud: FakeCloud, scene: Scene
) -> None:
    with client.websocket_connect("/api/v1/stream") as socket:
        first = [socket.receive_json() for _ in range(4)]
        assert [m["type"] for m in first] == ["tracks", "events", "signals", "stats"]
        assert first[0]["tracks"]["id"] == [1, 2, 3]
        assert [e["event_id"] for e in first[1]["active"]] == ["E1"]
        socket.send_json({"bbox": scene.east_bbox, "streams": "tracks", "format": "rows"})
        body = socket.receive_json()
        assert [t["id"] for t in body["tracks"]] == [3]
        socket.send_text("not json")
        assert socket.receive_json()["type"] == "error"
        socket.send_json({"hz": 99})
        error = socket.receive_json()
        assert error["type"] == "error" and "hz" in error["detail"]


@pytest.mark.parametrize("query", ["hz=50", "streams=weather", "bbox=1,2", "colour=red"])
def test_stream_closes_bad_requests_with_one_line(client: TestClient, query: str) -> None:
    with client.websocket_connect(f"/api/v1/stream?{query}") as socket:
        error = socket.receive_json()
        assert error["type"] == "error" and "\n" not in error["detail"]
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 1008
    assert closed.value.reason and closed.value.reason in error["detail"]


def test_a_client_that_leaves_is_cleaned_up(cloud: FakeCloud) -> None:
    app = create_app(cloud)
    hub: StreamHub = app.state.api.hub
    with TestClient(app) as client:
        with client.websocket_connect("/api/v1/stream?streams=tracks") as socket:
            socket.receive_json()
            assert len(hub.clients) == 1
            assert client.get("/api/v1/stream/clients").json()[0]["streams"] == ["tracks"]
        deadline_s = time.monotonic() + 5.0
        while hub.clients and time.monotonic() < deadline_s:
            time.sleep(0.01)
        assert hub.clients == []
    assert cloud.listeners == []  # the app let go of the pipeline when it stopped


def test_a_frame_with_ten_thousand_tracks_streams(cloud: FakeCloud) -> None:
    positions = [(1700.0 + (i % 100) * 20.0, 10.0 + (i // 100) * 18.0) for i in range(10_000)]
    cloud.frame = frame_at(NOW_MS, snapshot(NOW_MS, positions))
    with (
        TestClient(create_app(cloud)) as client,
        client.websocket_connect("/api/v1/stream?streams=tracks") as ws,
    ):
        body = ws.receive_json()
    assert body["count"] == 10_000 and len(body["tracks"]["lon"]) == 10_000
