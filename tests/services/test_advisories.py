"""Advisories: RSI/DENM per event through the covering units and directly to vehicles in the zone; updates
when the zone changes; cancellation when the event ends."""

from __future__ import annotations

import numpy as np
import pytest

from roadcloud.bus.topics import parse_topic
from roadcloud.events import EventPhase, EventType
from roadcloud.map import RoadMap
from roadcloud.messages import RSI, RSM, LightState
from roadcloud.messages.etsi import Termination, decode_denm
from roadcloud.messages.guidance import SpeedGuidance
from roadcloud.messages.json_codec import decode
from roadcloud.messages.units import deg_to_latlon_units, epoch_ms_to_moy
from roadcloud.services import (
    AdvisoryKind,
    AdvisoryService,
    AdvisoryState,
    ConnectedVehicles,
    Downlink,
    RoadsideUnitCoverage,
    ServiceConfig,
    advisory_tag,
    rte_is_cancelled,
)

from .factories import NOW_MS, FixedSignals, Light, bsm, event, snapshot
from .network import junction_map

UNITS = (
    RoadsideUnitCoverage("R_EVENT", 60.0, 20.0, 50.0),  # beside the event's edge
    RoadsideUnitCoverage("R_NORTH", 15.0, 100.0, 10.0),  # reaches JN, not NJ on the other side
    RoadsideUnitCoverage("R_EAST", 350.0, 20.0, 60.0),  # downstream of the event only
)
CONFIG = ServiceConfig(glosa_enabled=False, sharing_enabled=False)


@pytest.fixture(scope="module")
def road_map() -> RoadMap:
    return junction_map()


@pytest.fixture
def service(road_map: RoadMap) -> AdvisoryService:
    return AdvisoryService(road_map, "testzone", UNITS, CONFIG)


def targets(downlinks: list[Downlink], message: str = "rsi") -> set[tuple[str, str]]:
    found = set()
    for downlink in downlinks:
        parsed = parse_topic(downlink.topic)
        assert parsed.direction == "down" and parsed.zone == "testzone"
        if parsed.message == message:
            found.add((parsed.device_kind, parsed.device_id))
    return found


def vehicles_at(road_map: RoadMap, positions: dict[str, tuple[float, float, float]]) -> ConnectedVehicles:
    vehicles = ConnectedVehicles(road_map.geo)
    for vehicle_id, (x_m, y_m, heading_deg) in positions.items():
        vehicles.update(bsm(road_map, vehicle_id, x_m, y_m, heading_deg), arrival_ms=NOW_MS + 50)
    return vehicles


def test_started_event_goes_to_the_covering_units_in_message_units(
    service: AdvisoryService, road_map: RoadMap
) -> None:
    downlinks = service.on_events([event()], NOW_MS)
    assert targets(downlinks) == {("rsu", "R_EVENT")}
    assert targets(downlinks, "denm") == {("rsu", "R_EVENT")}
    records = [downlink.advisory for downlink in downlinks if downlink.advisory is not None]
    assert len(records) == 1  # one publication, recorded once
    record = records[0]
    assert record.state == AdvisoryState.ACTIVE and record.kind == AdvisoryKind.ROAD_EVENT
    assert record.event_id == "E1" and record.via_rsu_ids == ["R_EVENT"] and record.vehicle_ids == []
    assert {"JE_1", "WJ_0", "NJ_1"} <= set(record.relevance_lane_ids)

    rsi = decode(downlinks[0].payload, RSI)
    lon, lat = road_map.geo.local_to_wgs84(np.array([110.0]), np.array([-1.6]))
    assert rsi.id == "RC-CLOUD"
    assert rsi.moy == epoch_ms_to_moy(NOW_MS)
    assert (rsi.ref_pos.lat, rsi.ref_pos.long) == (
        int(deg_to_latlon_units(lat)[0]),
        int(deg_to_latlon_units(lon)[0]),
    )
    (rte,) = rsi.rtes
    assert rte.event_type == 903  # GB/T 29100: abnormal stop
    assert rte.event_source == 5  # detection
    assert rte.event_pos is not None and (rte.event_pos.lat, rte.event_pos.lon) == (0, 0)
    assert rte.event_radius == 50  # 5 m in 0.1 m
    assert rte.event_confidence == 180  # 0.9 in steps of 0.005
    assert rte.priority == 4
    assert rte.time_details is not None
    assert rte.time_details.start_time == epoch_ms_to_moy(NOW_MS - 12_000)
    assert rte.time_details.end_time is None and not rte_is_cancelled(rte, NOW_MS)
    assert advisory_tag(rte) == "adv-E1" == record.advisory_id
    assert len(rte.reference_paths) == 4
    assert all(path.path_radius == 32 and 2 <= len(path.active_path) <= 32 for path in rte.reference_paths)
    assert record.rte_id == rte.rte_id

    denm = decode_denm(next(d.payload for d in downlinks if d.topic.endswith("/denm/down")))
    assert denm.cause_code == 94 and denm.termination is None
    assert denm.detection_time_ms == NOW_MS - 12_000 and denm.reference_time_ms == NOW_MS
    assert (denm.event_pos.lat, denm.event_pos.long) == (rsi.ref_pos.lat, rsi.ref_pos.long)


