"""Advisories the cloud sent down (RSI/DENM, speed advice, sensor sharing): ``/api/v1/advisories``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from roadcloud.api.encode import JsonBytesResponse, advisory_dicts, encode_json
from roadcloud.api.schemas import Advisory, Problem
from roadcloud.api.state import State
from roadcloud.services.model import AdvisoryState

router = APIRouter(prefix="/api/v1", tags=["advisories"])
MAX_LIMIT = 1_000


@router.get(
    "/advisories",
    response_model=list[Advisory],
    responses={422: {"model": Problem}},
    summary="Advisories, newest first",
    description="Without a store only the live frame is searched: the active advisories and those "
    "cancelled in it.",
)
async def list_advisories(
    state: State,
    active: Annotated[
        bool | None, Query(description="true: in force; false: cancelled; absent: both")
    ] = None,
    event_id: Annotated[str | None, Query(description="only advisories for this road event")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Response:
    store = state.view.store
    if store is not None:
        found = await run_in_threadpool(
            lambda: store.advisories(active=active, event_id=event_id, limit=limit)
        )
        return JsonBytesResponse(encode_json(advisory_dicts(found)))
    frame = state.view.latest()
    cancelled = [a for a in frame.advisory_changes if a.state == AdvisoryState.CANCELLED]
    selected = [
        a
        for a in (*frame.advisories_active, *cancelled)
        if (active is None or (a.state != AdvisoryState.CANCELLED) == active)
        and (event_id is None or a.event_id == event_id)
    ]
    selected.sort(key=lambda a: (-a.sent_ms, a.advisory_id))
    return JsonBytesResponse(encode_json(advisory_dicts(selected[:limit])))
