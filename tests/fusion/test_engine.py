"""The fusion engine on constructed scenes with known answers, in-process and with worker processes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from roadcloud.errors import SettingError
from roadcloud.fusion import FusionConfig, FusionEngine
from roadcloud.messages import ActorKind

from . import scenario
from .scenario import (
    GEO,
    START_MS,
    Mover,
    Unit,
    bsm_message,
    bsm_topic,
    drive,
    nearest_id,
    new_engine,
    rsm_message,
    rsm_topic,
    scene,
)


@pytest.fixture(autouse=True, params=[0, 2], ids=["in-process", "2-workers"])
def workers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Every case runs on the in-process engine and on the parallel one (2 worker processes; the scenes
    straddle x = 0, a tile border between the two workers)."""
    monkeypatch.setattr(scenario, "WORKERS", request.param)
    yield request.param
    while scenario.ENGINES:
        scenario.ENGINES.pop().close()


def ids_along(snapshots: list, mover: Mover) -> list[int | None]:  # type: ignore[type-arg]
    return [nearest_id(s, mover.position(s.time_ms)) for s in snapshots]


def test_a_steady_object_becomes_one_confirmed_track_at_its_true_place() -> None:
    car = Mover("car", (0.0, 0.0), (10.0, 0.0))
    snapshots = drive(
        new_engine(), scene([car], [Unit("R1", (50.0, 0.0))], duration_ms=2000), until_ms=START_MS + 2100
    )
    last = snapshots[-1]
    assert len(last) == 1
    assert last.time_ms == START_MS + 2000 and last.time_ms % 100 == 0
    x, y = car.position(last.time_ms)
    assert abs(last.x_m[0] - x) < 0.05 and abs(last.y_m[0] - y) < 0.05
    assert abs(last.speed_mps[0] - 10.0) < 0.05 and abs(last.heading_deg[0] - 90.0) < 0.5
    assert last.kind[0] == ActorKind.CAR and abs(last.length_m[0] - 4.5) < 0.05
    # confirmation needs 3 of 4 frames: not in the first two snapshots with data
    first_seen = next(i for i, s in enumerate(snapshots) if len(s))
    assert snapshots[first_seen].time_ms >= START_MS + 200


def test_two_objects_crossing_keep_their_ids() -> None:
    # an X crossing at 90°, meeting at (0, 0) at t = 3 s; the unit gives fresh object ids every frame
    # so only kinematics keeps the tracks apart
    east = Mover("east", (-30.0, 0.0), (10.0, 0.0))
    north = Mover("north", (0.0, -30.0), (0.0, 10.0))
    unit = Unit("R1", (0.0, 0.0), noise_m=0.2, fresh_ids=True)
    snapshots = drive(
        new_engine(), scene([east, north], [unit], duration_ms=6000, seed=3), until_ms=START_MS + 6100
    )
    # ids are read where the two are more than 2 m apart (at the crossing, "nearest" is ambiguous)
    settled = [
        s
        for s in snapshots
        if START_MS + 1000 <= s.time_ms <= START_MS + 5900 and abs(s.time_ms - START_MS - 3000) > 200
    ]
    east_ids = set(ids_along(settled, east))
    north_ids = set(ids_along(settled, north))
    assert len(east_ids) == 1 and len(north_ids) == 1 and east_ids != north_ids
    assert None not in east_ids


def test_an_object_handed_from_one_unit_to_the_next_keeps_its_id() -> None:
    car = Mover("car", (-100.0, 0.0), (15.0, 0.0))
    units = [
        Unit("R1", (-100.0, 0.0), range_m=120.0, noise_m=0.2),
        Unit("R2", (150.0, 0.0), range_m=140.0, noise_m=0.2),
    ]
    snapshots = drive(new_engine(), scene([car], units, duration_ms=14000, seed=1), until_ms=START_MS + 14100)
    ids = set(ids_along([s for s in snapshots if s.time_ms >= START_MS + 500], car))
    assert len(ids) == 1 and None not in ids
    assert all(len(s) <= 1 for s in snapshots)


