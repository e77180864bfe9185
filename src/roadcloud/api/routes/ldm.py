"""The live dynamic map: every fused track of the newest frame, optionally by area, lane or distance."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query
from starlette.responses import Response

from roadcloud.api.encode import JsonBytesResponse, encode_json
from roadcloud.api.params import AROUND_FORM, BBOX_FORM, parse_around, parse_bbox, parse_format
from roadcloud.api.schemas import Ldm, Problem
from roadcloud.api.state import State
from roadcloud.errors import InputError

router = APIRouter(prefix="/api/v1", tags=["live map"])


@router.get(
    "/ldm",
    response_model=Ldm,
    responses={422: {"model": Problem}},
    summary="Snapshot of the live dynamic map",
    description="Filters combine (all must hold). Order: nearest first with `around`, else along the lane "
    "with `lane`, else by track id. `tracks` is one array per field (`format=columns`, the default) or "
    "one object per track (`format=rows`).",
)
async def ldm(
    state: State,
    bbox: Annotated[str | None, Query(description=BBOX_FORM)] = None,
    lane: Annotated[str | None, Query(description="a lane id of the map")] = None,
    around: Annotated[str | None, Query(description=AROUND_FORM)] = None,
    format: Annotated[str, Query(description="columns or rows")] = "columns",
) -> Response:
    as_rows = parse_format(format)
    box = None if bbox is None else parse_bbox(bbox)
    centre = None if around is None else parse_around(around)
    road_map = state.view.road_map
    if lane is not None and lane not in road_map.lanes:
        raise InputError(
            f"lane={lane!r} is not a lane of the zone's map; GET /api/v1/map?layers=lane lists them"
        )
    frame = state.view.latest()
    snapshot = frame.snapshot
    tracks = state.hub.frame_tracks(frame)
    rows = np.arange(len(snapshot), dtype=np.int64)
    if lane is not None:
        rows = snapshot.on_lane(lane)
    if centre is not None:
        x_m, y_m = road_map.geo.wgs84_to_local(centre[0], centre[1])
        near = snapshot.around(float(x_m), float(y_m), centre[2])
        rows = near[np.isin(near, rows)]
    if box is not None:
        rows = rows[np.isin(rows, tracks.in_bbox(box))]
    body = {
        "time_ms": frame.time_ms,
        "age_ms": max(state.clock_ms() - frame.time_ms, 0),
        "count": len(rows),
        "tracks": tracks.as_rows(rows) if as_rows else tracks.as_columns(rows),
    }
    return JsonBytesResponse(encode_json(body))
