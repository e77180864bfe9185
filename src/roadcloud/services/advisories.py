"""Advisories: road events become RSI (and ETSI DENM) messages sent down to the field, plus the per-frame
services for connected vehicles.

Data flow, once per 100 ms tick of the cloud pipeline:

    RoadEvent publications ─▶ AdvisoryService.on_events ─▶ RSI + DENM to the covering roadside units
                                                          (cancellation when an event ends)
    LdmSnapshot + ConnectedVehicles + SignalStates ─▶ AdvisoryService.on_frame
        ├─▶ RSI + DENM directly to connected vehicles inside an active zone (entering, or all at start)
        ├─▶ SpeedGuidance to vehicles approaching a signalised stop line   (speed_advice)
        └─▶ RSM of the fused objects around each vehicle                  (sensor_sharing)

Every output is a ``Downlink``: topic, wire payload, and the ``Advisory`` record of the publication on
its first downlink (``None`` on the others, so a publication is recorded once however many devices it
goes to). Topics follow ``roadcloud/v1/{zone}/{rsu|vehicle}/{id}/{rsi|denm|glosa|rsm}/down``.

How an advisory lives (one per event): STARTED → the RSI goes to every roadside unit whose broadcast
reaches the relevance zone (the unit repeats it locally until told otherwise) and, in the same tick's
``on_frame``, directly to every connected vehicle inside the zone; later, vehicles entering the zone get
it directly. UPDATED with a changed zone (or severity) → the new RSI to the units covering the new zone,
a cancellation to units that no longer do, and again directly to the vehicles inside. ENDED → the
cancellation to every unit that carried it and to every still-connected vehicle that got it directly.

Cancellation. T/CSAE 53 RSI has no cancel flag; an ``RTEData`` says when it is active in its
``timeDetails``. roadcloud never knows an event's end in advance, so it sends ``endTime`` only to end
one: an RTE whose ``endTime`` is at or before the current minute is over (``rte_is_cancelled``). The same
RTE id, event type and reference paths are kept so a receiver matches it to what it holds. The DENM
counterpart is the standard one: same actionID, ``termination = isCancellation``.

RSI fields, in T/CSAE 53 units: ``id`` the cloud's sender id; ``refPos`` the event position (WGS84,
1e-7°); one ``RTEData`` with ``rteId`` (0-255, unique among active advisories), ``eventType`` (GB/T 29100
code, see ``codes``), ``eventSource`` 5 (detection), ``eventPos`` offset 0, ``eventRadius`` (0.1 m: the
queue length, at least 5 m), ``description`` (words plus ``[advisory id]``), ``timeDetails`` (start
minute, end minute on cancellation), ``priority`` the event's severity (1-5 of 0-7), ``referencePaths``
(the relevance zone) and ``eventConfidence`` (0.005 steps).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from roadcloud.bus.topics import topic as build_topic
from roadcloud.errors import RoadcloudError
from roadcloud.events.model import EventPhase, RoadEvent
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.map import LaneMatcher, RoadMap
from roadcloud.messages import RSI, Position3D, PositionOffsetLL, RSITimeDetails, RTEData
from roadcloud.messages.etsi import (
    DenmEvent,
    RelevanceDistance,
    RelevanceTrafficDirection,
    Termination,
    encode_denm,
)
from roadcloud.messages.json_codec import encode
from roadcloud.messages.units import deg_to_latlon_units, epoch_ms_to_moy
from roadcloud.services.codes import DESCRIPTION, denm_cause_code, rsi_event_type
from roadcloud.services.config import ServiceConfig
from roadcloud.services.model import Advisory, AdvisoryKind, AdvisoryState
from roadcloud.services.relevance import CoverageTable, RelevanceZone, RoadsideUnitCoverage, ZoneBuilder
from roadcloud.services.sensor_sharing import SensorSharing
from roadcloud.services.speed_advice import SignalLookup, SpeedAdvisor
from roadcloud.services.vehicles import LaneMatching, VehicleStates

_log = logging.getLogger(__name__)

EVENT_SOURCE_DETECTION = 5  # T/CSAE 53 EventSource: detected by the road's own sensors
STATION_TYPE_ROADSIDE_UNIT = 15  # ETSI StationType of fixed infrastructure
MIN_EVENT_RADIUS_M = 5.0
MAX_RTE_IDS = 256
_ADVISORY_TAG = re.compile(r"\[([^\[\]]+)\]\s*$")
_MAX_TOPIC_CACHE = 65_536
_BOX_MARGIN_M = 10.0  # GNSS error and lane matching reach: vehicles this close to a zone get matched


@dataclass(frozen=True, slots=True)
class Downlink:
    """One message for one field device. ``advisory`` is the publication's record on its first downlink,
    ``None`` on the rest of the same publication."""

    topic: str
    payload: bytes
    advisory: Advisory | None = None


@dataclass(slots=True)
class ServiceCounts:
    """Counters since start."""

    advisories_started: int = 0
    advisories_updated: int = 0
    advisories_cancelled: int = 0
    rsi_sent: int = 0
    denm_sent: int = 0
    denm_failed: int = 0  # DENMs that could not be encoded (the RSI still went)
    glosa_sent: int = 0
    rsm_sent: int = 0
    events_without_lane: int = 0  # events the map could not place: no zone, no advisory
    events_ignored: int = 0  # UPDATED/ENDED of an event never seen, or bad event data
    rte_id_reused: int = 0  # more than 256 advisories active at once
    frame_errors: int = 0  # per-frame services that raised (logged; the others still ran)


def rte_is_cancelled(rte: RTEData, now_ms: int) -> bool:
    """Whether an RTE says its event is over: it carries an end minute at or before ``now_ms``'s."""
    details = rte.time_details
    return (
        details is not None and details.end_time is not None and details.end_time <= epoch_ms_to_moy(now_ms)
    )


