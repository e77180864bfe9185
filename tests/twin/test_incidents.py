"""The incident kinds that wait for their moment: speeding, red-light running, near collision.

One short SUMO run of a small zone with one incident of each, started early; the ground truth must say
that each happened where and when scripted, and the truth must hold up against the twin's own streams
(true speeds and lanes, SPAT) rather than against the incident runner's word.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import msgspec
import numpy as np
import pytest

from roadcloud.bus.topics import parse_topic
from roadcloud.errors import ManifestError
from roadcloud.map import load_map
from roadcloud.messages import SPAT, GroundTruth, IncidentKind, IncidentTruth, LightState
from roadcloud.messages.json_codec import decode_named
from roadcloud.messages.truth import NEAR_COLLISION_TTC_S, SPEEDING_RATIO
from roadcloud.messages.units import resolve_sec_mark
from roadcloud.twin.generator import (
    INCIDENT_SEPARATION_M,
    GridSettings,
    ZoneSettings,
    new_zone,
)
from roadcloud.twin.incidents import incident_of_actor
from roadcloud.twin.manifest import (
    MAX_WAIT_S,
    NEAR_COLLISION_FOLLOW_GAP_M,
    WAITING_KINDS,
    DemandSection,
    Incident,
    Manifest,
    NetworkSection,
    ZoneSection,
    load_manifest,
    write_manifest,
)
from roadcloud.twin.runtime import Emission, Twin
from roadcloud.twin.scene import lane_point
from roadcloud.twin.sensors import Actors, visible

ZONE = ZoneSettings(
    name="incidents",
    grid=GridSettings(columns=3, rows=3, lanes=2, block_x_m=250.0, block_y_m=250.0),
    vehicles_per_hour=1800.0,
    pedestrians_per_hour=400.0,
    bicycles_per_hour=100.0,
    connected_share=0.3,
    duration_s=120.0,
    seed=5,
)
RUN_S = 100.0
NEW_KINDS = (IncidentKind.SPEEDING_VEHICLE, IncidentKind.RED_LIGHT_RUNNER, IncidentKind.NEAR_COLLISION)


@pytest.fixture(scope="module")
def incident_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Twin, list[Emission], Manifest]:
    """The zone's generated incidents of the three kinds, moved to the first seconds of a 100 s run."""
    zone_dir = tmp_path_factory.mktemp("incidents") / "zone"
    manifest = new_zone(zone_dir, ZONE)
    chosen = [
        msgspec.structs.replace(incident, start_s=5.0 + 2.0 * number)
        for number, incident in enumerate(i for i in manifest.incident if i.kind in NEW_KINDS)
    ]
    manifest = msgspec.structs.replace(manifest, incident=chosen)
    write_manifest(manifest, zone_dir)
    twin = Twin(zone_dir, duration_s=RUN_S)
    emissions = [emission for step in twin.run() for emission in step]
    return twin, emissions, manifest


def _truths(emissions: list[Emission]) -> Iterator[GroundTruth]:
    for emission in emissions:
        if parse_topic(emission.topic).message == "truth":
            message = decode_named(emission.payload, "truth")
            assert isinstance(message, GroundTruth)
            yield message


def _incident(twin: Twin, kind: IncidentKind) -> IncidentTruth:
    (truth,) = [t for t in twin.incident_truth if t.kind == kind]
    return truth


def _track(emissions: list[Emission], actor_id: str) -> dict[str, np.ndarray]:
    """The actor's true states over the run, column-wise."""
    rows = []
    for truth in _truths(emissions):
        if actor_id in truth.actor_ids:
            i = truth.actor_ids.index(actor_id)
            rows.append(
                (
                    truth.time_ms,
                    truth.x_m[i],
                    truth.y_m[i],
                    truth.speed_mps[i],
                    truth.heading_deg[i],
                    truth.lane_ids[i],
                )
            )
    assert rows, f"{actor_id} never appeared in the ground truth"
    columns = list(zip(*rows, strict=True))
    return {
        "time_ms": np.array(columns[0], dtype=np.int64),
        "x_m": np.array(columns[1]),
        "y_m": np.array(columns[2]),
        "speed_mps": np.array(columns[3]),
        "heading_deg": np.array(columns[4]),
        "lane_id": np.array(columns[5], dtype=object),
    }


def test_every_new_kind_happened_and_ended(incident_run: tuple[Twin, list[Emission], Manifest]) -> None:
    twin, _, manifest = incident_run
    for kind in NEW_KINDS:
        truth = _incident(twin, kind)
        scripted = next(i for i in manifest.incident if i.kind == kind)
        assert truth.lane_id == scripted.lane or kind == IncidentKind.NEAR_COLLISION  # moves with its cars
        assert truth.event_ms is not None, f"{kind} never happened"
        assert truth.start_ms >= twin.start_epoch_ms + round(scripted.start_s * 1000)  # waited for its moment
        assert truth.start_ms <= truth.event_ms <= (truth.end_ms or 0)


