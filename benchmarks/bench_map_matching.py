"""Lane-matching throughput on Dörpfeldstraße, one core.

    python benchmarks/bench_map_matching.py [--points 1000000] [--repeats 3] [--profile]

One million positions near the lanes (along each lane in proportion to its length, 1.5 m lateral noise,
headings within ±15° of the lane, a tenth of them unrelated) are matched in one call with headings and in
one call without; the best of ``--repeats`` runs is reported. numpy's element-wise work is single-threaded;
BLAS thread pools are pinned to one thread anyway so the figure is per core.
"""

from __future__ import annotations

import os

from machine import machine_line

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import cProfile  # noqa: E402
import pstats  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from roadcloud.map import LaneMatcher, RoadMap, load_network  # noqa: E402

NETWORK = Path(__file__).resolve().parents[2] / "shared" / "maps" / "doerpfeldstr.net.xml.gz"


def sample_points(
    road_map: RoadMap, matcher: LaneMatcher, count: int, seed: int = 1
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Positions and headings near the matcher's lanes, the way detections scatter around them."""
    rng = np.random.default_rng(seed)
    starts, vectors = [], []
    for lane_id in matcher.lane_ids:
        shape = road_map.lane(lane_id).shape_xy
        starts.append(shape[:-1])
        vectors.append(np.diff(shape, axis=0))
    start = np.concatenate(starts)
    vector = np.concatenate(vectors)
    length = np.hypot(vector[:, 0], vector[:, 1])
    piece = rng.choice(len(length), size=count, p=length / length.sum())
    along = rng.uniform(0.0, 1.0, count)[:, None]
    unit = vector[piece] / np.maximum(length[piece], 1e-9)[:, None]
    normal = np.stack([-unit[:, 1], unit[:, 0]], axis=1)
    xy = start[piece] + vector[piece] * along + normal * rng.normal(0.0, 1.5, count)[:, None]
    heading = np.degrees(np.arctan2(unit[:, 0], unit[:, 1])) + rng.uniform(-15.0, 15.0, count)
    unrelated = rng.uniform(0.0, 1.0, count) < 0.1
    heading[unrelated] = rng.uniform(0.0, 360.0, int(unrelated.sum()))
    return xy[:, 0].copy(), xy[:, 1].copy(), heading


def best_rate(
    matcher: LaneMatcher,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    heading: NDArray[np.float64] | None,
    repeats: int,
) -> tuple[float, float]:
    """Best points per second over ``repeats`` runs, and the share of points matched."""
    best_s = float("inf")
    matched = 0.0
    for _ in range(repeats):
        begin = time.perf_counter()
        result = matcher.match(x, y, heading)
        best_s = min(best_s, time.perf_counter() - begin)
        matched = float(result.matched.mean())
    return len(x) / best_s, matched


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print where the time goes")
    args = parser.parse_args()

    print(machine_line(f"numpy {np.__version__}; one core"))
    begin = time.perf_counter()
    road_map = load_network(NETWORK)
    load_s = time.perf_counter() - begin
    begin = time.perf_counter()
    matcher = LaneMatcher(road_map)
    build_s = time.perf_counter() - begin
    timing = f"load {load_s:.2f} s, matcher build {build_s:.2f} s"
    print(f"network: {NETWORK.name}, {matcher.lane_count} lanes; {timing}")

    x, y, heading = sample_points(road_map, matcher, args.points)
    matcher.match(x[:1000], y[:1000], heading[:1000])  # warm caches and lazy imports
    for label, headings in (("with heading", heading), ("position only", None)):
        rate, matched = best_rate(matcher, x, y, headings, args.repeats)
        print(
            f"{label:>14}: {rate:,.0f} points/s on one core ({args.points:,} points, {matched:.1%} matched)"
        )

    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(matcher.match, x, y, heading)
        pstats.Stats(profile).sort_stats("tottime").print_stats(8)


if __name__ == "__main__":
    main()
