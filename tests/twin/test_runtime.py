"""The twin's streams, checked against its own ground truth and against SUMO's signal programs."""

from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from roadcloud.bus.topics import parse_topic
from roadcloud.errors import SettingError
from roadcloud.messages import BSM, MAP, RSM, SPAT, GroundTruth, Heartbeat, IncidentKind, LightState
from roadcloud.messages.json_codec import decode_named
from roadcloud.messages.units import resolve_sec_mark
from roadcloud.twin.field import bsm_id
from roadcloud.twin.manifest import WAITING_KINDS, Manifest
from roadcloud.twin.runtime import Emission, Twin

Run = tuple[Twin, list[Emission]]


def _decoded(emissions: list[Emission], name: str) -> list[tuple[Emission, object]]:
    return [(e, decode_named(e.payload, name)) for e in emissions if parse_topic(e.topic).message == name]


def _truths(run: Run) -> list[GroundTruth]:
    return [message for _, message in _decoded(run[1], "truth")]  # type: ignore[misc]


def test_every_stream_is_emitted_and_valid(small_run: Run) -> None:
    _, emissions = small_run
    names = {parse_topic(e.topic).message for e in emissions}
    assert names == {"truth", "rsm", "bsm", "spat", "map", "heartbeat"}
    types = {"truth": GroundTruth, "rsm": RSM, "bsm": BSM, "spat": SPAT, "map": MAP, "heartbeat": Heartbeat}
    for emission in emissions:  # every payload passes the same validation the cloud's ingest applies
        name = parse_topic(emission.topic).message
        assert isinstance(decode_named(emission.payload, name), types[name])
    assert len(_truths(small_run)) == 1000  # one per 100 ms step


def test_deliveries_are_in_time_order(small_run: Run) -> None:
    _, emissions = small_run
    times = [e.delivery_ms for e in emissions]
    assert times == sorted(times)


def test_rsm_objects_are_real_actors_seen_from_their_unit(small_run: Run) -> None:
    twin, emissions = small_run
    truth_by_ms = {t.time_ms: t for t in _truths(small_run)}
    units = {spec.id: spec for spec in twin.unit_specs}
    errors_m = []
    for emission, rsm in _decoded(emissions, "rsm"):
        assert isinstance(rsm, RSM)
        spec = units[rsm.id]
        assert 1 <= len(rsm.participants) <= 16
        measured_ms = resolve_sec_mark(rsm.participants[0].sec_mark, reference_epoch_ms=emission.delivery_ms)
        true_ms = measured_ms - spec.clock_offset_ms  # the unit stamps with its own, offset clock
        assert emission.delivery_ms - true_ms >= spec.network_delay_ms
        truth = truth_by_ms[true_ms]
        lat = (rsm.ref_pos.lat + np.array([p.pos.lat for p in rsm.participants])) * 1e-7
        lon = (rsm.ref_pos.long + np.array([p.pos.lon for p in rsm.participants])) * 1e-7
        x_m, y_m = twin.road_map.geo.wgs84_to_local(lon, lat)
        actors = np.column_stack([truth.x_m, truth.y_m])
        nearest_m = np.min(np.hypot(actors[:, None, 0] - x_m, actors[:, None, 1] - y_m), axis=0)
        errors_m.extend(nearest_m.tolist())
        within = np.hypot(x_m - spec.x_m, y_m - spec.y_m) <= spec.range_m + 5.0
        assert within.all(), "objects are reported only inside the unit's range (plus noise)"
    errors = np.array(errors_m)
    # Most reports sit on a true actor within the sensor noise; the rest are the modelled false alarms.
    assert np.mean(errors < 1.5) > 0.97


def test_bsms_come_only_from_connected_vehicles(small_run: Run) -> None:
    _, emissions = small_run
    connected_ids = set()
    all_ids = set()
    for truth in _truths(small_run):
        for actor_id, connected in zip(truth.actor_ids, truth.connected, strict=True):
            all_ids.add(bsm_id(actor_id))
            if connected:
                connected_ids.add(bsm_id(actor_id))
    senders = {parse_topic(e.topic).device_id for e in emissions if parse_topic(e.topic).message == "bsm"}
    assert senders and senders <= connected_ids
    share = len(connected_ids) / len(all_ids)
    assert 0.2 < share < 0.6  # half of the motor vehicles, none of the walkers and cyclists


