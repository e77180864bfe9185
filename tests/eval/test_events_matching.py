"""Matching road events to scripted incidents and scoring them, on constructed data with known answers."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from roadcloud.errors import SettingError
from roadcloud.eval.event_matching import (
    INCIDENT_EVENT_TYPE,
    ConnectedFrames,
    EventContext,
    EventRecord,
    IncidentRecord,
    LaneLayout,
    MatchConfig,
    Trajectory,
    event_records,
    first_reach_ms,
    match_events,
    score_matching,
)
from roadcloud.events.model import EventPhase, EventType, RoadEvent
from roadcloud.messages.truth import IncidentKind
from roadcloud.services.model import Advisory, AdvisoryKind, AdvisoryState

T0 = 1_780_000_000_000


def incident(
    incident_id: str,
    kind: IncidentKind,
    *,
    x_m: float = 0.0,
    y_m: float = 0.0,
    start_s: float = 0.0,
    end_s: float = 60.0,
    moment_s: float | None = None,
    lane_id: str = "a_0",
    actor_id: str | None = None,
    realised: bool = True,
) -> IncidentRecord:
    return IncidentRecord(
        incident_id=incident_id,
        kind=kind,
        lane_id=lane_id,
        x_m=x_m,
        y_m=y_m,
        start_ms=T0 + round(start_s * 1000),
        end_ms=T0 + round(end_s * 1000),
        reference_ms=T0 + round((moment_s if moment_s is not None else start_s) * 1000),
        realised=realised,
        actor_id=actor_id,
    )


def event(
    event_id: str,
    event_type: EventType,
    points: list[tuple[float, float, float]],
    *,
    ended_s: float | None = None,
    lane_id: str | None = "a_0",
    extent_m: float = 0.0,
) -> EventRecord:
    """An event from (emitted_s, x_m, y_m) publications."""
    emitted = np.array([T0 + round(t * 1000) for t, _, _ in points], dtype=np.int64)
    return EventRecord(
        event_id=event_id,
        event_type=event_type,
        emitted_ms=emitted,
        x_m=np.array([x for _, x, _ in points], dtype=np.float64),
        y_m=np.array([y for _, _, y in points], dtype=np.float64),
        lane_ids=tuple(lane_id for _ in points),
        extent_m=np.full(len(points), extent_m),
        ended_ms=T0 + round((ended_s if ended_s is not None else points[-1][0]) * 1000),
        confidence=0.9,
        severity=3,
    )


def test_every_incident_kind_maps_to_one_event_type_and_lane_closures_to_none() -> None:
    assert set(INCIDENT_EVENT_TYPE) == set(IncidentKind)
    assert INCIDENT_EVENT_TYPE[IncidentKind.LANE_CLOSURE] is None
    detected = [t for t in INCIDENT_EVENT_TYPE.values() if t is not None]
    assert sorted(detected) == sorted(EventType)  # every event type has exactly one incident kind


def test_true_positive_duplicate_false_alarm_and_miss_are_counted() -> None:
    incidents = [
        incident("I1", IncidentKind.STOPPED_VEHICLE, x_m=100.0, y_m=0.0, start_s=10.0, end_s=130.0),
        incident("I2", IncidentKind.STOPPED_VEHICLE, x_m=900.0, y_m=0.0, start_s=10.0, end_s=130.0),
    ]
    events = [
        event("E1", EventType.STOPPED_VEHICLE, [(20.5, 104.0, 3.0), (40.0, 104.0, 3.0)], ended_s=131.0),
        # The same stopped car again after the first event ended: a second event for one incident.
        event("E2", EventType.STOPPED_VEHICLE, [(135.0, 101.0, 0.0)], ended_s=139.0),
        event("E3", EventType.STOPPED_VEHICLE, [(50.0, 400.0, 400.0)], ended_s=60.0),  # nothing there
    ]
    matching = match_events(events, incidents, {})
    assert [(m.event_id, m.incident_id) for m in matching.matches] == [("E1", "I1")]
    assert matching.matches[0].delay_ms == 10_500
    assert matching.matches[0].distance_m == pytest.approx(5.0)
    causes = {u.event.event_id: (u.cause, u.incident_id) for u in matching.unmatched}
    assert causes == {"E2": ("duplicate", "I1"), "E3": ("false_alarm", None)}
    (missed,) = matching.missed
    assert missed.incident.incident_id == "I2"
    assert missed.nearest_event_id == "E3"  # the nearest stopped-vehicle event while it lasted, for debugging
    assert missed.nearest_distance_m == pytest.approx(math.hypot(500.0, 400.0))

    score = score_matching(matching, events, incidents)[EventType.STOPPED_VEHICLE]
    assert (score.truths, score.detected, score.true_positives) == (2, 3, 1)
    assert (score.false_positives, score.false_negatives, score.false_alarms) == (2, 1, 1)
    assert score.precision == pytest.approx(1 / 3)
    assert score.recall == pytest.approx(0.5)
    assert score.delay_p50_s == pytest.approx(10.5)
    empty = score_matching(matching, events, incidents)[EventType.WRONG_WAY]
    assert math.isnan(empty.precision) and math.isnan(empty.recall) and math.isnan(empty.delay_p50_s)


def test_a_moving_incident_is_matched_where_its_actor_was_not_where_it_started() -> None:
    speeding = incident(
        "I1", IncidentKind.SPEEDING_VEHICLE, x_m=0.0, start_s=0.0, end_s=40.0, moment_s=0.5, actor_id="car"
    )
    times = np.arange(0, 40_001, 100, dtype=np.int64)
    path = Trajectory(T0 + times, (26.0 * times / 1000.0).astype(np.float64), np.zeros(len(times)))
    # Detected after 4 s, 104 m down the road, and followed: far from the start, close to the car.
    found = event("E1", EventType.SPEEDING, [(4.0, 103.0, 2.0), (8.0, 207.0, 1.0)], ended_s=12.0)
    matching = match_events([found], [speeding], {"car": path})
    assert [(m.event_id, m.delay_ms) for m in matching.matches] == [("E1", 3_500)]
    # Without the actor's trajectory only the scripted spot is known, and the event is never near it.
    assert match_events([found], [speeding], {}).matches == ()


@pytest.mark.parametrize(
    ("first_s", "ended_s", "matched"),
    [
        (5.0, 7.5, False),  # ended before the incident began (more than early_s before it)
        (8.5, 11.0, True),  # alive within early_s of the start
        (30.0, 40.0, True),
        (69.0, 75.0, True),  # raised within late_s of the end
        (71.0, 75.0, False),  # raised after late_s
    ],
)
def test_time_window(first_s: float, ended_s: float, *, matched: bool) -> None:
    truth = incident("I1", IncidentKind.WRONG_WAY_VEHICLE, start_s=10.0, end_s=60.0)
    found = event("E1", EventType.WRONG_WAY, [(first_s, 5.0, 0.0)], ended_s=ended_s)
    assert bool(match_events([found], [truth], {}).matches) is matched


def test_assignment_is_optimal_not_greedy() -> None:
    # Two pedestrians 20 m apart. E1 is nearest to I2 (8 m), but taking that pair first would leave E2
    # (45 m from I1) unmatched; the assignment pairs E1-I1 (12 m) and E2-I2 (25 m).
    incidents = [
        incident("I1", IncidentKind.PEDESTRIAN_ON_CARRIAGEWAY, x_m=0.0),
        incident("I2", IncidentKind.PEDESTRIAN_ON_CARRIAGEWAY, x_m=20.0),
    ]
    events = [
        event("E1", EventType.VULNERABLE_USER_ON_CARRIAGEWAY, [(1.0, 12.0, 0.0)]),
        event("E2", EventType.VULNERABLE_USER_ON_CARRIAGEWAY, [(1.0, 45.0, 0.0)]),
    ]
    pairs = {(m.event_id, m.incident_id) for m in match_events(events, incidents, {}).matches}
    assert pairs == {("E1", "I1"), ("E2", "I2")}


def test_an_event_of_another_type_never_matches_and_is_explained_as_secondary() -> None:
    closure = incident("I1", IncidentKind.LANE_CLOSURE, x_m=0.0, start_s=0.0, end_s=150.0)
    queue = event("E1", EventType.CONGESTION, [(60.0, -40.0, 0.0)], ended_s=200.0, extent_m=35.0)
    matching = match_events([queue], [closure], {})
    assert matching.matches == () and matching.missed == ()  # a closure is not to be detected
    (unmatched,) = matching.unmatched
    assert (unmatched.cause, unmatched.incident_id, unmatched.incident_kind) == (
        "secondary",
        "I1",
        IncidentKind.LANE_CLOSURE,
    )


def test_congestion_matches_on_the_edge_or_a_feeding_edge_or_within_the_queue() -> None:
    surge = incident("I1", IncidentKind.DEMAND_SURGE, x_m=0.0, start_s=0.0, end_s=180.0, lane_id="b_1")
    layout = LaneLayout({"a_0": "a", "b_1": "b", "c_0": "c"}, {"b": frozenset({"a"})})
    upstream = event("E1", EventType.CONGESTION, [(60.0, -300.0, 0.0)], lane_id="a_0")
    elsewhere = event("E2", EventType.CONGESTION, [(60.0, -300.0, 0.0)], lane_id="c_0")
    long_queue = event("E3", EventType.CONGESTION, [(60.0, -300.0, 0.0)], lane_id="c_0", extent_m=280.0)
    assert match_events([upstream], [surge], {}, layout=layout).matches
    assert not match_events([elsewhere], [surge], {}, layout=layout).matches
    assert match_events([long_queue], [surge], {}, layout=layout).matches  # its queue reaches the spot


def test_an_event_on_an_incidents_road_user_far_from_its_spot_is_secondary() -> None:
    surge = incident("I1", IncidentKind.DEMAND_SURGE, x_m=0.0, start_s=0.0, end_s=180.0)
    # A car of the surge queues 500 m downstream, where the detector calls it a stopped vehicle.
    queued = event("E1", EventType.STOPPED_VEHICLE, [(90.0, 500.0, 0.0)])
    assert match_events([queued], [surge], {}).unmatched[0].cause == "false_alarm"
    context = EventContext("surge_I1_7", "car", 0.2, 0.0, "b_0", 16.7, incident_id="I1")
    attributed = dataclasses.replace(queued, context=context)
    (unmatched,) = match_events([attributed], [surge], {}).unmatched
    assert (unmatched.cause, unmatched.incident_id) == ("secondary", "I1")


def test_unrealised_incidents_are_not_scored() -> None:
    never = incident("I1", IncidentKind.RED_LIGHT_RUNNER, realised=False)
    matching = match_events([], [never], {})
    assert matching.missed == ()
    assert score_matching(matching, [], [never])[EventType.RED_LIGHT_VIOLATION].truths == 0


def test_event_records_group_publications_and_take_the_first_as_the_detection() -> None:
    def road_event(phase: EventPhase, x_m: float, end_ms: int | None = None) -> RoadEvent:
        return RoadEvent(
            event_id="E7",
            event_type=EventType.SLOW_VEHICLE,
            phase=phase,
            lane_id="a_0",
            s_m=10.0,
            x_m=x_m,
            y_m=0.0,
            severity=2,
            confidence=0.8,
            start_ms=T0,
            update_ms=T0,
            end_ms=end_ms,
        )

    publications = [
        (T0 + 5_000, road_event(EventPhase.UPDATED, 20.0)),
        (T0 + 1_000, road_event(EventPhase.STARTED, 10.0)),
        (T0 + 9_000, road_event(EventPhase.ENDED, 30.0, end_ms=T0 + 9_000)),
    ]
    (record,) = event_records(publications, replay_end_ms=T0 + 60_000)
    assert record.detected_ms == T0 + 1_000
    assert record.ended_ms == T0 + 9_000
    assert record.x_m.tolist() == [10.0, 20.0, 30.0]
    (open_ended,) = event_records(publications[:2], replay_end_ms=T0 + 60_000)
    assert open_ended.ended_ms == T0 + 60_000  # alive until the replay ended


def test_match_config_refuses_impossible_values() -> None:
    with pytest.raises(SettingError, match="max_distance_m"):
        MatchConfig(max_distance_m=0.0)
    with pytest.raises(SettingError, match="late_s"):
        MatchConfig(late_s=-1.0)


def test_waiting_at_red_is_recognised() -> None:
    waiting = EventContext("veh1", "car", 1.0, 0.0, "a_0", 16.7, to_stop_line_m=12.0, light="red")
    moving = EventContext("veh2", "car", 1.0, 9.0, "a_0", 16.7, to_stop_line_m=12.0, light="red")
    assert waiting.waiting_at_red and not moving.waiting_at_red
    assert "0.54x the 16.7 m/s limit" in moving.describe()


# -- advisories ----------------------------------------------------------------------------------------


def frames_with_vehicle_entering(enter_s: float) -> ConnectedFrames:
    """Connected vehicle v1 drives on lane a_0 until ``enter_s``, then on the zone's lane z_0."""
    rows = []
    for step in range(0, 200):
        time_ms = T0 + step * 100
        lane = "z_0" if time_ms >= T0 + enter_s * 1000 else "a_0"
        rows.append((time_ms, ["v1", "v2"], [lane, "elsewhere_0"]))
    return ConnectedFrames.build(rows)


