"""Field devices: list, provision, show and remove (``/api/v1/devices``), backed by the pipeline's device
registry, so a provisioned device is accepted by ingest from its next message on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from starlette.responses import Response

from roadcloud.api.encode import JsonBytesResponse, device_dict, encode_json
from roadcloud.api.schemas import Device, DeviceDetail, DeviceIn, Problem
from roadcloud.api.state import State
from roadcloud.messages import DeviceKind

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


def _not_found(device_id: str) -> HTTPException:
    return HTTPException(404, f"device {device_id!r} is not provisioned; GET /api/v1/devices lists them")


@router.get("", response_model=list[Device], responses={422: {"model": Problem}}, summary="List devices")
async def list_devices(
    state: State,
    kind: Annotated[DeviceKind | None, Query(description="rsu, signal, vehicle or sensor")] = None,
    online: Annotated[
        bool | None, Query(description="only devices heard recently (true) or not (false)")
    ] = None,
) -> Response:
    states = [
        s
        for s in state.view.devices()
        if (kind is None or s.device.kind == kind) and (online is None or s.online == online)
    ]
    return JsonBytesResponse(encode_json([device_dict(s) for s in states]))


@router.post(
    "",
    status_code=201,
    response_model=DeviceDetail,
    responses={409: {"model": Problem}, 422: {"model": Problem}},
    summary="Provision a device",
)
async def provision_device(state: State, body: DeviceIn) -> Response:
    if state.view.device(body.id) is not None:
        raise HTTPException(
            409, f"device {body.id!r} is already provisioned; DELETE it first or choose another id"
        )
    state.view.provision(body.id, kind=body.kind.value, name=body.name, lon_deg=body.lon, lat_deg=body.lat)
    provisioned = state.view.device(body.id)
    if provisioned is None:  # removed again between the two calls
        raise _not_found(body.id)
    return JsonBytesResponse(encode_json(device_dict(provisioned, detail=True)), status_code=201)


@router.get(
    "/{device_id}",
    response_model=DeviceDetail,
    responses={404: {"model": Problem}},
    summary="One device with message counts and its last heartbeat status",
)
async def get_device(state: State, device_id: str) -> Response:
    device = state.view.device(device_id)
    if device is None:
        raise _not_found(device_id)
    return JsonBytesResponse(encode_json(device_dict(device, detail=True)))


@router.delete(
    "/{device_id}", status_code=204, responses={404: {"model": Problem}}, summary="Remove a device"
)
async def remove_device(state: State, device_id: str) -> Response:
    if not state.view.remove_device(device_id):
        raise _not_found(device_id)
    return Response(status_code=204)
