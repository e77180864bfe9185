"""The zone and its precise map: ``/api/v1/zone`` (extent, projection) and ``/api/v1/map`` (GeoJSON)."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query
from starlette.responses import Response

from roadcloud.api.encode import JsonBytesResponse, encode_json
from roadcloud.api.geojson import CRS_CHOICES, LAYERS
from roadcloud.api.params import parse_choices
from roadcloud.api.schemas import FeatureCollection, Problem, Zone
from roadcloud.api.state import State
from roadcloud.errors import InputError

router = APIRouter(prefix="/api/v1", tags=["map"])
_PROBLEM: dict[int | str, dict[str, Any]] = {422: {"model": Problem}}


@router.get("/zone", response_model=Zone, summary="The zone: name, extent (local and WGS84), projection")
async def zone(state: State) -> Response:
    road_map = state.view.road_map
    xmin, ymin, xmax, ymax = road_map.bounds_m
    # The WGS84 extent is the envelope of the projected corners (a projected box is not a lon/lat box).
    lon, lat = road_map.geo.local_to_wgs84([xmin, xmax, xmax, xmin], [ymin, ymin, ymax, ymax])
    body = {
        "zone": state.view.zone,
        "time_ms": state.view.latest().time_ms,
        "bounds_m": [xmin, ymin, xmax, ymax],
        "bounds_wgs84": np.round([lon.min(), lat.min(), lon.max(), lat.max()], 7).tolist(),
        "proj": road_map.geo.proj,
    }
    return JsonBytesResponse(encode_json(body))


@router.get(
    "/map",
    response_model=FeatureCollection,
    responses=_PROBLEM,
    summary="The precise map as GeoJSON: lanes, junctions, signal controllers, roadside units",
    description="RFC 7946 in WGS84; `crs=local` gives the same collection in local metres for drawing. "
    "Every feature has `properties.layer`: lane, junction, signal or rsu.",
)
async def road_map(
    state: State,
    layers: Annotated[str | None, Query(description="comma-separated: lane,junction,signal,rsu")] = None,
    crs: Annotated[str, Query(description="wgs84 (default) or local")] = "wgs84",
) -> Response:
    wanted = LAYERS if layers is None else tuple(parse_choices(layers, name="layers", choices=LAYERS))
    if crs not in CRS_CHOICES:
        raise InputError(f"crs={crs!r} is unknown; use wgs84 (RFC 7946) or local (zone metres)")
    units = state.view.units
    online: set[str] = set()
    if "rsu" in wanted and units:
        online = {s.device.id for s in state.view.devices() if s.online}
    body = state.map_geojson.collection(wanted, crs=crs, units=units, online=online.__contains__)
    return JsonBytesResponse(body, headers={"Cache-Control": "no-cache"})
