"""Road events and advisories against a twin recording's scripted incidents: ``roadcloud eval events``.

Where it sits: the end of evaluation for road events (#5). It replays one twin recording through the
cloud side exactly as ``roadcloud.cloud.pipeline`` wires it — fusion with lane matching
(``fuse_recording``), SPAT into ``SignalStates``, each live-map snapshot into ``EventDetector``, the
resulting publications into ``AdvisoryService`` (with BSMs into ``ConnectedVehicles`` for its direct
sends) — while it reads the ground truth beside them. ``event_matching`` then matches events to incidents
and scores them; this module renders the report.

    recording ─▶ fuse_recording ─▶ LdmSnapshot ─▶ EventDetector.update ─▶ RoadEvent publications ─┐
       │                                  SignalStates ◀─ SPAT                                    │
       │                                  ConnectedVehicles ◀─ BSM ─▶ AdvisoryService ◀──────────┤
       └─▶ ground truth ─▶ IncidentRecord, Trajectory, ConnectedFrames        Advisory records ◀──┘
                                         └──────────▶ event_matching.match_events / score ─▶ report

Every publication is stamped with the fusion tick it came out of (``LdmSnapshot.published_ms``): that is
when the platform knew. The recording carries the zone's manifest but not its network; the network is
read from the zone folder (``zone_dir``, or beside the recording), and must have the recording's
geo-reference.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from roadcloud.errors import RecordingError
from roadcloud.eval.event_matching import (
    ConnectedFrames,
    EventContext,
    EventRecord,
    IncidentRecord,
    LaneLayout,
    MatchConfig,
    Matching,
    Trajectory,
    TypeScore,
    event_records,
    first_reach_ms,
    match_events,
    score_matching,
)
from roadcloud.eval.truth import manifest_of
from roadcloud.events.config import EventConfig
from roadcloud.events.detector import EventDetector
from roadcloud.events.model import EventPhase, EventType, RoadEvent
from roadcloud.events.signal_state import SignalStates
from roadcloud.fusion.config import FusionConfig
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.fusion.replay import fuse_recording
from roadcloud.map import GeoReference, LaneMatcher, RoadMap
from roadcloud.messages import BSM, SPAT, ActorKind, GroundTruth, IncidentKind, IncidentTruth
from roadcloud.messages.json_codec import decode
from roadcloud.messages.truth import SURGE_QUEUE_VEHICLES
from roadcloud.services import (
    Advisory,
    AdvisoryKind,
    AdvisoryService,
    ConnectedVehicles,
    RoadsideUnitCoverage,
    ServiceConfig,
)
from roadcloud.twin.field import bsm_id
from roadcloud.twin.incidents import incident_of_actor
from roadcloud.twin.manifest import MANIFEST_NAME, Manifest, load_manifest, load_zone_map
from roadcloud.twin.recording import read_header, read_recording
from roadcloud.twin.runtime import Emission

DIRECT_DOWNLINK_MS = 40
"""Cloud to vehicle over the cellular network (Uu): as the twin's vehicle uplink."""

CONTEXT_FRAMES = 60
"""Truth frames kept to describe where an event started (6 s: longer than fusion's latency budget)."""

#: Incident kinds that are only scored once their defining moment happened (``IncidentTruth.event_ms``).
MOMENT_KINDS = frozenset(
    {
        IncidentKind.SPEEDING_VEHICLE,
        IncidentKind.RED_LIGHT_RUNNER,
        IncidentKind.NEAR_COLLISION,
        IncidentKind.DEMAND_SURGE,
    }
)

_LIGHT_NAMES = {"RED": "red", "YELLOW": "yellow", "PROTECTED_GREEN": "green", "PERMISSIVE_GREEN": "green"}


@dataclass(frozen=True, slots=True)
class EventReport:
    """What ``roadcloud eval events`` prints; ``table()`` renders it."""

    recording: str
    duration_s: float
    incidents: tuple[IncidentRecord, ...]
    events: tuple[EventRecord, ...]
    matching: Matching
    scores: dict[EventType, TypeScore]
    match_config: MatchConfig
    event_config: EventConfig
    start_ms: int
    advisories: int = 0
    wall_s: float = 0.0
    #: scripted in the manifest but never in the truth: waited for a moment the scene never gave
    never_started: tuple[tuple[str, IncidentKind], ...] = ()

    @property
    def lane_closures(self) -> int:
        return sum(1 for i in self.incidents if i.kind == IncidentKind.LANE_CLOSURE)

    @property
    def unrealised(self) -> tuple[IncidentRecord, ...]:
        return tuple(i for i in self.incidents if not i.realised)

    def false_alarms(self) -> list[EventRecord]:
        """Events raised with no incident of any kind near: on normal traffic."""
        return [u.event for u in self.matching.unmatched if u.cause == "false_alarm"]

    def table(self, *, show: int = 10) -> str:
        return render_report(self, show=show)