def test_speeding_vehicle_drives_well_over_the_limit_where_units_see_it(
    incident_run: tuple[Twin, list[Emission], Manifest],
) -> None:
    twin, emissions, _ = incident_run
    truth = _incident(twin, IncidentKind.SPEEDING_VEHICLE)
    assert truth.actor_id is not None
    track = _track(emissions, truth.actor_id)
    lanes = twin.road_map.lanes
    limit_mps = np.array(
        [lanes[lane].speed_limit_mps if lane in lanes else np.nan for lane in track["lane_id"]]
    )
    speeding = track["speed_mps"] > SPEEDING_RATIO * limit_mps
    # It drove at its scripted speed: more than a few seconds well over the limit, from the first moment.
    assert speeding.sum() * 0.1 >= 5.0
    first = int(np.flatnonzero(speeding)[0])
    assert abs(int(track["time_ms"][first]) - (truth.event_ms or 0)) <= 100
    assert truth.details["max_ratio"] == pytest.approx(1.6, abs=0.05)
    # …and roadside units saw it while it did.
    rows = np.flatnonzero(speeding)
    count = len(rows)
    _, seen = visible(
        twin.units,
        Actors(
            x_m=track["x_m"][rows],
            y_m=track["y_m"][rows],
            speed_mps=track["speed_mps"][rows],
            heading_deg=track["heading_deg"][rows],
            length_m=np.full(count, 4.6),
            width_m=np.full(count, 1.8),
            kind=np.ones(count, dtype=np.int64),
        ),
    )
    assert len(np.unique(seen)) * 0.1 >= 4.0  # long enough to confirm it (mid-block gaps are allowed)


def test_red_light_runner_crosses_the_stop_line_on_red(
    incident_run: tuple[Twin, list[Emission], Manifest],
) -> None:
    twin, emissions, _ = incident_run
    truth = _incident(twin, IncidentKind.RED_LIGHT_RUNNER)
    assert truth.actor_id is not None and truth.event_ms is not None
    track = _track(emissions, truth.actor_id)
    on_approach = track["lane_id"] == truth.lane_id
    crossing = int(np.flatnonzero(on_approach)[-1]) + 1  # the first frame past the stop line
    assert track["time_ms"][crossing - 1] < truth.event_ms <= track["time_ms"][crossing]
    assert str(track["lane_id"][crossing]).startswith(":")  # into the junction
    stop_x, stop_y, _ = lane_point(
        twin.road_map.lane(truth.lane_id), twin.road_map.lane(truth.lane_id).length_m
    )
    assert (truth.x_m, truth.y_m) == pytest.approx((stop_x, stop_y), abs=0.01)
    assert track["speed_mps"][crossing] > 3.0  # driven through, not crept over behind walkers

    # The twin's own SPAT says red for this movement on both sides of the crossing.
    connection = next(
        c
        for c in twin.road_map.connections
        if c.from_lane_id == truth.lane_id and c.via_lane_id == track["lane_id"][crossing]
    )
    assert connection.tls_id is not None
    controller = twin.road_map.signal_controllers[connection.tls_id]
    group = next(g for g in controller.groups if connection.link_index in g.link_indices)
    node = twin.node_ids[controller.junction_ids[0]]
    lights = {}
    for emission in emissions:
        if parse_topic(emission.topic).message != "spat":
            continue
        spat = decode_named(emission.payload, "spat")
        assert isinstance(spat, SPAT)
        state = spat.intersections[0]
        if state.intersection_id.id != node or state.time_stamp is None:
            continue
        time_ms = resolve_sec_mark(state.time_stamp, reference_epoch_ms=emission.delivery_ms)
        phase = next(p for p in state.phases if p.id == group.index)
        lights[time_ms] = phase.phase_states[0].light
    before = int(track["time_ms"][crossing - 1])
    after = int(track["time_ms"][crossing])
    assert lights[before] == LightState.RED and lights[after] == LightState.RED


