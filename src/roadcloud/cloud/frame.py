"""What the cloud pipeline publishes every 100 ms: one immutable ``LiveFrame`` for the API, the dashboard
and storage to read.

The pipeline builds a new frame per tick and swaps a single reference, so a reader on another thread (the
API's event loop) always sees one consistent frame without a lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from roadcloud.events.model import RoadEvent
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.ingest.registry import StatusChange
from roadcloud.messages.signal import LightState
from roadcloud.services.model import Advisory


@dataclass(frozen=True, slots=True)
class SignalGroupState:
    """One signal group of a controller at the frame's time."""

    group_id: int
    light: LightState
    likely_end_ms: int | None
    lane_ids: tuple[str, ...]  # incoming lanes this group controls


@dataclass(frozen=True, slots=True)
class SignalHeadState:
    """A signal controller's groups, placed at its junction (local metres)."""

    controller_id: str
    junction_id: str
    x_m: float
    y_m: float
    groups: tuple[SignalGroupState, ...]


@dataclass(frozen=True, slots=True)
class PipelineStats:
    """Headline counters and rates. Counts are since start; rates over the last few seconds."""

    time_ms: int
    messages_in: Mapping[str, int] = field(default_factory=dict)  # accepted, per message type
    dropped: Mapping[str, int] = field(default_factory=dict)  # per drop reason (ingest and fusion)
    downlink_out: Mapping[str, int] = field(default_factory=dict)  # per message type
    messages_per_s: float = 0.0
    downlink_per_s: float = 0.0
    tick_latency_p50_ms: float = 0.0  # wall time of one pipeline tick (fusion, events, services)
    tick_latency_p99_ms: float = 0.0
    ldm_age_ms: int = 0  # tick time minus the time the live map refers to
    tracks: int = 0
    tracks_by_kind: Mapping[str, int] = field(default_factory=dict)
    events_active: Mapping[str, int] = field(default_factory=dict)  # per event type
    devices_online: int = 0  # roadside units, signal controllers and sensors
    devices_total: int = 0
    vehicles_online: int = 0  # connected vehicles heard from recently
    store_backlog: int = 0  # writes queued for the database


@dataclass(frozen=True, slots=True)
class LiveFrame:
    """The zone at ``time_ms`` (the LDM's time), produced at ``tick_ms``."""

    time_ms: int
    tick_ms: int
    snapshot: LdmSnapshot
    events_active: tuple[RoadEvent, ...]
    event_changes: tuple[RoadEvent, ...]  # publications of this frame (started, updated, ended)
    advisories_active: tuple[Advisory, ...]
    advisory_changes: tuple[Advisory, ...]
    signals: tuple[SignalHeadState, ...]
    stats: PipelineStats
    device_changes: tuple[StatusChange, ...] = ()  # devices that went online or offline this frame

    @classmethod
    def empty(cls, time_ms: int) -> LiveFrame:
        return cls(
            time_ms=time_ms,
            tick_ms=time_ms,
            snapshot=LdmSnapshot.empty(time_ms),
            events_active=(),
            event_changes=(),
            advisories_active=(),
            advisory_changes=(),
            signals=(),
            stats=PipelineStats(time_ms=time_ms),
        )
