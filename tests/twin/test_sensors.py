"""Tests for the roadside sensor model: coverage geometry, error statistics, misses, phantoms, settings."""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pytest
from numpy.typing import ArrayLike, NDArray

from roadcloud.errors import SettingError
from roadcloud.messages.truth import ActorKind
from roadcloud.twin import sensors
from roadcloud.twin.sensors import (
    MIN_SIZE_M,
    SENSOR_NOISE_PRESETS,
    Actors,
    Detections,
    RoadsideUnits,
    SensorModel,
    sense,
    visible,
)

PERFECT = SensorModel(
    position_noise_m=0.0,
    speed_noise_mps=0.0,
    heading_noise_deg=0.0,
    size_noise_m=0.0,
    miss_rate=0.0,
    false_alarms_per_frame=0.0,
)


def make_units(
    x_m: ArrayLike,
    y_m: ArrayLike,
    *,
    range_m: ArrayLike = 100.0,
    fov_deg: ArrayLike = 360.0,
    facing_deg: ArrayLike = 0.0,
) -> RoadsideUnits:
    x = np.atleast_1d(np.asarray(x_m, dtype=float))
    n = len(x)
    return RoadsideUnits(
        x_m=x,
        y_m=np.broadcast_to(np.asarray(y_m, dtype=float), n).copy(),
        range_m=np.broadcast_to(np.asarray(range_m, dtype=float), n).copy(),
        fov_deg=np.broadcast_to(np.asarray(fov_deg, dtype=float), n).copy(),
        facing_deg=np.broadcast_to(np.asarray(facing_deg, dtype=float), n).copy(),
    )


def make_actors(
    x_m: ArrayLike,
    y_m: ArrayLike,
    *,
    speed_mps: ArrayLike = 10.0,
    heading_deg: ArrayLike = 90.0,
    length_m: ArrayLike = 4.5,
    width_m: ArrayLike = 1.8,
    kind: ArrayLike = int(ActorKind.CAR),
) -> Actors:
    x = np.atleast_1d(np.asarray(x_m, dtype=float))
    n = len(x)

    def column(value: ArrayLike) -> NDArray[np.float64]:
        return np.broadcast_to(np.asarray(value, dtype=np.float64), n).copy()

    return Actors(
        x_m=x,
        y_m=column(y_m),
        speed_mps=column(speed_mps),
        heading_deg=column(heading_deg),
        length_m=column(length_m),
        width_m=column(width_m),
        kind=np.broadcast_to(np.asarray(kind, dtype=np.int64), n).copy(),
    )


def polar_actors(distance_m: ArrayLike, bearing_deg: ArrayLike) -> Actors:
    """Actors at the given distance and bearing (clockwise from north) from the origin."""
    d = np.asarray(distance_m, dtype=float)
    b = np.deg2rad(np.asarray(bearing_deg, dtype=float))
    return make_actors(d * np.sin(b), d * np.cos(b))


def seen_actors(units: RoadsideUnits, actors: Actors) -> list[int]:
    return [int(a) for a in visible(units, actors)[1]]