def advisory_tag(rte: RTEData) -> str | None:
    """The roadcloud advisory id an RTE's description ends with (``"… [adv-E12]"``), if any."""
    if rte.description is None:
        return None
    found = _ADVISORY_TAG.search(rte.description)
    return found.group(1) if found else None


class Vehicles(Protocol):
    """``ConnectedVehicles`` or anything else that yields ``VehicleStates`` for a time."""

    def states(self, now_ms: int) -> VehicleStates: ...


@dataclass(slots=True, eq=False)
class _Live:
    """One active advisory's state."""

    advisory_id: str
    event: RoadEvent
    zone: RelevanceZone
    rte_id: int
    denm_sequence: int
    state: AdvisoryState
    first_sent_ms: int
    via_rsu_ids: tuple[str, ...]
    rsi_payload: bytes
    denm_payload: bytes | None
    lane_low_m: NDArray[np.float64]  # per lane of the service's table (+1 slot for unmatched): zone span
    lane_high_m: NDArray[np.float64]
    box_m: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # the zone's extent, with a margin
    sent_now: set[str] = field(default_factory=set)  # vehicles sent the current version directly
    sent_ever: set[str] = field(default_factory=set)  # vehicles sent any version directly


class AdvisoryService:
    """Turns road events and the live map into downlinks; pure (no IO, no clock).

    ``units``: the zone's roadside units; ``lane_matcher`` (default: passenger lanes of ``road_map``)
    places vehicles on lanes when ``ConnectedVehicles`` was built without one.
    """

    def __init__(
        self,
        road_map: RoadMap,
        zone: str,
        units: tuple[RoadsideUnitCoverage, ...] | list[RoadsideUnitCoverage],
        config: ServiceConfig | None = None,
        *,
        lane_matcher: LaneMatching | None = None,
    ) -> None:
        self.road_map = road_map
        self.zone = zone
        self.config = config or ServiceConfig()
        self.counts = ServiceCounts()
        build_topic(zone, "rsu", "R0", "rsi", "down")  # checks the zone name once, with a clear error
        self._zones = ZoneBuilder(road_map, self.config)
        self._coverage = CoverageTable(units)
        self._matcher: LaneMatching = lane_matcher or LaneMatcher(road_map, vehicle_class="passenger")
        self._lane_table = tuple(self._matcher.lane_ids)
        self._lane_slot = {lane_id: index for index, lane_id in enumerate(self._lane_table)}
        self._speed = SpeedAdvisor(road_map, self.config, lane_table=self._lane_table)
        self._sharing = SensorSharing(road_map.geo, self.config)
        self._live: dict[str, _Live] = {}
        self._rte_in_use: set[int] = set()
        self._next_denm_sequence = 0
        self._rsi_count = 0
        self._topics: dict[tuple[str, str, str], str] = {}
        self._connected: frozenset[str] = frozenset()

    # -- what the pipeline reads ----------------------------------------------------------------------

    @property
    def active(self) -> list[Advisory]:
        """One record per active advisory: its current state, the units carrying it and every vehicle
        it was sent to directly."""
        return [
            Advisory(
                advisory_id=live.advisory_id,
                kind=AdvisoryKind.ROAD_EVENT,
                state=live.state,
                event_id=live.event.event_id,
                sent_ms=live.first_sent_ms,
                relevance_lane_ids=list(live.zone.lane_ids),
                via_rsu_ids=list(live.via_rsu_ids),
                vehicle_ids=sorted(live.sent_ever),
                summary=DESCRIPTION[live.event.event_type],
                rte_id=live.rte_id,
            )
            for live in self._live.values()
        ]

    def zone_of(self, event_id: str) -> RelevanceZone | None:
        """The relevance zone of an active advisory's event."""
        live = self._live.get(event_id)
        return live.zone if live is not None else None

    # -- events ---------------------------------------------------------------------------------------

    def on_events(self, publications: list[RoadEvent], now_ms: int) -> list[Downlink]:
        """RSI/DENM to roadside units for started, changed and ended events. Never raises: an event that
        cannot be handled is counted and skipped."""
        downlinks: list[Downlink] = []
        for event in publications:
            try:
                _check(event)
                if event.phase == EventPhase.ENDED:
                    downlinks += self._end(event, now_ms)
                elif event.event_id in self._live:
                    downlinks += self._update(event, now_ms)
                else:
                    downlinks += self._start(event, now_ms)
            except (RoadcloudError, ValueError) as error:
                self.counts.events_ignored += 1
                _log.warning("advisory for event %s skipped: %s", event.event_id, error)
        return downlinks

    def _start(self, event: RoadEvent, now_ms: int) -> list[Downlink]:
        zone = self._zone_for(event)
        if zone is None:
            return []
        rte_id = self._allocate_rte_id()
        live = _Live(
            advisory_id=f"adv-{event.event_id}",
            event=event,
            zone=zone,
            rte_id=rte_id,
            denm_sequence=self._next_denm_sequence,
            state=AdvisoryState.ACTIVE,
            first_sent_ms=now_ms,
            via_rsu_ids=self._coverage.covering(zone),
            rsi_payload=b"",
            denm_payload=None,
            lane_low_m=np.empty(0),
            lane_high_m=np.empty(0),
        )
        self._next_denm_sequence = (self._next_denm_sequence + 1) % 65536
        self._set_zone(live, zone)
        self._encode(live, now_ms, cancelled=False)
        self._live[event.event_id] = live
        self.counts.advisories_started += 1
        return self._to_units(live, live.via_rsu_ids, now_ms, live.state)

    def _update(self, event: RoadEvent, now_ms: int) -> list[Downlink]:
        live = self._live[event.event_id]
        zone = self._zone_for(event)
        previous = live.event
        live.event = event
        if zone is None:
            return []
        if (
            not zone.differs(live.zone, tolerance_m=self.config.zone_update_m)
            and event.severity == previous.severity
        ):
            return []  # nothing a vehicle would act on changed
        covering = self._coverage.covering(zone)
        dropped = tuple(rsu for rsu in live.via_rsu_ids if rsu not in covering)
        downlinks = []
        if dropped:
            self._encode(live, now_ms, cancelled=True)
            downlinks += self._to_units(live, dropped, now_ms, AdvisoryState.CANCELLED)
        self._set_zone(live, zone)
        live.state = AdvisoryState.UPDATED
        live.via_rsu_ids = covering
        live.sent_now = set()  # the vehicles inside get the new version directly in on_frame
        self._encode(live, now_ms, cancelled=False)
        self.counts.advisories_updated += 1
        return downlinks + self._to_units(live, live.via_rsu_ids, now_ms, live.state)

    def _end(self, event: RoadEvent, now_ms: int) -> list[Downlink]:
        live = self._live.pop(event.event_id, None)
        if live is None:
            self.counts.events_ignored += 1
            return []
        self._rte_in_use.discard(live.rte_id)
        live.event = event
        live.state = AdvisoryState.CANCELLED
        self._encode(live, now_ms, cancelled=True)
        self.counts.advisories_cancelled += 1
        vehicles = sorted(vid for vid in live.sent_ever if vid in self._connected)
        return self._publication(live, live.via_rsu_ids, vehicles, now_ms, AdvisoryState.CANCELLED)

    def _zone_for(self, event: RoadEvent) -> RelevanceZone | None:
        lane_id: str | None = event.lane_id
        s_m = event.s_m
        if lane_id is None or lane_id not in self.road_map.lanes or not self._zones.is_drivable(lane_id):
            # Place it on the nearest lane instead (an event on a sidewalk, or without a lane).
            match = self._matcher.match(np.array([event.x_m]), np.array([event.y_m]))
            lane_id = match.lane_id(0)
            s_m = float(match.s_m[0])
        if lane_id is None or not self._zones.is_drivable(lane_id):
            self.counts.events_without_lane += 1
            return None
        return self._zones.build(lane_id, s_m)

    def _set_zone(self, live: _Live, zone: RelevanceZone) -> None:
        live.zone = zone
        low = np.full(len(self._lane_table) + 1, np.inf)
        high = np.full(len(self._lane_table) + 1, -np.inf)
        for span in zone.spans:
            slot = self._lane_slot.get(span.lane_id)
            if slot is not None:
                low[slot] = min(low[slot], span.s_from_m)
                high[slot] = max(high[slot], span.s_to_m)
        live.lane_low_m, live.lane_high_m = low, high
        start, end, radius = zone.segments()
        margin_m = (float(radius.max()) if len(radius) else 0.0) + _BOX_MARGIN_M
        points = np.concatenate([start, end]) if len(start) else np.zeros((1, 2))
        low_xy, high_xy = points.min(axis=0) - margin_m, points.max(axis=0) + margin_m
        live.box_m = (float(low_xy[0]), float(low_xy[1]), float(high_xy[0]), float(high_xy[1]))

    def _allocate_rte_id(self) -> int:
        for rte_id in range(MAX_RTE_IDS):
            if rte_id not in self._rte_in_use:
                self._rte_in_use.add(rte_id)
                return rte_id
        self.counts.rte_id_reused += 1
        return self._rsi_count % MAX_RTE_IDS

    # -- messages -------------------------------------------------------------------------------------

    def _encode(self, live: _Live, now_ms: int, *, cancelled: bool) -> None:
        """The RSI (and DENM) payloads of the advisory's current version, built once per publication:
        every unit and vehicle gets the same bytes."""
        event = live.event
        lon_deg, lat_deg = self.road_map.geo.local_to_wgs84(np.array([event.x_m]), np.array([event.y_m]))
        ref_lon = int(deg_to_latlon_units(lon_deg)[0])
        ref_lat = int(deg_to_latlon_units(lat_deg)[0])
        end_ms = event.end_ms if event.end_ms is not None else now_ms
        rte = RTEData(
            rte_id=live.rte_id,
            event_type=rsi_event_type(event.event_type),
            event_source=EVENT_SOURCE_DETECTION,
            event_pos=PositionOffsetLL(lon=0, lat=0),
            event_radius=min(round(max(event.extent_m, MIN_EVENT_RADIUS_M) * 10), 65535),
            description=f"{DESCRIPTION[event.event_type]} [{live.advisory_id}]",
            time_details=RSITimeDetails(
                start_time=epoch_ms_to_moy(event.start_ms),
                end_time=epoch_ms_to_moy(end_ms) if cancelled else None,
            ),
            priority=min(max(event.severity, 0), 7),
            reference_paths=live.zone.reference_paths(
                self.road_map.geo, ref_lon_units=ref_lon, ref_lat_units=ref_lat
            ),
            event_confidence=round(min(max(event.confidence, 0.0), 1.0) * 200),
        )
        rsi = RSI(
            msg_cnt=self._rsi_count % 128,
            moy=epoch_ms_to_moy(now_ms),
            id=self.config.sender_id,
            ref_pos=Position3D(lat=ref_lat, long=ref_lon),
            rtes=[rte],
        )
        self._rsi_count += 1
        live.rsi_payload = encode(rsi)
        live.denm_payload = self._denm(
            live, Position3D(lat=ref_lat, long=ref_lon), now_ms, cancelled=cancelled
        )

    def _denm(self, live: _Live, position: Position3D, now_ms: int, *, cancelled: bool) -> bytes | None:
        cause = denm_cause_code(live.event.event_type)
        if not self.config.send_denm or cause is None:
            return None
        event = live.event
        denm = DenmEvent(
            station_id=self.config.denm_station_id,
            sequence_number=live.denm_sequence,
            detection_time_ms=event.start_ms,
            reference_time_ms=now_ms,
            termination=Termination.CANCELLATION if cancelled else None,
            event_pos=position,
            relevance_distance=_relevance_distance(live.zone.distance_m),
            relevance_traffic_direction=RelevanceTrafficDirection.UPSTREAM_TRAFFIC,
            validity_duration_s=self.config.denm_validity_s,
            station_type=STATION_TYPE_ROADSIDE_UNIT,
            cause_code=cause,
            information_quality=max(1, min(7, round(min(max(event.confidence, 0.0), 1.0) * 7))),
        )
        try:
            return encode_denm(denm)
        except (RoadcloudError, ValueError, TypeError) as error:
            # pycrate refuses values outside the ASN.1 ranges (e.g. times before 2004): RSI still goes.
            self.counts.denm_failed += 1
            _log.warning("DENM for advisory %s not encoded: %s", live.advisory_id, error)
            return None

    def _record(
        self,
        live: _Live,
        now_ms: int,
        state: AdvisoryState,
        rsu_ids: tuple[str, ...] | list[str],
        vehicle_ids: list[str],
    ) -> Advisory:
        return Advisory(
            advisory_id=live.advisory_id,
            kind=AdvisoryKind.ROAD_EVENT,
            state=state,
            event_id=live.event.event_id,
            sent_ms=now_ms,
            cancelled_ms=now_ms if state == AdvisoryState.CANCELLED else None,
            relevance_lane_ids=list(live.zone.lane_ids),
            via_rsu_ids=list(rsu_ids),
            vehicle_ids=vehicle_ids,
            summary=DESCRIPTION[live.event.event_type],
            rte_id=live.rte_id,
        )

    def _to_units(
        self, live: _Live, rsu_ids: tuple[str, ...], now_ms: int, state: AdvisoryState
    ) -> list[Downlink]:
        return self._publication(live, rsu_ids, [], now_ms, state)

    def _publication(
        self,
        live: _Live,
        rsu_ids: tuple[str, ...],
        vehicle_ids: list[str],
        now_ms: int,
        state: AdvisoryState,
    ) -> list[Downlink]:
        targets = [("rsu", rsu) for rsu in rsu_ids] + [("vehicle", vid) for vid in vehicle_ids]
        if not targets:
            return []
        downlinks = []
        for kind, device in targets:
            downlinks.append(Downlink(self._topic(kind, device, "rsi"), live.rsi_payload))
            if live.denm_payload is not None:
                downlinks.append(Downlink(self._topic(kind, device, "denm"), live.denm_payload))
        self.counts.rsi_sent += len(targets)
        self.counts.denm_sent += len(targets) if live.denm_payload is not None else 0
        first = downlinks[0]
        downlinks[0] = Downlink(
            first.topic, first.payload, self._record(live, now_ms, state, rsu_ids, vehicle_ids)
        )
        return downlinks

    def _topic(self, device_kind: str, device_id: str, message: str) -> str:
        key = (device_kind, device_id, message)
        cached = self._topics.get(key)
        if cached is None:
            if len(self._topics) >= _MAX_TOPIC_CACHE:
                self._topics.clear()
            cached = self._topics[key] = build_topic(self.zone, device_kind, device_id, message, "down")
        return cached

    # -- every frame ----------------------------------------------------------------------------------

    def on_frame(
        self,
        snapshot: LdmSnapshot,
        vehicles: Vehicles | VehicleStates,
        signals: SignalLookup | None,
        now_ms: int,
    ) -> list[Downlink]:
        """Direct advisories to vehicles inside active zones, speed advice and sensor sharing. Never
        raises: a service that fails is logged and counted, and the others still run."""
        try:
            states = self._states(vehicles, signals, now_ms)
        except Exception:
            self._frame_error("vehicle states")
            return []
        self._connected = frozenset(states.vehicle_id.tolist())
        downlinks: list[Downlink] = []
        parts: list[tuple[str, Callable[[], list[Downlink]]]] = [
            ("zones", lambda: self._enter_zones(states, now_ms))
        ]
        if self.config.glosa_enabled and signals is not None:
            parts.append(("speed advice", lambda: self._speed_advice(states, signals, now_ms)))
        if self.config.sharing_enabled:
            parts.append(("sensor sharing", lambda: self._sensor_sharing(snapshot, states, now_ms)))
        for name, part in parts:
            try:
                downlinks += part()
            except Exception:
                self._frame_error(name)
        return downlinks

    def _frame_error(self, name: str) -> None:
        # A bug here must not stop the pipeline's tick; the traceback goes to the log (every 100th).
        self.counts.frame_errors += 1
        if self.counts.frame_errors % 100 == 1:
            _log.exception("%s failed in on_frame (error #%d)", name, self.counts.frame_errors)

    def _states(
        self, vehicles: Vehicles | VehicleStates, signals: SignalLookup | None, now_ms: int
    ) -> VehicleStates:
        states = vehicles if isinstance(vehicles, VehicleStates) else vehicles.states(now_ms)
        if states.lane_id_table is not self._lane_table and states.lane_id_table != self._lane_table:
            # Lanes are needed only near an active zone and for the vehicles due speed advice: matching
            # just those is a fraction of matching every connected vehicle every frame.
            need = self._near_zones(states)
            if self.config.glosa_enabled and signals is not None:
                need |= self._speed.due(states.vehicle_id, now_ms)
            states = states.with_lanes(self._matcher, rows=np.flatnonzero(need))
        return states

    def _near_zones(self, states: VehicleStates) -> NDArray[np.bool_]:
        """Vehicles inside the bounding box of some active zone (a cheap first cut before lanes)."""
        if not self._live or len(states) == 0:
            return np.zeros(len(states), dtype=bool)
        boxes = np.array([live.box_m for live in self._live.values()])  # (zones, 4)
        x, y = states.x_m[:, None], states.y_m[:, None]
        inside = (x >= boxes[:, 0]) & (x <= boxes[:, 2]) & (y >= boxes[:, 1]) & (y <= boxes[:, 3])
        near: NDArray[np.bool_] = np.any(inside, axis=1)
        return near

    def _enter_zones(self, states: VehicleStates, now_ms: int) -> list[Downlink]:
        if not self.config.direct_to_vehicles or not self._live or len(states) == 0:
            return []
        slot = np.where(states.lane_index >= 0, states.lane_index, len(self._lane_table))
        downlinks: list[Downlink] = []
        for live in self._live.values():
            inside = (states.s_m >= live.lane_low_m[slot]) & (states.s_m <= live.lane_high_m[slot])
            ids = [vid for vid in states.vehicle_id[inside].tolist() if vid not in live.sent_now]
            if not ids:
                continue
            live.sent_now.update(ids)
            live.sent_ever.update(ids)
            downlinks += self._publication(live, (), sorted(ids), now_ms, live.state)
        return downlinks

    def _speed_advice(self, states: VehicleStates, signals: SignalLookup, now_ms: int) -> list[Downlink]:
        advice = self._speed.advise(states, signals, now_ms)
        if not advice:
            return []
        downlinks = [Downlink(self._topic("vehicle", item.id, "glosa"), encode(item)) for item in advice]
        self.counts.glosa_sent += len(downlinks)
        downlinks[0] = Downlink(
            downlinks[0].topic,
            downlinks[0].payload,
            Advisory(
                advisory_id=f"glosa-{now_ms}",
                kind=AdvisoryKind.SPEED_ADVICE,
                state=AdvisoryState.ACTIVE,
                event_id=None,
                sent_ms=now_ms,
                vehicle_ids=[item.id for item in advice],
                summary=f"speed advice to {len(advice)} vehicles",
            ),
        )
        return downlinks

    def _sensor_sharing(self, snapshot: LdmSnapshot, states: VehicleStates, now_ms: int) -> list[Downlink]:
        shared = self._sharing.share(snapshot, states, now_ms)
        if not shared:
            return []
        downlinks = [Downlink(self._topic("vehicle", vid, "rsm"), encode(rsm)) for vid, rsm in shared]
        self.counts.rsm_sent += len(downlinks)
        downlinks[0] = Downlink(
            downlinks[0].topic,
            downlinks[0].payload,
            Advisory(
                advisory_id=f"sharing-{now_ms}",
                kind=AdvisoryKind.SENSOR_SHARING,
                state=AdvisoryState.ACTIVE,
                event_id=None,
                sent_ms=now_ms,
                vehicle_ids=[vid for vid, _ in shared],
                summary=f"{sum(len(rsm.participants) for _, rsm in shared)} objects shared",
            ),
        )
        return downlinks


def _check(event: RoadEvent) -> None:
    """Values a decoded ``RoadEvent`` cannot guarantee (it may have been built in code)."""
    if not (math.isfinite(event.x_m) and math.isfinite(event.y_m) and math.isfinite(event.s_m)):
        raise ValueError(
            f"event {event.event_id} has no finite position ({event.x_m}, {event.y_m}, s {event.s_m})"
        )


def _relevance_distance(distance_m: float) -> RelevanceDistance:
    for limit_m, code in (
        (50.0, RelevanceDistance.LESS_THAN_50_M),
        (100.0, RelevanceDistance.LESS_THAN_100_M),
        (200.0, RelevanceDistance.LESS_THAN_200_M),
        (500.0, RelevanceDistance.LESS_THAN_500_M),
        (1000.0, RelevanceDistance.LESS_THAN_1000_M),
        (5000.0, RelevanceDistance.LESS_THAN_5_KM),
        (10000.0, RelevanceDistance.LESS_THAN_10_KM),
    ):
        if distance_m < limit_m:
            return code
    return RelevanceDistance.OVER_10_KM
