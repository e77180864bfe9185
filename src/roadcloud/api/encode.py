"""The API's wire form: platform objects (local metres, enums, numpy columns) to JSON-ready values in the
units of the contract (``/work/notes/api_contract.md``): WGS84 degrees at the edge, local metres beside
them, UTC epoch ms, snake_case names.

Tracks are the hot path — thousands per frame, ten frames a second, one encode per client filter — so they
are converted column-wise: one vectorised projection and rounding per frame (``FrameTracks``), then only
``take`` and ``tolist`` per filter, and msgspec writes the JSON. Nothing here builds a Python object per
track unless a caller asks for rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray
from starlette.responses import Response

from roadcloud.cloud.frame import PipelineStats, SignalHeadState
from roadcloud.events.model import RoadEvent
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.ingest.registry import DeviceState
from roadcloud.map import GeoReference
from roadcloud.messages import ActorKind, LightState
from roadcloud.services.model import Advisory

#: Keys of one track, in wire order (the contract's ``Track``).
TRACK_FIELDS = (
    "id",
    "lon",
    "lat",
    "x_m",
    "y_m",
    "speed_mps",
    "heading_deg",
    "kind",
    "length_m",
    "width_m",
    "lane_id",
    "s_m",
    "sources",
    "pos_std_m",
)

# Decimals on the wire: 1e-7° is about 1 cm (the V2X message resolution), 1 cm and 0.1° elsewhere. Shorter
# numbers make frames about a third smaller than full float repr, and no consumer needs more.
_DEGREE_DECIMALS = 7
_METRE_DECIMALS = 2
_ANGLE_DECIMALS = 1

# Index ActorKind's integer values (1..6) straight into names; 0 and anything unknown read "unknown".
_KIND_NAMES: NDArray[np.object_] = np.array(
    ["unknown", *(ActorKind(value).name.lower() for value in range(1, max(ActorKind) + 1))], dtype=object
)

_LIGHT_COLOR = {
    LightState.UNAVAILABLE: "dark",
    LightState.DARK: "dark",
    LightState.FLASHING_RED: "red",
    LightState.RED: "red",
    LightState.FLASHING_GREEN: "green",
    LightState.PERMISSIVE_GREEN: "green",
    LightState.PROTECTED_GREEN: "green",
    LightState.YELLOW: "yellow",
    LightState.FLASHING_YELLOW: "yellow",
}

_encoder = msgspec.json.Encoder()


def encode_json(value: Any) -> bytes:
    """JSON bytes of builtins (dict, list, str, numbers, None); non-finite floats become null."""
    return _encoder.encode(value)


class JsonBytesResponse(Response):
    """A JSON response written by msgspec (faster than the standard library for large bodies)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return _encoder.encode(content)


