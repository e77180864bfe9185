"""Helpers for the API tests: an in-memory ``CloudView`` over real objects (a real map, real LDM
snapshots, a real device registry) — a fake of our own seam, not of a server — and builders of frames."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from roadcloud.api import HistoryView
from roadcloud.cloud.frame import LiveFrame, PipelineStats, SignalHeadState
from roadcloud.events.model import EventPhase, EventType, RoadEvent
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.ingest import DeviceRegistry, DeviceState
from roadcloud.ingest.registry import Device
from roadcloud.map import RoadMap
from roadcloud.messages import ActorKind
from roadcloud.services.model import Advisory, AdvisoryKind, AdvisoryState

MAP_PATH = Path(__file__).resolve().parents[2] / ".." / "shared" / "maps" / "doerpfeldstr.net.xml.gz"
ZONE = "berlin"
NOW_MS = 1_780_000_000_000


@dataclass(frozen=True)
class Unit:
    id: str
    x_m: float
    y_m: float
    range_m: float = 150.0


@dataclass
class FakeCloud:
    """A ``CloudView`` over real objects; ``publish(frame)`` plays the pipeline's tick."""

    road_map: RoadMap
    zone: str = ZONE
    units: Sequence[Unit] = ()
    store: HistoryView | None = None
    now_ms: int = NOW_MS
    components: dict[str, str] = field(default_factory=lambda: {"ingest": "ok", "fusion": "ok"})
    registry: DeviceRegistry = field(default_factory=DeviceRegistry)
    frame: LiveFrame = field(default_factory=lambda: LiveFrame.empty(NOW_MS))
    listeners: list[Callable[[LiveFrame], None]] = field(default_factory=list)

    def latest(self) -> LiveFrame:
        return self.frame

    def add_frame_listener(self, callback: Callable[[LiveFrame], None]) -> Callable[[], None]:
        self.listeners.append(callback)
        return lambda: self.listeners.remove(callback)

    def publish(self, frame: LiveFrame) -> None:
        self.frame = frame
        for listener in list(self.listeners):
            listener(frame)

    def devices(self) -> list[DeviceState]:
        return self.registry.states(self.now_ms)

    def device(self, device_id: str) -> DeviceState | None:
        return self.registry.state(device_id, self.now_ms)

    def provision(
        self,
        device_id: str,
        *,
        kind: str,
        name: str | None = None,
        lon_deg: float | None = None,
        lat_deg: float | None = None,
    ) -> Device:
        return self.registry.provision(
            device_id, kind=kind, zone=self.zone, name=name, lon_deg=lon_deg, lat_deg=lat_deg
        )

    def remove_device(self, device_id: str) -> bool:
        if device_id not in self.registry:
            return False
        self.registry.remove(device_id)
        return True

    def stats(self) -> PipelineStats:
        return self.frame.stats

    def health(self) -> dict[str, str]:
        return dict(self.components)


def snapshot(
    time_ms: int,
    xy_m: Sequence[tuple[float, float]],
    *,
    kinds: Sequence[int] | None = None,
    lane_ids: Sequence[str | None] | None = None,
) -> LdmSnapshot:
    """A snapshot of tracks 1..N at the given local positions, moving east at 10 m/s."""
    count = len(xy_m)
    xy = np.array(xy_m, dtype=np.float64).reshape(count, 2)
    return LdmSnapshot(
        time_ms=time_ms,
        track_id=np.arange(1, count + 1, dtype=np.int64),
        x_m=xy[:, 0].copy(),
        y_m=xy[:, 1].copy(),
        vx_mps=np.full(count, 10.0),
        vy_mps=np.zeros(count),
        speed_mps=np.full(count, 10.0),
        heading_deg=np.full(count, 90.0),
        length_m=np.full(count, 4.5),
        width_m=np.full(count, 1.8),
        kind=np.array(kinds if kinds is not None else [ActorKind.CAR] * count, dtype=np.int64),
        position_cov_m2=np.tile(np.diag([0.25, 0.25]), (count, 1, 1)),
        lane_id=None if lane_ids is None else np.array(list(lane_ids), dtype=object),
        s_m=np.full(count, np.nan) if lane_ids is None else np.arange(count, dtype=np.float64) * 10.0,
        source_count=np.ones(count, dtype=np.int64),
    )


def road_event(
    event_id: str,
    *,
    x_m: float,
    y_m: float,
    event_type: EventType = EventType.STOPPED_VEHICLE,
    phase: EventPhase = EventPhase.STARTED,
    update_ms: int = NOW_MS,
    end_ms: int | None = None,
) -> RoadEvent:
    return RoadEvent(
        event_id=event_id,
        event_type=event_type,
        phase=phase,
        lane_id=None,
        s_m=0.0,
        x_m=x_m,
        y_m=y_m,
        severity=3,
        confidence=0.9,
        start_ms=NOW_MS - 5_000,
        update_ms=update_ms,
        end_ms=end_ms,
        track_ids=[1],
        details={"dwell_s": 5.0},
    )


def advisory(advisory_id: str, event_id: str, *, state: AdvisoryState = AdvisoryState.ACTIVE) -> Advisory:
    return Advisory(
        advisory_id=advisory_id,
        kind=AdvisoryKind.ROAD_EVENT,
        state=state,
        event_id=event_id,
        sent_ms=NOW_MS,
        cancelled_ms=NOW_MS if state == AdvisoryState.CANCELLED else None,
        via_rsu_ids=["R1"],
        summary="stopped vehicle ahead",
    )


def frame_at(
    time_ms: int,
    tracks: LdmSnapshot,
    *,
    events_active: Sequence[RoadEvent] = (),
    event_changes: Sequence[RoadEvent] = (),
    advisories_active: Sequence[Advisory] = (),
    advisory_changes: Sequence[Advisory] = (),
    signals: Sequence[SignalHeadState] = (),
    stats: PipelineStats | None = None,
) -> LiveFrame:
    return LiveFrame(
        time_ms=time_ms,
        tick_ms=time_ms,
        snapshot=tracks,
        events_active=tuple(events_active),
        event_changes=tuple(event_changes),
        advisories_active=tuple(advisories_active),
        advisory_changes=tuple(advisory_changes),
        signals=tuple(signals),
        stats=stats or PipelineStats(time_ms=time_ms, tracks=len(tracks)),
    )


@dataclass(frozen=True)
class Scene:
    """Three tracks: two in the west of the map, one in the east; boxes around each part in WGS84."""

    west_xy_m: tuple[tuple[float, float], ...]
    east_xy_m: tuple[tuple[float, float], ...]
    west_bbox: str
    east_bbox: str

    @property
    def all_xy_m(self) -> tuple[tuple[float, float], ...]:
        return (*self.west_xy_m, *self.east_xy_m)


def bbox_around(road_map: RoadMap, x_m: float, y_m: float, half_m: float) -> str:
    lon, lat = road_map.geo.local_to_wgs84([x_m - half_m, x_m + half_m], [y_m - half_m, y_m + half_m])
    return f"{lon[0]:.7f},{lat[0]:.7f},{lon[1]:.7f},{lat[1]:.7f}"
