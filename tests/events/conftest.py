"""Shared fixtures for the event tests: a tiny real signalised grid, generated once per session.

2 x 2 signalised junctions (A0 … B1, 200 m apart) with 150 m arms, two lanes each way plus sidewalks and
pedestrian crossings, 50 km/h: small enough to build in a second, real enough to have every lane kind,
junction-internal lanes and SUMO's own signal programs.
"""

from __future__ import annotations

import pytest

from roadcloud.map import RoadMap, load_map, run_sumo_binary

from .scene import Scene


@pytest.fixture(scope="session")
def grid_map(tmp_path_factory: pytest.TempPathFactory) -> RoadMap:
    path = tmp_path_factory.mktemp("events") / "grid.net.xml"
    run_sumo_binary(
        "netgenerate",
        [
            "--grid",
            "--grid.x-number=2",
            "--grid.y-number=2",
            "--grid.length=200",
            "--grid.attach-length=150",
            "--default.lanenumber=2",
            "--default.speed=13.89",
            "--sidewalks.guess",
            "--sidewalks.guess.max-speed=20",
            "--crossings.guess",
            "--tls.default-type=static",
            "--tls.set=A0,A1,B0,B1",
            "--no-turnarounds",
            f"--output-file={path}",
        ],
        context="netgenerate could not build the event test grid",
    )
    return load_map(path, anchor_lonlat=(116.5055, 39.7953))  # placed in Yizhuang, as the twin does


@pytest.fixture(scope="session")
def scene(grid_map: RoadMap) -> Scene:
    return Scene(grid_map)
