"""The cloud pipeline: one object that wires ingest → fusion → events → services and publishes a
``LiveFrame`` every 100 ms.

    bus up ─▶ handle(topic, payload) ─▶ Ingestor ─▶ RSM/BSM ─▶ FusionEngine.add
                                                 └▶ SPAT ───▶ SignalStates.update
                                                 └▶ BSM ────▶ ConnectedVehicles.update
    tick(now_ms) ─▶ FusionEngine.tick ─▶ LdmSnapshot ─▶ EventDetector.update ─▶ RoadEvent changes
                                                    └──────────────────────────▶ AdvisoryService ─▶ bus down
                 ─▶ LiveFrame ─▶ frame listeners (API stream, store writer)

The pipeline itself does no IO: ``publish`` (the bus) and the frame listeners are injected, and time comes
from the caller (``tick(now_ms)``; twin time in the demo and in replays, the wall clock when serving a live
field — see ``runner``). ``handle`` and ``tick`` may be called from different threads: one lock serialises
them; readers (``latest``, ``stats``, ``devices``) never wait for a tick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from roadcloud.bus.topics import Topic
from roadcloud.cloud.frame import LiveFrame, PipelineStats, SignalGroupState, SignalHeadState
from roadcloud.cloud.site import ZoneSite
from roadcloud.events import EventConfig, EventDetector, RoadEvent, SignalStates
from roadcloud.fusion import FusionConfig, FusionEngine, LdmSnapshot
from roadcloud.ingest import DeviceRegistry, DeviceState, Ingestor
from roadcloud.ingest.registry import Device
from roadcloud.map import Junction, SignalController
from roadcloud.messages import BSM, MAP, RSM, SPAT, ActorKind, DeviceKind, Message
from roadcloud.services import AdvisoryService, ConnectedVehicles, Downlink, ServiceConfig

_log = logging.getLogger(__name__)

Publish = Callable[[str, bytes], None]
FrameListener = Callable[[LiveFrame], None]

# The headline device count is the zone's infrastructure: a vehicle that drove away is not a fault.
ROADSIDE_KINDS = frozenset({DeviceKind.RSU, DeviceKind.SIGNAL, DeviceKind.SENSOR})
LATENCY_WINDOW_TICKS = 600  # one minute of ticks for the latency percentiles
RATE_WINDOW_MS = 5_000


@dataclass(frozen=True, slots=True, kw_only=True)
class CloudConfig:
    """Settings of every stage, injected as one frozen value."""

    fusion: FusionConfig = field(default_factory=FusionConfig)
    events: EventConfig = field(default_factory=EventConfig)
    services: ServiceConfig = field(default_factory=ServiceConfig)
    # Open test beds let OBUs enrol themselves on first contact; a closed zone provisions every vehicle.
    accept_unprovisioned_vehicles: bool = True
    max_message_age_ms: int = 5_000


class CloudPipeline:
    """The zone's cloud side in one process; see the module docstring for the data flow."""

    def __init__(
        self,
        site: ZoneSite,
        *,
        registry: DeviceRegistry,
        clock_ms: Callable[[], int],
        publish: Publish | None = None,
        config: CloudConfig | None = None,
    ) -> None:
        self.site = site
        self.config = config or CloudConfig()
        self._registry = registry
        self._clock_ms = clock_ms
        self._publish = publish
        self._lock = threading.RLock()
        self._ingestor = Ingestor(
            registry,
            clock_ms=clock_ms,
            max_age_ms=self.config.max_message_age_ms,
            accept_unprovisioned_vehicles=self.config.accept_unprovisioned_vehicles,
            downstream=[self._on_message],
        )
        self._fusion = FusionEngine(self.config.fusion, site.road_map.geo, lane_matcher=site.lane_matcher)
        for unit in site.units:
            self._fusion.source_index(f"rsu/{unit.rsu_id}")
        self._signals = SignalStates(site.road_map)
        self._events = EventDetector(site.road_map, self.config.events)
        self._vehicles = ConnectedVehicles(site.road_map.geo, lane_matcher=site.lane_matcher)
        self._services = AdvisoryService(
            site.road_map, site.zone, site.units, self.config.services, lane_matcher=site.lane_matcher
        )
        self._signal_junctions = _signal_junctions(site)
        self._listeners: tuple[FrameListener, ...] = ()
        self._downlink_counts: dict[str, int] = {}
        self._tick_wall_ms: deque[float] = deque(maxlen=LATENCY_WINDOW_TICKS)
        self._rate_marks: deque[tuple[int, int, int]] = deque()
        self._listener_errors = 0
        self._last_snapshot_ms: int | None = None
        self._last_tick_ms: int | None = None
        self._latest = LiveFrame.empty(clock_ms())

    # -- properties the API reads ---------------------------------------------------------------------

    @property
    def zone(self) -> str:
        return self.site.zone

    def latest(self) -> LiveFrame:
        """The newest frame; a plain attribute read, so it never waits for a tick in progress."""
        return self._latest

    def add_frame_listener(self, listener: FrameListener) -> Callable[[], None]:
        """Call ``listener(frame)`` on the ticking thread after every tick; it must return at once (hand
        the frame to another thread). Returns a function that removes the listener."""
        with self._lock:
            self._listeners = (*self._listeners, listener)

        def remove() -> None:
            with self._lock:
                self._listeners = tuple(item for item in self._listeners if item is not listener)

        return remove

    # -- devices --------------------------------------------------------------------------------------

    def devices(self) -> list[DeviceState]:
        with self._lock:
            return self._registry.states(self._clock_ms())

    def device(self, device_id: str) -> DeviceState | None:
        with self._lock:
            return self._registry.state(device_id, self._clock_ms())

    def provision(
        self,
        device_id: str,
        *,
        kind: str,
        name: str | None = None,
        lon_deg: float | None = None,
        lat_deg: float | None = None,
    ) -> Device:
        """Provision a device of this zone; ``InputError`` names a duplicate id or a bad value."""
        with self._lock:
            return self._registry.provision(
                device_id,
                kind=kind,
                zone=self.zone,
                name=name,
                lon_deg=lon_deg,
                lat_deg=lat_deg,
                provisioned_at_ms=self._clock_ms(),
            )

    def remove_device(self, device_id: str) -> bool:
        with self._lock:
            if device_id not in self._registry:
                return False
            self._registry.remove(device_id)
            return True

    # -- input ----------------------------------------------------------------------------------------

    def handle(self, topic: str, payload: bytes) -> None:
        """A bus handler for the zone's up-stream topics; never raises (ingest counts what it drops)."""
        with self._lock:
            self._ingestor.handle(topic, payload)

    def _on_message(self, parsed: Topic, message: Message) -> None:
        now_ms = self._clock_ms()
        if isinstance(message, RSM):
            self._fusion.add(str(parsed), message, now_ms)
        elif isinstance(message, BSM):
            self._fusion.add(str(parsed), message, now_ms)
            self._vehicles.update(message, arrival_ms=now_ms)
        elif isinstance(message, SPAT):
            self._signals.update(message, received_ms=now_ms)
        elif isinstance(message, MAP):
            self._signals.learn_map(message)

    # -- the frame ------------------------------------------------------------------------------------

    def tick(self, now_ms: int) -> LiveFrame:
        """Fuse, detect and advise for one 100 ms step; publish downlinks and the new frame. A tick at or
        before the previous one (a caller repeating its last step) changes nothing and returns the latest
        frame."""
        if self._last_tick_ms is not None and now_ms <= self._last_tick_ms:
            return self._latest
        self._last_tick_ms = now_ms
        started_s = time.perf_counter()
        with self._lock:
            snapshot = self._fusion.tick(now_ms)
            # While fusion widens its latency budget the map's time can stand still for a tick; events
            # move only with the map.
            fresh = self._last_snapshot_ms is None or snapshot.time_ms > self._last_snapshot_ms
            changes = self._events.update(snapshot, self._signals) if fresh else []
            self._last_snapshot_ms = max(snapshot.time_ms, self._last_snapshot_ms or snapshot.time_ms)
            downlinks = self._services.on_events(changes, now_ms)
            downlinks += self._services.on_frame(snapshot, self._vehicles, self._signals, now_ms)
            device_changes = self._registry.sweep(now_ms)
            events_active = tuple(self._events.active)
            listeners = self._listeners
        self._send(downlinks)
        self._tick_wall_ms.append((time.perf_counter() - started_s) * 1000.0)
        frame = LiveFrame(
            time_ms=snapshot.time_ms,
            tick_ms=now_ms,
            snapshot=snapshot,
            events_active=events_active,
            event_changes=tuple(changes),
            advisories_active=tuple(self._services.active),
            advisory_changes=tuple(downlink.advisory for downlink in downlinks if downlink.advisory),
            signals=self._signal_heads(snapshot.time_ms),
            stats=self._stats(now_ms, snapshot, events_active),
            device_changes=tuple(device_changes),
        )
        self._latest = frame
        for listener in listeners:
            try:
                listener(frame)
            except Exception:
                self._listener_errors += 1
                _log.exception("frame listener %r raised", listener)
        return frame

    def _send(self, downlinks: list[Downlink]) -> None:
        for downlink in downlinks:
            name = downlink.topic.rsplit("/", 2)[-2]
            self._downlink_counts[name] = self._downlink_counts.get(name, 0) + 1
            if self._publish is not None:
                self._publish(downlink.topic, downlink.payload)

    def _signal_heads(self, time_ms: int) -> tuple[SignalHeadState, ...]:
        """Each controller's groups at ``time_ms`` (the LDM's time, so lights match the tracks drawn)."""
        heads = []
        for controller, junction in self._signal_junctions:
            groups = []
            for group in controller.groups:
                light = self._signals.group_light(controller.tls_id, group.index, time_ms)
                if light is None:
                    continue
                groups.append(
                    SignalGroupState(
                        group_id=group.index,
                        light=light.light,
                        likely_end_ms=light.likely_end_ms,
                        lane_ids=tuple(sorted({from_lane for from_lane, _ in group.connections})),
                    )
                )
            if groups:
                heads.append(
                    SignalHeadState(
                        controller_id=controller.tls_id,
                        junction_id=junction.id,
                        x_m=junction.x_m,
                        y_m=junction.y_m,
                        groups=tuple(groups),
                    )
                )
        return tuple(heads)

    # -- statistics -----------------------------------------------------------------------------------

    def stats(self) -> PipelineStats:
        return self._latest.stats

    def _stats(
        self, now_ms: int, snapshot: LdmSnapshot, events_active: tuple[RoadEvent, ...]
    ) -> PipelineStats:
        ingest = self._ingestor.stats()
        fusion = self._fusion.counts
        dropped = {reason.value: count for reason, count in ingest.dropped_by_reason.items()}
        dropped["fusion_late"] = fusion.late_dropped_total
        dropped["fusion_future"] = sum(fusion.future_dropped.values())
        downlink_total = sum(self._downlink_counts.values())
        self._rate_marks.append((now_ms, ingest.accepted_total, downlink_total))
        while len(self._rate_marks) > 2 and now_ms - self._rate_marks[0][0] > RATE_WINDOW_MS:
            self._rate_marks.popleft()
        first_ms, first_in, first_out = self._rate_marks[0]
        span_s = max(now_ms - first_ms, 1) / 1000.0
        latencies = np.fromiter(self._tick_wall_ms, dtype=np.float64)
        p50, p99 = np.percentile(latencies, [50, 99]) if len(latencies) else (0.0, 0.0)
        kinds = np.bincount(snapshot.kind, minlength=len(ActorKind) + 1)
        by_type = Counter(event.event_type.value for event in events_active)
        return PipelineStats(
            time_ms=now_ms,
            messages_in=dict(ingest.accepted),
            dropped=dropped,
            downlink_out=dict(self._downlink_counts),
            messages_per_s=(ingest.accepted_total - first_in) / span_s,
            downlink_per_s=(downlink_total - first_out) / span_s,
            tick_latency_p50_ms=float(p50),
            tick_latency_p99_ms=float(p99),
            ldm_age_ms=now_ms - snapshot.time_ms,
            tracks=len(snapshot),
            tracks_by_kind={kind.name.lower(): int(kinds[kind]) for kind in ActorKind if kinds[kind]},
            events_active=dict(by_type),
            devices_online=self._registry.online_count(now_ms, kinds=ROADSIDE_KINDS),
            devices_total=self._registry.count(kinds=ROADSIDE_KINDS),
            vehicles_online=self._registry.online_count(now_ms, kinds=(DeviceKind.VEHICLE,)),
        )

    def health(self) -> dict[str, str]:
        """Component → "ok" | "error"; fusion is in error when the live map is older than a second."""
        frame = self._latest
        age_ms = self._clock_ms() - frame.time_ms
        return {
            "ingest": "ok",
            "fusion": "ok" if age_ms <= 1_000 else "error",
            "listeners": "ok" if self._listener_errors == 0 else "error",
        }


def _signal_junctions(site: ZoneSite) -> list[tuple[SignalController, Junction]]:
    """Road traffic lights with the junction they are drawn at."""
    return [
        (controller, site.road_map.junctions[controller.junction_ids[0]])
        for controller in site.road_map.signal_controllers.values()
        if controller.phases and controller.groups and controller.junction_ids
    ]
