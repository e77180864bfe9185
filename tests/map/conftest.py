"""Shared fixtures for the map tests: the real map fixtures in ../shared/maps, loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadcloud.map import LaneMatcher, RoadMap, load_network

# The fixtures live next to the repository: <repo>/../shared/maps.
MAPS_DIR = Path(__file__).resolve().parents[3] / "shared" / "maps"
DOERPFELD = MAPS_DIR / "doerpfeldstr.net.xml.gz"
FABRIKSGATAN = MAPS_DIR / "fabriksgatan_traffic_lights.xodr"
MULTI_INTERSECTIONS = MAPS_DIR / "multi_intersections.xodr"

TINY_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="roadcloud-test">
  <bounds minlat="52.4300" minlon="13.5300" maxlat="52.4340" maxlon="13.5360"/>
  <node id="1" lat="52.4310" lon="13.5310" version="1"/>
  <node id="2" lat="52.4320" lon="13.5330" version="1"/>
  <node id="3" lat="52.4330" lon="13.5350" version="1"/>
  <node id="4" lat="52.4335" lon="13.5320" version="1"/>
  <node id="5" lat="52.4305" lon="13.5345" version="1"/>
  <way id="10" version="1">
    <nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="secondary"/><tag k="name" v="Teststrasse"/><tag k="maxspeed" v="50"/>
  </way>
  <way id="11" version="1">
    <nd ref="4"/><nd ref="2"/><nd ref="5"/>
    <tag k="highway" v="residential"/><tag k="name" v="Querweg"/>
  </way>
</osm>
"""


@pytest.fixture(scope="session")
def maps_dir() -> Path:
    return MAPS_DIR


@pytest.fixture()
def tiny_osm(tmp_path: Path) -> Path:
    """Two crossing streets in Berlin-Adlershof, as an OSM extract."""
    path = tmp_path / "tiny.osm"
    path.write_text(TINY_OSM, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def doerpfeld() -> RoadMap:
    if not DOERPFELD.is_file():
        pytest.fail(f"map fixture missing: {DOERPFELD}")
    return load_network(DOERPFELD)


@pytest.fixture(scope="session")
def passenger_matcher(doerpfeld: RoadMap) -> LaneMatcher:
    return LaneMatcher(doerpfeld, vehicle_class="passenger", include_internal=False)


@pytest.fixture(scope="session")
def matcher(doerpfeld: RoadMap) -> LaneMatcher:
    return LaneMatcher(doerpfeld)
