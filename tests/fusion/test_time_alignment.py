"""Time alignment in the engine on constructed scenes: the adaptive latency budget, out-of-sequence data,
data too old to use, and clock offsets of units that see no connected vehicle."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from roadcloud.errors import SettingError
from roadcloud.fusion import FusionConfig, LdmSnapshot

from .scenario import START_MS, Mover, Unit, drive, nearest_id, new_engine, rsm_message, rsm_topic, scene


def error_m(snapshot: LdmSnapshot, mover: Mover) -> float:
    rows = snapshot.around(*mover.position(snapshot.time_ms), 3.0)
    assert len(rows), f"no track near {mover.name} at {snapshot.time_ms - START_MS} ms"
    x, y = mover.position(snapshot.time_ms)
    return float(np.hypot(snapshot.x_m[rows[0]] - x, snapshot.y_m[rows[0]] - y))


def test_the_budget_learns_a_slow_uplink_and_the_map_never_goes_back_in_time() -> None:
    car = Mover("car", (0.0, 0.0), (10.0, 0.0))
    engine = new_engine()
    snapshots = drive(
        engine,
        scene([car], [Unit("R1", (50.0, 0.0), delay_ms=300)], duration_ms=5000),
        until_ms=START_MS + 5500,
    )
    # measured at T, in at T + 300 ms, fused at the tick T + 300 ms: a budget of 300 ms
    assert engine.latency_budget_ms == 300 and engine.freshness_ms == 300
    times = [s.time_ms for s in snapshots]
    assert all(b >= a for a, b in itertools.pairwise(times))
    assert all(s.published_ms is not None and s.freshness_ms == s.published_ms - s.time_ms for s in snapshots)
    # the first frames arrived before the budget had grown: fused out of sequence, none lost
    counts = engine.counts
    assert counts.late_dropped_total == 0 and 0 < counts.out_of_sequence["rsu/R1"] <= 5
    assert counts.fused["rsu/R1"] == 50
    last = next(s for s in reversed(snapshots) if s.time_ms == START_MS + 4900)
    assert len(last) == 1 and error_m(last, car) < 0.05


def test_the_budget_stays_at_its_floor_for_a_fast_uplink_and_is_bounded_by_its_maximum() -> None:
    car = Mover("car", (0.0, 0.0), (10.0, 0.0))
    fast = new_engine()
    drive(
        fast, scene([car], [Unit("R1", (50.0, 0.0), delay_ms=60)], duration_ms=3000), until_ms=START_MS + 3100
    )
    assert fast.latency_budget_ms == 100 and fast.counts.out_of_sequence["rsu/R1"] == 0
    capped = new_engine(max_latency_budget_ms=200)
    drive(
        capped,
        scene([car], [Unit("R1", (50.0, 0.0), delay_ms=300)], duration_ms=3000),
        until_ms=START_MS + 3500,
    )
    assert capped.latency_budget_ms == 200
    assert capped.counts.out_of_sequence["rsu/R1"] == capped.counts.fused["rsu/R1"] == 30


def test_the_budget_shrinks_one_step_after_a_window_that_needed_less() -> None:
    car = Mover("car", (0.0, 0.0), (5.0, 0.0))
    engine = new_engine(latency_window_ticks=10)
    unit = [Unit("R1", (50.0, 0.0), delay_ms=250)]
    slow = scene([car], unit, duration_ms=2000)
    fast = [  # from 2 s on the uplink takes 40 ms
        (arrival_ms - 250 + 40, topic, message)
        for arrival_ms, topic, message in scene([car], unit, duration_ms=6000)
        if arrival_ms - 250 >= START_MS + 2000
    ]
    budgets, times = [], []
    next_tick = START_MS
    for arrival_ms, topic, message in slow + fast:
        while arrival_ms > next_tick:
            times.append(engine.tick(next_tick).time_ms)
            budgets.append(engine.latency_budget_ms)
            next_tick += 100
        engine.add(topic, message, arrival_ms)
    # 300 ms while slow; after the switch a window (1 s) still holds slow arrivals, then a step per window
    assert budgets[15] == 300 and budgets[-1] == 100
    assert [b for i, b in enumerate(budgets[20:]) if i == 0 or b != budgets[19 + i]] == [300, 200, 100]
    assert all(b >= a for a, b in itertools.pairwise(times))


def test_a_message_later_than_the_budget_is_fused_out_of_sequence_as_well_as_in_time() -> None:
    # two units see one car; R2's messages arrive 250 ms late, past a fixed 100 ms budget. Fused by
    # retrodiction, they must help as much as when they arrive in time, and more than without them.
    car = Mover("car", (0.0, 0.0), (12.0, 1.0))
    errors: dict[str, float] = {}
    for label, r2_delay_ms, with_r2 in (("in time", 40, True), ("late", 250, True), ("without", 40, False)):
        units = [Unit("R1", (40.0, 0.0), noise_m=0.5)]
        if with_r2:
            units.append(Unit("R2", (60.0, 10.0), noise_m=0.5, delay_ms=r2_delay_ms))
        engine = new_engine(max_latency_budget_ms=100, report_coast_ms=600)
        snapshots = drive(engine, scene([car], units, duration_ms=6000, seed=11), until_ms=START_MS + 6400)
        settled = [s for s in snapshots if START_MS + 1500 <= s.time_ms <= START_MS + 5900]
        errors[label] = float(np.sqrt(np.mean([error_m(s, car) ** 2 for s in settled])))
        assert len({nearest_id(s, car.position(s.time_ms)) for s in settled}) == 1
        if label == "late":
            counts = engine.counts
            assert counts.out_of_sequence["rsu/R2"] == counts.fused["rsu/R2"] == 60
            assert counts.late_dropped_total == 0
    assert errors["late"] < 0.9 * errors["without"]
    assert errors["late"] < 1.15 * errors["in time"]


def test_a_unit_seen_only_out_of_sequence_still_gets_a_track() -> None:
    car = Mover("car", (0.0, 0.0), (10.0, 0.0))
    engine = new_engine(max_latency_budget_ms=100, report_coast_ms=600)
    snapshots = drive(
        engine,
        scene([car], [Unit("R1", (50.0, 0.0), delay_ms=350, noise_m=0.2)], duration_ms=4000, seed=3),
        until_ms=START_MS + 4500,
    )
    shown = [s for s in snapshots if START_MS + 1000 <= s.time_ms <= START_MS + 3900]
    assert all(len(s) == 1 for s in shown)
    assert max(error_m(s, car) for s in shown) < 0.5  # predicted 350 ms ahead of its newest data
    assert engine.counts.out_of_sequence["rsu/R1"] == engine.counts.fused["rsu/R1"] == 40


def test_data_older_than_max_age_is_dropped_and_counted_per_sender() -> None:
    car = Mover("car", (0.0, 0.0), (10.0, 0.0))
    engine = new_engine(max_latency_budget_ms=100, max_age_ms=500)
    deliveries = scene([car], [Unit("R1", (0.0, 0.0)), Unit("R2", (30.0, 0.0))], duration_ms=2000)
    drive(engine, deliveries, until_ms=START_MS + 2100)
    fused = engine.counts.fused
    measured = START_MS + 1500
    stale = rsm_message("R2", xy_m=[car.position(measured)], movers=[car], object_ids=[7], sender_ms=measured)
    recent = rsm_message(
        "R1", xy_m=[car.position(measured + 300)], movers=[car], object_ids=[1], sender_ms=measured + 300
    )
    engine.add(rsm_topic("R2"), stale, measured + 600)  # 600 ms old when it arrives
    engine.add(rsm_topic("R1"), recent, measured + 600)  # 300 ms old: out of sequence, fused
    engine.tick(START_MS + 2200)
    counts = engine.counts
    assert counts.late_dropped == {"vehicle": 0, "rsu/R1": 0, "rsu/R2": 1}
    assert counts.out_of_sequence["rsu/R1"] == 1 and counts.fused["rsu/R1"] == fused["rsu/R1"] + 1
    assert counts.fused["rsu/R2"] == fused["rsu/R2"]


def overlap_scene(*, r2_offset_ms: int, connected: bool, seconds: int) -> list:  # type: ignore[type-arg]
    """R1 at the origin (range 150 m) sees connected cars on y = -120 m that R2 never sees; R2 at
    x = 200 m (range 100 m) shares x in [100, 150] on y = 0 with R1, where unconnected cars pass."""
    # 60 m apart: at most 8 objects in a unit's view, one RSM each frame
    through = [Mover(f"car{i}", (-60.0 - 60.0 * i, 0.0), (15.0, 0.0)) for i in range(seconds // 4 + 4)]
    gnss = [Mover(f"cv{i}", (-90.0 - 60.0 * i, -120.0), (15.0, 0.0)) for i in range(seconds // 4 + 4)]
    units = [
        Unit("R1", (0.0, 0.0), range_m=150.0, clock_offset_ms=30, noise_m=0.3),
        Unit("R2", (200.0, 0.0), range_m=100.0, clock_offset_ms=r2_offset_ms, noise_m=0.3),
    ]
    return scene(
        through + gnss,
        units,
        duration_ms=seconds * 1000,
        connected=[m.name for m in gnss] if connected else [],
        bsm_noise_m=1.0,
        seed=5,
    )


def test_a_unit_without_connected_vehicles_gets_its_offset_from_an_anchored_neighbour() -> None:
    engine = new_engine()
    deliveries = overlap_scene(r2_offset_ms=-40, connected=True, seconds=60)
    history: list[float] = []
    next_tick = START_MS
    for arrival_ms, topic, message in deliveries:
        while arrival_ms > next_tick:
            engine.tick(next_tick)
            history.append(engine.clock_offsets_ms.get("rsu/R2", 0.0))
            next_tick += 100
        engine.add(topic, message, arrival_ms)
    offsets = engine.clock_offsets_ms
    assert abs(offsets["rsu/R1"] - 30.0) < 12.0  # from the connected cars' GNSS time
    # R2 from R1's detections of the cars both see. Once estimated it stays: over the last 30 s it keeps
    # within the noise of a 0.05 gain on one or two cars a frame (a few ms), and does not walk away
    settled = np.array(history[-300:])
    assert abs(settled.mean() + 40.0) < 6.0 and np.abs(settled + 40.0).max() < 15.0


def test_units_with_no_gnss_anchor_anywhere_do_not_chase_each_other() -> None:
    engine = new_engine()
    drive(engine, overlap_scene(r2_offset_ms=-40, connected=False, seconds=25), until_ms=START_MS + 25_100)
    # nothing ties either clock to true time: both estimates stay where they started
    assert engine.clock_offsets_ms["rsu/R1"] == 0.0 and engine.clock_offsets_ms["rsu/R2"] == 0.0


def test_time_alignment_settings_are_validated() -> None:
    with pytest.raises(SettingError, match="latency_budget_ms"):
        FusionConfig(latency_budget_ms=150)
    with pytest.raises(SettingError, match="max_latency_budget_ms"):
        FusionConfig(max_latency_budget_ms=250)
    with pytest.raises(SettingError, match="max_latency_budget_ms"):
        FusionConfig(latency_budget_ms=300, max_latency_budget_ms=200)
    with pytest.raises(SettingError, match="latency_quantile"):
        FusionConfig(latency_quantile=1.5)
    with pytest.raises(SettingError, match="latency_window_ticks"):
        FusionConfig(latency_window_ticks=0)
