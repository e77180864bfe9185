"""``/metrics``: Prometheus text that prometheus_client's own parser reads, with every family of the
contract and values taken from the pipeline's stats at scrape time."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from roadcloud.api import create_app
from roadcloud.api.metrics import METRIC_FAMILIES

from .fakes import FakeCloud


def scrape(client: TestClient) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(family.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_metrics_parse_and_have_every_family(client: TestClient) -> None:
    samples = scrape(client)
    assert set(METRIC_FAMILIES) <= set(samples)
    assert samples["roadcloud_messages_in"][(("type", "rsm"),)] == 120
    assert samples["roadcloud_dropped"][(("reason", "unknown_device"),)] == 2
    assert samples["roadcloud_downlink_out"][(("type", "rsi"),)] == 1
    assert samples["roadcloud_fusion_tick_latency_seconds"][(("quantile", "0.99"),)] == 0.012
    assert samples["roadcloud_ldm_age_seconds"][()] == 0.1
    assert samples["roadcloud_tracks"][(("kind", "car"),)] == 3
    assert samples["roadcloud_events_active"][(("type", "stopped_vehicle"),)] == 1
    assert samples["roadcloud_devices_online"][()] == 1
    assert samples["roadcloud_component_ok"][(("component", "fusion"),)] == 1


def test_metrics_follow_the_pipeline_and_the_stream(cloud: FakeCloud) -> None:
    app = create_app(cloud)
    with TestClient(app) as client:
        with client.websocket_connect("/api/v1/stream?streams=tracks") as socket:
            socket.receive_json()
            assert scrape(client)["roadcloud_stream_clients"][()] == 1
        cloud.components["fusion"] = "error"
        after = scrape(client)
    assert after["roadcloud_component_ok"][(("component", "fusion"),)] == 0
    assert after["roadcloud_stream_messages_sent"][(("stream", "tracks"),)] >= 1


def test_two_apps_keep_separate_registries(cloud: FakeCloud) -> None:
    # The process-global registry would refuse the second app's metric names; each app has its own.
    with TestClient(create_app(cloud)) as first, TestClient(create_app(cloud)) as second:
        assert scrape(first).keys() == scrape(second).keys()