def advisory(
    state: AdvisoryState, sent_s: float, *, rsus: list[str], vehicles: list[str] | None = None
) -> Advisory:
    return Advisory(
        advisory_id="adv-E1",
        kind=AdvisoryKind.ROAD_EVENT,
        state=state,
        event_id="E1",
        sent_ms=T0 + round(sent_s * 1000),
        relevance_lane_ids=["z_0"],
        via_rsu_ids=rsus,
        vehicle_ids=vehicles or [],
    )


def test_an_advisory_reaches_a_vehicle_when_it_enters_the_zone_or_when_it_arrives() -> None:
    delays = {"R1": 30, "R2": 55}
    entering = frames_with_vehicle_entering(5.0)
    sent = [advisory(AdvisoryState.ACTIVE, 1.0, rsus=["R1", "R2"])]
    assert first_reach_ms(sent, entering, rsu_delay_ms=delays, direct_delay_ms=40) == T0 + 5_000
    already_there = frames_with_vehicle_entering(0.0)
    assert first_reach_ms(sent, already_there, rsu_delay_ms=delays, direct_delay_ms=40) == T0 + 1_030
    # Cancelled before the vehicle arrives: it never hears of it.
    cancelled = [*sent, advisory(AdvisoryState.CANCELLED, 3.0, rsus=["R1"])]
    assert first_reach_ms(cancelled, entering, rsu_delay_ms=delays, direct_delay_ms=40) is None
    # Sent directly to the vehicle in the zone: the cellular downlink delay.
    direct = [advisory(AdvisoryState.ACTIVE, 6.0, rsus=[], vehicles=["v1"])]
    assert first_reach_ms(direct, entering, rsu_delay_ms=delays, direct_delay_ms=40) == T0 + 6_040
    # Sent directly to a vehicle that is not in the zone does not count.
    astray = [advisory(AdvisoryState.ACTIVE, 6.0, rsus=[], vehicles=["v2"])]
    assert first_reach_ms(astray, entering, rsu_delay_ms=delays, direct_delay_ms=40) is None


def test_advisory_delays_enter_the_scores() -> None:
    truth = incident("I1", IncidentKind.STOPPED_VEHICLE, start_s=0.0)
    found = event("E1", EventType.STOPPED_VEHICLE, [(11.0, 1.0, 0.0)])
    matching = match_events([found], [truth], {})
    score = score_matching(matching, [found], [truth], advisory_delays_ms={"I1": 11_500})[
        EventType.STOPPED_VEHICLE
    ]
    assert score.advisory_reached == 1
    assert score.advisory_p50_s == pytest.approx(11.5)