def test_a_track_crossing_a_tile_border_keeps_its_global_id() -> None:
    engine = new_engine(tile_size_m=100.0)
    car = Mover("car", (60.0, 20.0), (12.0, 0.0))
    snapshots = drive(
        engine,
        scene([car], [Unit("R1", (100.0, 20.0), noise_m=0.2)], duration_ms=8000, seed=2),
        until_ms=START_MS + 8100,
    )
    ids = [i for i in ids_along(snapshots, car) if i is not None]
    assert len(ids) > 60 and set(ids) == {ids[0]}
    (tile,) = [key for key, track_ids in engine.tracks_by_tile().items() if ids[0] in track_ids]
    assert tile == int(engine.grid.key_of(np.array([150.0]), np.array([20.0]))[0])  # x = 156 m now


def test_late_message_within_budget_is_fused_beyond_it_retrodicted_and_too_old_dropped() -> None:
    car = Mover("car", (0.0, 0.0), (10.0, 0.0))
    engine = new_engine(max_age_ms=1000)
    deliveries = scene([car], [Unit("R1", (0.0, 0.0))], duration_ms=1000)
    drive(engine, deliveries, until_ms=START_MS + 1100)  # horizon now START + 1000
    fused_before = engine.counts.fused["rsu/R1"]

    measured = START_MS + 1100
    within = rsm_message(
        "R1", xy_m=[car.position(measured)], movers=[car], object_ids=[1], sender_ms=measured
    )
    engine.add(rsm_topic("R1"), within, measured + 90)  # 90 ms late, budget 100: in time for tick +1200
    snapshot = engine.tick(START_MS + 1200)
    assert engine.counts.fused["rsu/R1"] == fused_before + 1
    assert snapshot.time_ms == measured and len(snapshot) == 1
    assert abs(snapshot.x_m[0] - car.position(measured)[0]) < 0.05

    measured = START_MS + 1200
    late = rsm_message("R1", xy_m=[car.position(measured)], movers=[car], object_ids=[1], sender_ms=measured)
    engine.tick(START_MS + 1300)  # fuses up to START + 1200 without it
    engine.add(rsm_topic("R1"), late, measured + 250)
    snapshot = engine.tick(START_MS + 1400)  # out of sequence: fused into the track at START + 1200
    counts = engine.counts
    assert counts.out_of_sequence["rsu/R1"] == 1 and counts.late_dropped_total == 0
    assert counts.fused["rsu/R1"] == fused_before + 2
    assert len(snapshot) == 1 and abs(snapshot.x_m[0] - car.position(snapshot.time_ms)[0]) < 0.05

    stale = rsm_message("R1", xy_m=[car.position(START_MS)], movers=[car], object_ids=[1], sender_ms=START_MS)
    engine.add(rsm_topic("R1"), stale, START_MS + 1450)  # 1.45 s old, max age 1 s
    engine.tick(START_MS + 1500)
    counts = engine.counts
    assert counts.late_dropped == {"vehicle": 0, "rsu/R1": 1}
    assert counts.fused["rsu/R1"] == fused_before + 2 and counts.late_dropped_total == 1


def test_unit_clock_offset_is_estimated_from_connected_vehicles() -> None:
    cars = [Mover(f"car{i}", (-140.0 + 12.0 * i, 3.5 * (i % 3)), (15.0, 0.0)) for i in range(6)]
    units = [Unit("R1", (0.0, 0.0), range_m=300.0, clock_offset_ms=60, noise_m=0.3)]
    engine = new_engine()
    deliveries = scene(
        cars, units, duration_ms=15000, connected=[c.name for c in cars], bsm_noise_m=1.0, seed=5
    )
    snapshots = drive(engine, deliveries, until_ms=START_MS + 15100)
    assert abs(engine.clock_offsets_ms["rsu/R1"] - 60.0) < 10.0
    assert engine.clock_offsets_ms["vehicle"] == 0.0
    # corrected, each car is one track close to the truth
    last = snapshots[-1]
    assert len(last) == len(cars)
    errors = [
        np.hypot(*(np.array(c.position(last.time_ms)) - [last.x_m[i], last.y_m[i]]))
        for i, c in enumerate(cars)
        for i in [int(last.around(*c.position(last.time_ms), 2.0)[0])]
    ]
    assert max(errors) < 0.5