# -- the replay ----------------------------------------------------------------------------------------


def evaluate_events(
    path: Path,
    *,
    zone_dir: Path | None = None,
    event_config: EventConfig | None = None,
    fusion_config: FusionConfig | None = None,
    service_config: ServiceConfig | None = None,
    match_config: MatchConfig | None = None,
    progress: Callable[[int], None] | None = None,
) -> EventReport:
    """Replay ``path`` through fusion, events and advisories, and score the events against its incidents.

    ``zone_dir``: the zone folder with the recording's network (default: the recording's folder).
    ``progress`` is called with the twin time (UTC epoch ms) of each snapshot.
    """
    started_s = time.perf_counter()
    header = read_header(path)
    manifest = manifest_of(header, path)
    road_map = zone_network(path, manifest, zone_dir, expected=header.geo())
    event_config = event_config or EventConfig()
    match_config = match_config or MatchConfig()
    matcher = LaneMatcher(road_map)
    detector = EventDetector(road_map, event_config)
    signals = SignalStates(road_map)
    vehicles = ConnectedVehicles(road_map.geo)
    units = RoadsideUnitCoverage.from_manifest(manifest)
    # Speed advice and sensor sharing do not concern road events; leave them out of the replay.
    service_config = service_config or ServiceConfig(glosa_enabled=False, sharing_enabled=False)
    services = AdvisoryService(road_map, manifest.zone.name, units, service_config)
    side = _SideStream(read_recording(path), signals, vehicles, road_map)

    publications: list[tuple[int, RoadEvent]] = []
    contexts: dict[str, EventContext] = {}
    advisories: list[Advisory] = []
    last_ms = header.start_epoch_ms
    fed_ms: int | None = None
    for snapshot in fuse_recording(path, fusion_config, lane_matcher=matcher):
        tick_ms = snapshot.published_ms if snapshot.published_ms is not None else snapshot.time_ms + 100
        side.advance(tick_ms)
        if fed_ms is not None and snapshot.time_ms <= fed_ms:
            continue  # fusion repeats a time while its latency budget grows; the detector takes each once
        fed_ms = snapshot.time_ms
        changes = detector.update(snapshot, signals)
        for event in changes:
            publications.append((tick_ms, event))
            if event.phase == EventPhase.STARTED and event.event_id not in contexts:
                context = side.context(event, snapshot, signals)
                if context is not None:
                    contexts[event.event_id] = context
        downlinks = services.on_events(changes, tick_ms)
        downlinks += services.on_frame(snapshot, vehicles, signals, tick_ms)
        advisories.extend(
            d.advisory
            for d in downlinks
            if d.advisory is not None and d.advisory.kind == AdvisoryKind.ROAD_EVENT
        )
        last_ms = tick_ms
        if progress is not None:
            progress(snapshot.time_ms)
    side.advance(None)

    incidents = side.incidents()
    events = event_records(publications, replay_end_ms=last_ms, contexts=contexts)
    layout = lane_layout(road_map)
    matching = match_events(events, incidents, side.trajectories(), layout=layout, config=match_config)
    advisory_delays = advisory_delays_ms(
        matching,
        incidents,
        advisories,
        side.connected_frames(),
        rsu_delay_ms={unit.rsu_id: unit.network_delay_ms for unit in units},
    )
    scores = score_matching(matching, events, incidents, advisory_delays_ms=advisory_delays)
    seen = {incident.incident_id for incident in incidents}
    return EventReport(
        recording=path.name,
        duration_s=(side.last_truth_ms - header.start_epoch_ms) / 1000.0,
        incidents=tuple(incidents),
        events=tuple(events),
        matching=matching,
        scores=scores,
        match_config=match_config,
        event_config=event_config,
        start_ms=header.start_epoch_ms,
        advisories=len(advisories),
        wall_s=time.perf_counter() - started_s,
        never_started=tuple((i.id, i.kind) for i in manifest.incident if i.id not in seen),
    )