# -- tracks -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class FrameTracks:
    """A snapshot's tracks in wire units, computed once per frame and shared by every client filter."""

    time_ms: int
    lon_deg: NDArray[np.float64]  # unrounded, for area filters
    lat_deg: NDArray[np.float64]
    x_m: NDArray[np.float64]
    y_m: NDArray[np.float64]
    columns: Mapping[str, NDArray[Any]]  # rounded wire columns, keyed by TRACK_FIELDS

    def __len__(self) -> int:
        return len(self.x_m)

    @classmethod
    def of(cls, snapshot: LdmSnapshot, geo: GeoReference) -> FrameTracks:
        count = len(snapshot)
        lon_deg, lat_deg = geo.local_to_wgs84(snapshot.x_m, snapshot.y_m)
        kind = snapshot.kind
        kind_names = _KIND_NAMES[np.where((kind > 0) & (kind < len(_KIND_NAMES)), kind, 0)]
        lane_id = snapshot.lane_id if snapshot.lane_id is not None else np.full(count, None, dtype=object)
        covariance = snapshot.position_cov_m2
        # One number per track: the RMS of the two axis standard deviations, sqrt(trace(P) / 2).
        pos_std_m = (
            np.sqrt(np.maximum(covariance[:, 0, 0] + covariance[:, 1, 1], 0.0) / 2.0)
            if count
            else np.empty(0)
        )
        columns: dict[str, NDArray[Any]] = {
            "id": snapshot.track_id,
            "lon": np.round(lon_deg, _DEGREE_DECIMALS),
            "lat": np.round(lat_deg, _DEGREE_DECIMALS),
            "x_m": np.round(snapshot.x_m, _METRE_DECIMALS),
            "y_m": np.round(snapshot.y_m, _METRE_DECIMALS),
            "speed_mps": np.round(snapshot.speed_mps, _METRE_DECIMALS),
            "heading_deg": np.round(snapshot.heading_deg, _ANGLE_DECIMALS),
            "kind": kind_names,
            "length_m": np.round(snapshot.length_m, _METRE_DECIMALS),
            "width_m": np.round(snapshot.width_m, _METRE_DECIMALS),
            "lane_id": lane_id,
            "s_m": np.round(snapshot.s_m, _METRE_DECIMALS),
            "sources": snapshot.source_count,
            "pos_std_m": np.round(pos_std_m, _METRE_DECIMALS),
        }
        return cls(
            time_ms=snapshot.time_ms,
            lon_deg=lon_deg,
            lat_deg=lat_deg,
            x_m=snapshot.x_m,
            y_m=snapshot.y_m,
            columns=columns,
        )

    def in_bbox(self, bbox_deg: tuple[float, float, float, float]) -> NDArray[np.int64]:
        """Rows inside a closed WGS84 box ``(lon_min, lat_min, lon_max, lat_max)``."""
        lon_min, lat_min, lon_max, lat_max = bbox_deg
        inside = (
            (self.lon_deg >= lon_min)
            & (self.lon_deg <= lon_max)
            & (self.lat_deg >= lat_min)
            & (self.lat_deg <= lat_max)
        )
        return np.flatnonzero(inside).astype(np.int64)

    def as_columns(self, rows: NDArray[np.int64] | None = None) -> dict[str, list[Any]]:
        """``{field: [value per track]}`` for the selected rows (all when None), JSON-ready."""
        if rows is None:
            return {name: column.tolist() for name, column in self.columns.items()}
        return {name: column[rows].tolist() for name, column in self.columns.items()}

    def as_rows(self, rows: NDArray[np.int64] | None = None) -> list[dict[str, Any]]:
        """``[{field: value}]`` per track: the readable form, about three times slower than columns."""
        columns = self.as_columns(rows)
        return [
            dict(zip(TRACK_FIELDS, values, strict=True))
            for values in zip(*(columns[name] for name in TRACK_FIELDS), strict=True)
        ]


def tracks_payload(
    tracks: FrameTracks, rows: NDArray[np.int64] | None, *, as_rows: bool
) -> dict[str, Any] | list[dict[str, Any]]:
    """The value of a ``tracks`` key: columns (the default wire form) or rows."""
    return tracks.as_rows(rows) if as_rows else tracks.as_columns(rows)


# -- events, advisories, signals ------------------------------------------------------------------------


def event_dicts(events: Sequence[RoadEvent], geo: GeoReference) -> list[dict[str, Any]]:
    """Events with every RoadEvent field (snake_case) plus ``lon``, ``lat``; one projection for all."""
    if not events:
        return []
    lon_deg, lat_deg = geo.local_to_wgs84([e.x_m for e in events], [e.y_m for e in events])
    out = []
    for event, lon, lat in zip(
        events,
        np.round(lon_deg, _DEGREE_DECIMALS).tolist(),
        np.round(lat_deg, _DEGREE_DECIMALS).tolist(),
        strict=True,
    ):
        item = _snake_case(event)
        item["lon"] = lon
        item["lat"] = lat
        out.append(item)
    return out