def test_a_single_false_alarm_never_becomes_a_confirmed_track() -> None:
    car = Mover("car", (0.0, 0.0), (10.0, 0.0))
    engine = new_engine()
    deliveries = scene([car], [Unit("R1", (0.0, 0.0))], duration_ms=3000)
    ghost_ms = START_MS + 1000
    ghost = Mover("ghost", (40.0, 60.0), (0.0, 0.0))
    phantom = rsm_message(
        "R1", xy_m=[ghost.position(ghost_ms)], movers=[ghost], object_ids=[999], sender_ms=ghost_ms
    )
    deliveries.append((ghost_ms + 40, rsm_topic("R1"), phantom))
    deliveries.sort(key=lambda d: d[0])
    snapshots = drive(engine, deliveries, until_ms=START_MS + 3100)
    assert all(len(s.around(40.0, 60.0, 5.0)) == 0 for s in snapshots)
    assert max(len(s) for s in snapshots) == 1


def test_bsm_and_rsm_of_one_vehicle_give_one_track() -> None:
    car = Mover("car", (-50.0, 0.0), (12.0, 0.0))
    engine = new_engine()
    deliveries = scene(
        [car],
        [Unit("R1", (0.0, 0.0), noise_m=0.3)],
        duration_ms=6000,
        connected=["car"],
        bsm_noise_m=1.0,
        seed=4,
    )
    snapshots = drive(engine, deliveries, until_ms=START_MS + 6100)
    assert max(len(s) for s in snapshots) == 1
    ids = {nearest_id(s, car.position(s.time_ms)) for s in snapshots if len(s)}
    assert len(ids) == 1
    assert snapshots[-2].time_ms == START_MS + 5900  # the last frame with data
    assert snapshots[-2].source_count.tolist() == [2]
    assert engine.counts.fused["vehicle"] == 60


def test_the_bsm_id_keeps_a_vehicle_outside_roadside_coverage() -> None:
    car = Mover("car", (0.0, 0.0), (12.0, 0.0))
    engine = new_engine()
    deliveries = [
        (
            START_MS + k * 100 + 50,
            bsm_topic(car),
            bsm_message(car, xy_m=car.position(START_MS + k * 100), measured_ms=START_MS + k * 100),
        )
        for k in range(30)
    ]
    snapshots = drive(engine, deliveries, until_ms=START_MS + 3100)
    assert len({int(i) for s in snapshots for i in s.track_id}) == 1
    assert snapshots[-2].source_count.tolist() == [1]


def test_other_topics_and_bad_payloads_are_ignored_or_counted() -> None:
    engine = new_engine()
    engine.add("roadcloud/v1/test/signal/S1/spat/up", b"{}", START_MS)
    engine.add("roadcloud/v1/test/rsu/R1/rsm/up", b"not json", START_MS)
    engine.add("nonsense", b"", START_MS)
    assert engine.counts.rejected_messages == 2
    assert len(engine.tick(START_MS + 100)) == 0


def test_config_is_validated() -> None:
    with pytest.raises(SettingError, match="latency_budget_ms"):
        FusionConfig(latency_budget_ms=150)
    with pytest.raises(SettingError, match="confirm_hits"):
        FusionConfig(confirm_hits=5, confirm_window=4)
    assert FusionEngine(FusionConfig(), GEO).track_count == 0


def test_detections_far_in_the_future_are_dropped_not_held() -> None:
    car = Mover("car", (0.0, 0.0), (10.0, 0.0))
    engine = new_engine(max_future_ms=1_000)
    ahead_ms = START_MS + 20_000  # a unit whose clock runs 20 s ahead
    message = rsm_message(
        "R9", xy_m=[car.position(START_MS)], movers=[car], object_ids=[1], sender_ms=ahead_ms
    )
    engine.add(rsm_topic("R9"), message, START_MS + 40)
    engine.tick(START_MS + 100)
    engine.tick(START_MS + 200)
    counts = engine.counts
    assert counts.future_dropped["rsu/R9"] == 1 and counts.fused["rsu/R9"] == 0
