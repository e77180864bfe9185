"""Every REST endpoint: the happy path checked against the documented schema, and its 4xx answers, each a
single line that names the parameter."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter

from roadcloud.api import create_app, schemas
from roadcloud.events.model import EventPhase
from roadcloud.map import GeoReference, RoadMap
from roadcloud.services.model import AdvisoryState

from .fakes import NOW_MS, FakeCloud, Scene, advisory, road_event, snapshot

TRACK_FIELDS = set(schemas.Track.model_fields)


def conforms(model: Any, body: Any) -> None:
    """The response validates against the documented schema (unknown fields are errors)."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        model.model_validate(body)
    else:
        TypeAdapter(model).validate_python(body)


def ids(response: Any, key: str) -> list[str]:
    assert response.status_code == 200, response.text
    return [item[key] for item in response.json()]


def problem(response: Any, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail
    for word in words:
        assert word in detail
    return detail


# -- health, docs -----------------------------------------------------------------------------------------


def test_health_is_ok_with_the_pipeline_components(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    conforms(schemas.Health, body)
    assert body["status"] == "ok"
    assert body["components"] == {"ingest": "ok", "fusion": "ok", "store": "off", "api": "ok"}
    assert body["ldm_age_ms"] == 100


def test_health_is_503_when_a_component_fails(client: TestClient, cloud: FakeCloud) -> None:
    cloud.components["fusion"] = "error"
    response = client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"


def test_openapi_documents_every_resource(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/health",
        "/metrics",
        "/api/v1/zone",
        "/api/v1/map",
        "/api/v1/devices",
        "/api/v1/devices/{device_id}",
        "/api/v1/ldm",
        "/api/v1/events",
        "/api/v1/events/{event_id}",
        "/api/v1/advisories",
        "/api/v1/signals",
        "/api/v1/stats",
    ):
        assert path in paths, path


def test_unknown_path_is_a_one_line_404(client: TestClient) -> None:
    problem(client.get("/api/v1/nothing"), 404)


def test_a_map_without_geo_reference_is_refused(road_map: RoadMap) -> None:
    from dataclasses import replace

    flat = replace(road_map, geo=GeoReference(None))
    with pytest.raises(Exception, match="not geo-referenced"):
        create_app(FakeCloud(road_map=flat))


# -- zone and map -----------------------------------------------------------------------------------------


def test_zone_gives_both_extents(client: TestClient, road_map: RoadMap) -> None:
    body = client.get("/api/v1/zone").json()
    conforms(schemas.Zone, body)
    assert body["zone"] == "berlin"
    assert body["bounds_m"] == list(road_map.bounds_m)
    lon_min, lat_min, lon_max, lat_max = body["bounds_wgs84"]
    assert 13.0 < lon_min < lon_max < 14.0 and 52.0 < lat_min < lat_max < 53.0  # Berlin


def test_map_is_geojson_with_every_layer(client: TestClient, road_map: RoadMap) -> None:
    body = client.get("/api/v1/map").json()
    conforms(schemas.FeatureCollection, body)
    layers: dict[str, list[dict[str, Any]]] = {}
    for feature in body["features"]:
        layers.setdefault(feature["properties"]["layer"], []).append(feature)
    assert set(layers) == {"lane", "junction", "signal", "rsu"}
    assert len(layers["lane"]) == len(road_map.lanes)
    lane = layers["lane"][0]
    assert lane["geometry"]["type"] == "LineString"
    assert set(lane["properties"]) == {
        "layer",
        "id",
        "edge_id",
        "width_m",
        "speed_limit_mps",
        "allow",
        "function",
    }
    lon, lat = lane["geometry"]["coordinates"][0]
    assert 13.0 < lon < 14.0 and 52.0 < lat < 53.0
    polygons = [f for f in layers["junction"] if f["geometry"]["type"] == "Polygon"]
    assert polygons
    for feature in polygons:
        ring = feature["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) >= 4
    assert len(layers["signal"]) == len(road_map.signal_controllers)
    units = {f["properties"]["id"]: f["properties"] for f in layers["rsu"]}
    assert units["R1"]["online"] is True  # heard 100 ms ago
    assert units["R2"]["online"] is False  # never provisioned, never heard


def test_map_layers_and_local_frame(client: TestClient, road_map: RoadMap) -> None:
    body = client.get("/api/v1/map", params={"layers": "junction,rsu", "crs": "local"}).json()
    assert {f["properties"]["layer"] for f in body["features"]} == {"junction", "rsu"}
    xmin, ymin, xmax, ymax = road_map.bounds_m
    x, y = next(f for f in body["features"] if f["geometry"]["type"] == "Point")["geometry"]["coordinates"]
    assert xmin - 1 <= x <= xmax + 1 and ymin - 1 <= y <= ymax + 1


@pytest.mark.parametrize(
    ("params", "words"),
    [({"layers": "lane,roads"}, ("layers", "roads", "lane")), ({"crs": "utm"}, ("crs", "wgs84", "local"))],
)
def test_map_rejects_unknown_layers_and_frames(
    client: TestClient, params: dict[str, str], words: tuple[str, ...]
) -> None:
    problem(client.get("/api/v1/map", params=params), 422, *words)


# -- devices ----------------------------------------------------------------------------------------------


def test_devices_list_and_filters(client: TestClient) -> None:
    body = client.get("/api/v1/devices").json()
    conforms(list[schemas.Device], body)
    assert [d["id"] for d in body] == ["R1", "S1"]
    assert set(body[0]["rates_hz"]) == {"rsm"} and body[0]["rates_hz"]["rsm"] > 0
    assert [d["id"] for d in client.get("/api/v1/devices", params={"kind": "signal"}).json()] == ["S1"]
    assert [d["id"] for d in client.get("/api/v1/devices", params={"online": "true"}).json()] == ["R1"]
    problem(client.get("/api/v1/devices", params={"kind": "tram"}), 422, "kind", "tram")


def test_provision_show_and_remove_a_device(client: TestClient, cloud: FakeCloud) -> None:
    response = client.post("/api/v1/devices", json={"id": "R9", "kind": "rsu", "lon": 13.3, "lat": 52.45})
    assert response.status_code == 201
    conforms(schemas.DeviceDetail, response.json())
    assert "R9" in cloud.registry
    shown = client.get("/api/v1/devices/R9").json()
    conforms(schemas.DeviceDetail, shown)
    assert shown["lon"] == 13.3 and shown["message_counts"] == {} and shown["status"] is None
    assert client.delete("/api/v1/devices/R9").status_code == 204
    assert "R9" not in cloud.registry
    problem(client.get("/api/v1/devices/R9"), 404, "R9")
    problem(client.delete("/api/v1/devices/R9"), 404, "R9")


def test_provision_refuses_duplicates_and_bad_bodies(client: TestClient) -> None:
    problem(client.post("/api/v1/devices", json={"id": "R1", "kind": "rsu"}), 409, "R1", "already")
    problem(client.post("/api/v1/devices", json={"id": "R 2", "kind": "rsu"}), 422, "id")
    problem(client.post("/api/v1/devices", json={"id": "R2", "kind": "tram"}), 422, "kind")
    problem(client.post("/api/v1/devices", json={"id": "R2", "kind": "rsu", "lat": 95}), 422, "lat")
    problem(client.post("/api/v1/devices", json={"id": "R2", "kind": "rsu", "colour": "red"}), 422, "colour")
    # The registry's own rule (a position needs both coordinates) comes back as the same one-line 422.
    problem(client.post("/api/v1/devices", json={"id": "R2", "kind": "rsu", "lon": 13.3}), 422, "both")


# -- live dynamic map -------------------------------------------------------------------------------------


def test_ldm_gives_every_track_column_wise(client: TestClient, scene: Scene) -> None:
    body = client.get("/api/v1/ldm").json()
    conforms(schemas.Ldm, body)
    assert body["time_ms"] == NOW_MS and body["age_ms"] == 50 and body["count"] == 3
    tracks = body["tracks"]
    assert set(tracks) == TRACK_FIELDS
    assert all(len(column) == 3 for column in tracks.values())
    assert tracks["id"] == [1, 2, 3]
    assert tracks["x_m"] == [round(x, 2) for x, _ in scene.all_xy_m]
    assert tracks["kind"] == ["car"] * 3
    assert tracks["s_m"] == [None] * 3  # no lane matching: NaN leaves as null
    assert tracks["pos_std_m"] == [0.5] * 3


def test_ldm_rows_and_bbox(client: TestClient, scene: Scene) -> None:
    body = client.get("/api/v1/ldm", params={"bbox": scene.west_bbox, "format": "rows"}).json()
    conforms(schemas.Ldm, body)
    assert [t["id"] for t in body["tracks"]] == [1, 2]
    assert set(body["tracks"][0]) == TRACK_FIELDS
    east = client.get("/api/v1/ldm", params={"bbox": scene.east_bbox}).json()
    assert east["tracks"]["id"] == [3]


def test_ldm_around_is_nearest_first(client: TestClient, road_map: RoadMap, scene: Scene) -> None:
    x_m, y_m = scene.west_xy_m[1]
    lon, lat = road_map.geo.local_to_wgs84(x_m + 1.0, y_m)
    body = client.get("/api/v1/ldm", params={"around": f"{lon:.8f},{lat:.8f},30"}).json()
    assert body["tracks"]["id"] == [2, 1]


def test_ldm_by_lane(client: TestClient, cloud: FakeCloud, road_map: RoadMap) -> None:
    from dataclasses import replace

    lane_id = sorted(road_map.lanes)[0]
    cloud.frame = replace(cloud.frame, snapshot=snapshot(NOW_MS, [(1, 1), (2, 2)], lane_ids=[None, lane_id]))
    body = client.get("/api/v1/ldm", params={"lane": lane_id}).json()
    assert body["tracks"]["id"] == [2] and body["tracks"]["lane_id"] == [lane_id]
    problem(client.get("/api/v1/ldm", params={"lane": "no_such_lane"}), 422, "lane", "no_such_lane")


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"bbox": "13.3,52.4,13.4"}, ("bbox", "3 value", "lon_min,lat_min,lon_max,lat_max")),
        ({"bbox": "13.3,52.4,east,52.5"}, ("bbox", "not numeric", "lon_min,lat_min,lon_max,lat_max")),
        ({"bbox": "13.4,52.4,13.3,52.5"}, ("bbox", "minimum above its maximum")),
        ({"bbox": "13.3,95,13.4,96"}, ("bbox", "latitude", "-90..90")),
        ({"around": "13.3,52.4"}, ("around", "lon,lat,radius_m")),
        ({"around": "13.3,52.4,-5"}, ("around", "radius")),
        ({"format": "csv"}, ("format", "columns", "rows")),
    ],
)
def test_ldm_rejects_bad_filters_in_one_line(
    client: TestClient, params: dict[str, str], words: tuple[str, ...]
) -> None:
    problem(client.get("/api/v1/ldm", params=params), 422, *words)