def advisory_delays_ms(
    matching: Matching,
    incidents: list[IncidentRecord] | tuple[IncidentRecord, ...],
    advisories: list[Advisory],
    frames: ConnectedFrames,
    *,
    rsu_delay_ms: dict[str, int],
    direct_delay_ms: int = DIRECT_DOWNLINK_MS,
) -> dict[str, int]:
    """Per matched incident: its reference time to the first affected connected vehicle reached by an
    advisory for the event that found it. Incidents whose advisory reached nobody are left out."""
    by_event: dict[str, list[Advisory]] = {}
    for advisory in advisories:
        if advisory.event_id is not None:
            by_event.setdefault(advisory.event_id, []).append(advisory)
    reference = {i.incident_id: i.reference_ms for i in incidents}
    delays = {}
    for match in matching.matches:
        reached = first_reach_ms(
            by_event.get(match.event_id, []),
            frames,
            rsu_delay_ms=rsu_delay_ms,
            direct_delay_ms=direct_delay_ms,
        )
        if reached is not None:
            delays[match.incident_id] = reached - reference[match.incident_id]
    return delays


def zone_network(path: Path, manifest: Manifest, zone_dir: Path | None, *, expected: GeoReference) -> RoadMap:
    """The recording's network: ``zone_dir / manifest.network.file`` (default: beside the recording),
    refused when its geo-reference is not the recording's."""
    folder = zone_dir if zone_dir is not None else path.parent
    network = folder / manifest.network.file
    if not network.exists():
        where = f"zone folder {zone_dir}" if zone_dir is not None else f"the recording's folder {path.parent}"
        raise RecordingError(
            f"{path} was recorded in zone {manifest.zone.name!r}, whose network {manifest.network.file} is "
            f"not in {where}; give the zone folder with --zone"
        )
    if (folder / MANIFEST_NAME).exists():
        # Generated zones share one geo-reference (anchored in Yizhuang): their names tell them apart.
        theirs, _ = load_manifest(folder)
        if theirs.zone.name != manifest.zone.name:
            raise RecordingError(
                f"{folder} holds zone {theirs.zone.name!r}, but {path} was recorded in zone "
                f"{manifest.zone.name!r}; give the zone folder the recording was made from with --zone"
            )
    road_map = load_zone_map(manifest, folder)
    offset_m = np.subtract(road_map.geo.net_offset_m, expected.net_offset_m)
    if road_map.geo.proj != expected.proj or not np.allclose(offset_m, 0.0, atol=1e-3):
        raise RecordingError(
            f"{network} is not the network {path} was recorded on (its geo-reference differs); give the "
            "zone folder the recording was made from with --zone"
        )
    return road_map


def lane_layout(road_map: RoadMap) -> LaneLayout:
    """Each lane's edge and, per edge, the edges that lead into it through a junction."""
    edge_of_lane = {lane_id: lane.edge_id for lane_id, lane in road_map.lanes.items()}
    feeders: dict[str, set[str]] = {}
    for connection in road_map.connections:
        source = edge_of_lane.get(connection.from_lane_id)
        target = edge_of_lane.get(connection.to_lane_id)
        if source is not None and target is not None and source != target:
            feeders.setdefault(target, set()).add(source)
    return LaneLayout(edge_of_lane, {edge: frozenset(sources) for edge, sources in feeders.items()})


@dataclass(slots=True)
class _IncidentTimeline:
    first_ms: int
    last_ms: int
    truth: IncidentTruth  # the latest


