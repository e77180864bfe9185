"""Running the app: a ``CloudView`` over a running ``CloudPipeline``, and a uvicorn server on a socket we
bound ourselves (so a bad address is one line, not a uvicorn traceback).

Used by ``roadcloud serve`` and by the demo (``make demo``): ``PipelineView(pipeline, store=…)``,
``bind(host, port)``, ``make_server(app)``, then ``serve(server, sock)`` on a thread of its choice.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from roadcloud.api.view import FrameListener, HistoryView, Unsubscribe
from roadcloud.cloud.frame import LiveFrame, PipelineStats
from roadcloud.cloud.pipeline import CloudPipeline
from roadcloud.errors import InputError
from roadcloud.ingest.registry import Device, DeviceState
from roadcloud.map import RoadMap

LISTEN_BACKLOG = 128


@dataclass(frozen=True, slots=True)
class UnitPlacement:
    """A roadside unit as the map shows it."""

    id: str
    x_m: float
    y_m: float
    range_m: float


class PipelineView:
    """``CloudView`` over a ``CloudPipeline`` and an optional store (the pipeline does not know it)."""

    def __init__(self, pipeline: CloudPipeline, *, store: HistoryView | None = None) -> None:
        self._pipeline = pipeline
        self._store = store
        self._units = tuple(
            UnitPlacement(unit.rsu_id, unit.x_m, unit.y_m, unit.range_m) for unit in pipeline.site.units
        )

    @property
    def zone(self) -> str:
        return self._pipeline.zone

    @property
    def road_map(self) -> RoadMap:
        return self._pipeline.site.road_map

    @property
    def units(self) -> Sequence[UnitPlacement]:
        return self._units

    @property
    def store(self) -> HistoryView | None:
        return self._store

    def latest(self) -> LiveFrame:
        return self._pipeline.latest()

    def add_frame_listener(self, callback: FrameListener) -> Unsubscribe:
        return self._pipeline.add_frame_listener(callback)

    def devices(self) -> list[DeviceState]:
        return self._pipeline.devices()

    def device(self, device_id: str) -> DeviceState | None:
        return self._pipeline.device(device_id)

    def provision(
        self,
        device_id: str,
        *,
        kind: str,
        name: str | None = None,
        lon_deg: float | None = None,
        lat_deg: float | None = None,
    ) -> Device:
        return self._pipeline.provision(device_id, kind=kind, name=name, lon_deg=lon_deg, lat_deg=lat_deg)

    def remove_device(self, device_id: str) -> bool:
        return self._pipeline.remove_device(device_id)

    def stats(self) -> PipelineStats:
        return self._pipeline.stats()

    def health(self) -> dict[str, str]:
        components = dict(self._pipeline.health())
        components["store"] = "off" if self._store is None else components.get("store", "ok")
        return components


def check_port(port: int) -> int:
    if not 0 <= port <= 65_535:
        raise InputError(f"--port {port} is not a TCP port; give 1-65535 (or 0 for any free port)")
    return port


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; ``InputError`` naming the address and the fix."""
    check_port(port)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as error:
        raise InputError(
            f"--host {host!r} is not an address of this machine ({error}); use e.g. 127.0.0.1 or 0.0.0.0"
        ) from None
    family, kind, protocol, _, address = infos[0]
    sock = socket.socket(family, kind, protocol)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
    except OSError as error:
        sock.close()
        where = f"[{host}]:{port}" if _is_ipv6(host) else f"{host}:{port}"
        raise InputError(
            f"cannot listen on {where}: {error.strerror or error}; choose another --port or --host"
        ) from None
    sock.set_inheritable(True)
    return sock


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def make_server(app: FastAPI, *, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for ``app``; it serves the sockets given to ``serve``."""
    config = uvicorn.Config(app, log_level=log_level, lifespan="on", ws="websockets-sansio", access_log=False)
    return uvicorn.Server(config)


def serve(server: uvicorn.Server, sock: socket.socket) -> None:
    """Serve until ``server.should_exit`` is set (or, on the main thread, SIGINT/SIGTERM)."""
    server.run(sockets=[sock])


def address(sock: socket.socket) -> tuple[str, int]:
    host, port = sock.getsockname()[:2]
    return str(host), int(port)


def serve_in_thread(server: uvicorn.Server, sock: socket.socket) -> Callable[[], None]:
    """Start ``server`` on a daemon thread once it accepts connections; returns a function that stops it."""
    thread = threading.Thread(target=serve, args=(server, sock), name="roadcloud-api", daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.01)
    if not thread.is_alive():
        raise RuntimeError("the API server stopped while starting; see its log above")

    def stop() -> None:
        server.should_exit = True
        thread.join(10.0)
        sock.close()

    return stop