def test_vehicles_inside_the_zone_get_it_directly_and_only_once(
    service: AdvisoryService, road_map: RoadMap
) -> None:
    service.on_events([event()], NOW_MS)
    vehicles = vehicles_at(
        road_map,
        {
            "00000000000000a1": (60.0, -1.6, 90.0),  # on the event's lane, before it
            "00000000000000a2": (-100.0, -4.8, 90.0),  # on the western approach
            "00000000000000b1": (60.0, 1.6, 270.0),  # opposite carriageway beside the event
            "00000000000000b2": (200.0, -1.6, 90.0),  # past the event
            "00000000000000b3": (-300.0, -4.8, 90.0),  # western approach, beyond the zone
        },
    )
    frame = snapshot(NOW_MS - 100, [])
    downlinks = service.on_frame(frame, vehicles, None, NOW_MS)
    assert targets(downlinks) == {("vehicle", "00000000000000a1"), ("vehicle", "00000000000000a2")}
    record = next(d.advisory for d in downlinks if d.advisory is not None)
    assert record.vehicle_ids == ["00000000000000a1", "00000000000000a2"] and record.via_rsu_ids == []
    assert service.on_frame(frame, vehicles, None, NOW_MS + 100) == []  # nothing new: nothing sent
    # A vehicle driving into the zone gets it on its first frame inside.
    vehicles.update(
        bsm(road_map, "00000000000000b3", -150.0, -4.8, 90.0, measured_ms=NOW_MS + 200),
        arrival_ms=NOW_MS + 250,
    )
    later = service.on_frame(frame, vehicles, None, NOW_MS + 300)
    assert targets(later) == {("vehicle", "00000000000000b3")}


def test_ended_event_is_cancelled_everywhere_it_went(service: AdvisoryService, road_map: RoadMap) -> None:
    service.on_events([event()], NOW_MS)
    vehicles = vehicles_at(road_map, {"00000000000000a1": (60.0, -1.6, 90.0)})
    service.on_frame(snapshot(NOW_MS, []), vehicles, None, NOW_MS)
    end_ms = NOW_MS + 65_000
    ended = event(EventPhase.ENDED, end_ms=end_ms)
    vehicles.update(
        bsm(road_map, "00000000000000a1", 70.0, -1.6, 90.0, measured_ms=end_ms), arrival_ms=end_ms
    )
    service.on_frame(snapshot(end_ms, []), vehicles, None, end_ms)
    downlinks = service.on_events([ended], end_ms + 100)
    assert targets(downlinks) == {("rsu", "R_EVENT"), ("vehicle", "00000000000000a1")}
    record = next(d.advisory for d in downlinks if d.advisory is not None)
    assert record.state == AdvisoryState.CANCELLED and record.cancelled_ms == end_ms + 100
    (rte,) = decode(downlinks[0].payload, RSI).rtes
    assert rte.time_details is not None and rte.time_details.end_time == epoch_ms_to_moy(end_ms)
    assert rte_is_cancelled(rte, end_ms + 100)
    assert advisory_tag(rte) == "adv-E1"
    denm = decode_denm(next(d.payload for d in downlinks if d.topic.endswith("/denm/down")))
    assert denm.termination == Termination.CANCELLATION
    assert service.active == []
    assert service.on_events([ended], end_ms + 200) == []  # a repeated end changes nothing