class _SideStream:
    """The recording's other streams, read beside fusion up to each tick: SPAT into the signal states,
    BSM into the connected vehicles, ground truth into incident timelines, incident actors'
    trajectories, connected vehicles' lanes, and a short history for describing where events start."""

    def __init__(
        self,
        emissions: Iterator[Emission],
        signals: SignalStates,
        vehicles: ConnectedVehicles,
        road_map: RoadMap,
    ) -> None:
        self._emissions = emissions
        self._pending: Emission | None = None
        self._signals = signals
        self._vehicles = vehicles
        self._road_map = road_map
        self._timelines: dict[str, _IncidentTimeline] = {}
        self._incident_actors: set[str] = set()
        self._paths: dict[str, tuple[list[int], list[float], list[float]]] = {}
        self._connected: list[tuple[int, list[str], list[str]]] = []
        self._bsm_ids: dict[str, str] = {}
        self._recent: deque[GroundTruth] = deque(maxlen=CONTEXT_FRAMES)
        self.last_truth_ms = 0

    def advance(self, until_ms: int | None) -> None:
        """Take in every message delivered at or before ``until_ms`` (all that are left, for None)."""
        while True:
            emission = self._pending if self._pending is not None else next(self._emissions, None)
            self._pending = None
            if emission is None:
                return
            if until_ms is not None and emission.delivery_ms > until_ms:
                self._pending = emission
                return
            self._take(emission)

    def _take(self, emission: Emission) -> None:
        name = emission.topic.rsplit("/", 2)[-2]
        if name == "spat":
            self._signals.update(decode(emission.payload, SPAT), received_ms=emission.delivery_ms)
        elif name == "bsm":
            self._vehicles.update(decode(emission.payload, BSM), arrival_ms=emission.delivery_ms)
        elif name == "truth":
            self._truth(decode(emission.payload, GroundTruth))

    def _truth(self, truth: GroundTruth) -> None:
        time_ms = truth.time_ms
        self.last_truth_ms = max(self.last_truth_ms, time_ms)
        for incident in truth.incidents:
            timeline = self._timelines.get(incident.incident_id)
            if timeline is None:
                self._timelines[incident.incident_id] = _IncidentTimeline(time_ms, time_ms, incident)
            else:
                timeline.last_ms, timeline.truth = time_ms, incident
            for actor_id in (incident.actor_id, incident.other_actor_id):
                if actor_id is not None:
                    self._incident_actors.add(actor_id)
        if self._incident_actors:
            for index, actor_id in enumerate(truth.actor_ids):
                if actor_id in self._incident_actors:
                    times, xs, ys = self._paths.setdefault(actor_id, ([], [], []))
                    times.append(time_ms)
                    xs.append(truth.x_m[index])
                    ys.append(truth.y_m[index])
        connected = [i for i, flag in enumerate(truth.connected) if flag]
        ids = [self._bsm_id(truth.actor_ids[i]) for i in connected]
        self._connected.append((time_ms, ids, [truth.lane_ids[i] for i in connected]))
        self._recent.append(truth)

    def _bsm_id(self, actor_id: str) -> str:
        found = self._bsm_ids.get(actor_id)
        if found is None:
            found = self._bsm_ids[actor_id] = bsm_id(actor_id)
        return found

    def context(self, event: RoadEvent, snapshot: LdmSnapshot, signals: SignalStates) -> EventContext | None:
        """The truth actor nearest to where an event was raised, at the live map's time."""
        truth = next((t for t in reversed(self._recent) if t.time_ms <= snapshot.time_ms), None)
        if truth is None or not truth.actor_ids:
            return None
        distance_m = np.hypot(np.asarray(truth.x_m) - event.x_m, np.asarray(truth.y_m) - event.y_m)
        row = int(np.argmin(distance_m))
        lane = self._road_map.lanes.get(truth.lane_ids[row])
        limit_mps = to_line_m = None
        light_name = None
        if lane is not None and not lane.is_internal:
            limit_mps = lane.speed_limit_mps
            end_x, end_y = lane.shape_xy[-1]
            to_line_m = float(math.hypot(end_x - truth.x_m[row], end_y - truth.y_m[row]))
            light = signals.lane_light(lane.id, truth.time_ms)
            if light is not None:
                light_name = _LIGHT_NAMES.get(light.light.name, light.light.name.lower())
        return EventContext(
            leader=_leader(truth, row),
            actor_id=truth.actor_ids[row],
            actor_kind=ActorKind(truth.kinds[row]).name.lower(),
            distance_m=float(distance_m[row]),
            speed_mps=truth.speed_mps[row],
            lane_id=truth.lane_ids[row],
            limit_mps=limit_mps,
            to_stop_line_m=to_line_m,
            light=light_name,
            incident_id=incident_of_actor(truth.actor_ids[row], self._timelines),
        )

    def incidents(self) -> list[IncidentRecord]:
        records = []
        for incident_id, timeline in self._timelines.items():
            truth = timeline.truth
            moment = truth.event_ms
            realised = truth.kind not in MOMENT_KINDS or moment is not None
            records.append(
                IncidentRecord(
                    incident_id=incident_id,
                    kind=truth.kind,
                    lane_id=truth.lane_id,
                    x_m=truth.x_m,
                    y_m=truth.y_m,
                    start_ms=truth.start_ms,
                    # Ended incidents leave the truth; their last frame is when they ended.
                    end_ms=truth.end_ms if truth.end_ms is not None else timeline.last_ms,
                    reference_ms=moment if moment is not None else truth.start_ms,
                    realised=realised,
                    actor_id=truth.actor_id,
                    details=dict(truth.details),
                )
            )
        return sorted(records, key=lambda record: (record.start_ms, record.incident_id))

    def trajectories(self) -> dict[str, Trajectory]:
        return {
            actor_id: Trajectory(
                np.array(times, dtype=np.int64),
                np.array(xs, dtype=np.float64),
                np.array(ys, dtype=np.float64),
            )
            for actor_id, (times, xs, ys) in self._paths.items()
        }

    def connected_frames(self) -> ConnectedFrames:
        return ConnectedFrames.build(self._connected)


