"""The precise map as GeoJSON (RFC 7946) for the dashboard: lanes, junctions, signal controllers and
roadside units.

The map does not change while the service runs, so each static layer is projected and encoded once, on
first request, and kept as JSON bytes; a request only joins the layers it asks for. Roadside units carry
their online state and are built per request (a few hundred at most).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from roadcloud.api.encode import encode_json
from roadcloud.api.view import RoadsideUnitView
from roadcloud.map import RoadMap

LAYERS = ("lane", "junction", "signal", "rsu")
CRS_CHOICES = ("wgs84", "local")
_STATIC_LAYERS = ("lane", "junction", "signal")
_DEGREE_DECIMALS = 7
_METRE_DECIMALS = 2

Project = Callable[[NDArray[np.float64]], list[list[float]]]


class MapGeoJson:
    """Cached GeoJSON of one map, in WGS84 degrees or (for drawing) local metres."""

    def __init__(self, road_map: RoadMap) -> None:
        self._map = road_map
        self._lock = threading.Lock()  # sync routes may run in the thread pool: build each layer once
        self._layers: dict[tuple[str, str], bytes] = {}

    def collection(
        self,
        layers: Sequence[str],
        *,
        crs: str,
        units: Sequence[RoadsideUnitView],
        online: Callable[[str], bool],
    ) -> bytes:
        """A FeatureCollection of ``layers`` (in ``LAYERS`` order) as JSON bytes."""
        parts = []
        for layer in LAYERS:
            if layer not in layers:
                continue
            if layer == "rsu":
                features = self._unit_features(units, online, crs)
                encoded = encode_json(features)[1:-1]
            else:
                encoded = self._static(layer, crs)
            if encoded:
                parts.append(encoded)
        return b'{"type":"FeatureCollection","features":[' + b",".join(parts) + b"]}"

    def _static(self, layer: str, crs: str) -> bytes:
        key = (layer, crs)
        with self._lock:
            cached = self._layers.get(key)
            if cached is None:
                builder = {
                    "lane": self._lane_features,
                    "junction": self._junction_features,
                    "signal": self._signal_features,
                }[layer]
                # The features of a layer without the enclosing brackets, ready to be joined with others.
                cached = encode_json(builder(self._projection(crs)))[1:-1]
                self._layers[key] = cached
        return cached

    def _projection(self, crs: str) -> Project:
        if crs == "local":
            return lambda points: np.round(points, _METRE_DECIMALS).tolist()
        geo = self._map.geo

        def to_wgs84(points: NDArray[np.float64]) -> list[list[float]]:
            lon, lat = geo.local_to_wgs84(points[:, 0], points[:, 1])
            return np.round(np.column_stack([lon, lat]), _DEGREE_DECIMALS).tolist()  # type: ignore[no-any-return]

        return to_wgs84

    def _lane_features(self, project: Project) -> list[dict[str, Any]]:
        features = []
        for lane_id in sorted(self._map.lanes):
            lane = self._map.lanes[lane_id]
            if len(lane.shape_xy) < 2:
                continue
            features.append(
                {
                    "type": "Feature",
                    "id": f"lane:{lane.id}",
                    "geometry": {"type": "LineString", "coordinates": project(lane.shape_xy)},
                    "properties": {
                        "layer": "lane",
                        "id": lane.id,
                        "edge_id": lane.edge_id,
                        "width_m": round(lane.width_m, _METRE_DECIMALS),
                        "speed_limit_mps": round(lane.speed_limit_mps, _METRE_DECIMALS),
                        "allow": sorted(lane.allowed_classes),
                        "function": self._map.edges[lane.edge_id].function,
                    },
                }
            )
        return features

    def _junction_features(self, project: Project) -> list[dict[str, Any]]:
        features = []
        for junction_id in sorted(self._map.junctions):
            junction = self._map.junctions[junction_id]
            ring = _closed_ring(junction.shape_xy)
            if ring is None:
                geometry: dict[str, Any] = {
                    "type": "Point",
                    "coordinates": project(np.array([[junction.x_m, junction.y_m]]))[0],
                }
            else:
                geometry = {"type": "Polygon", "coordinates": [project(ring)]}
            features.append(
                {
                    "type": "Feature",
                    "id": f"junction:{junction.id}",
                    "geometry": geometry,
                    "properties": {
                        "layer": "junction",
                        "id": junction.id,
                        "signalised": junction.type.startswith("traffic_light"),
                    },
                }
            )
        return features

    def _signal_features(self, project: Project) -> list[dict[str, Any]]:
        features = []
        for tls_id in sorted(self._map.signal_controllers):
            controller = self._map.signal_controllers[tls_id]
            junctions = [self._map.junctions[j] for j in controller.junction_ids if j in self._map.junctions]
            if not junctions:
                continue
            # A controller running several junctions is drawn at their centre.
            point = np.array([[np.mean([j.x_m for j in junctions]), np.mean([j.y_m for j in junctions])]])
            features.append(
                {
                    "type": "Feature",
                    "id": f"signal:{controller.tls_id}",
                    "geometry": {"type": "Point", "coordinates": project(point)[0]},
                    "properties": {
                        "layer": "signal",
                        "id": controller.tls_id,
                        "junction_id": junctions[0].id,
                        "junction_ids": [j.id for j in junctions],
                    },
                }
            )
        return features

    def _unit_features(
        self, units: Sequence[RoadsideUnitView], online: Callable[[str], bool], crs: str
    ) -> list[dict[str, Any]]:
        if not units:
            return []
        points = np.array([[unit.x_m, unit.y_m] for unit in units], dtype=np.float64)
        coordinates = self._projection(crs)(points)
        return [
            {
                "type": "Feature",
                "id": f"rsu:{unit.id}",
                "geometry": {"type": "Point", "coordinates": position},
                "properties": {
                    "layer": "rsu",
                    "id": unit.id,
                    "range_m": unit.range_m,
                    "online": online(unit.id),
                },
            }
            for unit, position in zip(units, coordinates, strict=True)
        ]


def _closed_ring(shape_xy: NDArray[np.float64]) -> NDArray[np.float64] | None:
    """A closed counter-clockwise ring (RFC 7946's right-hand rule), or None for fewer than 3 corners."""
    points = np.asarray(shape_xy, dtype=np.float64)
    if len(points) and np.array_equal(points[0], points[-1]):
        points = points[:-1]
    if len(points) < 3:
        return None
    x, y = points[:, 0], points[:, 1]
    signed_area2 = float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))
    if signed_area2 == 0.0:
        return None  # degenerate outline: draw the junction as its point
    if signed_area2 < 0.0:
        points = points[::-1]
    return np.vstack([points, points[:1]])