def test_near_collision_closes_under_two_seconds_and_nobody_crashes(
    incident_run: tuple[Twin, list[Emission], Manifest],
) -> None:
    twin, emissions, _ = incident_run
    truth = _incident(twin, IncidentKind.NEAR_COLLISION)
    assert truth.actor_id is not None and truth.other_actor_id is not None
    follower = _track(emissions, truth.actor_id)
    lead = _track(emissions, truth.other_actor_id)
    common, at_f, at_l = np.intersect1d(follower["time_ms"], lead["time_ms"], return_indices=True)
    # While the incident lasted, one behind the other on one lane (afterwards they may change lanes).
    during = (common <= (truth.end_ms or 0)) & (follower["lane_id"][at_f] == lead["lane_id"][at_l])
    after = common[-1]
    common, at_f, at_l = common[during], at_f[during], at_l[during]
    # SUMO positions are front bumpers: the gap is the distance minus the lead's length.
    gap_m = (
        np.hypot(follower["x_m"][at_f] - lead["x_m"][at_l], follower["y_m"][at_f] - lead["y_m"][at_l]) - 4.6
    )
    closing_mps = follower["speed_mps"][at_f] - lead["speed_mps"][at_l]
    ttc_s = np.where(closing_mps > 0.01, gap_m / np.maximum(closing_mps, 0.01), np.inf)
    assert ttc_s.min() < NEAR_COLLISION_TTC_S
    assert truth.details["min_ttc_s"] == pytest.approx(ttc_s.min(), abs=0.15)
    first = int(np.flatnonzero(ttc_s < NEAR_COLLISION_TTC_S)[0])
    assert abs(int(common[first]) - (truth.event_ms or 0)) <= 100
    assert gap_m.min() > 2.0  # resolved: never closer than SUMO's own minimum gap
    assert closing_mps.max() > 10.0  # a real conflict, not a gentle catch-up
    # Both drove on afterwards: nobody was removed by SUMO's collision handling.
    assert after - (truth.event_ms or 0) >= 5_000


def test_generated_incidents_keep_apart_while_they_may_overlap(tmp_path: Path) -> None:
    settings = replace(ZONE, grid=GridSettings(columns=5, rows=5), duration_s=600.0, incidents_per_kind=3)
    manifest = new_zone(tmp_path / "zone", settings)
    incidents = manifest.incident
    assert all(sum(1 for i in incidents if i.kind == kind) == 3 for kind in IncidentKind)
    anchor = (manifest.network.anchor_lon_deg or 0.0, manifest.network.anchor_lat_deg or 0.0)
    road_map = load_map(tmp_path / "zone" / manifest.network.file, anchor_lonlat=anchor)
    spots = {i.id: lane_point(road_map.lane(i.lane), i.pos_m)[:2] for i in incidents}

    def window(incident: Incident) -> tuple[float, float]:
        waits_s = MAX_WAIT_S if incident.kind in WAITING_KINDS else 0.0  # they may start that much later
        return incident.start_s, incident.start_s + waits_s + incident.duration_s

    too_close = []
    for a in incidents:
        for b in incidents:
            (a_start, a_end), (b_start, b_end) = window(a), window(b)
            if a.id < b.id and a_start < b_end and b_start < a_end:
                distance_m = float(np.hypot(*np.subtract(spots[a.id], spots[b.id])))
                too_close.append(distance_m < INCIDENT_SEPARATION_M)
    assert too_close and sum(too_close) <= 0.05 * len(too_close)  # a 5x5 grid has room for nearly all


@pytest.mark.parametrize(
    ("incident", "message"),
    [
        (
            Incident(
                id="I1", kind=IncidentKind.SPEEDING_VEHICLE, lane="e_0", pos_m=20.0, start_s=1, duration_s=9
            ),
            "speed_mps = 0",
        ),
        (
            Incident(
                id="I2",
                kind=IncidentKind.NEAR_COLLISION,
                lane="e_0",
                pos_m=NEAR_COLLISION_FOLLOW_GAP_M - 1.0,
                start_s=1,
                duration_s=9,
                speed_mps=2.0,
            ),
            "follower starts",
        ),
    ],
)
def test_incidents_that_cannot_happen_are_refused(tmp_path: Path, incident: Incident, message: str) -> None:
    manifest = Manifest(
        zone=ZoneSection(name="z", start_time=dt.datetime(2026, 6, 1, tzinfo=dt.UTC), duration_s=100.0),
        network=NetworkSection(file="zone.net.xml", source="generated"),
        demand=DemandSection(
            route_files=["v.rou.xml"], vehicles_per_hour=1.0, pedestrians_per_hour=0.0, connected_share=0.0
        ),
        incident=[incident],
    )
    for name in ("zone.net.xml", "v.rou.xml"):
        (tmp_path / name).write_text("<x/>")
    write_manifest(manifest, tmp_path)
    with pytest.raises(ManifestError, match=message):
        load_manifest(tmp_path)


def test_a_zone_can_be_generated_at_a_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = ZoneSettings(
        grid=GridSettings(columns=2, rows=2, lanes=1), duration_s=30.0, incidents_per_kind=0
    )
    manifest = new_zone(Path("zones") / "small", settings)  # SUMO's tools run inside the zone folder
    assert (tmp_path / "zones" / "small" / manifest.network.file).exists()


def test_actors_are_traced_back_to_their_incident() -> None:
    ids = {"I1", "I_2", "I3"}
    assert incident_of_actor("incident_I1", ids) == "I1"
    assert incident_of_actor("incident_I3_lead", ids) == "I3"  # a near collision's lead
    assert incident_of_actor("surge_I_2_17", ids) == "I_2"  # a surge's car; ids may hold underscores
    assert incident_of_actor("surge_I_2_x", ids) is None
    assert incident_of_actor("incident_I9", ids) is None
    assert incident_of_actor("veh42", ids) is None
