"""Fixtures for the API: the Berlin test map, a scene of three tracks, an in-memory ``CloudView`` over
real objects, and a TestClient around ``create_app``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from roadcloud.api import create_app
from roadcloud.cloud.frame import PipelineStats, SignalGroupState, SignalHeadState
from roadcloud.map import RoadMap, load_map
from roadcloud.messages import LightState

from .fakes import (
    MAP_PATH,
    NOW_MS,
    ZONE,
    FakeCloud,
    Scene,
    Unit,
    advisory,
    bbox_around,
    frame_at,
    road_event,
    snapshot,
)


@pytest.fixture(scope="session")
def road_map() -> RoadMap:
    return load_map(MAP_PATH)


@pytest.fixture(scope="session")
def scene(road_map: RoadMap) -> Scene:
    xmin, ymin, xmax, ymax = road_map.bounds_m
    ymid = (ymin + ymax) / 2
    west = ((xmin + 200.0, ymid), (xmin + 210.0, ymid))
    east = ((xmax - 200.0, ymid),)
    return Scene(
        west_xy_m=west,
        east_xy_m=east,
        west_bbox=bbox_around(road_map, xmin + 205.0, ymid, 50.0),
        east_bbox=bbox_around(road_map, xmax - 200.0, ymid, 50.0),
    )


@pytest.fixture
def cloud(road_map: RoadMap, scene: Scene) -> FakeCloud:
    junction = next(j for j in road_map.junctions.values() if j.tls_id)
    _, _, xmax, _ = road_map.bounds_m
    units = (Unit("R1", junction.x_m, junction.y_m), Unit("R2", xmax - 100.0, junction.y_m))
    fake = FakeCloud(road_map=road_map, units=units)
    fake.registry.provision("R1", kind="rsu", zone=ZONE, name="north arm")
    fake.registry.provision("S1", kind="signal", zone=ZONE)
    fake.registry.record("R1", "rsm", NOW_MS - 100)
    west_event = road_event("E1", x_m=scene.west_xy_m[0][0], y_m=scene.west_xy_m[0][1])
    head = SignalHeadState(
        controller_id=junction.tls_id or "",
        junction_id=junction.id,
        x_m=junction.x_m,
        y_m=junction.y_m,
        groups=(SignalGroupState(1, LightState.PROTECTED_GREEN, NOW_MS + 4_000, ("a_0",)),),
    )
    stats = PipelineStats(
        time_ms=NOW_MS,
        messages_in={"rsm": 120, "bsm": 30},
        dropped={"unknown_device": 2},
        downlink_out={"rsi": 1},
        tick_latency_p50_ms=4.0,
        tick_latency_p99_ms=12.0,
        ldm_age_ms=100,
        tracks=3,
        tracks_by_kind={"car": 3},
        events_active={"stopped_vehicle": 1},
        devices_online=1,
        devices_total=2,
    )
    fake.frame = replace(
        frame_at(
            NOW_MS,
            snapshot(NOW_MS, scene.all_xy_m),
            events_active=[west_event],
            event_changes=[west_event],
            advisories_active=[advisory("A1", "E1")],
            signals=[head],
        ),
        stats=stats,
    )
    return fake


@pytest.fixture
def client(cloud: FakeCloud) -> Iterator[TestClient]:
    app = create_app(cloud, clock_ms=lambda: NOW_MS + 50)
    with TestClient(app) as test_client:
        yield test_client
