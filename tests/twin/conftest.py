"""A small generated zone shared by the twin tests: 3x3 signalised grid, short run, every incident kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadcloud.twin.generator import GridSettings, ZoneSettings, new_zone
from roadcloud.twin.manifest import Manifest
from roadcloud.twin.runtime import Emission, Twin

SMALL_ZONE = ZoneSettings(
    name="testzone",
    grid=GridSettings(columns=3, rows=3, lanes=2, block_x_m=250.0, block_y_m=250.0),
    vehicles_per_hour=2400.0,
    pedestrians_per_hour=600.0,
    bicycles_per_hour=200.0,
    connected_share=0.5,
    duration_s=120.0,
    seed=7,
)


@pytest.fixture(scope="session")
def small_zone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    zone_dir = tmp_path_factory.mktemp("zones") / "small"
    manifest = new_zone(zone_dir, SMALL_ZONE)
    return zone_dir, manifest


@pytest.fixture(scope="session")
def small_run(small_zone: tuple[Path, Manifest]) -> tuple[Twin, list[Emission]]:
    """One 100-second twin run of the small zone, shared: running SUMO once keeps the suite fast."""
    zone_dir, _ = small_zone
    twin = Twin(zone_dir, duration_s=100.0)
    emissions = [emission for step in twin.run() for emission in step]
    return twin, emissions