# -- events, advisories, signals, stats ----------------------------------------------------------------------


def test_events_from_the_live_frame(client: TestClient, cloud: FakeCloud, scene: Scene) -> None:
    from dataclasses import replace

    x_m, y_m = scene.east_xy_m[0]
    ended = road_event("E0", x_m=x_m, y_m=y_m, phase=EventPhase.ENDED, end_ms=NOW_MS)
    cloud.frame = replace(cloud.frame, event_changes=(*cloud.frame.event_changes, ended))
    body = client.get("/api/v1/events").json()
    conforms(list[schemas.Event], body)
    assert sorted(e["event_id"] for e in body) == ["E0", "E1"]
    assert 13.0 < body[0]["lon"] < 14.0
    assert ids(client.get("/api/v1/events", params={"active": "true"}), "event_id") == ["E1"]
    assert ids(client.get("/api/v1/events", params={"active": "false"}), "event_id") == ["E0"]
    assert ids(client.get("/api/v1/events", params={"bbox": scene.east_bbox}), "event_id") == ["E0"]
    assert client.get("/api/v1/events", params={"type": "wrong_way"}).json() == []
    # since/until select events whose life overlaps the range (as the store does)
    assert ids(client.get("/api/v1/events", params={"since_ms": NOW_MS + 1}), "event_id") == ["E1"]
    assert client.get("/api/v1/events", params={"until_ms": NOW_MS - 6_000}).json() == []
    assert len(client.get("/api/v1/events", params={"limit": 1}).json()) == 1


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"type": "meteor"}, ("type", "meteor")),
        ({"limit": "0"}, ("limit", "greater than or equal to 1")),
        ({"limit": "5000"}, ("limit", "1000")),
        ({"since_ms": "yesterday"}, ("since_ms", "yesterday")),
        ({"active": "maybe"}, ("active",)),
        ({"bbox": "1,2"}, ("bbox",)),
    ],
)
def test_events_reject_bad_filters(
    client: TestClient, params: dict[str, str], words: tuple[str, ...]
) -> None:
    problem(client.get("/api/v1/events", params=params), 422, *words)


