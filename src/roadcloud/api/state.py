"""What every route reads: the pipeline view, the stream hub, the cached map and the metrics registry,
held once per app on ``app.state.api`` and handed to routes as a FastAPI dependency."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.requests import HTTPConnection
from prometheus_client import CollectorRegistry

from roadcloud.api.geojson import MapGeoJson
from roadcloud.api.stream import StreamHub
from roadcloud.api.view import CloudView


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class ApiState:
    view: CloudView
    hub: StreamHub
    map_geojson: MapGeoJson
    registry: CollectorRegistry
    clock_ms: Callable[[], int] = wall_clock_ms


def _api_state(connection: HTTPConnection) -> ApiState:
    state: ApiState = connection.app.state.api
    return state


#: ``state: State`` in a route's signature gives it the app's ``ApiState`` (HTTP and WebSocket alike).
State = Annotated[ApiState, Depends(_api_state)]
