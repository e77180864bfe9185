"""A tiny generated zone and a short recording of it, shared by the evaluation tests."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from roadcloud.twin.commands import run_twin
from roadcloud.twin.generator import GridSettings, ZoneSettings, new_zone
from roadcloud.twin.runtime import Twin

TINY_ZONE = ZoneSettings(
    name="evalzone",
    grid=GridSettings(columns=3, rows=2, lanes=1, block_x_m=200.0, block_y_m=200.0),
    vehicles_per_hour=1800.0,
    pedestrians_per_hour=200.0,
    bicycles_per_hour=100.0,
    connected_share=0.3,
    duration_s=30.0,
    seed=11,
    incidents_per_kind=0,
)
RUN_S = 20.0


@pytest.fixture(scope="session")
def tiny_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20-second run of a 3 x 2 grid, recorded the way ``roadcloud twin --record`` records."""
    folder = tmp_path_factory.mktemp("eval")
    with contextlib.chdir(folder):  # SUMO's randomTrips leaves routes.rou.xml in the working directory
        new_zone(folder / "zone", TINY_ZONE)
    path = folder / "run.rcrec"
    run_twin(
        Twin(folder / "zone", duration_s=RUN_S), publish=None, record=path, quiet=True, out=io.StringIO()
    )
    return path