def test_spat_predicts_when_each_light_changes(small_run: Run) -> None:
    _, emissions = small_run
    mismatches, checks = 0, 0
    history: dict[tuple[int, int], list[tuple[int, LightState, int]]] = defaultdict(list)
    for emission, spat in _decoded(emissions, "spat"):
        assert isinstance(spat, SPAT)
        state = spat.intersections[0]
        now_ms = resolve_sec_mark(state.time_stamp or 0, reference_epoch_ms=emission.delivery_ms)
        for phase in state.phases:
            current = phase.phase_states[0]
            assert current.timing is not None
            history[(state.intersection_id.id, phase.id)].append(
                (now_ms, current.light, now_ms + current.timing.likely_end_time * 100)
            )
    for series in history.values():
        for (t0, light0, end0), (t1, light1, _) in itertools.pairwise(series):
            # SUMO reports at t the light that ruled the step ending at t, so "ends in 0 s" at t0 is a
            # change right after t0. The announced end must fall between the last old and first new report.
            if light1 != light0:
                checks += 1
                mismatches += not (t0 <= end0 <= t1)
    assert checks > 50
    assert mismatches == 0


def test_map_is_sent_once_per_signalised_junction(small_run: Run) -> None:
    twin, emissions = small_run
    maps = [message for _, message in _decoded(emissions, "map")]
    assert len(maps) == len(twin.road_map.signalised_junctions())
    first = maps[0]
    assert isinstance(first, MAP)
    assert len(first.nodes[0].in_links) == 4  # a grid crossing has four approaches


def test_incidents_appear_in_ground_truth_when_scripted(
    small_run: Run, small_zone: tuple[Path, Manifest]
) -> None:
    twin, _ = small_run
    _, manifest = small_zone
    truths = _truths(small_run)
    seen: dict[str, list[int]] = defaultdict(list)
    for truth in truths:
        for active in truth.incidents:
            seen[active.incident_id].append(truth.time_ms)
    for incident in manifest.incident:
        if incident.start_s >= 100.0 or incident.kind in WAITING_KINDS:
            continue  # those wait for their moment; tests/twin/test_incidents.py checks them
        times = seen[incident.id]
        assert times, f"incident {incident.id} never became active"
        start_ms = twin.start_epoch_ms + round(incident.start_s * 1000)
        assert abs(times[0] - start_ms) <= 100
        if incident.start_s + incident.duration_s < 99.0:
            assert abs(times[-1] - (start_ms + round(incident.duration_s * 1000))) <= 200


def test_stopped_and_wrong_way_actors_behave_as_scripted(
    small_run: Run, small_zone: tuple[Path, Manifest]
) -> None:
    twin, _ = small_run
    _, manifest = small_zone
    by_kind = {incident.kind: incident for incident in manifest.incident}
    stopped = by_kind[IncidentKind.STOPPED_VEHICLE]
    wrong_way = by_kind[IncidentKind.WRONG_WAY_VEHICLE]
    lane_heading = {}
    for truth in _truths(small_run):
        for index, actor_id in enumerate(truth.actor_ids):
            if actor_id == f"incident_{stopped.id}":
                assert truth.speed_mps[index] < 0.1
            if actor_id == f"incident_{wrong_way.id}":
                lane_heading[truth.time_ms] = truth.heading_deg[index]
    assert lane_heading, "the wrong-way vehicle appeared"
    lane = twin.road_map.lane(wrong_way.lane)
    dx, dy = np.diff(lane.shape_xy[[0, -1]], axis=0)[0]
    lane_dir = np.degrees(np.arctan2(dx, dy)) % 360
    for heading in lane_heading.values():
        assert abs((heading - lane_dir + 180) % 360 - 180) > 150  # it drives against the lane


def test_bad_run_settings_are_refused(small_zone: tuple[Path, Manifest]) -> None:
    zone_dir, _ = small_zone
    with pytest.raises(SettingError, match="positive"):
        Twin(zone_dir, duration_s=-1.0)
    with pytest.raises(SettingError, match="zero or more"):
        Twin(zone_dir, delay_ms=-5)


def test_a_live_twin_runs_on_the_given_clock(small_zone: tuple[Path, Manifest]) -> None:
    zone_dir, _ = small_zone
    now_ms = 1_795_000_000_000
    twin = Twin(zone_dir, duration_s=0.3, start_epoch_ms=now_ms)
    truths = [
        decode_named(e.payload, "truth")
        for step in twin.run()
        for e in step
        if parse_topic(e.topic).message == "truth"
    ]
    assert [t.time_ms for t in truths] == [now_ms + 100, now_ms + 200, now_ms + 300]  # type: ignore[union-attr]


def test_delay_override_delays_every_unit(small_zone: tuple[Path, Manifest]) -> None:
    zone_dir, _ = small_zone
    twin = Twin(zone_dir, duration_s=1.0, delay_ms=300)
    assert {unit.network_delay_ms for unit in twin.unit_specs} == {300}
    emissions = [emission for step in twin.run() for emission in step]
    rsm_delays = [
        e.delivery_ms - (twin.start_epoch_ms + 100)
        for e in emissions
        if parse_topic(e.topic).message == "rsm"
    ]
    assert rsm_delays and min(rsm_delays) >= 300 - 100  # from a frame measured no later than 0.1 s
