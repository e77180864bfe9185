"""A live zone behind the API's ``CloudView`` seam, for the dashboard's browser test: a real precise map,
real ``LdmSnapshot`` frames of vehicles and pedestrians moving along its lanes, signal heads running the
map's own signal programs, road events (one stopped vehicle, one queue, one ended wrong-way driver) and a
real device registry in which one roadside unit has gone silent.

``LiveZone.start()`` ticks it at 10 Hz on a thread, as the cloud pipeline does, so the API's WebSocket hub
receives frames through ``add_frame_listener`` exactly as in production.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from roadcloud.cloud.frame import LiveFrame, PipelineStats, SignalGroupState, SignalHeadState
from roadcloud.events.model import EventPhase, EventType, RoadEvent
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.ingest import DeviceRegistry, DeviceState
from roadcloud.ingest.registry import Device
from roadcloud.map import Lane, RoadMap
from roadcloud.messages import ActorKind, LightState
from roadcloud.services.model import Advisory
from roadcloud.store.records import EventRecord

STEP_MS = 100
SAMPLE_M = 0.5  # lanes are sampled this finely; movers jump from sample to sample
ZONE = "berlin"
RSU_RANGE_M = 150.0
# object classes on carriageways (pedestrians walk on footways and crossings)
VEHICLE_KINDS = (ActorKind.CAR, ActorKind.BUS, ActorKind.TRUCK, ActorKind.MOTORCYCLE, ActorKind.BICYCLE)
VEHICLE_SHARES = (0.72, 0.05, 0.08, 0.07, 0.08)
SIZE_M = {  # length, width
    ActorKind.CAR: (4.6, 1.85),
    ActorKind.BUS: (12.0, 2.55),
    ActorKind.TRUCK: (9.0, 2.5),
    ActorKind.MOTORCYCLE: (2.2, 0.8),
    ActorKind.BICYCLE: (1.8, 0.65),
    ActorKind.PEDESTRIAN: (0.5, 0.5),
}
# SUMO signal state characters as SPAT lights
LIGHTS = {
    "G": LightState.PROTECTED_GREEN,
    "g": LightState.PERMISSIVE_GREEN,
    "y": LightState.YELLOW,
    "Y": LightState.YELLOW,
    "u": LightState.YELLOW,
    "r": LightState.RED,
    "R": LightState.RED,
    "s": LightState.RED,
    "o": LightState.FLASHING_YELLOW,
    "O": LightState.DARK,
}


@dataclass(frozen=True)
class LanePaths:
    """Lanes sampled every ``SAMPLE_M``, flattened: lane ``k`` owns ``start[k] : start[k] + count[k]``."""

    lane_ids: NDArray[np.object_]
    start: NDArray[np.int64]
    count: NDArray[np.int64]
    x_m: NDArray[np.float64]
    y_m: NDArray[np.float64]
    heading_deg: NDArray[np.float64]

    @classmethod
    def of(cls, lanes: Sequence[Lane]) -> LanePaths:
        xs, ys, headings, counts = [], [], [], []
        for lane in lanes:
            shape = lane.shape_xy
            step = np.hypot(*np.diff(shape, axis=0).T)
            along = np.concatenate([[0.0], np.cumsum(step)])
            s = np.arange(0.0, along[-1], SAMPLE_M)
            xs.append(np.interp(s, along, shape[:, 0]))
            ys.append(np.interp(s, along, shape[:, 1]))
            segment = np.clip(np.searchsorted(along, s, side="right") - 1, 0, len(step) - 1)
            dx, dy = np.diff(shape, axis=0).T
            headings.append(np.degrees(np.arctan2(dx, dy))[segment] % 360.0)
            counts.append(len(s))
        count = np.array(counts, dtype=np.int64)
        return cls(
            lane_ids=np.array([lane.id for lane in lanes], dtype=object),
            start=np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64),
            count=count,
            x_m=np.concatenate(xs),
            y_m=np.concatenate(ys),
            heading_deg=np.concatenate(headings),
        )


class Movers:
    """Objects that run along lanes at constant speed, wrapping at the lane's end. Track 1 stands still in
    the middle of a long lane: the stopped vehicle of the scene."""

    def __init__(self, road_map: RoadMap, *, vehicles: int, pedestrians: int, seed: int = 7) -> None:
        rng = np.random.default_rng(seed)
        roads = [
            lane
            for lane in road_map.drivable_lanes("passenger")
            if road_map.edges[lane.edge_id].function == "normal" and lane.length_m > 40.0
        ]
        footways = [
            lane
            for lane in road_map.lanes.values()
            if road_map.edges[lane.edge_id].function in ("normal", "crossing")
            and lane.allows("pedestrian")
            and not lane.allows("passenger")
            and lane.length_m > 8.0
        ]
        self.paths = LanePaths.of([*roads, *footways])
        lane_of_vehicle = rng.integers(0, len(roads), vehicles)
        lane_of_vehicle[0] = int(np.argmax([lane.length_m for lane in roads]))
        lane_of_pedestrian = len(roads) + rng.integers(
            0, max(len(footways), 1), pedestrians if footways else 0
        )
        self.lane = np.concatenate([lane_of_vehicle, lane_of_pedestrian]).astype(np.int64)
        count = len(self.lane)
        kinds = rng.choice(np.array(VEHICLE_KINDS, dtype=np.int64), size=vehicles, p=VEHICLE_SHARES)
        kinds[0] = ActorKind.CAR
        self.kind = np.concatenate([kinds, np.full(count - vehicles, ActorKind.PEDESTRIAN)]).astype(np.int64)
        limits = np.array([lane.speed_limit_mps for lane in roads])[lane_of_vehicle]
        speed = np.concatenate(
            [limits * rng.uniform(0.35, 0.95, vehicles), rng.uniform(1.0, 1.6, count - vehicles)]
        )
        speed[self.kind == ActorKind.BICYCLE] = rng.uniform(
            3.5, 6.0, int(np.sum(self.kind == ActorKind.BICYCLE))
        )
        speed[0] = 0.0
        self.speed_mps = speed
        lane_length_m = self.paths.count[self.lane] * SAMPLE_M
        self.s0_m = rng.uniform(0.0, 1.0, count) * lane_length_m
        self.s0_m[0] = lane_length_m[0] / 2
        size = np.array([SIZE_M[ActorKind(kind)] for kind in self.kind])
        self.length_m = size[:, 0] * rng.uniform(0.92, 1.08, count)
        self.width_m = size[:, 1]
        self.track_id = np.arange(1, count + 1, dtype=np.int64) * 7 + 100  # ids that do not look like rows
        self.sources = rng.integers(1, 4, count).astype(np.int64)

    def snapshot(self, elapsed_ms: int, time_ms: int) -> LdmSnapshot:
        count = len(self.lane)
        samples = self.paths.count[self.lane]
        s_m = (self.s0_m + self.speed_mps * elapsed_ms / 1000.0) % (samples * SAMPLE_M)
        row = self.paths.start[self.lane] + np.minimum((s_m / SAMPLE_M).astype(np.int64), samples - 1)
        heading = self.paths.heading_deg[row]
        return LdmSnapshot(
            time_ms=time_ms,
            track_id=self.track_id,
            x_m=self.paths.x_m[row],
            y_m=self.paths.y_m[row],
            vx_mps=self.speed_mps * np.sin(np.radians(heading)),
            vy_mps=self.speed_mps * np.cos(np.radians(heading)),
            speed_mps=self.speed_mps,
            heading_deg=heading,
            length_m=self.length_m,
            width_m=self.width_m,
            kind=self.kind,
            position_cov_m2=np.tile(np.diag([0.09, 0.09]), (count, 1, 1)),
            lane_id=self.paths.lane_ids[self.lane],
            s_m=s_m,
            source_count=self.sources,
        )


def signal_heads(road_map: RoadMap, time_ms: int) -> tuple[SignalHeadState, ...]:
    """Every controller with a static program, at ``time_ms`` of its cycle (all cycles start at 0)."""
    heads = []
    for tls_id in sorted(road_map.signal_controllers):
        controller = road_map.signal_controllers[tls_id]
        junctions = [road_map.junctions[j] for j in controller.junction_ids if j in road_map.junctions]
        if not controller.phases or not controller.groups or not junctions:
            continue
        durations_s = np.array([duration for duration, _ in controller.phases])
        ends_s = np.cumsum(durations_s)
        into_cycle_s = (time_ms / 1000.0) % ends_s[-1]
        phase = int(np.searchsorted(ends_s, into_cycle_s, side="right"))
        phase = min(phase, len(ends_s) - 1)
        likely_end_ms = time_ms + round((ends_s[phase] - into_cycle_s) * 1000)
        states = controller.group_states(controller.phases[phase][1])
        groups = tuple(
            SignalGroupState(
                group_id=group.index,
                light=LIGHTS.get(state, LightState.UNAVAILABLE),
                likely_end_ms=likely_end_ms,
                lane_ids=tuple(sorted({from_lane for from_lane, _ in group.connections})),
            )
            for group, state in zip(controller.groups, states, strict=True)
        )
        heads.append(
            SignalHeadState(
                controller_id=tls_id,
                junction_id=junctions[0].id,
                x_m=float(np.mean([j.x_m for j in junctions])),
                y_m=float(np.mean([j.y_m for j in junctions])),
                groups=groups,
            )
        )
    return tuple(heads)


@dataclass(frozen=True)
class Unit:
    id: str
    x_m: float
    y_m: float
    range_m: float = RSU_RANGE_M


@dataclass
class EventHistory:
    """The store's read side over a fixed list of events (newest first), enough for the dashboard."""

    past: list[RoadEvent]

    def events(
        self,
        *,
        active: bool | None = None,
        event_type: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        bbox_m: tuple[float, float, float, float] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[RoadEvent]:
        chosen = [
            e
            for e in self.past
            if (active is None or (e.end_ms is None) == active)
            and (event_type is None or e.event_type.value == event_type)
        ]
        return chosen[offset : offset + limit]

    def event(self, event_id: str) -> EventRecord | None:
        return None

    def advisories(
        self, *, active: bool | None = None, event_id: str | None = None, limit: int = 100
    ) -> Sequence[Advisory]:
        return []


@dataclass
class LiveZone:
    """A ``CloudView`` of a zone that moves: ``tick()`` advances it 100 ms and hands the frame on."""

    road_map: RoadMap
    movers: Movers
    start_ms: int
    zone: str = ZONE
    units: Sequence[Unit] = ()
    silent_unit: str = ""  # provisioned but never heard from: offline
    signal_devices: dict[str, str] = field(default_factory=dict)  # controller id → device id
    store: EventHistory | None = None
    registry: DeviceRegistry = field(default_factory=DeviceRegistry)
    events_active: tuple[RoadEvent, ...] = ()
    now_ms: int = 0
    ticks: int = 0
    frame: LiveFrame = field(init=False)
    _listeners: list[Callable[[LiveFrame], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _messages_in: dict[str, int] = field(default_factory=lambda: {"rsm": 0, "bsm": 0, "spat": 0})

    def __post_init__(self) -> None:
        self.now_ms = self.start_ms
        self.frame = LiveFrame.empty(self.start_ms)

    # -- the CloudView seam --------------------------------------------------------------------------------

    def latest(self) -> LiveFrame:
        return self.frame

    def add_frame_listener(self, callback: Callable[[LiveFrame], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return remove

    def devices(self) -> list[DeviceState]:
        with self._lock:
            return self.registry.states(self.now_ms)

    def device(self, device_id: str) -> DeviceState | None:
        with self._lock:
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
        with self._lock:
            return self.registry.provision(
                device_id, kind=kind, zone=self.zone, name=name, lon_deg=lon_deg, lat_deg=lat_deg
            )

    def remove_device(self, device_id: str) -> bool:
        with self._lock:
            if device_id not in self.registry:
                return False
            self.registry.remove(device_id)
            return True

    def stats(self) -> PipelineStats:
        return self.frame.stats

    def health(self) -> dict[str, str]:
        return {"ingest": "ok", "fusion": "ok"}

    # -- time ----------------------------------------------------------------------------------------------

    def tick(self) -> LiveFrame:
        self.ticks += 1
        self.now_ms = self.start_ms + self.ticks * STEP_MS
        snapshot = self.movers.snapshot(self.ticks * STEP_MS, self.now_ms)
        with self._lock:
            for unit in self.units:
                if unit.id != self.silent_unit:
                    self.registry.record(unit.id, "rsm", self.now_ms)
            for device_id in self.signal_devices.values():
                self.registry.record(device_id, "spat", self.now_ms)
            online = self.registry.online_count(self.now_ms)
            listeners = list(self._listeners)
        self._messages_in["rsm"] += 2 * len(self.units)
        self._messages_in["bsm"] += len(snapshot) // 3
        self._messages_in["spat"] += len(self.road_map.signal_controllers)
        kinds = np.bincount(snapshot.kind, minlength=len(ActorKind) + 1)
        self.frame = LiveFrame(
            time_ms=snapshot.time_ms,
            tick_ms=self.now_ms,
            snapshot=snapshot,
            events_active=self.events_active,
            event_changes=self.events_active if self.ticks == 1 else (),
            advisories_active=(),
            advisory_changes=(),
            signals=signal_heads(self.road_map, self.now_ms),
            stats=PipelineStats(
                time_ms=self.now_ms,
                messages_in=dict(self._messages_in),
                dropped={"stale": 3, "schema": 1},
                downlink_out={"rsi": 2 * self.ticks // 10},
                messages_per_s=10.0 * (2 * len(self.units) + len(snapshot) // 3),
                downlink_per_s=2.0,
                tick_latency_p50_ms=6.4,
                tick_latency_p99_ms=18.9,
                ldm_age_ms=self.now_ms - snapshot.time_ms + 100,
                tracks=len(snapshot),
                tracks_by_kind={kind.name.lower(): int(kinds[kind]) for kind in ActorKind if kinds[kind]},
                events_active={e.event_type.value: 1 for e in self.events_active},
                devices_online=online,
                devices_total=len(self.registry),
            ),
        )
        for listener in listeners:
            listener(self.frame)
        return self.frame

    def start(self) -> None:
        """Tick every 100 ms of wall time on a thread until ``stop()``."""

        def run() -> None:
            while not self._stop.wait(STEP_MS / 1000.0):
                self.tick()

        self._thread = threading.Thread(target=run, name="live-zone", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)


def point_on_lane(lane: Lane, s_m: float) -> tuple[float, float]:
    shape = lane.shape_xy
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(shape, axis=0).T))])
    return float(np.interp(s_m, along, shape[:, 0])), float(np.interp(s_m, along, shape[:, 1]))


def build_live_zone(
    road_map: RoadMap, *, start_ms: int, vehicles: int = 300, pedestrians: int = 60, zone: str = ZONE
) -> LiveZone:
    """The scene of the dashboard test on ``road_map``; see the module docstring."""
    movers = Movers(road_map, vehicles=vehicles, pedestrians=pedestrians)
    first = movers.snapshot(0, start_ms)
    stopped_lane = str(first.lane_id[0]) if first.lane_id is not None else None
    stopped = RoadEvent(
        event_id="EV-STOP-1",
        event_type=EventType.STOPPED_VEHICLE,
        phase=EventPhase.STARTED,
        lane_id=stopped_lane,
        s_m=float(first.s_m[0]),
        x_m=float(first.x_m[0]),
        y_m=float(first.y_m[0]),
        severity=4,
        confidence=0.93,
        start_ms=start_ms - 48_000,
        update_ms=start_ms,
        track_ids=[int(first.track_id[0])],
        details={"dwell_s": 48.0},
    )
    # a queue on the longest road lane of another edge, away from the stopped vehicle
    stopped_edge = road_map.lane(stopped_lane).edge_id if stopped_lane else None
    queue_lane = max(
        (
            lane
            for lane in road_map.drivable_lanes("passenger")
            if lane.edge_id != stopped_edge and road_map.edges[lane.edge_id].function == "normal"
        ),
        key=lambda lane: lane.length_m,
    )
    queue_x, queue_y = point_on_lane(queue_lane, queue_lane.length_m * 0.3)
    queue = RoadEvent(
        event_id="EV-QUEUE-2",
        event_type=EventType.CONGESTION,
        phase=EventPhase.UPDATED,
        lane_id=queue_lane.id,
        s_m=queue_lane.length_m * 0.3,
        x_m=queue_x,
        y_m=queue_y,
        severity=2,
        confidence=0.81,
        start_ms=start_ms - 260_000,
        update_ms=start_ms - 2_000,
        extent_m=queue_lane.length_m * 0.6,
        details={"speed_mps": 1.4},
    )
    ended_x, ended_y = point_on_lane(queue_lane, queue_lane.length_m * 0.8)
    wrong_way = RoadEvent(
        event_id="EV-WRONG-0",
        event_type=EventType.WRONG_WAY,
        phase=EventPhase.ENDED,
        lane_id=queue_lane.id,
        s_m=queue_lane.length_m * 0.8,
        x_m=ended_x,
        y_m=ended_y,
        severity=5,
        confidence=0.88,
        start_ms=start_ms - 600_000,
        update_ms=start_ms - 540_000,
        end_ms=start_ms - 540_000,
        details={"speed_mps": 8.2},
    )
    junctions = road_map.signalised_junctions()
    units = tuple(Unit(f"R{k + 1:03d}", j.x_m, j.y_m) for k, j in enumerate(junctions))
    live = LiveZone(
        road_map=road_map,
        zone=zone,
        movers=movers,
        start_ms=start_ms,
        units=units,
        silent_unit=units[len(units) // 2].id if units else "",
        store=EventHistory([queue, wrong_way]),
        events_active=(stopped, queue),
    )
    lon, lat = road_map.geo.local_to_wgs84([u.x_m for u in units], [u.y_m for u in units])
    for unit, lon_deg, lat_deg in zip(units, lon.tolist(), lat.tolist(), strict=True):
        live.registry.provision(unit.id, kind="rsu", zone=zone, lon_deg=lon_deg, lat_deg=lat_deg)
    for k, tls_id in enumerate(sorted(road_map.signal_controllers)):
        # SUMO's controller ids may hold characters that topics cannot: the device gets its own id
        live.signal_devices[tls_id] = f"S{k + 1:03d}"
        live.registry.provision(f"S{k + 1:03d}", kind="signal", zone=zone, name=tls_id[:128])
    live.tick()
    return live
