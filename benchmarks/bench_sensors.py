"""Time ``roadcloud.twin.sensors.sense`` per simulation step: a zone (45 units × 600 actors) and a city
(2,000 units × 20,000 actors).

Scenes are synthetic but shaped like a twin step: actors on a grid of roads 250 m apart at 600 actors per
km², units at the junctions with a 150 m range, a mix of all-round units and 90°/120° sectors facing along
the roads, the "default" noise preset. The twin's budget is well under 1 ms per step for the zone.

Run: .venv/bin/python benchmarks/bench_sensors.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from machine import machine_line
from roadcloud.twin.sensors import SENSOR_NOISE_PRESETS, Actors, RoadsideUnits, sense, visible

BLOCK_M = 250.0
ACTORS_PER_KM2 = 600.0  # a 1 km² zone of 4 × 4 signalised junctions


def scene(n_units: int, n_actors: int, seed: int = 0) -> tuple[RoadsideUnits, Actors]:
    rng = np.random.default_rng(seed)
    side_m = 1000.0 * np.sqrt(n_actors / ACTORS_PER_KM2)
    roads = np.arange(0.0, side_m + 1.0, BLOCK_M)
    units = RoadsideUnits(
        x_m=rng.choice(roads, n_units) + rng.normal(0.0, 10.0, n_units),
        y_m=rng.choice(roads, n_units) + rng.normal(0.0, 10.0, n_units),
        range_m=np.full(n_units, 150.0),
        fov_deg=rng.choice([90.0, 120.0, 360.0], n_units),
        facing_deg=rng.choice([0.0, 90.0, 180.0, 270.0], n_units),
    )
    east_west = rng.random(n_actors) < 0.5
    along = rng.uniform(0.0, side_m, n_actors)
    road = rng.choice(roads, n_actors) + rng.normal(0.0, 3.0, n_actors)
    actors = Actors(
        x_m=np.where(east_west, along, road),
        y_m=np.where(east_west, road, along),
        speed_mps=rng.uniform(0.0, 16.0, n_actors),
        heading_deg=rng.uniform(0.0, 360.0, n_actors),
        length_m=rng.choice([4.5, 12.0, 0.5], n_actors, p=[0.85, 0.05, 0.10]),
        width_m=np.full(n_actors, 1.8),
        kind=rng.integers(1, 7, n_actors),
    )
    return units, actors


def measure(n_units: int, n_actors: int, budget_s: float) -> None:
    units, actors = scene(n_units, n_actors)
    model = SENSOR_NOISE_PRESETS["default"]
    rng = np.random.default_rng(1)
    sense(units, actors, model, rng)  # warm caches and imports
    times_s: list[float] = []
    detections = 0
    start = time.perf_counter()
    while time.perf_counter() - start < budget_s or len(times_s) < 5:
        t0 = time.perf_counter()
        det = sense(units, actors, model, rng)
        times_s.append(time.perf_counter() - t0)
        detections += len(det)
    t0 = time.perf_counter()
    pairs = len(visible(units, actors)[0])
    visible_s = time.perf_counter() - t0
    median_s = statistics.median(times_s)
    p95_s = sorted(times_s)[int(0.95 * (len(times_s) - 1))]
    per_call = detections / len(times_s)
    print(
        f"{n_units:>5} units × {n_actors:>6} actors: sense median {median_s * 1e3:.3f} ms,"
        f" p95 {p95_s * 1e3:.3f} ms ({len(times_s)} calls); {per_call:.0f} detections/call,"
        f" {per_call / median_s / 1e6:.2f} M detections/s; visible alone {visible_s * 1e3:.3f} ms"
        f" for {pairs} pairs"
    )


def main() -> None:
    print(machine_line(f"numpy {np.__version__}"))
    measure(45, 600, budget_s=3.0)
    measure(2_000, 20_000, budget_s=5.0)


if __name__ == "__main__":
    main()
