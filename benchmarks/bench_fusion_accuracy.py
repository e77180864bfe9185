"""Fusion accuracy vs. no-fusion baselines on the default zone, across sensor noise and network delay.

Generates the default zone, records one twin run per scenario (noise low / default / high at the zone's
own network delays; RSU delay 0 / 100 / 300 ms at default noise), and for each prints the table of
``roadcloud eval fusion``: MOTA, IDF1, ID switches, false positives, misses and position error of fusion
next to the best single roadside unit per object and the raw union of all roadside reports. Scenarios run
in parallel worker processes (one SUMO per process); accuracy does not depend on that, wall times do.

Run: .venv/bin/python benchmarks/bench_fusion_accuracy.py [--duration-s 120] [--jobs 6] [--zone DIR]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import msgspec

from machine import machine_line
from roadcloud.eval.accuracy import compare
from roadcloud.twin.commands import run_twin
from roadcloud.twin.generator import ZoneSettings, new_zone
from roadcloud.twin.manifest import MANIFEST_NAME, load_manifest
from roadcloud.twin.runtime import Twin


@dataclass(frozen=True)
class Scenario:
    label: str
    noise: str
    delay_ms: int | None  # RSU network delay for every unit; None keeps the zone's per-unit delays


SCENARIOS = (
    Scenario("noise low", "low", None),
    Scenario("noise default", "default", None),
    Scenario("noise high", "high", None),
    Scenario("delay 0 ms", "default", 0),
    Scenario("delay 100 ms", "default", 100),
    Scenario("delay 300 ms", "default", 300),
)


def zone_with_delay(zone: Path, delay_ms: int, folder: Path) -> Path:
    """A copy of the zone whose manifest gives every roadside unit ``delay_ms`` of network delay.

    Used instead of ``Twin(delay_ms=...)`` so that the recording's header carries the delays that were run.
    """
    copy = folder / f"zone_delay_{delay_ms}ms"
    shutil.copytree(zone, copy)
    manifest, _ = load_manifest(copy)
    units = [msgspec.structs.replace(unit, network_delay_ms=delay_ms) for unit in manifest.rsu]
    (copy / MANIFEST_NAME).write_bytes(msgspec.toml.encode(msgspec.structs.replace(manifest, rsu=units)))
    return copy


def run_scenario(zone: Path, scenario: Scenario, duration_s: float, folder: Path) -> str:
    """Record one run and score it; returns the scenario's text block."""
    path = folder / f"{scenario.label.replace(' ', '_')}.rcrec"
    started = time.perf_counter()
    if scenario.delay_ms is not None:
        zone = zone_with_delay(zone, scenario.delay_ms, folder)
    twin = Twin(zone, duration_s=duration_s, noise=scenario.noise)
    run_twin(twin, publish=None, record=path, quiet=True, out=io.StringIO())
    twin_s = time.perf_counter() - started
    started = time.perf_counter()
    report = compare(path)
    score_s = time.perf_counter() - started
    delay = "zone default" if scenario.delay_ms is None else f"{scenario.delay_ms} ms"
    return (
        f"## {scenario.label}: noise {scenario.noise}, RSU delay {delay} "
        f"(twin {twin_s:.0f} s, fusion + scoring {score_s:.0f} s)\n{report.table()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration-s", type=float, default=120.0, help="simulated seconds per scenario")
    parser.add_argument("--jobs", type=int, default=min(len(SCENARIOS), os.cpu_count() or 1))
    parser.add_argument("--zone", type=Path, default=None, help="existing zone (default: generate one)")
    args = parser.parse_args()
    print(machine_line(f"{args.jobs} scenarios in parallel"))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        zone = args.zone
        if zone is None:
            zone = folder / "zone"
            started = time.perf_counter()
            manifest = new_zone(zone, ZoneSettings(duration_s=args.duration_s))
            print(
                f"generated default zone in {time.perf_counter() - started:.1f} s: "
                f"{len(manifest.rsu)} roadside units; {args.duration_s:g} s per scenario"
            )
        with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [
                pool.submit(run_scenario, zone, scenario, args.duration_s, folder) for scenario in SCENARIOS
            ]
            for future in futures:
                print()
                print(future.result(), flush=True)


if __name__ == "__main__":
    main()
