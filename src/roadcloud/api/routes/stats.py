"""Headline numbers of the pipeline and the stream hub: ``/api/v1/stats``, ``/api/v1/stream/clients``."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from roadcloud.api.encode import JsonBytesResponse, encode_json, stats_dict
from roadcloud.api.schemas import Stats, StreamClient
from roadcloud.api.state import State

router = APIRouter(prefix="/api/v1", tags=["stats"])


@router.get("/stats", response_model=Stats, summary="Throughput, drops, latency, tracks, events, devices")
async def stats(state: State) -> Response:
    return JsonBytesResponse(encode_json(stats_dict(state.view.stats(), stream=state.hub.stream_counts())))


@router.get(
    "/stream/clients",
    response_model=list[StreamClient],
    summary="Connected stream clients with their filters and the frames each lost to slow reading",
)
async def stream_clients(state: State) -> Response:
    return JsonBytesResponse(encode_json([client.describe() for client in state.hub.clients]))
