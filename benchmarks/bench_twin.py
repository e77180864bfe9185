"""Twin speed: simulated seconds per wall second for the default zone, every stream built and encoded.

Target (issue #2): at least 5x real time on one core. Prints where the time goes (SUMO, sensing,
messages). Run: python benchmarks/bench_twin.py [--duration-s 600] [--zone DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from machine import machine_line
from roadcloud.twin.generator import ZoneSettings, new_zone
from roadcloud.twin.runtime import Twin

WINDOW_S = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration-s", type=float, default=600.0)
    parser.add_argument("--zone", type=Path, default=None, help="existing zone (default: generate one)")
    parser.add_argument("--vehicles-per-hour", type=float, default=ZoneSettings().vehicles_per_hour)
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says
    print(machine_line("pinned to 1 core"))
    with tempfile.TemporaryDirectory() as scratch:
        zone = args.zone
        if zone is None:
            zone = Path(scratch) / "zone"
            started = time.perf_counter()
            manifest = new_zone(zone, ZoneSettings(vehicles_per_hour=args.vehicles_per_hour))
            print(
                f"generated default zone in {time.perf_counter() - started:.1f} s: "
                f"{len(manifest.rsu)} signalised junctions with roadside units"
            )
        twin = Twin(zone, duration_s=args.duration_s)
        payload_bytes = 0
        started = time.perf_counter()
        window_started, window_vehicles, windows = started, 0, []
        for deliveries in twin.run():
            payload_bytes += sum(len(e.payload) for e in deliveries)
            window_vehicles = max(window_vehicles, twin.stats.vehicles)
            if (
                deliveries
                and round(twin.stats.time_s * 10) % (WINDOW_S * 10) == 0
                and (not windows or windows[-1][0] < twin.stats.time_s)
            ):
                now = time.perf_counter()
                windows.append((twin.stats.time_s, WINDOW_S / (now - window_started), window_vehicles))
                window_started, window_vehicles = now, 0
        wall_s = time.perf_counter() - started
    stats = twin.stats
    print(f"simulated {stats.time_s:.0f} s in {wall_s:.1f} s: {stats.time_s / wall_s:.2f}x real time")
    print(
        f"peak vehicles {stats.peak_vehicles}; messages {stats.messages} "
        f"({stats.messages / stats.time_s:.0f}/s simulated, {payload_bytes / stats.time_s / 1e6:.2f} MB/s)"
    )
    print(", ".join(f"{kind} {count}" for kind, count in sorted(stats.totals.items())))
    for end_s, speed, vehicles in windows:
        print(f"  window ending {end_s:5.0f} s: {speed:5.2f}x real time, up to {vehicles} vehicles")
    slowest = min(windows, key=lambda window: window[1])
    print(f"slowest {WINDOW_S} s window: {slowest[1]:.2f}x real time (up to {slowest[2]} vehicles)")
    other_s = wall_s - stats.sumo_s - stats.sensing_s - stats.messages_s
    for name, seconds in (
        ("SUMO step + reads", stats.sumo_s),
        ("sensor model", stats.sensing_s),
        ("messages (build + encode)", stats.messages_s),
        ("other", other_s),
    ):
        print(f"  {name:26s} {seconds:7.1f} s  {100 * seconds / wall_s:5.1f} %")


if __name__ == "__main__":
    main()
