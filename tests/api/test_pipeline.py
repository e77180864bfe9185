"""The API around the real ``CloudPipeline``, fed by a short run of the SUMO twin: what a dashboard sees
in ``make demo``, end to end, without a network."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from roadcloud.api import StreamHub, create_app
from roadcloud.api.server import PipelineView
from roadcloud.cloud.pipeline import CloudPipeline
from roadcloud.cloud.site import ZoneSite, provisioned_registry
from roadcloud.twin.generator import GridSettings, ZoneSettings, new_zone
from roadcloud.twin.runtime import Twin

TINY_ZONE = ZoneSettings(
    name="apizone",
    grid=GridSettings(columns=2, rows=2, lanes=1, block_x_m=200.0, block_y_m=200.0),
    vehicles_per_hour=1800.0,
    pedestrians_per_hour=300.0,
    bicycles_per_hour=100.0,
    connected_share=0.5,
    duration_s=60.0,
    seed=3,
    incidents_per_kind=0,
)
RUN_S = 20.0


@pytest.mark.slow
def test_dashboard_view_of_a_live_twin(tmp_path: Path) -> None:
    zone_dir = tmp_path / "zone"
    new_zone(zone_dir, TINY_ZONE)
    site = ZoneSite.from_zone_dir(zone_dir)
    twin = Twin(zone_dir, duration_s=RUN_S)
    clock = {"now_ms": twin.start_epoch_ms}
    pipeline = CloudPipeline(
        site,
        registry=provisioned_registry(site, provisioned_at_ms=twin.start_epoch_ms),
        clock_ms=lambda: clock["now_ms"],
    )
    app = create_app(PipelineView(pipeline), clock_ms=lambda: clock["now_ms"])
    with (
        TestClient(app) as client,
        client.websocket_connect("/api/v1/stream?streams=tracks,stats&hz=10") as ws,
    ):
        # The twin plays the field on this thread and ticks the pipeline, whose listener hands each frame
        # to the app's event loop (another thread), as in the live service; the stream buffers them.
        tick_times_ms: set[int] = set()
        for step in twin.run():
            for emission in step:
                clock["now_ms"] = max(clock["now_ms"], emission.delivery_ms)
                pipeline.handle(emission.topic, emission.payload)
            tick_ms = clock["now_ms"] // 100 * 100
            pipeline.tick(tick_ms)  # a repeated time is a no-op for the pipeline: no new frame
            tick_times_ms.add(tick_ms)
        hub: StreamHub = app.state.api.hub
        deadline_s = time.monotonic() + 10.0
        while hub.counters.messages_sent["tracks"] < 3 and time.monotonic() < deadline_s:
            time.sleep(0.01)
        received = [ws.receive_json() for _ in range(sum(hub.counters.messages_sent.values()))]

        ldm = client.get("/api/v1/ldm").json()
        devices = client.get("/api/v1/devices", params={"kind": "rsu"}).json()
        stats = client.get("/api/v1/stats").json()
        geojson = client.get("/api/v1/map", params={"layers": "rsu"}).json()
        metrics = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
        health = client.get("/health")

    assert ldm["count"] > 0 and len(ldm["tracks"]["id"]) == ldm["count"]
    assert set(ldm["tracks"]["kind"]) <= {"car", "bus", "truck", "motorcycle", "bicycle", "pedestrian"}
    assert devices and all(device["online"] for device in devices)
    assert len(geojson["features"]) == len(site.units) and all(
        f["properties"]["online"] for f in geojson["features"]
    )
    assert stats["messages_in"]["rsm"] > 0 and stats["tracks"] == ldm["count"]
    assert sum(s.value for s in metrics["roadcloud_messages_in"].samples) > 0
    tracks_messages = [m for m in received if m["type"] == "tracks"]
    assert hub.counters.frames_in == len(tick_times_ms)  # every frame reached the hub
    assert len(tracks_messages) >= 3 and tracks_messages[-1]["count"] > 0
    assert health.status_code == 200, health.json()
