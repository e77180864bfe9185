"""Road events matched to the twin's scripted incidents, and scored: the pure core of ``eval events``.

Where it sits: ``events.py`` replays a recording (fusion → signal states → event detector → advisory
service) and collects, as plain records, what the platform published and what the twin knew; this module
decides which event found which incident and what that scores. Nothing here reads files or runs the
pipeline, so every rule can be tested on constructed data.

Matching, per event type (``INCIDENT_EVENT_TYPE`` maps incident kinds to the type a detector should
raise). An event *can* match an incident of its type when

- time: the event was alive (first publication … ENDED) at some moment between ``early_s`` before the
  incident's reference time and ``late_s`` after its end;
- place: at one of its publications in that window it was within ``max_distance_m`` of the incident — of
  the incident's own actor where the incident has one (a speeding car moves; the event follows it), of the
  incident's scripted spot otherwise; for congestion, on the incident's edge or one feeding it, or within
  the queue's extent plus ``max_distance_m`` of the spot.

Each incident takes at most one event and each event at most one incident (Hungarian assignment: the event
detected closest in time to the incident's reference, then the nearest). Matched pairs are true
positives; an incident left without an event is a miss; an event left without an incident is a false
positive of its type, and is then explained: a *duplicate* (it could have matched an incident of its type
that another event took: the detector split one incident in two), *secondary* (it lies near an incident
of another kind, e.g. the queue behind a lane closure), or a *false alarm* (no incident anywhere near:
raised on normal traffic).

Detection delay: the first publication's time (when the platform published it, not the ``start_ms`` the
detector back-dates to) minus the incident's reference time: ``event_ms`` for kinds with one defining
moment (speeding over the truth's threshold, crossing the stop line on red, time to collision under 2 s,
a surge's queue reaching the truth's size), else its start.

Advisory delay: from the incident's reference time to the first moment an advisory for its event reached
an affected vehicle: a connected vehicle whose true lane is in the advisory's relevance lanes. Through a
roadside unit it arrives at ``max(sent + that unit's downlink delay, the vehicle's first frame in the
zone)``, for as long as the advisory is not cancelled; sent directly, at ``sent + direct_delay_ms`` if the
vehicle is in the zone then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from roadcloud.errors import SettingError
from roadcloud.events.model import EventPhase, EventType, RoadEvent
from roadcloud.messages.truth import IncidentKind
from roadcloud.services.model import Advisory, AdvisoryState

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

INCIDENT_EVENT_TYPE: Mapping[IncidentKind, EventType | None] = {
    IncidentKind.STOPPED_VEHICLE: EventType.STOPPED_VEHICLE,
    IncidentKind.WRONG_WAY_VEHICLE: EventType.WRONG_WAY,
    IncidentKind.DEMAND_SURGE: EventType.CONGESTION,
    IncidentKind.SPEEDING_VEHICLE: EventType.SPEEDING,
    IncidentKind.SLOW_VEHICLE: EventType.SLOW_VEHICLE,
    IncidentKind.PEDESTRIAN_ON_CARRIAGEWAY: EventType.VULNERABLE_USER_ON_CARRIAGEWAY,
    IncidentKind.RED_LIGHT_RUNNER: EventType.RED_LIGHT_VIOLATION,
    IncidentKind.NEAR_COLLISION: EventType.COLLISION_RISK,
    # A lane closure is declared by the road operator (road operations, #ops), not detected: no event
    # type scores it. The queue it causes upstream is real congestion; it is reported as secondary.
    IncidentKind.LANE_CLOSURE: None,
}
"""What a detector should raise for each scripted incident kind (None: nothing is to be detected)."""

DEFAULT_MAX_DISTANCE_M = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchConfig:
    """How close in space and time an event must be to an incident to count as finding it."""

    max_distance_m: float = DEFAULT_MAX_DISTANCE_M
    #: an event may be alive this long before the incident's reference time (stamps and rounding)
    early_s: float = 2.0
    #: and still count this long after the incident ended (detectors hold an event before ending it)
    late_s: float = 10.0
    #: an unmatched event this close to an incident of another kind is its consequence, not a false alarm
    secondary_distance_m: float = 60.0

    def __post_init__(self) -> None:
        for name in ("max_distance_m", "secondary_distance_m"):
            if not getattr(self, name) > 0:
                raise SettingError(f"{name} is {getattr(self, name)}; give a positive distance in metres")
        for name in ("early_s", "late_s"):
            if not getattr(self, name) >= 0:
                raise SettingError(f"{name} is {getattr(self, name)}; give zero or more seconds")


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """One scripted incident as the truth told it, over its whole life. ``end_ms``: its last frame in
    the truth. ``reference_ms``: the moment detection delays count from. ``realised``: False for
    an incident whose defining act never happened (the scene did not allow it), which is not scored."""

    incident_id: str
    kind: IncidentKind
    lane_id: str
    x_m: float
    y_m: float
    start_ms: int
    end_ms: int
    reference_ms: int
    realised: bool = True
    actor_id: str | None = None
    details: Mapping[str, float] = field(default_factory=dict)

    @property
    def event_type(self) -> EventType | None:
        return INCIDENT_EVENT_TYPE[self.kind]


@dataclass(frozen=True, slots=True, eq=False)
class Trajectory:
    """Where one twin actor was (truth frames, ascending ``time_ms``)."""

    time_ms: IntArray
    x_m: FloatArray
    y_m: FloatArray

    def positions_at(self, time_ms: IntArray, *, within_ms: int = 1_000) -> tuple[FloatArray, FloatArray]:
        """Positions at the nearest frames to the given times; NaN where the actor was not on the road
        within ``within_ms`` of that time."""
        times = np.asarray(time_ms, dtype=np.int64)
        if len(self.time_ms) == 0:
            nan = np.full(len(times), np.nan)
            return nan, nan.copy()
        right = np.clip(np.searchsorted(self.time_ms, times), 0, len(self.time_ms) - 1)
        left = np.clip(right - 1, 0, len(self.time_ms) - 1)
        nearest = np.where(
            np.abs(self.time_ms[left] - times) <= np.abs(self.time_ms[right] - times), left, right
        )
        close = np.abs(self.time_ms[nearest] - times) <= within_ms
        return np.where(close, self.x_m[nearest], np.nan), np.where(close, self.y_m[nearest], np.nan)


@dataclass(frozen=True, slots=True)
class EventContext:
    """What the truth showed at an event's place when it was first published: the nearest actor."""

    actor_id: str
    actor_kind: str
    distance_m: float
    speed_mps: float
    lane_id: str
    limit_mps: float | None = None
    to_stop_line_m: float | None = None
    light: str | None = None  # the actor's lane's light at the stop line, where signalised
    #: the road user ahead of it on its lane (within 80 m): what may explain how it moves
    leader: str | None = None
    #: the incident the nearest actor belongs to (its vehicle, a near collision's lead, a surge's cars)
    incident_id: str | None = None

    @property
    def waiting_at_red(self) -> bool:
        """Standing in front of a red light: what normal traffic does, never an event."""
        return (
            self.speed_mps < 1.0
            and self.light == "red"
            and self.to_stop_line_m is not None
            and self.to_stop_line_m < 60.0
        )

    def describe(self) -> str:
        parts = [f"nearest truth {self.actor_id} ({self.actor_kind}) {self.distance_m:.1f} m away"]
        speed = f"{self.speed_mps:.1f} m/s"
        if self.limit_mps:
            speed += f" = {self.speed_mps / self.limit_mps:.2f}x the {self.limit_mps:.1f} m/s limit"
        parts.append(speed)
        parts.append(f"on {self.lane_id}")
        if self.to_stop_line_m is not None:
            parts.append(
                f"{self.to_stop_line_m:.0f} m before the stop line"
                + (f" ({self.light})" if self.light else "")
            )
        if self.incident_id is not None:
            parts.append(f"part of incident {self.incident_id}")
        if self.leader:
            parts.append(f"behind {self.leader}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True, eq=False)
class EventRecord:
    """One road event over its life, from its publications. ``emitted_ms``: when each publication came
    out of the platform (the fusion tick, i.e. the live map's time plus its latency budget); the first
    is the detection. ``ended_ms``: the ENDED publication, or the end of the replay if it never ended."""

    event_id: str
    event_type: EventType
    emitted_ms: IntArray
    x_m: FloatArray
    y_m: FloatArray
    lane_ids: tuple[str | None, ...]
    extent_m: FloatArray
    ended_ms: int
    confidence: float
    severity: int
    details: Mapping[str, float] = field(default_factory=dict)
    context: EventContext | None = None

    @property
    def detected_ms(self) -> int:
        return int(self.emitted_ms[0])

    @property
    def duration_s(self) -> float:
        return (self.ended_ms - self.detected_ms) / 1000.0


def event_records(
    publications: Iterable[tuple[int, RoadEvent]],
    *,
    replay_end_ms: int,
    contexts: Mapping[str, EventContext] | None = None,
) -> list[EventRecord]:
    """Group ``(emitted_ms, RoadEvent)`` publications by event id, in order of first publication."""
    grouped: dict[str, list[tuple[int, RoadEvent]]] = {}
    for emitted_ms, event in publications:
        grouped.setdefault(event.event_id, []).append((emitted_ms, event))
    records = []
    contexts = contexts or {}
    for event_id, items in grouped.items():
        items.sort(key=lambda item: item[0])
        first = items[0][1]
        ended = [ms for ms, event in items if event.phase == EventPhase.ENDED]
        records.append(
            EventRecord(
                event_id=event_id,
                event_type=first.event_type,
                emitted_ms=np.array([ms for ms, _ in items], dtype=np.int64),
                x_m=np.array([event.x_m for _, event in items], dtype=np.float64),
                y_m=np.array([event.y_m for _, event in items], dtype=np.float64),
                lane_ids=tuple(event.lane_id for _, event in items),
                extent_m=np.array([event.extent_m for _, event in items], dtype=np.float64),
                ended_ms=ended[0] if ended else max(replay_end_ms, items[-1][0]),
                confidence=max(event.confidence for _, event in items),
                severity=max(event.severity for _, event in items),
                details=dict(items[-1][1].details),
                context=contexts.get(event_id),
            )
        )
    records.sort(key=lambda record: (record.detected_ms, record.event_id))
    return records


@dataclass(frozen=True, slots=True)
class LaneLayout:
    """Just enough of the map for congestion matching: each lane's edge, and for each edge the edges
    whose traffic flows into it (through a junction)."""

    edge_of_lane: Mapping[str, str]
    feeders: Mapping[str, frozenset[str]]

    def near_edges(self, lane_id: str) -> frozenset[str]:
        edge = self.edge_of_lane.get(lane_id)
        if edge is None:
            return frozenset()
        return frozenset({edge}) | self.feeders.get(edge, frozenset())


# -- matching ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    event_id: str
    incident_id: str
    event_type: EventType
    distance_m: float
    delay_ms: int


@dataclass(frozen=True, slots=True)
class UnmatchedEvent:
    """A false positive and what explains it: ``cause`` is ``duplicate`` (of ``incident_id``, which
    another event found), ``secondary`` (near ``incident_id`` of another kind) or ``false_alarm``."""

    event: EventRecord
    cause: str
    incident_id: str | None = None
    incident_kind: IncidentKind | None = None


@dataclass(frozen=True, slots=True)
class MissedIncident:
    """An incident no event found; the nearest event of its type (if any) to help find out why."""

    incident: IncidentRecord
    nearest_event_id: str | None = None
    nearest_distance_m: float | None = None
    nearest_offset_s: float | None = None  # that event's detection minus the incident's reference time


@dataclass(frozen=True, slots=True)
class Matching:
    matches: tuple[Match, ...]
    unmatched: tuple[UnmatchedEvent, ...]
    missed: tuple[MissedIncident, ...]


def distance_to_incident(
    event: EventRecord,
    incident: IncidentRecord,
    trajectories: Mapping[str, Trajectory],
    layout: LaneLayout | None,
    config: MatchConfig,
    *,
    max_distance_m: float | None = None,
) -> float | None:
    """The smallest distance (metres) between the event's publications and the incident during the
    incident's window, or None when they are never close enough in that window (see the module doc)."""
    limit_m = config.max_distance_m if max_distance_m is None else max_distance_m
    window_start = min(incident.reference_ms, incident.start_ms) - round(config.early_s * 1000)
    window_end = incident.end_ms + round(config.late_s * 1000)
    if event.detected_ms > window_end or event.ended_ms < window_start:
        return None
    times = event.emitted_ms
    # Publications while the event was alive inside the window; the last one before the window also
    # counts, because an event holds its place until its next publication.
    inside = (times >= window_start) & (times <= window_end)
    before = np.flatnonzero(times < window_start)
    if len(before):
        inside[before[-1]] = True
    rows = np.flatnonzero(inside)
    if len(rows) == 0:
        return None
    ref_x = np.full(len(rows), incident.x_m)
    ref_y = np.full(len(rows), incident.y_m)
    trajectory = trajectories.get(incident.actor_id or "")
    if trajectory is not None:
        clamped = np.clip(times[rows], window_start, window_end)
        actor_x, actor_y = trajectory.positions_at(clamped)
        known = ~np.isnan(actor_x)
        ref_x = np.where(known, actor_x, ref_x)
        ref_y = np.where(known, actor_y, ref_y)
    distance_m = np.hypot(event.x_m[rows] - ref_x, event.y_m[rows] - ref_y)
    if incident.kind == IncidentKind.DEMAND_SURGE:
        # A queue is reported at its tail and reaches extent_m downstream: allow its length.
        distance_m = np.maximum(distance_m - event.extent_m[rows], 0.0)
        if layout is not None:
            near = layout.near_edges(incident.lane_id)
            on_edge = np.array([layout.edge_of_lane.get(event.lane_ids[r] or "") in near for r in rows])
            distance_m = np.where(on_edge, 0.0, distance_m)
    best = float(np.min(distance_m))
    return best if best <= limit_m else None


def match_events(
    events: Sequence[EventRecord],
    incidents: Sequence[IncidentRecord],
    trajectories: Mapping[str, Trajectory],
    *,
    layout: LaneLayout | None = None,
    config: MatchConfig | None = None,
) -> Matching:
    """One event per incident and one incident per event, per event type; see the module doc."""
    config = config or MatchConfig()
    scored = [i for i in incidents if i.realised and i.event_type is not None]
    matches: list[Match] = []
    taken_events: set[str] = set()
    taken_incidents: set[str] = set()
    for event_type in EventType:
        type_events = [e for e in events if e.event_type == event_type]
        type_incidents = [i for i in scored if i.event_type == event_type]
        if not type_events or not type_incidents:
            continue
        distance_m = np.full((len(type_events), len(type_incidents)), np.inf)
        for row, found in enumerate(type_events):
            for col, truth in enumerate(type_incidents):
                near_m = distance_to_incident(found, truth, trajectories, layout, config)
                if near_m is not None:
                    distance_m[row, col] = near_m
        feasible = np.isfinite(distance_m)
        offset_s = (
            np.abs(
                np.array([e.detected_ms for e in type_events], dtype=np.float64)[:, None]
                - np.array([i.reference_ms for i in type_incidents], dtype=np.float64)[None, :]
            )
            / 1000.0
        )
        # The event detected closest in time to the incident is its detection (a later one for the same
        # incident is a second event); between events raised together, the nearer one.
        big = 1e12
        cost = np.where(feasible, offset_s + 0.01 * np.where(feasible, distance_m, 0.0), big)
        rows, cols = linear_sum_assignment(cost)
        for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
            if not feasible[row, col]:
                continue
            found, truth = type_events[row], type_incidents[col]
            matches.append(
                Match(
                    event_id=found.event_id,
                    incident_id=truth.incident_id,
                    event_type=event_type,
                    distance_m=float(distance_m[row, col]),
                    delay_ms=found.detected_ms - truth.reference_ms,
                )
            )
            taken_events.add(found.event_id)
            taken_incidents.add(truth.incident_id)
    unmatched = [
        _explain(event, incidents, trajectories, layout, config)
        for event in events
        if event.event_id not in taken_events
    ]
    missed = [
        _nearest_miss(incident, events, trajectories, layout, config)
        for incident in scored
        if incident.incident_id not in taken_incidents
    ]
    return Matching(tuple(matches), tuple(unmatched), tuple(missed))


def _explain(
    event: EventRecord,
    incidents: Sequence[IncidentRecord],
    trajectories: Mapping[str, Trajectory],
    layout: LaneLayout | None,
    config: MatchConfig,
) -> UnmatchedEvent:
    same_type = [i for i in incidents if i.realised and i.event_type == event.event_type]
    for incident in same_type:
        if distance_to_incident(event, incident, trajectories, layout, config) is not None:
            return UnmatchedEvent(event, "duplicate", incident.incident_id, incident.kind)
    nearest: tuple[float, IncidentRecord] | None = None
    for incident in incidents:
        distance_m = distance_to_incident(
            event, incident, trajectories, layout, config, max_distance_m=config.secondary_distance_m
        )
        if distance_m is not None and (nearest is None or distance_m < nearest[0]):
            nearest = (distance_m, incident)
    if nearest is not None:
        return UnmatchedEvent(event, "secondary", nearest[1].incident_id, nearest[1].kind)
    # Far from any incident's spot, but raised on one of its road users (a surge's queue reaches far).
    owner = event.context.incident_id if event.context is not None else None
    for incident in incidents:
        if incident.incident_id == owner:
            return UnmatchedEvent(event, "secondary", incident.incident_id, incident.kind)
    return UnmatchedEvent(event, "false_alarm")


def _nearest_miss(
    incident: IncidentRecord,
    events: Sequence[EventRecord],
    trajectories: Mapping[str, Trajectory],
    layout: LaneLayout | None,
    config: MatchConfig,
) -> MissedIncident:
    best: tuple[float, EventRecord] | None = None
    for event in events:
        if event.event_type != incident.event_type:
            continue
        distance_m = distance_to_incident(
            event, incident, trajectories, layout, config, max_distance_m=np.inf
        )
        if distance_m is not None and (best is None or distance_m < best[0]):
            best = (distance_m, event)
    if best is None:
        return MissedIncident(incident)
    return MissedIncident(
        incident,
        nearest_event_id=best[1].event_id,
        nearest_distance_m=best[0],
        nearest_offset_s=(best[1].detected_ms - incident.reference_ms) / 1000.0,
    )


# -- scores --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TypeScore:
    """Per event type: incidents to find (realised), events raised, and what matched. Delays in seconds
    over the true positives (NaN when there are none)."""

    event_type: EventType
    truths: int
    detected: int
    true_positives: int
    false_positives: int
    false_negatives: int
    false_alarms: int  # of the false positives, those with no incident of any kind nearby
    delay_p50_s: float
    delay_max_s: float
    advisory_reached: int = 0  # true positives whose advisory reached an affected vehicle
    advisory_p50_s: float = float("nan")
    advisory_max_s: float = float("nan")

    @property
    def precision(self) -> float:
        raised = self.true_positives + self.false_positives
        return self.true_positives / raised if raised else float("nan")

    @property
    def recall(self) -> float:
        return self.true_positives / self.truths if self.truths else float("nan")


def score_matching(
    matching: Matching,
    events: Sequence[EventRecord],
    incidents: Sequence[IncidentRecord],
    *,
    advisory_delays_ms: Mapping[str, int] | None = None,
) -> dict[EventType, TypeScore]:
    """Counts, precision, recall and delays per event type. ``advisory_delays_ms``: per matched incident
    id, reference time to first affected vehicle reached (incidents absent: no advisory reached anyone)."""
    advisory_delays_ms = advisory_delays_ms or {}
    scores = {}
    for event_type in EventType:
        matched = [m for m in matching.matches if m.event_type == event_type]
        delays_s = np.array([m.delay_ms / 1000.0 for m in matched])
        reached_s = np.array(
            [
                advisory_delays_ms[m.incident_id] / 1000.0
                for m in matched
                if m.incident_id in advisory_delays_ms
            ]
        )
        unmatched = [u for u in matching.unmatched if u.event.event_type == event_type]
        scores[event_type] = TypeScore(
            event_type=event_type,
            truths=sum(1 for i in incidents if i.realised and i.event_type == event_type),
            detected=sum(1 for e in events if e.event_type == event_type),
            true_positives=len(matched),
            false_positives=len(unmatched),
            false_negatives=sum(1 for m in matching.missed if m.incident.event_type == event_type),
            false_alarms=sum(1 for u in unmatched if u.cause == "false_alarm"),
            delay_p50_s=float(np.median(delays_s)) if len(delays_s) else float("nan"),
            delay_max_s=float(np.max(delays_s)) if len(delays_s) else float("nan"),
            advisory_reached=len(reached_s),
            advisory_p50_s=float(np.median(reached_s)) if len(reached_s) else float("nan"),
            advisory_max_s=float(np.max(reached_s)) if len(reached_s) else float("nan"),
        )
    return scores


# -- advisories ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class ConnectedFrames:
    """Where the connected vehicles were, per truth frame, column-wise: frame ``f`` holds rows
    ``offsets[f]:offsets[f + 1]`` of ``vehicle`` (numbers into ``vehicle_ids``: their BSM ids) and
    ``lane`` (numbers into ``lane_ids``; -1 off any lane)."""

    time_ms: IntArray
    offsets: IntArray
    vehicle: IntArray
    lane: IntArray
    vehicle_ids: tuple[str, ...]
    lane_ids: tuple[str, ...]

    @classmethod
    def build(cls, frames: Iterable[tuple[int, Sequence[str], Sequence[str]]]) -> ConnectedFrames:
        """From ``(time_ms, vehicle BSM ids, their lane ids)`` per frame, in time order."""
        vehicle_numbers: dict[str, int] = {}
        lane_numbers: dict[str, int] = {}
        times: list[int] = []
        counts: list[int] = []
        vehicles: list[int] = []
        lanes: list[int] = []
        for time_ms, vehicle_ids, lane_ids in frames:
            times.append(time_ms)
            counts.append(len(vehicle_ids))
            vehicles.extend(vehicle_numbers.setdefault(v, len(vehicle_numbers)) for v in vehicle_ids)
            lanes.extend(
                lane_numbers.setdefault(lane, len(lane_numbers)) if lane else -1 for lane in lane_ids
            )
        return cls(
            time_ms=np.array(times, dtype=np.int64),
            offsets=np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64),
            vehicle=np.array(vehicles, dtype=np.int64),
            lane=np.array(lanes, dtype=np.int64),
            vehicle_ids=tuple(vehicle_numbers),
            lane_ids=tuple(lane_numbers),
        )

    def first_in_zone(self, lane_ids: Iterable[str], from_ms: int, until_ms: int | None) -> int | None:
        """Time of the first frame at or after ``from_ms`` (and before ``until_ms``) with a connected
        vehicle on one of ``lane_ids``; None if there is none."""
        numbers = {number for number, lane in enumerate(self.lane_ids) if lane in set(lane_ids)}
        if not numbers or len(self.time_ms) == 0:
            return None
        first = int(np.searchsorted(self.time_ms, from_ms, side="left"))
        last = len(self.time_ms) if until_ms is None else int(np.searchsorted(self.time_ms, until_ms, "left"))
        if first >= last:
            return None
        rows = slice(int(self.offsets[first]), int(self.offsets[last]))
        hits = np.flatnonzero(np.isin(self.lane[rows], np.fromiter(numbers, dtype=np.int64)))
        if len(hits) == 0:
            return None
        frame = int(np.searchsorted(self.offsets, self.offsets[first] + hits[0], side="right")) - 1
        return int(self.time_ms[frame])

    def in_zone(self, vehicle_id: str, lane_ids: Iterable[str], at_ms: int) -> bool:
        """Whether connected vehicle ``vehicle_id`` was on one of ``lane_ids`` in the frame at ``at_ms``
        (the last frame at or before it)."""
        if vehicle_id not in self.vehicle_ids or len(self.time_ms) == 0:
            return False
        frame = int(np.searchsorted(self.time_ms, at_ms, side="right")) - 1
        if frame < 0:
            return False
        rows = slice(int(self.offsets[frame]), int(self.offsets[frame + 1]))
        number = self.vehicle_ids.index(vehicle_id)
        lanes = self.lane[rows][self.vehicle[rows] == number]
        wanted = set(lane_ids)
        return any(self.lane_ids[lane] in wanted for lane in lanes.tolist() if lane >= 0)