def test_zone_change_updates_and_cancels_where_it_no_longer_applies(
    service: AdvisoryService, road_map: RoadMap
) -> None:
    service.on_events([event(event_type=EventType.WRONG_WAY)], NOW_MS)
    vehicles = vehicles_at(
        road_map, {"00000000000000a1": (60.0, -1.6, 90.0), "00000000000000c1": (1.6, 100.0, 0.0)}
    )
    first = service.on_frame(snapshot(NOW_MS, []), vehicles, None, NOW_MS)
    assert targets(first) == {("vehicle", "00000000000000a1")}
    # The wrong-way driver is now on the northern exit.
    moved = event(
        EventPhase.UPDATED, event_type=EventType.WRONG_WAY, lane_id="JN_1", s_m=150.0, x_m=1.6, y_m=160.0
    )
    downlinks = service.on_events([moved], NOW_MS + 1_000)
    cancelled = [
        d for d in downlinks if d.advisory is not None and d.advisory.state == AdvisoryState.CANCELLED
    ]
    updated = [d for d in downlinks if d.advisory is not None and d.advisory.state == AdvisoryState.UPDATED]
    assert [d.advisory.via_rsu_ids for d in cancelled if d.advisory] == [["R_EVENT"]]
    assert [d.advisory.via_rsu_ids for d in updated if d.advisory] == [["R_NORTH"]]
    assert rte_is_cancelled(decode(cancelled[0].payload, RSI).rtes[0], NOW_MS + 1_000)
    assert decode(updated[0].payload, RSI).rtes[0].event_type == 904
    # The vehicle now inside the new zone gets the new version directly.
    again = service.on_frame(snapshot(NOW_MS, []), vehicles, None, NOW_MS + 1_000)
    assert targets(again) == {("vehicle", "00000000000000c1")}
    # The same zone again (the event only moved a little): nothing to send.
    assert service.on_events([moved], NOW_MS + 2_000) == []


def test_events_the_map_cannot_place_are_counted_not_raised(service: AdvisoryService) -> None:
    lost = event(lane_id=None, x_m=5_000.0, y_m=5_000.0)
    assert service.on_events([lost], NOW_MS) == []
    assert service.counts.events_without_lane == 1
    # Without a lane id but on the road: placed by matching its position.
    placed = event(event_id="E2", lane_id=None, x_m=110.0, y_m=-1.6)
    assert targets(service.on_events([placed], NOW_MS)) == {("rsu", "R_EVENT")}
    # An update or end of an event never seen is ignored.
    assert service.on_events([event(EventPhase.ENDED, event_id="E9", end_ms=NOW_MS)], NOW_MS) == []
    assert service.counts.events_ignored == 1


def test_event_types_without_denm_cause_go_as_rsi_only(service: AdvisoryService) -> None:
    downlinks = service.on_events([event(event_type=EventType.SPEEDING)], NOW_MS)
    assert targets(downlinks) == {("rsu", "R_EVENT")} and targets(downlinks, "denm") == set()
    assert decode(downlinks[0].payload, RSI).rtes[0].event_type == 901


def test_rte_ids_are_unique_among_active_advisories(service: AdvisoryService) -> None:
    started = [event(event_id=f"E{number}") for number in range(5)]
    service.on_events(started, NOW_MS)
    ids = [record.rte_id for record in service.active]
    assert len(set(ids)) == 5
    service.on_events([event(EventPhase.ENDED, event_id="E0", end_ms=NOW_MS)], NOW_MS)
    service.on_events([event(event_id="E7")], NOW_MS)
    assert sorted(record.rte_id for record in service.active if record.rte_id is not None) == [0, 1, 2, 3, 4]


