"""Road events: live from the newest frame, history from the store (``/api/v1/events``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from roadcloud.api.encode import JsonBytesResponse, encode_json, event_dicts
from roadcloud.api.params import BBOX_FORM, parse_bbox
from roadcloud.api.schemas import Event, EventWithHistory, Problem
from roadcloud.api.state import State
from roadcloud.events.model import EventPhase, EventType, RoadEvent
from roadcloud.map import GeoReference

router = APIRouter(prefix="/api/v1/events", tags=["events"])
MAX_LIMIT = 1_000


def local_box(
    geo: GeoReference, bbox_deg: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    """The local-metre envelope of a WGS84 box (for store queries, which index local metres)."""
    lon_min, lat_min, lon_max, lat_max = bbox_deg
    x_m, y_m = geo.wgs84_to_local([lon_min, lon_max, lon_max, lon_min], [lat_min, lat_min, lat_max, lat_max])
    return float(x_m.min()), float(y_m.min()), float(x_m.max()), float(y_m.max())


@router.get(
    "",
    response_model=list[Event],
    responses={422: {"model": Problem}},
    summary="Road events, latest start first",
    description="Without a store only the live frame is searched: active events and those that ended in it.",
)
async def list_events(  # noqa: PLR0917 - FastAPI reads query parameters from the signature
    state: State,
    active: Annotated[bool | None, Query(description="true: ongoing; false: ended; absent: both")] = None,
    type: Annotated[EventType | None, Query(description="event type")] = None,
    since_ms: Annotated[int | None, Query(ge=0, description="still alive at or after (UTC epoch ms)")] = None,
    until_ms: Annotated[int | None, Query(ge=0, description="started at or before (UTC epoch ms)")] = None,
    bbox: Annotated[str | None, Query(description=BBOX_FORM)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    box = None if bbox is None else parse_bbox(bbox)
    geo = state.view.road_map.geo
    store = state.view.store
    if store is not None:
        found = await run_in_threadpool(
            lambda: store.events(
                active=active,
                event_type=None if type is None else type.value,
                since_ms=since_ms,
                until_ms=until_ms,
                bbox_m=None if box is None else local_box(geo, box),
                limit=limit,
                offset=offset,
            )
        )
        items = event_dicts(list(found), geo)
        if box is not None:  # the store searched the local envelope; trim to the exact WGS84 box
            items = [e for e in items if box[0] <= e["lon"] <= box[2] and box[1] <= e["lat"] <= box[3]]
        return JsonBytesResponse(encode_json(items))
    frame = state.view.latest()
    ended = [e for e in frame.event_changes if e.phase == EventPhase.ENDED]
    live: list[RoadEvent] = [*frame.events_active, *ended]
    selected = [
        e
        for e in live
        if (active is None or (e.end_ms is None) == active)
        and (type is None or e.event_type == type)
        and (since_ms is None or e.end_ms is None or e.end_ms >= since_ms)
        and (until_ms is None or e.start_ms <= until_ms)
    ]
    items = event_dicts(sorted(selected, key=lambda e: (-e.start_ms, e.event_id)), geo)
    if box is not None:
        items = [e for e in items if box[0] <= e["lon"] <= box[2] and box[1] <= e["lat"] <= box[3]]
    return JsonBytesResponse(encode_json(items[offset : offset + limit]))


@router.get(
    "/{event_id}",
    response_model=EventWithHistory,
    responses={404: {"model": Problem}},
    summary="One event with every publication of it",
)
async def get_event(state: State, event_id: str) -> Response:
    geo = state.view.road_map.geo
    store = state.view.store
    current: RoadEvent | None = None
    history: list[RoadEvent] = []
    if store is not None:
        record = await run_in_threadpool(store.event, event_id)
        if record is not None:
            current, history = record.current, list(record.history)
    if current is None:
        frame = state.view.latest()
        in_frame = [e for e in (*frame.event_changes, *frame.events_active) if e.event_id == event_id]
        if in_frame:
            current = in_frame[0]
            history = [e for e in frame.event_changes if e.event_id == event_id]
    if current is None:
        raise HTTPException(404, f"event {event_id!r} is unknown; GET /api/v1/events lists events")
    body = event_dicts([current], geo)[0]
    body["history"] = event_dicts(history, geo)
    return JsonBytesResponse(encode_json(body))
