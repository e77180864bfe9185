"""Fusion accuracy vs. no-fusion baselines on the default zone, across sensor noise and network delay.

Generates the default zone, records one twin run per recording (noise low / default / high at the zone's
own network delays; RSU delay 0 / 100 / 300 ms at default noise), and for each scenario prints the table
of ``roadcloud eval fusion --at-publication``: MOTA, IDF1, ID switches, false positives, misses and
position error of fusion (its map at the map's time, and predicted to the moment it is published) next to
a single roadside unit per place and the raw union of all roadside reports, and how old fusion's map is
when published. Three more scenarios change fusion's settings: the high-noise recording with the
tracker's measurement noise set to those sensors (the defaults suit the "default" preset), and the
300 ms recording with a fixed 100 ms budget and late data fused out of sequence (a fresher map) or
dropped (fusion before #4's time alignment), to show the trade-off the adaptive budget makes.

Recordings run in parallel worker processes (one SUMO per process), then scenarios are scored in
parallel; accuracy does not depend on that, wall times do. ``--recordings DIR`` keeps the zone and the
recordings there and reuses them on the next run.

Run: .venv/bin/python benchmarks/bench_fusion_accuracy.py [--duration-s 120] [--jobs 6] [--zone DIR]
     [--recordings DIR]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from machine import machine_line
from roadcloud.eval.accuracy import compare
from roadcloud.fusion.config import FusionConfig
from roadcloud.twin.commands import run_twin
from roadcloud.twin.generator import ZoneSettings, new_zone
from roadcloud.twin.manifest import MANIFEST_NAME, load_manifest
from roadcloud.twin.runtime import Twin


@dataclass(frozen=True)
class Recording:
    name: str
    noise: str
    delay_ms: int | None  # RSU network delay for every unit; None keeps the zone's per-unit delays


@dataclass(frozen=True)
class Scenario:
    label: str
    recording: Recording
    settings: dict[str, float] = field(default_factory=dict)  # FusionConfig overrides


NOISE_LOW = Recording("noise_low", "low", None)
NOISE_DEFAULT = Recording("noise_default", "default", None)
NOISE_HIGH = Recording("noise_high", "high", None)
DELAY_0 = Recording("delay_0_ms", "default", 0)
DELAY_100 = Recording("delay_100_ms", "default", 100)
DELAY_300 = Recording("delay_300_ms", "default", 300)

SCENARIOS = (
    Scenario("noise low", NOISE_LOW),
    Scenario("noise default", NOISE_DEFAULT),
    Scenario("noise high", NOISE_HIGH),
    # the tracker's measurement noise set to the "high" preset's sensors instead of the default ones
    Scenario("noise high, matched", NOISE_HIGH, {"rsu_position_std_m": 1.0, "rsu_velocity_std_mps": 1.0}),
    Scenario("delay 0 ms", DELAY_0),
    Scenario("delay 100 ms", DELAY_100),
    Scenario("delay 300 ms", DELAY_300),
    # report_coast_ms: tracks fed only by late data have their newest data ~400 ms back
    Scenario(
        "delay 300 ms, fixed 100 ms budget, late data retrodicted",
        DELAY_300,
        {"max_latency_budget_ms": 100, "report_coast_ms": 600},
    ),
    Scenario(
        "delay 300 ms, fixed 100 ms budget, late data dropped (before #4)",
        DELAY_300,
        {"max_latency_budget_ms": 100, "max_age_ms": 0},
    ),
)


def zone_with_delay(zone: Path, delay_ms: int, folder: Path) -> Path:
    """A copy of the zone whose manifest gives every roadside unit ``delay_ms`` of network delay.

    Used instead of ``Twin(delay_ms=...)`` so that the recording's header carries the delays that were run.
    """
    copy = folder / f"zone_delay_{delay_ms}ms"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(zone, copy)
    manifest, _ = load_manifest(copy)
    units = [msgspec.structs.replace(unit, network_delay_ms=delay_ms) for unit in manifest.rsu]
    (copy / MANIFEST_NAME).write_bytes(msgspec.toml.encode(msgspec.structs.replace(manifest, rsu=units)))
    return copy


def record(zone: Path, recording: Recording, duration_s: float, folder: Path) -> float:
    """Record one run into ``folder`` unless it is there; returns the seconds it took."""
    path = folder / f"{recording.name}.rcrec"
    if path.exists():
        return 0.0
    started = time.perf_counter()
    if recording.delay_ms is not None:
        zone = zone_with_delay(zone, recording.delay_ms, folder)
    partial = path.with_suffix(".partial")
    run_twin(
        Twin(zone, duration_s=duration_s, noise=recording.noise),
        publish=None,
        record=partial,
        quiet=True,
        out=io.StringIO(),
    )
    partial.rename(path)  # a run cut short is never mistaken for a whole one
    return time.perf_counter() - started


def run_scenario(scenario: Scenario, folder: Path) -> str:
    """Score one scenario's recording; returns its text block."""
    started = time.perf_counter()
    report = compare(
        folder / f"{scenario.recording.name}.rcrec", FusionConfig(**scenario.settings), at_publication=True
    )
    delay = "zone default" if scenario.recording.delay_ms is None else f"{scenario.recording.delay_ms} ms"
    settings = ", ".join(f"{key}={value}" for key, value in scenario.settings.items()) or "default settings"
    return (
        f"## {scenario.label}: noise {scenario.recording.noise}, RSU delay {delay}, {settings} "
        f"(fusion + scoring {time.perf_counter() - started:.0f} s)\n{report.table()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration-s", type=float, default=120.0, help="simulated seconds per recording")
    parser.add_argument("--jobs", type=int, default=min(len(SCENARIOS), os.cpu_count() or 1))
    parser.add_argument("--zone", type=Path, default=None, help="existing zone (default: generate one)")
    parser.add_argument("--recordings", type=Path, default=None, help="keep recordings here; reuse them")
    args = parser.parse_args()
    print(machine_line(f"{args.jobs} jobs in parallel"))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) if args.recordings is None else args.recordings
        folder.mkdir(parents=True, exist_ok=True)
        zone = args.zone or folder / "zone"
        if not zone.exists():
            started = time.perf_counter()
            manifest = new_zone(zone, ZoneSettings(duration_s=args.duration_s))
            print(
                f"generated default zone in {time.perf_counter() - started:.1f} s: "
                f"{len(manifest.rsu)} roadside units; {args.duration_s:g} s per recording"
            )
        recordings = list(dict.fromkeys(scenario.recording for scenario in SCENARIOS))
        with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            took = pool.map(
                record, *zip(*((zone, r, args.duration_s, folder) for r in recordings), strict=True)
            )
            for recording, seconds in zip(recordings, took, strict=True):
                print(f"{recording.name}: " + (f"recorded in {seconds:.0f} s" if seconds else "reused"))
            futures = [pool.submit(run_scenario, scenario, folder) for scenario in SCENARIOS]
            for future in futures:
                print()
                print(future.result(), flush=True)


if __name__ == "__main__":
    main()