def first_reach_ms(
    advisories: Sequence[Advisory],
    frames: ConnectedFrames,
    *,
    rsu_delay_ms: Mapping[str, int],
    direct_delay_ms: int,
) -> int | None:
    """When the first affected connected vehicle received any of ``advisories`` (the publications of one
    event's advisory, any order); None if none ever did. See the module doc for the rule."""
    ordered = sorted(advisories, key=lambda a: a.sent_ms)
    # An update can cancel it at units that no longer cover its zone while it goes on elsewhere: it is
    # over only when a cancellation is its last publication.
    cancelled_ms = ordered[-1].sent_ms if ordered and ordered[-1].state == AdvisoryState.CANCELLED else None
    best: int | None = None
    for advisory in ordered:
        if advisory.state == AdvisoryState.CANCELLED:
            continue
        if cancelled_ms is not None and advisory.sent_ms > cancelled_ms:
            continue
        lanes = advisory.relevance_lane_ids
        delays = [rsu_delay_ms[rsu] for rsu in advisory.via_rsu_ids if rsu in rsu_delay_ms]
        if delays:
            arrives_ms = advisory.sent_ms + min(delays)
            # The unit repeats the advisory until it is cancelled: a vehicle entering later gets it then.
            frame_ms = frames.first_in_zone(lanes, arrives_ms - (arrives_ms % 100), cancelled_ms)
            if frame_ms is not None:
                reached = max(arrives_ms, frame_ms)
                best = reached if best is None else min(best, reached)
        arrives_ms = advisory.sent_ms + direct_delay_ms
        if any(frames.in_zone(vehicle, lanes, arrives_ms) for vehicle in advisory.vehicle_ids):
            best = arrives_ms if best is None else min(best, arrives_ms)
    return best
