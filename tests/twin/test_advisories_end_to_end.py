"""Advisories end to end: a twin with a stopped vehicle → bus → ingest → fusion → events → services → bus
down → the twin's connected vehicles. Vehicles inside the relevance zone apply the advisory and later its
cancellation; vehicles outside hear it (through a roadside unit) and ignore it. Over the in-process bus and
over MQTT against a real Mosquitto."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import pytest

from roadcloud.bus import HandoffQueue, InprocBus
from roadcloud.bus.topics import field_filters, message_name, parse_topic, zone_filter
from roadcloud.cloud import CloudPipeline, ZoneSite, provisioned_registry
from roadcloud.events import EventPhase, EventType, RoadEvent
from roadcloud.messages import GroundTruth
from roadcloud.messages.json_codec import decode
from roadcloud.messages.truth import IncidentKind
from roadcloud.services import Advisory, AdvisoryState
from roadcloud.twin.generator import GridSettings, ZoneSettings, new_zone
from roadcloud.twin.manifest import Incident, write_manifest
from roadcloud.twin.reception import Outcome, Reception
from roadcloud.twin.runtime import Emission, Twin

INCIDENT_LANE = "A0B0_1"  # eastbound between the two southern junctions, 300 m blocks
RUN_S = 50.0
SETTLE_TIMEOUT_S = 5.0


@pytest.fixture(scope="module")
def incident_zone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2x2 signalised grid, most vehicles connected, one vehicle stopping on a lane for 25 s."""
    zone_dir = tmp_path_factory.mktemp("zones") / "incident"
    settings = ZoneSettings(
        name="e2e",
        grid=GridSettings(columns=2, rows=2, lanes=2, block_x_m=300.0, block_y_m=300.0),
        vehicles_per_hour=1800.0,
        pedestrians_per_hour=0.0,
        bicycles_per_hour=0.0,
        connected_share=0.8,
        duration_s=RUN_S,
        seed=3,
        incidents_per_kind=0,
    )
    manifest = new_zone(zone_dir, settings)
    stopped = Incident(
        id="I1",
        kind=IncidentKind.STOPPED_VEHICLE,
        lane=INCIDENT_LANE,
        pos_m=150.0,
        start_s=10.0,
        duration_s=25.0,
    )
    write_manifest(msgspec.structs.replace(manifest, incident=[stopped]), zone_dir)
    return zone_dir


@dataclass
class Run:
    """What one end-to-end run saw: the cloud's event publications and advisory records, the lane of every
    connected vehicle at every step (ground truth) and the twin's reception log."""

    events: list[RoadEvent] = field(default_factory=list)
    advisories: list[Advisory] = field(default_factory=list)
    lanes: dict[int, dict[str, str]] = field(default_factory=dict)
    receptions: list[Reception] = field(default_factory=list)


class Link:
    """How field and cloud talk in one run: send a step's uplink, then wait until both sides are settled."""

    def __init__(
        self,
        send: Callable[[str, bytes], None],
        settle_up: Callable[[], None] = lambda: None,
        settle_down: Callable[[], None] = lambda: None,
    ) -> None:
        self.send, self.settle_up, self.settle_down = send, settle_up, settle_down


def drive(twin: Twin, pipeline: CloudPipeline, link: Link, now_ms: list[int]) -> Run:
    run = Run()
    for deliveries in twin.run():
        step_ms = twin.start_epoch_ms + round(twin.stats.time_s * 1000)
        for emission in deliveries:
            _observe_truth(run, emission)
            if parse_topic(emission.topic).device_kind != "twin":  # ground truth stays with the test
                link.send(emission.topic, emission.payload)
        link.settle_up()
        if step_ms <= now_ms[0]:
            continue  # the twin's final flush: no new step to tick
        now_ms[0] = step_ms
        frame = pipeline.tick(step_ms)
        run.events += frame.event_changes
        run.advisories += frame.advisory_changes
        link.settle_down()
    run.receptions = list(twin.reception.log)
    return run


def _observe_truth(run: Run, emission: Emission) -> None:
    if message_name(emission.topic) != "truth":
        return
    truth = decode(emission.payload, GroundTruth)
    run.lanes[truth.time_ms] = {
        actor: lane
        for actor, lane, connected in zip(truth.actor_ids, truth.lane_ids, truth.connected, strict=True)
        if connected
    }


def setup(zone_dir: Path) -> tuple[Twin, ZoneSite, list[int]]:
    twin = Twin(zone_dir, duration_s=RUN_S)
    site = ZoneSite.from_zone_dir(zone_dir)
    return twin, site, [twin.start_epoch_ms]


