"""Events and advisories from a real store (SQLite in a temporary folder): history beyond the live frame."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from roadcloud.api import create_app
from roadcloud.events.model import EventPhase
from roadcloud.services.model import AdvisoryState
from roadcloud.store import Store

from .fakes import NOW_MS, FakeCloud, Scene, advisory, road_event


@pytest.fixture
def store(tmp_path: Path, cloud: FakeCloud, scene: Scene) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'roadcloud.db'}") as opened:
        x_m, y_m = scene.east_xy_m[0]
        started = road_event("E5", x_m=x_m, y_m=y_m, update_ms=NOW_MS - 60_000)
        ended = road_event(
            "E5", x_m=x_m, y_m=y_m, phase=EventPhase.ENDED, update_ms=NOW_MS - 50_000, end_ms=NOW_MS - 50_000
        )
        opened.record_events([started, ended, *cloud.frame.events_active])
        opened.record_advisories(
            [advisory("A5", "E5"), advisory("A5", "E5", state=AdvisoryState.CANCELLED), advisory("A1", "E1")]
        )
        yield opened


@pytest.fixture
def history_client(cloud: FakeCloud, store: Store) -> Iterator[TestClient]:
    cloud.store = store
    with TestClient(create_app(cloud)) as client:
        yield client


def test_ended_events_come_from_the_store(history_client: TestClient, scene: Scene) -> None:
    ended = history_client.get("/api/v1/events", params={"active": "false"}).json()
    assert [e["event_id"] for e in ended] == ["E5"] and ended[0]["end_ms"] == NOW_MS - 50_000
    everything = history_client.get("/api/v1/events").json()
    assert sorted(e["event_id"] for e in everything) == ["E1", "E5"]
    east = history_client.get("/api/v1/events", params={"bbox": scene.east_bbox}).json()
    assert [e["event_id"] for e in east] == ["E5"]


def test_one_event_with_its_stored_history(history_client: TestClient) -> None:
    body = history_client.get("/api/v1/events/E5").json()
    assert body["phase"] == "ended"
    assert [e["phase"] for e in body["history"]] == ["started", "ended"]


def test_advisories_come_from_the_store(history_client: TestClient) -> None:
    cancelled = history_client.get("/api/v1/advisories", params={"active": "false"}).json()
    assert [a["advisory_id"] for a in cancelled] == ["A5"]


def test_health_reports_the_store(history_client: TestClient) -> None:
    assert history_client.get("/health").json()["components"]["store"] == "ok"
