"""Signal states of the newest frame: every controller's groups, lights and likely end times."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from roadcloud.api.encode import JsonBytesResponse, encode_json, signal_dicts
from roadcloud.api.schemas import Signal
from roadcloud.api.state import State

router = APIRouter(prefix="/api/v1", tags=["signals"])


@router.get("/signals", response_model=list[Signal], summary="Signal controllers and their groups' lights")
async def signals(state: State) -> Response:
    frame = state.view.latest()
    return JsonBytesResponse(encode_json(signal_dicts(frame.signals, state.view.road_map.geo)))
