"""``WS /api/v1/stream``: live tracks, events, signal states and stats for one area, at up to 10 Hz.

Query: ``bbox``, ``streams``, ``hz``, ``format`` (as ``StreamFilter.parse``). A bad value gets one
``{"type": "error", "detail": …}`` message and close code 1008 with the same line. While connected, the
client may send ``{"bbox": …, "streams": …, "hz": …, "format": …}`` (any subset; ``"bbox": null`` for the
whole zone) to change its filter without reconnecting; the newest frame follows at once.
"""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from roadcloud.api.encode import encode_json
from roadcloud.api.state import State
from roadcloud.api.stream import StreamClient, StreamFilter, StreamHub
from roadcloud.errors import InputError

router = APIRouter()

_QUERY_NAMES = ("bbox", "streams", "hz", "format")
_POLICY_VIOLATION = 1008
_MAX_REASON_BYTES = 123  # RFC 6455: a close frame's reason fits in 123 bytes


def _error(detail: str) -> str:
    return encode_json({"type": "error", "detail": detail}).decode()


@router.websocket("/api/v1/stream")
async def stream(websocket: WebSocket, state: State) -> None:
    params = websocket.query_params
    await websocket.accept()
    try:
        unknown = sorted(set(params) - set(_QUERY_NAMES))
        if unknown:
            raise InputError(
                f"unknown stream parameter(s) {', '.join(unknown)}; use {', '.join(_QUERY_NAMES)}"
            )
        stream_filter = StreamFilter.parse(
            bbox=params.get("bbox"),
            streams=params.get("streams"),
            hz=params.get("hz"),
            format=params.get("format"),
        )
    except InputError as error:
        await websocket.send_text(_error(str(error)))
        reason = str(error).encode()[:_MAX_REASON_BYTES].decode(errors="ignore")
        await websocket.close(code=_POLICY_VIOLATION, reason=reason)
        return
    hub = state.hub
    client = hub.connect(stream_filter)
    receiver = asyncio.create_task(_receive(websocket, hub, client))
    try:
        while await hub.wait(client):
            while client.notices:
                await websocket.send_text(client.notices.popleft())
            if client.queue:
                frame = client.queue.popleft()
                for message in hub.messages(client, frame):
                    await websocket.send_text(message.decode())
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client went away mid-send (RuntimeError: Starlette's "socket already closed")
    finally:
        hub.disconnect(client)
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiver


async def _receive(websocket: WebSocket, hub: StreamHub, client: StreamClient) -> None:
    """Read the client's control messages; a close or a broken socket ends the client."""
    try:
        while True:
            text = await websocket.receive_text()
            try:
                changes = msgspec.json.decode(text)
                if not isinstance(changes, dict):
                    raise InputError('a stream control message is a JSON object such as {"hz": 5}')
                hub.update_filter(client, changes)
            except (msgspec.DecodeError, InputError) as error:
                detail = (
                    str(error) if isinstance(error, InputError) else f"control message is not JSON: {error}"
                )
                hub.notify(client, _error(detail))
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        hub.disconnect(client)