def test_on_frame_sends_speed_advice_and_shared_objects_recorded_once(road_map: RoadMap) -> None:
    config = ServiceConfig(glosa_period_ms=100, sharing_period_ms=100)
    service = AdvisoryService(road_map, "testzone", UNITS, config)
    vehicles = vehicles_at(
        road_map, {"00000000000000a1": (-190.0, -4.8, 90.0), "00000000000000a2": (-150.0, -1.6, 90.0)}
    )
    frame = snapshot(NOW_MS, [(-190.0, -4.8), (-150.0, -1.6), (-120.0, -4.8)])
    signals = FixedSignals(
        Light(LightState.RED, NOW_MS + 12_000, LightState.PROTECTED_GREEN, NOW_MS + 32_000)
    )
    downlinks = service.on_frame(frame, vehicles, signals, NOW_MS)
    assert targets(downlinks, "glosa") == {("vehicle", "00000000000000a1"), ("vehicle", "00000000000000a2")}
    assert targets(downlinks, "rsm") == {("vehicle", "00000000000000a1"), ("vehicle", "00000000000000a2")}
    advice = decode(next(d.payload for d in downlinks if d.topic.endswith("/glosa/down")), SpeedGuidance)
    assert advice.light == LightState.RED
    shared = decode(next(d.payload for d in downlinks if "00000000000000a1/rsm" in d.topic), RSM)
    assert [p.ptc_id for p in shared.participants] == [2, 3]  # the other two, not itself (track 1)
    records = [d.advisory for d in downlinks if d.advisory is not None]
    assert sorted(record.kind for record in records) == [
        AdvisoryKind.SENSOR_SHARING,
        AdvisoryKind.SPEED_ADVICE,
    ]
    assert all(sorted(record.vehicle_ids) == ["00000000000000a1", "00000000000000a2"] for record in records)
    assert service.counts.glosa_sent == 2 and service.counts.rsm_sent == 2


def test_an_event_moving_along_its_lane_updates_once_the_zone_moved_enough(service: AdvisoryService) -> None:
    service.on_events([event(event_type=EventType.CONGESTION, s_m=390.0, x_m=400.0)], NOW_MS)
    # The queue's tail creeps upstream 10 m: the zone's ends move 10 m, under the 25 m that matter.
    crept = event(EventPhase.UPDATED, event_type=EventType.CONGESTION, s_m=380.0, x_m=390.0)
    assert service.on_events([crept], NOW_MS + 1_000) == []
    # 60 m: the RSI follows (the units and lanes stay the same).
    grown = event(EventPhase.UPDATED, event_type=EventType.CONGESTION, s_m=330.0, x_m=340.0)
    downlinks = service.on_events([grown], NOW_MS + 2_000)
    (record,) = [d.advisory for d in downlinks if d.advisory is not None]
    assert record.state == AdvisoryState.UPDATED
    (rte,) = decode(downlinks[0].payload, RSI).rtes
    assert rte.event_type == 707
    zone = service.zone_of("E1")
    assert zone is not None
    assert max(span.s_to_m for span in zone.spans if span.lane_id == "JE_1") == 330.0


def test_a_failing_service_does_not_stop_the_frame(road_map: RoadMap) -> None:
    class BrokenSignals:
        def connection_light(self, from_lane_id: str, to_lane_id: str, time_ms: int) -> None:
            raise RuntimeError("signal store unavailable")

    service = AdvisoryService(
        road_map, "testzone", UNITS, ServiceConfig(glosa_period_ms=100, sharing_period_ms=100)
    )
    vehicles = vehicles_at(road_map, {"00000000000000a1": (-190.0, -4.8, 90.0)})
    frame = snapshot(NOW_MS, [(-190.0, -4.8), (-150.0, -1.6)])
    downlinks = service.on_frame(frame, vehicles, BrokenSignals(), NOW_MS)
    assert targets(downlinks, "rsm") == {("vehicle", "00000000000000a1")}  # sharing still ran
    assert targets(downlinks, "glosa") == set()
    assert service.counts.frame_errors == 1
