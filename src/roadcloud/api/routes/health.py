"""``/health`` (for load balancers and the demo) and ``/metrics`` (Prometheus text format)."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from roadcloud.api.encode import JsonBytesResponse, encode_json
from roadcloud.api.schemas import Health
from roadcloud.api.state import State

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "a component is in error"}},
    summary="Service health: ok, or degraded with the failing components (503)",
)
async def health(state: State) -> Response:
    components = dict(state.view.health())
    components.setdefault("store", "off" if state.view.store is None else "ok")
    components["api"] = "ok"
    ok = all(value in ("ok", "off") for value in components.values())
    body = {
        "status": "ok" if ok else "degraded",
        "time_ms": state.clock_ms(),
        "ldm_age_ms": state.view.stats().ldm_age_ms,
        "components": components,
    }
    return JsonBytesResponse(encode_json(body), status_code=200 if ok else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}},
    summary="Prometheus metrics: messages, drops, latency, tracks, events, devices, stream",
)
async def metrics(state: State) -> Response:
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)