def check(run: Run, twin: Twin) -> None:
    """The acceptance criteria of #5 on one run."""
    started = [
        event
        for event in run.events
        if event.event_type == EventType.STOPPED_VEHICLE
        and event.phase == EventPhase.STARTED
        and event.lane_id == INCIDENT_LANE
    ]
    assert started, (
        f"the stopped vehicle was not detected; events: {[(e.event_type, e.lane_id) for e in run.events]}"
    )
    event_id = started[0].event_id
    assert any(e.event_id == event_id and e.phase == EventPhase.ENDED for e in run.events), (
        "event never ended"
    )
    advisory_id = f"adv-{event_id}"
    records = [record for record in run.advisories if record.advisory_id == advisory_id]
    assert records[0].state == AdvisoryState.ACTIVE and records[0].via_rsu_ids
    assert records[-1].state == AdvisoryState.CANCELLED
    cancelled_ms = records[-1].sent_ms
    zone_lanes = {lane for record in records for lane in record.relevance_lane_ids}
    sent_directly = {vehicle for record in records[:-1] for vehicle in record.vehicle_ids}
    assert INCIDENT_LANE in zone_lanes

    mine = [item for item in run.receptions if item.advisory == advisory_id]
    accepted = {item.vehicle_id: item for item in mine if item.outcome == Outcome.ACCEPTED}
    ignored = [item for item in mine if item.outcome == Outcome.IGNORED_OUTSIDE_ZONE]
    cancelled = {item.vehicle_id: item for item in mine if item.outcome == Outcome.CANCELLATION_RECEIVED}

    def lane_at(item: Reception) -> str:
        return run.lanes[item.time_ms][item.vehicle_id]

    # Inside the zone: vehicles apply it, and only while on the zone's lanes (or crossing a junction).
    assert accepted, "no vehicle inside the zone applied the advisory"
    for item in accepted.values():
        assert lane_at(item) in zone_lanes or lane_at(item).startswith(":"), (item, lane_at(item))
        assert item.time_ms > started[0].update_ms
    # Outside: vehicles on other roads heard it from a unit and did not apply it.
    outside = [
        item for item in ignored if lane_at(item) not in zone_lanes and not lane_at(item).startswith(":")
    ]
    assert outside, "no vehicle outside the zone heard the advisory"
    assert all(item.via.startswith("rsu:") or item.bsm_id in sent_directly for item in ignored)
    # The cancellation reaches the vehicles that applied it: every one the cloud sent it to directly and
    # still on the road when it ended got it; nobody gets a cancellation of what it never applied.
    assert cancelled, "no vehicle received the cancellation"
    assert set(cancelled) <= set(accepted)
    still_there = set(run.lanes[max(t for t in run.lanes if t <= cancelled_ms + 500)])
    owed = {vid for vid, item in accepted.items() if item.bsm_id in sent_directly and vid in still_there}
    assert owed <= set(cancelled), owed - set(cancelled)
    assert all(item.time_ms >= cancelled_ms for item in cancelled.values())
    assert twin.reception.stats.dropped == {}


@pytest.mark.slow
def test_advisories_over_the_in_process_bus(incident_zone: Path) -> None:
    twin, site, now_ms = setup(incident_zone)
    with InprocBus() as bus:
        pipeline = CloudPipeline(
            site,
            registry=provisioned_registry(site, provisioned_at_ms=twin.start_epoch_ms),
            clock_ms=lambda: now_ms[0],
            publish=bus.publish,
        )
        for topic_filter in field_filters(site.zone):
            bus.subscribe(topic_filter, pipeline.handle)
        bus.subscribe(zone_filter(site.zone, direction="down"), twin.receive)
        run = drive(twin, pipeline, Link(bus.publish), now_ms)
    check(run, twin)


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.0005)


@pytest.mark.slow
@pytest.mark.integration
def test_advisories_over_mqtt(incident_zone: Path, mosquitto) -> None:  # type: ignore[no-untyped-def]
    from roadcloud.bus.mqtt import MqttBus

    twin, site, now_ms = setup(incident_zone)
    uplink = HandoffQueue()
    counts = {"up_sent": 0, "up_handled": 0, "down_sent": 0}
    cloud = MqttBus("127.0.0.1", mosquitto.port, client_id="e2e-cloud")
    field_bus = MqttBus("127.0.0.1", mosquitto.port, client_id="e2e-field")

    def publish_down(topic: str, payload: bytes) -> None:
        counts["down_sent"] += 1
        cloud.publish(topic, payload)

    def send_up(topic: str, payload: bytes) -> None:
        counts["up_sent"] += 1
        field_bus.publish(topic, payload)

    def settle_up() -> None:
        # Lockstep: the cloud handles every message of a step before it ticks, as it would in real time.
        def arrived() -> bool:
            counts["up_handled"] += uplink.drain(pipeline.handle, timeout_s=0.0)
            return counts["up_handled"] >= counts["up_sent"]

        _wait(arrived, "the step's uplink")

    def settle_down() -> None:
        _wait(lambda: twin.reception.stats.downlinks >= counts["down_sent"], "the tick's downlink")

    try:
        pipeline = CloudPipeline(
            site,
            registry=provisioned_registry(site, provisioned_at_ms=twin.start_epoch_ms),
            clock_ms=lambda: now_ms[0],
            publish=publish_down,
        )
        for topic_filter in field_filters(site.zone):
            cloud.subscribe(topic_filter, uplink.put)
        field_bus.subscribe(zone_filter(site.zone, direction="down"), twin.receive)
        time.sleep(0.2)  # subscriptions reach the broker before the first publish
        run = drive(twin, pipeline, Link(send_up, settle_up, settle_down), now_ms)
    finally:
        field_bus.close()
        cloud.close()
    check(run, twin)
    assert uplink.dropped == 0
    # Every downlink went through the broker: the twin got exactly what the cloud sent.
    assert twin.reception.stats.downlinks == counts["down_sent"]
