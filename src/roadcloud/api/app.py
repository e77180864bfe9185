"""``create_app(view)``: the HTTP and WebSocket service around a running cloud pipeline.

Edge of the platform (the core never imports FastAPI): REST resources under ``/api/v1`` (devices, map,
live dynamic map, events, advisories, signals, stats), the live stream at ``WS /api/v1/stream``,
``/health`` and ``/metrics``, OpenAPI docs at ``/docs``, and the dashboard (``api/web/``) at ``/``. The
wire form is written down in ``/work/notes/api_contract.md`` and documented by ``schemas``.

Every 4xx answer is ``{"detail": "<one line naming the problem and the fix>"}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from roadcloud import __version__
from roadcloud.api.encode import JsonBytesResponse, encode_json
from roadcloud.api.geojson import MapGeoJson
from roadcloud.api.metrics import build_registry
from roadcloud.api.routes import advisories, devices, events, health, ldm, signals, stats, stream
from roadcloud.api.routes import map as map_routes
from roadcloud.api.state import ApiState, wall_clock_ms
from roadcloud.api.stream import DEFAULT_QUEUE_FRAMES, StreamHub
from roadcloud.api.view import CloudView
from roadcloud.errors import InputError, MapError

#: The dashboard's static files (built by the dashboard, shipped as package data).
WEB_DIR = Path(__file__).with_name("web")


def create_app(
    view: CloudView,
    *,
    clock_ms: Callable[[], int] = wall_clock_ms,
    stream_queue_frames: int = DEFAULT_QUEUE_FRAMES,
    web_dir: Path | None = WEB_DIR,
) -> FastAPI:
    """The app for ``view``; ``clock_ms`` is the time ``age_ms`` and ``/health`` measure against (the
    pipeline's clock: twin time in the demo). Needs a geo-referenced map (positions leave in WGS84)."""
    if not view.road_map.geo.is_georeferenced:
        raise MapError(
            f"the map of zone {view.zone} is not geo-referenced; the API serves WGS84, so load it with "
            "anchor_lonlat=(lon, lat) (a zone manifest's network.anchor_lon_deg / anchor_lat_deg)"
        )
    hub = StreamHub(view, queue_frames=stream_queue_frames)
    state = ApiState(
        view=view,
        hub=hub,
        map_geojson=MapGeoJson(view.road_map),
        registry=build_registry(view, hub),
        clock_ms=clock_ms,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        hub.attach(asyncio.get_running_loop())
        try:
            yield
        finally:
            hub.detach()

    app = FastAPI(
        title="roadcloud",
        version=__version__,
        summary=f"Vehicle-road-cloud platform, zone {view.zone}: devices, precise map, live dynamic map, "
        "road events, advisories, signal states, metrics.",
        lifespan=lifespan,
        default_response_class=JsonBytesResponse,
    )
    app.state.api = state
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for router in (
        health.router,
        devices.router,
        map_routes.router,
        ldm.router,
        events.router,
        advisories.router,
        signals.router,
        stats.router,
        stream.router,
    ):
        app.include_router(router)
    if web_dir is not None and web_dir.is_dir():
        # Mounted last: the API's routes match first, everything else is the dashboard.
        app.mount("/", StaticFiles(directory=web_dir, html=True), name="web")
    return app


def _problem(status_code: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    return JsonBytesResponse(encode_json({"detail": detail}), status_code=status_code, headers=headers)


async def _input_error(_request: Request, error: Exception) -> Response:
    return _problem(422, str(error))


async def _http_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    return _problem(error.status_code, str(error.detail), getattr(error, "headers", None))


async def _validation_error(_request: Request, error: Exception) -> Response:
    """FastAPI lists every failure with its location; the contract wants one line. Name the first."""
    assert isinstance(error, RequestValidationError)
    return _problem(422, validation_line(error.errors()))


def validation_line(errors: Any) -> str:
    if not errors:
        return "the request is invalid"
    first = errors[0]
    location = [str(part) for part in first.get("loc", ())]
    where = location[0] if location else "request"
    name = ".".join(location[1:]) or where
    kinds = {"query": "query parameter", "path": "path parameter", "body": "body field", "header": "header"}
    what = (
        f"{kinds.get(where, where)} {name!r}"
        if location[1:]
        else ("request body" if where == "body" else where)
    )
    received = first.get("input")
    shown = "" if isinstance(received, dict | list) or received is None else f" (got {received!r})"
    more = f"; {len(errors) - 1} more problem(s)" if len(errors) > 1 else ""
    return f"{what}: {first.get('msg', 'is invalid')}{shown}{more}"
