"""The wire form: column-wise tracks in contract units, snake_case events, light names and colours."""

from __future__ import annotations

import math

import msgspec
import numpy as np

from roadcloud.api.encode import TRACK_FIELDS, FrameTracks, encode_json, event_dicts
from roadcloud.map import RoadMap
from roadcloud.messages import ActorKind

from .fakes import NOW_MS, road_event, snapshot


def test_tracks_are_projected_rounded_and_named(road_map: RoadMap) -> None:
    kinds = [ActorKind.BUS, ActorKind.PEDESTRIAN, 0, 99]
    tracks = FrameTracks.of(snapshot(NOW_MS, [(2000.0, 500.0)] * 4, kinds=kinds), road_map.geo)
    columns = tracks.as_columns()
    assert tuple(columns) == TRACK_FIELDS
    assert columns["kind"] == ["bus", "pedestrian", "unknown", "unknown"]
    lon, lat = road_map.geo.local_to_wgs84(2000.0, 500.0)
    assert columns["lon"][0] == round(float(lon), 7) and columns["lat"][0] == round(float(lat), 7)
    assert columns["lane_id"] == [None] * 4
    assert all(math.isnan(value) for value in columns["s_m"])
    assert msgspec.json.decode(encode_json(columns))["s_m"] == [None] * 4  # NaN is null on the wire


def test_rows_equal_columns(road_map: RoadMap) -> None:
    tracks = FrameTracks.of(
        snapshot(NOW_MS, [(2000.0, 500.0), (2100.0, 600.0)], lane_ids=["a", None]), road_map.geo
    )
    rows = tracks.as_rows(np.array([1]))
    assert rows == [{name: values[1] for name, values in tracks.as_columns().items()}]
    assert rows[0]["lane_id"] is None and rows[0]["s_m"] == 10.0


def test_an_empty_snapshot_encodes(road_map: RoadMap) -> None:
    tracks = FrameTracks.of(snapshot(NOW_MS, []), road_map.geo)
    assert len(tracks) == 0 and tracks.as_columns() == {name: [] for name in TRACK_FIELDS}


def test_events_keep_snake_case_and_gain_wgs84(road_map: RoadMap) -> None:
    (item,) = event_dicts([road_event("E1", x_m=2000.0, y_m=500.0)], road_map.geo)
    assert {"event_id", "event_type", "start_ms", "track_ids", "lon", "lat"} <= set(item)
    assert msgspec.json.decode(encode_json(item))["event_type"] == "stopped_vehicle"
