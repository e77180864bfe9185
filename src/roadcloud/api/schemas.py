"""Pydantic models of the API's requests and responses: the OpenAPI document at ``/docs``.

Responses are written by ``encode`` (msgspec, column-wise for tracks) and returned as ready JSON, so
FastAPI does not validate them on the hot path; these models document them, and the tests check every
endpoint's real output against them (``extra="forbid"``), so documentation and wire cannot drift apart.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from roadcloud.messages import DeviceKind


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


Lon = Annotated[float, Field(ge=-180.0, le=180.0, description="WGS84 longitude, degrees")]
Lat = Annotated[float, Field(ge=-90.0, le=90.0, description="WGS84 latitude, degrees")]


class Problem(_Model):
    detail: str = Field(description="one line naming the problem and the fix")


class Health(_Model):
    status: Literal["ok", "degraded"]
    time_ms: int
    ldm_age_ms: int
    components: dict[str, Literal["ok", "off", "error"]]


class Zone(_Model):
    zone: str
    time_ms: int
    bounds_m: tuple[float, float, float, float] = Field(description="xmin, ymin, xmax, ymax (local metres)")
    bounds_wgs84: tuple[float, float, float, float] = Field(description="lon_min, lat_min, lon_max, lat_max")
    proj: str | None


class DeviceIn(_Model):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$", examples=["R0042"])
    kind: DeviceKind
    name: str | None = Field(default=None, max_length=128)
    lon: Lon | None = None
    lat: Lat | None = None


class Device(_Model):
    id: str
    kind: DeviceKind
    zone: str
    name: str | None
    lon: float | None
    lat: float | None
    online: bool
    last_seen_ms: int | None
    rates_hz: dict[str, float]
    auto_enrolled: bool


class DeviceDetail(Device):
    message_counts: dict[str, int]
    status: Literal["ok", "degraded", "fault"] | None = Field(description="from the last heartbeat")
    last_heartbeat_ms: int | None
    provisioned_at_ms: int


class TrackColumns(_Model):
    """One array per field, all of the same length; element i of each array is track i."""

    id: list[int]
    lon: list[float]
    lat: list[float]
    x_m: list[float]
    y_m: list[float]
    speed_mps: list[float]
    heading_deg: list[float] = Field(description="clockwise from north")
    kind: list[Literal["car", "bus", "truck", "motorcycle", "bicycle", "pedestrian", "unknown"]]
    length_m: list[float]
    width_m: list[float]
    lane_id: list[str | None]
    s_m: list[float | None] = Field(description="distance along the lane; null without lane matching")
    sources: list[int] = Field(description="senders that reported the track in its last frame")
    pos_std_m: list[float] = Field(description="position standard deviation, sqrt(trace(P)/2)")


class Track(_Model):
    id: int
    lon: float
    lat: float
    x_m: float
    y_m: float
    speed_mps: float
    heading_deg: float
    kind: Literal["car", "bus", "truck", "motorcycle", "bicycle", "pedestrian", "unknown"]
    length_m: float
    width_m: float
    lane_id: str | None
    s_m: float | None
    sources: int
    pos_std_m: float


class Ldm(_Model):
    time_ms: int
    age_ms: int
    count: int
    tracks: TrackColumns | list[Track] = Field(description="columns (default) or rows with format=rows")


class Event(_Model):
    event_id: str
    event_type: str
    phase: Literal["started", "updated", "ended"]
    lane_id: str | None
    s_m: float
    x_m: float
    y_m: float
    lon: float
    lat: float
    severity: int = Field(ge=1, le=5)
    confidence: float = Field(ge=0.0, le=1.0)
    start_ms: int
    update_ms: int
    end_ms: int | None = None
    extent_m: float = 0.0
    track_ids: list[int] = []
    details: dict[str, float] = {}


class EventWithHistory(Event):
    history: list[Event] = Field(description="every publication of the event, oldest first")


class Advisory(_Model):
    advisory_id: str
    kind: str
    state: Literal["active", "updated", "cancelled"]
    event_id: str | None
    sent_ms: int
    cancelled_ms: int | None = None
    relevance_lane_ids: list[str] = []
    via_rsu_ids: list[str] = []
    vehicle_ids: list[str] = []
    summary: str = ""
    rte_id: int | None = Field(default=None, description="the RSI's RTE id (0-255) receivers key it by")


class SignalGroup(_Model):
    id: int
    light: str = Field(description="T/CSAE 53 light state: red, yellow, protected_green, dark, …")
    color: Literal["red", "yellow", "green", "dark"]
    likely_end_ms: int | None
    lane_ids: list[str]


class Signal(_Model):
    controller_id: str
    junction_id: str
    lon: float
    lat: float
    x_m: float
    y_m: float
    groups: list[SignalGroup]


class Latency(_Model):
    p50: float
    p99: float


class StreamCounts(_Model):
    clients: int
    frames_in: int
    frames_sent: int
    dropped_loop_busy: int
    dropped_slow_client: int


class Stats(_Model):
    time_ms: int
    tracks: int
    tracks_by_kind: dict[str, int]
    messages_per_s: float
    messages_in: dict[str, int]
    dropped: dict[str, int]
    downlink_per_s: float
    downlink_out: dict[str, int]
    fusion_latency_ms: Latency
    ldm_age_ms: int
    devices_online: int  # roadside units, signal controllers and sensors
    devices_total: int
    vehicles_online: int = 0
    events_active: int
    events_active_by_type: dict[str, int]
    store_backlog: int
    stream: StreamCounts | None = None


class StreamClient(_Model):
    id: int
    bbox: list[float] | None
    streams: list[str]
    hz: float
    format: Literal["columns", "rows"]
    queued: int
    sent_frames: int
    dropped: int


class FeatureCollection(_Model):
    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]