def _leader(truth: GroundTruth, row: int, *, within_m: float = 80.0) -> str | None:
    """The nearest actor ahead of actor ``row`` on its lane: ``"veh12 (bicycle) 14 m ahead at 4.8 m/s"``."""
    lanes = np.asarray(truth.lane_ids, dtype=object)
    same = np.flatnonzero(lanes == truth.lane_ids[row])
    same = same[same != row]
    if len(same) == 0:
        return None
    heading = math.radians(truth.heading_deg[row])
    ahead_m = (np.asarray(truth.x_m)[same] - truth.x_m[row]) * math.sin(heading) + (
        np.asarray(truth.y_m)[same] - truth.y_m[row]
    ) * math.cos(heading)
    candidates = np.flatnonzero((ahead_m > 0.0) & (ahead_m <= within_m))
    if len(candidates) == 0:
        return None
    nearest = candidates[np.argmin(ahead_m[candidates])]
    other = int(same[nearest])
    kind = ActorKind(truth.kinds[other]).name.lower()
    speed_mps = truth.speed_mps[other]
    return f"{truth.actor_ids[other]} ({kind}) {ahead_m[nearest]:.0f} m ahead at {speed_mps:.1f} m/s"


# -- the report ----------------------------------------------------------------------------------------


def _seconds(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def _share(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def render_report(report: EventReport, *, show: int = 10) -> str:
    """The per-type table, then what explains the misses and the false positives."""
    at = report.start_ms

    def when(ms: int) -> str:
        return f"t={(ms - at) / 1000:.1f} s"

    scored = [i for i in report.incidents if i.realised and i.event_type is not None]
    lines = [
        f"{report.recording}: {report.duration_s:.0f} s, {len(report.incidents)} incidents "
        f"({len(scored)} to detect, {report.lane_closures} lane closures declared by operators, "
        f"{len(report.unrealised) + len(report.never_started)} never happened), {len(report.events)} events, "
        f"{report.advisories} advisory publications; match within {report.match_config.max_distance_m:g} m",
        "",
    ]
    header = (
        f"{'event type':<31} {'truths':>6} {'events':>6} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} "
        f"{'recall':>6} {'delay p50 s':>11} {'delay max s':>11} {'advised':>7} {'adv p50 s':>9} "
        f"{'adv max s':>9}"
    )
    lines.append(header)
    for event_type, score in report.scores.items():
        lines.append(
            f"{event_type.value:<31} {score.truths:>6} {score.detected:>6} {score.true_positives:>4} "
            f"{score.false_positives:>4} {score.false_negatives:>4} {_share(score.precision):>9} "
            f"{_share(score.recall):>6} {_seconds(score.delay_p50_s):>11} {_seconds(score.delay_max_s):>11} "
            f"{score.advisory_reached:>7} {_seconds(score.advisory_p50_s):>9} "
            f"{_seconds(score.advisory_max_s):>9}"
        )
    lines.append("")
    lines.append(
        "delay: first publication of the event (fusion tick) minus the incident's start, or its defining "
        "moment (speeding over 1.2x the limit, stop line crossed on red, time to collision under 2 s, "
        f"{SURGE_QUEUE_VEHICLES} vehicles standing on a surge's road); "
        "advised: true positives whose advisory reached an affected connected vehicle, adv: incident to then"
    )
    stopped = report.scores.get(EventType.STOPPED_VEHICLE)
    if stopped is not None and stopped.true_positives:
        bound_s = report.event_config.stopped_dwell_s + 1.0
        verdict = "within" if stopped.delay_max_s <= bound_s else "OVER"
        slowest = max(
            (m for m in report.matching.matches if m.event_type == EventType.STOPPED_VEHICLE),
            key=lambda m: m.delay_ms,
        )
        lines.append(
            f"stopped vehicle reported after at most {stopped.delay_max_s:.1f} s ({slowest.incident_id} by "
            f"{slowest.event_id}): {verdict} the dwell threshold "
            f"{report.event_config.stopped_dwell_s:g} s + 1 s"
        )
    at_red = [e for e in report.false_alarms() if e.context is not None and e.context.waiting_at_red]
    lines.append(
        f"events raised on traffic waiting at a red light: {len(at_red)}"
        + (" (" + ", ".join(e.event_id for e in at_red[:show]) + ")" if at_red and show else "")
    )

    unmatched = report.matching.unmatched
    causes = {
        cause: [u for u in unmatched if u.cause == cause]
        for cause in ("false_alarm", "secondary", "duplicate")
    }
    lines.append("")
    lines.append(
        f"false positives: {len(unmatched)} = {len(causes['false_alarm'])} false alarms on normal traffic "
        f"(no incident near) + {len(causes['secondary'])} near an incident of another kind + "
        f"{len(causes['duplicate'])} second events for one incident"
    )
    for cause, title in (
        ("false_alarm", "false alarms, longest first"),
        ("secondary", "near another incident"),
        ("duplicate", "second events"),
    ):
        items = sorted(causes[cause], key=lambda u: -u.event.duration_s)
        if not items:
            continue
        per_type: dict[str, int] = {}
        for item in items:
            per_type[item.event.event_type.value] = per_type.get(item.event.event_type.value, 0) + 1
        lines.append(
            f"  {title}: " + ", ".join(f"{name} {count}" for name, count in sorted(per_type.items()))
        )
        for item in items[:show]:
            event = item.event
            where = f"{event.lane_ids[0] or 'no lane'} ({event.x_m[0]:.0f}, {event.y_m[0]:.0f})"
            line = (
                f"    {event.event_id} {event.event_type.value} {when(event.detected_ms)} "
                f"for {event.duration_s:.1f} s at {where}"
            )
            if item.incident_id is not None:
                kind = item.incident_kind.value if item.incident_kind is not None else "?"
                line += f"; incident {item.incident_id} ({kind})"
            if event.context is not None:
                line += f"; {event.context.describe()}"
            if event.details:
                line += "; " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(event.details.items()))
            lines.append(line)
    if report.matching.missed:
        lines.append("")
        lines.append(f"missed incidents: {len(report.matching.missed)}")
        for missed in report.matching.missed[: max(show, 0) or None]:
            incident = missed.incident
            line = (
                f"  {incident.incident_id} {incident.kind.value} {when(incident.reference_ms)} "
                f"on {incident.lane_id} ({incident.x_m:.0f}, {incident.y_m:.0f})"
            )
            if incident.details:
                line += " [" + ", ".join(f"{k} {v:g}" for k, v in sorted(incident.details.items())) + "]"
            if missed.nearest_event_id is not None and missed.nearest_distance_m is not None:
                line += (
                    f"; nearest {incident.event_type.value if incident.event_type else ''} event "
                    f"{missed.nearest_event_id} {missed.nearest_distance_m:.0f} m away, "
                    f"{missed.nearest_offset_s:+.1f} s"
                )
            else:
                line += "; no event of its type while it lasted"
            lines.append(line)
    if report.unrealised or report.never_started:
        lines.append("")
        lines.append(
            "scripted but never happened (not scored): "
            + ", ".join(
                [f"{i.incident_id} {i.kind.value} (its act never came)" for i in report.unrealised]
                + [
                    f"{incident_id} {kind.value} (never started)"
                    for incident_id, kind in report.never_started
                ]
            )
        )
    lines.append("")
    lines.append(f"replayed in {report.wall_s:.0f} s")
    return "\n".join(lines)