def advisory_dicts(advisories: Iterable[Advisory]) -> list[dict[str, Any]]:
    return [_snake_case(advisory) for advisory in advisories]


def _snake_case(struct: msgspec.Struct) -> dict[str, Any]:
    """A message struct's fields by their Python names: the wire codec renames them to camelCase (V2X
    JSON), the API contract keeps snake_case. Lists are copied so callers never alias the struct's."""
    return {
        name: list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value
        for name, value in msgspec.structs.asdict(struct).items()
    }


def signal_dicts(signals: Sequence[SignalHeadState], geo: GeoReference) -> list[dict[str, Any]]:
    """Signal heads with WGS84 position and each group's light (T/CSAE 53 name) and drawing colour."""
    if not signals:
        return []
    lon_deg, lat_deg = geo.local_to_wgs84([s.x_m for s in signals], [s.y_m for s in signals])
    out = []
    for head, lon, lat in zip(
        signals,
        np.round(lon_deg, _DEGREE_DECIMALS).tolist(),
        np.round(lat_deg, _DEGREE_DECIMALS).tolist(),
        strict=True,
    ):
        out.append(
            {
                "controller_id": head.controller_id,
                "junction_id": head.junction_id,
                "lon": lon,
                "lat": lat,
                "x_m": round(head.x_m, _METRE_DECIMALS),
                "y_m": round(head.y_m, _METRE_DECIMALS),
                "groups": [
                    {
                        "id": group.group_id,
                        "light": LightState(group.light).name.lower(),
                        "color": _LIGHT_COLOR.get(LightState(group.light), "dark"),
                        "likely_end_ms": group.likely_end_ms,
                        "lane_ids": list(group.lane_ids),
                    }
                    for group in head.groups
                ],
            }
        )
    return out


# -- devices, stats -------------------------------------------------------------------------------------


def device_dict(state: DeviceState, *, detail: bool = False) -> dict[str, Any]:
    """One device (the list form); ``detail`` adds counts, heartbeat status and provisioning time."""
    device = state.device
    item: dict[str, Any] = {
        "id": device.id,
        "kind": str(device.kind),
        "zone": device.zone,
        "name": device.name,
        "lon": device.lon_deg,
        "lat": device.lat_deg,
        "online": state.online,
        "last_seen_ms": state.last_seen_ms,
        "rates_hz": {name: round(rate, 2) for name, rate in state.rates_hz.items()},
        "auto_enrolled": device.auto_enrolled,
    }
    if detail:
        item["message_counts"] = dict(state.message_counts)
        item["status"] = None if state.status is None else str(state.status)
        item["last_heartbeat_ms"] = state.last_heartbeat_ms
        item["provisioned_at_ms"] = device.provisioned_at_ms
    return item


def stats_dict(stats: PipelineStats, *, stream: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The headline numbers; ``stream`` adds the WebSocket hub's counters."""
    item: dict[str, Any] = {
        "time_ms": stats.time_ms,
        "tracks": stats.tracks,
        "tracks_by_kind": dict(stats.tracks_by_kind),
        "messages_per_s": round(stats.messages_per_s, 1),
        "messages_in": dict(stats.messages_in),
        "dropped": dict(stats.dropped),
        "downlink_per_s": round(stats.downlink_per_s, 1),
        "downlink_out": dict(stats.downlink_out),
        "fusion_latency_ms": {
            "p50": round(stats.tick_latency_p50_ms, 2),
            "p99": round(stats.tick_latency_p99_ms, 2),
        },
        "ldm_age_ms": stats.ldm_age_ms,
        "devices_online": stats.devices_online,
        "devices_total": stats.devices_total,
        "vehicles_online": stats.vehicles_online,
        "events_active": sum(stats.events_active.values()),
        "events_active_by_type": dict(stats.events_active),
        "store_backlog": stats.store_backlog,
    }
    if stream is not None:
        item["stream"] = dict(stream)
    return item