def angle_diff_deg(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Signed smallest difference a - b in (-180, 180]."""
    return -((b - a + 180.0) % 360.0 - 180.0)


# --- coverage geometry -------------------------------------------------------------------------------


def test_range_is_inclusive_and_sharp() -> None:
    units = make_units(0.0, 0.0, range_m=100.0)
    actors = make_actors(
        [100.0, -60.0, 0.0, 100.001, 70.72, 0.0],
        [0.0, -80.0, 99.999, 0.0, 70.72, -100.01],
    )
    # 100 and 60-80-100 lie exactly on the circle; the last three are just outside it.
    assert seen_actors(units, actors) == [0, 1, 2]


def test_sector_facing_east_with_90_degree_fov() -> None:
    units = make_units(0.0, 0.0, range_m=100.0, fov_deg=90.0, facing_deg=90.0)
    bearings = [0.0, 44.0, 46.0, 90.0, 134.0, 136.0, 180.0, 270.0]
    actors = polar_actors(50.0, bearings)
    assert [bearings[i] for i in seen_actors(units, actors)] == [46.0, 90.0, 134.0]
    # Straight ahead but beyond range: unseen.
    assert seen_actors(units, polar_actors([99.0, 101.0], [90.0, 90.0])) == [0]


def test_sector_across_north_wraps() -> None:
    units = make_units(0.0, 0.0, range_m=100.0, fov_deg=40.0, facing_deg=350.0)  # covers 330°..10°
    bearings = [325.0, 335.0, 359.0, 0.0, 9.0, 11.0, 170.0]
    actors = polar_actors(30.0, bearings)
    assert [bearings[i] for i in seen_actors(units, actors)] == [335.0, 359.0, 0.0, 9.0]


@pytest.mark.parametrize("fov_deg", [360.0, 500.0])
def test_all_round_unit_sees_every_direction(fov_deg: float) -> None:
    units = make_units(0.0, 0.0, range_m=100.0, fov_deg=fov_deg, facing_deg=123.0)
    bearings = np.arange(0.0, 360.0, 7.5)
    assert seen_actors(units, polar_actors(99.0, bearings)) == list(range(len(bearings)))


@pytest.mark.parametrize(("fov_deg", "facing_deg"), [(360.0, 0.0), (90.0, 90.0), (0.0, 200.0)])
def test_actor_exactly_at_the_unit_is_seen(fov_deg: float, facing_deg: float) -> None:
    units = make_units(12.5, -3.0, range_m=50.0, fov_deg=fov_deg, facing_deg=facing_deg)
    assert seen_actors(units, make_actors([12.5], [-3.0])) == [0]


def reference_visible(
    units: RoadsideUnits, actors: Actors
) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """Pairs seen and pairs too close to an edge to call, by a scalar atan2 implementation."""
    seen: set[tuple[int, int]] = set()
    ambiguous: set[tuple[int, int]] = set()
    for u in range(len(units)):
        for a in range(len(actors)):
            dx = float(actors.x_m[a] - units.x_m[u])
            dy = float(actors.y_m[a] - units.y_m[u])
            distance = math.hypot(dx, dy)
            off = (math.degrees(math.atan2(dx, dy)) - units.facing_deg[u] + 180.0) % 360.0 - 180.0
            half = units.fov_deg[u] / 2.0
            if abs(distance - units.range_m[u]) < 1e-6 or (half < 180.0 and abs(abs(off) - half) < 1e-6):
                ambiguous.add((u, a))
            elif distance <= units.range_m[u] and (half >= 180.0 or abs(off) <= half):
                seen.add((u, a))
    return seen, ambiguous


def test_visible_matches_scalar_reference_and_is_sorted() -> None:
    rng = np.random.default_rng(7)
    units = make_units(
        rng.uniform(0, 400, 12),
        rng.uniform(0, 400, 12),
        range_m=rng.uniform(20, 150, 12),
        fov_deg=rng.choice([30.0, 90.0, 120.0, 200.0, 360.0], 12),
        facing_deg=rng.uniform(-360, 720, 12),
    )
    actors = make_actors(rng.uniform(-50, 450, 300), rng.uniform(-50, 450, 300))
    unit_idx, actor_idx = visible(units, actors)
    got = set(zip(unit_idx.tolist(), actor_idx.tolist(), strict=True))
    seen, ambiguous = reference_visible(units, actors)
    assert got - ambiguous == seen
    assert len(seen) > 100  # the case exercises something
    order = np.lexsort((actor_idx, unit_idx))
    np.testing.assert_array_equal(order, np.arange(len(unit_idx)))


def test_tree_path_gives_identical_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    # Integer grid and integer ranges put many actors exactly on a range circle or sector edge.
    rng = np.random.default_rng(11)
    units = make_units(
        rng.integers(0, 200, 40),
        rng.integers(0, 200, 40),
        range_m=rng.integers(0, 60, 40),
        fov_deg=rng.choice([0.0, 90.0, 180.0, 360.0], 40),
        facing_deg=rng.choice([0.0, 45.0, 90.0, 270.0], 40),
    )
    actors = make_actors(rng.integers(0, 200, 3000), rng.integers(0, 200, 3000))
    monkeypatch.setattr(sensors, "DENSE_PAIR_LIMIT", 10**12)
    dense = visible(units, actors)
    monkeypatch.setattr(sensors, "DENSE_PAIR_LIMIT", 0)
    tree = visible(units, actors)
    assert len(dense[0]) > 1000
    np.testing.assert_array_equal(dense[0], tree[0])
    np.testing.assert_array_equal(dense[1], tree[1])


def test_no_units_or_no_actors_gives_empty_results() -> None:
    units = make_units(0.0, 0.0)
    none_units = make_units(np.empty(0), np.empty(0))
    no_actors = make_actors(np.empty(0), np.empty(0))
    assert len(visible(none_units, make_actors([0.0], [0.0]))[0]) == 0
    assert len(visible(units, no_actors)[0]) == 0
    empty = sense(none_units, no_actors, SENSOR_NOISE_PRESETS["high"], np.random.default_rng(0))
    assert len(empty) == 0
    assert empty.unit_index.dtype == np.intp
    assert empty.kind.dtype == np.int64


# --- error model ---------------------------------------------------------------------------------------

N_STAT = 25_000


def noise_errors(model: SensorModel, *, heading_deg: float = 90.0) -> dict[str, NDArray[np.float64]]:
    """Errors of N_STAT detections of N_STAT distinct actors seen by one all-round unit."""
    rng = np.random.default_rng(2024)
    units = make_units(0.0, 0.0, range_m=10_000.0)
    truth = make_actors(
        rng.uniform(-500, 500, N_STAT),
        rng.uniform(-500, 500, N_STAT),
        speed_mps=15.0,
        heading_deg=heading_deg,
        length_m=4.5,
        width_m=1.8,
    )
    det = sense(units, truth, model, np.random.default_rng(1))
    assert len(det) == N_STAT
    a = det.actor_index
    return {
        "x_m": det.x_m - truth.x_m[a],
        "y_m": det.y_m - truth.y_m[a],
        "speed_mps": det.speed_mps - truth.speed_mps[a],
        "heading_deg": angle_diff_deg(det.heading_deg, truth.heading_deg[a]),
        "length_m": det.length_m - truth.length_m[a],
        "width_m": det.width_m - truth.width_m[a],
    }


NOISY = SensorModel(
    position_noise_m=0.3,
    speed_noise_mps=0.5,
    heading_noise_deg=2.0,
    size_noise_m=0.2,
    miss_rate=0.0,
    false_alarms_per_frame=0.0,
)
CONFIGURED_STD = {
    "x_m": NOISY.position_noise_m,
    "y_m": NOISY.position_noise_m,
    "speed_mps": NOISY.speed_noise_mps,
    "heading_deg": NOISY.heading_noise_deg,
    "length_m": NOISY.size_noise_m,
    "width_m": NOISY.size_noise_m,
}


@pytest.mark.parametrize("heading_deg", [90.0, 359.5])
def test_noise_is_unbiased_gaussian_with_configured_std(heading_deg: float) -> None:
    errors = noise_errors(NOISY, heading_deg=heading_deg)
    for name, std in CONFIGURED_STD.items():
        e = errors[name]
        # Standard error of the mean is std/√n; of the std about std/√(2n) ≈ 0.45 % here.
        assert abs(e.mean()) < 5 * std / math.sqrt(N_STAT), name
        assert e.std() / std == pytest.approx(1.0, abs=0.03), name
        # Gaussian, not merely the right variance: 68.3 % within one std (binomial SE ≈ 0.3 %).
        assert np.mean(np.abs(e) <= std) == pytest.approx(0.6827, abs=0.015), name
    # x and y errors are independent.
    assert abs(np.corrcoef(errors["x_m"], errors["y_m"])[0, 1]) < 0.03


def test_each_unit_draws_its_own_errors() -> None:
    units = make_units([0.0, 0.0], [0.0, 0.0], range_m=1000.0)
    truth = make_actors(np.linspace(-500, 500, 5000), np.zeros(5000))
    det = sense(units, truth, NOISY, np.random.default_rng(3))
    first, second = det.of_unit(0), det.of_unit(1)
    np.testing.assert_array_equal(first.actor_index, second.actor_index)
    assert abs(np.corrcoef(first.x_m - truth.x_m, second.x_m - truth.x_m)[0, 1]) < 0.05


def test_perfect_model_reports_truth_exactly() -> None:
    rng = np.random.default_rng(5)
    units = make_units(
        rng.uniform(0, 300, 6), rng.uniform(0, 300, 6), range_m=120.0, fov_deg=[90.0, 360.0] * 3
    )
    truth = make_actors(
        rng.uniform(0, 300, 400),
        rng.uniform(0, 300, 400),
        speed_mps=rng.uniform(0, 30, 400),
        heading_deg=rng.uniform(0, 360, 400),
        length_m=rng.uniform(0.5, 18, 400),
        width_m=rng.uniform(0.5, 2.6, 400),
        kind=rng.integers(1, 7, 400),
    )
    det = sense(units, truth, PERFECT, np.random.default_rng(0))
    unit_idx, actor_idx = visible(units, truth)
    assert len(det) == len(unit_idx) > 50
    np.testing.assert_array_equal(det.unit_index, unit_idx)
    np.testing.assert_array_equal(det.actor_index, actor_idx)
    for name in ("x_m", "y_m", "speed_mps", "heading_deg", "length_m", "width_m", "kind"):
        np.testing.assert_array_equal(getattr(det, name), getattr(truth, name)[actor_idx], err_msg=name)


def test_heading_wraps_into_0_360() -> None:
    truth = make_actors(np.zeros(6), np.zeros(6), heading_deg=[-90.0, 450.0, 360.0, -1e-14, 0.0, 359.9])
    det = sense(make_units(0.0, 0.0), truth, PERFECT, np.random.default_rng(0))
    # -1e-14 % 360 rounds to 360.0, which is not a valid heading.
    np.testing.assert_array_equal(det.heading_deg, [270.0, 90.0, 0.0, 0.0, 0.0, 359.9])

    raw = sense(
        make_units(0.0, 0.0, range_m=10_000.0),
        make_actors(np.zeros(N_STAT), np.zeros(N_STAT), heading_deg=359.5),
        NOISY,
        np.random.default_rng(9),
    ).heading_deg
    assert raw.min() >= 0.0
    assert raw.max() < 360.0
    # Noise crossed north both ways: wrapped, not clipped.
    assert (raw < 10.0).mean() > 0.3
    assert (raw > 350.0).mean() > 0.3


def test_speed_and_size_stay_physical() -> None:
    n = 5000
    truth = make_actors(np.zeros(n), np.zeros(n), speed_mps=0.0, length_m=0.3, width_m=0.2)
    det = sense(make_units(0.0, 0.0), truth, SENSOR_NOISE_PRESETS["high"], np.random.default_rng(4))
    real = det.actor_index >= 0
    assert det.speed_mps[real].min() == 0.0
    assert det.length_m.min() >= MIN_SIZE_M
    assert det.width_m.min() >= MIN_SIZE_M
    # A stopped actor is often reported stopped, never reversing.
    assert 0.4 < np.mean(det.speed_mps[real] == 0.0) < 0.6


def test_miss_rate_matches_binomial() -> None:
    # 400,000 trials: SE ≈ 0.027 %, so a rate 10 % off (0.033) sits 11 SE away and fails.
    miss_rate, n_actors, frames = 0.03, 20_000, 20
    model = SensorModel(0.0, 0.0, 0.0, 0.0, miss_rate=miss_rate, false_alarms_per_frame=0.0)
    units = make_units(0.0, 0.0, range_m=1000.0)
    truth = make_actors(np.linspace(-500, 500, n_actors), np.zeros(n_actors))
    rng = np.random.default_rng(8)
    reported = 0
    for _ in range(frames):
        det = sense(units, truth, model, rng)
        assert len(np.unique(det.actor_index)) == len(det)
        reported += len(det)
    trials = n_actors * frames
    measured = 1.0 - reported / trials
    se = math.sqrt(miss_rate * (1.0 - miss_rate) / trials)
    assert abs(measured - miss_rate) < 4 * se

    all_missed = sense(units, truth, SensorModel(0, 0, 0, 0, miss_rate=1.0, false_alarms_per_frame=0), rng)
    assert len(all_missed) == 0


def in_coverage(units: RoadsideUnits, unit: int, x_m: NDArray[np.float64], y_m: NDArray[np.float64]) -> bool:
    dx, dy = x_m - units.x_m[unit], y_m - units.y_m[unit]
    if np.any(np.hypot(dx, dy) > units.range_m[unit] * (1 + 1e-9)):
        return False
    if units.fov_deg[unit] >= 360.0:
        return True
    off = angle_diff_deg(np.degrees(np.arctan2(dx, dy)), np.full(len(dx), units.facing_deg[unit]))
    return bool(np.all(np.abs(off) <= units.fov_deg[unit] / 2 + 1e-9))


def test_false_alarms_are_poisson_and_inside_coverage() -> None:
    mean, frames = 0.7, 3000
    units = make_units(
        [0.0, 500.0, 1000.0, -300.0],
        [0.0, 0.0, 200.0, -300.0],
        range_m=[100.0, 200.0, 50.0, 80.0],
        fov_deg=[360.0, 90.0, 40.0, 120.0],
        facing_deg=[0.0, 90.0, 350.0, 225.0],
    )
    no_actors = make_actors(np.empty(0), np.empty(0))
    model = SensorModel(0.0, 0.0, 0.0, 0.0, miss_rate=0.0, false_alarms_per_frame=mean)
    rng = np.random.default_rng(12)
    frames_out = [sense(units, no_actors, model, rng) for _ in range(frames)]
    det = Detections(*(np.concatenate([getattr(d, f.name) for d in frames_out]) for f in fields(Detections)))
    assert (det.actor_index == -1).all()
    assert (det.kind == ActorKind.CAR).all()
    counts = np.array([np.bincount(d.unit_index, minlength=len(units)) for d in frames_out])
    # Pooled over units: SE ≈ 0.008, so a mean 10 % off (0.77) sits 9 SE away and fails.
    assert abs(counts.mean() - mean) < 4 * math.sqrt(mean / counts.size)
    se = math.sqrt(mean / frames)
    for unit in range(len(units)):
        assert abs(counts[:, unit].mean() - mean) < 4 * se, unit
        assert counts[:, unit].var() == pytest.approx(mean, rel=0.15), unit  # Poisson: variance = mean
        x, y = det.x_m[det.unit_index == unit], det.y_m[det.unit_index == unit]
        assert in_coverage(units, unit, x, y), unit
        # Uniform over the area, not over the radius: half of them within range/√2 (SE ≈ 1.5 %).
        inner = np.hypot(x - units.x_m[unit], y - units.y_m[unit]) <= units.range_m[unit] / math.sqrt(2)
        assert inner.mean() == pytest.approx(0.5, abs=0.07), unit


def test_false_alarms_look_like_the_traffic() -> None:
    units = make_units([0.0, 50.0], [0.0, 0.0], range_m=30.0)
    far_pedestrians = make_actors(
        [5000.0] * 3, [0.0] * 3, kind=int(ActorKind.PEDESTRIAN), length_m=0.5, width_m=0.6, speed_mps=1.3
    )
    model = SensorModel(0.0, 0.0, 0.0, 0.0, miss_rate=0.0, false_alarms_per_frame=5.0)
    det = sense(units, far_pedestrians, model, np.random.default_rng(1))
    assert len(det) > 0
    assert (det.actor_index == -1).all()
    assert (det.kind == ActorKind.PEDESTRIAN).all()
    assert (det.length_m == 0.5).all()
    assert (det.heading_deg >= 0.0).all()
    assert (det.heading_deg < 360.0).all()


def test_detections_sorted_with_phantoms_first_and_sliceable() -> None:
    rng = np.random.default_rng(21)
    units = make_units(rng.uniform(0, 200, 8), rng.uniform(0, 200, 8), range_m=80.0)
    truth = make_actors(rng.uniform(0, 200, 150), rng.uniform(0, 200, 150))
    model = SensorModel(0.3, 0.3, 2.0, 0.2, miss_rate=0.1, false_alarms_per_frame=2.0)
    det = sense(units, truth, model, rng)
    assert (det.actor_index == -1).any()
    order = np.lexsort((det.actor_index, det.unit_index))
    np.testing.assert_array_equal(order, np.arange(len(det)))
    offsets = det.offsets(len(units) + 1)  # one more unit than exist: its block is empty
    assert offsets[0] == 0
    assert offsets[-1] == offsets[-2] == len(det)
    for unit in range(len(units)):
        block = det.of_unit(unit)
        assert (block.unit_index == unit).all()
        np.testing.assert_array_equal(block.x_m, det.x_m[offsets[unit] : offsets[unit + 1]])


def test_same_seed_same_frame_and_different_seed_differs() -> None:
    rng = np.random.default_rng(0)
    units = make_units(rng.uniform(0, 300, 10), rng.uniform(0, 300, 10), range_m=100.0)
    truth = make_actors(rng.uniform(0, 300, 200), rng.uniform(0, 300, 200))
    model = SENSOR_NOISE_PRESETS["high"]
    a = sense(units, truth, model, np.random.default_rng(42))
    b = sense(units, truth, model, np.random.default_rng(42))
    c = sense(units, truth, model, np.random.default_rng(43))
    for f in fields(Detections):
        np.testing.assert_array_equal(getattr(a, f.name), getattr(b, f.name), err_msg=f.name)
    assert len(a) != len(c) or not np.array_equal(a.x_m, c.x_m)


def test_inputs_are_never_written() -> None:
    rng = np.random.default_rng(1)
    units = make_units(rng.uniform(0, 300, 10), rng.uniform(0, 300, 10), range_m=100.0, fov_deg=120.0)
    truth = make_actors(rng.uniform(0, 300, 200), rng.uniform(0, 300, 200), heading_deg=-30.0, speed_mps=0.0)
    before = {
        f"{type(o).__name__}.{f.name}": getattr(o, f.name).copy() for o in (units, truth) for f in fields(o)
    }
    for o in (units, truth):
        for f in fields(o):
            getattr(o, f.name).setflags(write=False)  # any write now raises
    sense(units, truth, SENSOR_NOISE_PRESETS["high"], np.random.default_rng(2))
    for key, array in before.items():
        owner, name = key.split(".")
        np.testing.assert_array_equal(getattr(units if owner == "RoadsideUnits" else truth, name), array)


# --- settings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "value"),
    [
        ({"position_noise_m": -0.1}, "position_noise_m", "-0.1"),
        ({"speed_noise_mps": math.nan}, "speed_noise_mps", "nan"),
        ({"heading_noise_deg": -2.0}, "heading_noise_deg", "-2.0"),
        ({"size_noise_m": math.inf}, "size_noise_m", "inf"),
        ({"miss_rate": 1.5}, "miss_rate", "1.5"),
        ({"miss_rate": -0.01}, "miss_rate", "-0.01"),
        ({"false_alarms_per_frame": -1.0}, "false_alarms_per_frame", "-1.0"),
    ],
)
def test_impossible_settings_name_field_and_value(
    overrides: dict[str, float], field: str, value: str
) -> None:
    with pytest.raises(SettingError) as caught:
        SensorModel(**overrides)
    message = str(caught.value)
    assert f"SensorModel.{field} = {value}" in message
    assert "\n" not in message
    if field == "miss_rate":
        assert "[0, 1]" in message


def test_edge_settings_are_allowed() -> None:
    SensorModel(miss_rate=0.0)
    SensorModel(miss_rate=1.0)
    assert PERFECT.false_alarms_per_frame == 0.0


def test_bad_roadside_units_and_actor_arrays_are_rejected() -> None:
    with pytest.raises(SettingError, match=r"RoadsideUnits\.range_m contains -5"):
        make_units([0.0, 1.0], 0.0, range_m=[100.0, -5.0])
    with pytest.raises(SettingError, match=r"RoadsideUnits\.fov_deg"):
        make_units(0.0, 0.0, fov_deg=-90.0)
    with pytest.raises(SettingError, match=r"RoadsideUnits\.x_m contains nan"):
        make_units([math.nan], 0.0)
    with pytest.raises(ValueError, match="same length"):
        RoadsideUnits(
            x_m=np.zeros(2), y_m=np.zeros(3), range_m=np.ones(2), fov_deg=np.ones(2), facing_deg=np.ones(2)
        )
    with pytest.raises(ValueError, match="same length"):
        Actors(
            x_m=np.zeros(2),
            y_m=np.zeros(2),
            speed_mps=np.zeros(2),
            heading_deg=np.zeros(2),
            length_m=np.zeros(2),
            width_m=np.zeros(2),
            kind=np.zeros(1, dtype=np.int64),
        )


def test_presets_order_from_low_to_high() -> None:
    low, default, high = (SENSOR_NOISE_PRESETS[name] for name in ("low", "default", "high"))
    assert default == SensorModel()
    for f in fields(SensorModel):
        assert getattr(low, f.name) < getattr(default, f.name) < getattr(high, f.name), f.name
    assert default.position_noise_m == 0.3
    assert default.miss_rate == 0.03