def test_one_event_with_its_history(client: TestClient) -> None:
    body = client.get("/api/v1/events/E1").json()
    conforms(schemas.EventWithHistory, body)
    assert body["event_id"] == "E1" and [e["phase"] for e in body["history"]] == ["started"]
    problem(client.get("/api/v1/events/E404"), 404, "E404")


def test_advisories_from_the_live_frame(client: TestClient, cloud: FakeCloud) -> None:
    from dataclasses import replace

    cancelled = advisory("A0", "E0", state=AdvisoryState.CANCELLED)
    cloud.frame = replace(cloud.frame, advisory_changes=(cancelled,))
    body = client.get("/api/v1/advisories").json()
    conforms(list[schemas.Advisory], body)
    assert sorted(a["advisory_id"] for a in body) == ["A0", "A1"]
    assert ids(client.get("/api/v1/advisories", params={"active": "true"}), "advisory_id") == ["A1"]
    assert ids(client.get("/api/v1/advisories", params={"event_id": "E0"}), "advisory_id") == ["A0"]
    problem(client.get("/api/v1/advisories", params={"limit": "-1"}), 422, "limit")


def test_signals(client: TestClient, cloud: FakeCloud) -> None:
    body = client.get("/api/v1/signals").json()
    conforms(list[schemas.Signal], body)
    (head,) = body
    assert head["controller_id"] == cloud.frame.signals[0].controller_id
    assert head["groups"] == [
        {
            "id": 1,
            "light": "protected_green",
            "color": "green",
            "likely_end_ms": NOW_MS + 4_000,
            "lane_ids": ["a_0"],
        }
    ]
    assert 13.0 < head["lon"] < 14.0


def test_stats(client: TestClient) -> None:
    body = client.get("/api/v1/stats").json()
    conforms(schemas.Stats, body)
    assert body["messages_in"] == {"rsm": 120, "bsm": 30}
    assert body["fusion_latency_ms"] == {"p50": 4.0, "p99": 12.0}
    assert body["events_active"] == 1 and body["events_active_by_type"] == {"stopped_vehicle": 1}
    assert body["stream"]["clients"] == 0


def test_static_dashboard_is_served_at_root(cloud: FakeCloud, tmp_path: Any) -> None:
    (tmp_path / "index.html").write_text("<h1>roadcloud</h1>")
    with TestClient(create_app(cloud, web_dir=tmp_path)) as client:
        assert client.get("/").text == "<h1>roadcloud</h1>"
        assert client.get("/api/v1/zone").status_code == 200  # API routes win over the static mount
