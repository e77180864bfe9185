from __future__ import annotations

from pathlib import Path

import pytest

from roadcloud.bus.topics import parse_topic
from roadcloud.errors import SettingError
from roadcloud.map import load_map
from roadcloud.messages.truth import IncidentKind
from roadcloud.twin.generator import GridSettings, ZoneSettings, new_zone
from roadcloud.twin.manifest import Manifest, load_manifest
from roadcloud.twin.runtime import Twin

SHARED_MAPS = Path(__file__).resolve().parents[3] / "shared" / "maps"


def test_small_zone_is_self_contained(small_zone: tuple[Path, Manifest]) -> None:
    zone_dir, manifest = small_zone
    loaded, folder = load_manifest(zone_dir)
    assert loaded == manifest
    for name in (manifest.network.file, *manifest.demand.route_files):
        assert (folder / name).stat().st_size > 0
    assert manifest.network.source == "generated"
    assert manifest.network.anchor_lon_deg is not None


def test_one_unit_per_signalised_junction(small_zone: tuple[Path, Manifest]) -> None:
    zone_dir, manifest = small_zone
    road_map = load_map(zone_dir / manifest.network.file, anchor_lonlat=(116.5, 39.8))
    signalised = {junction.id for junction in road_map.signalised_junctions()}
    assert len(signalised) == 9  # every crossing of the 3x3 grid, none at the fringe
    assert {unit.junction for unit in manifest.rsu} == signalised
    assert len({unit.clock_offset_ms for unit in manifest.rsu}) > 1  # units disagree about the time


def test_every_incident_kind_is_scripted_on_a_real_lane(small_zone: tuple[Path, Manifest]) -> None:
    zone_dir, manifest = small_zone
    road_map = load_map(zone_dir / manifest.network.file, anchor_lonlat=(116.5, 39.8))
    assert {incident.kind for incident in manifest.incident} == set(IncidentKind)
    for incident in manifest.incident:
        lane = road_map.lane(incident.lane)
        assert 0.0 <= incident.pos_m <= lane.length_m
        assert incident.start_s + incident.duration_s <= manifest.zone.duration_s + 1e-6


def test_demand_has_vehicles_pedestrians_and_bicycles(small_zone: tuple[Path, Manifest]) -> None:
    zone_dir, manifest = small_zone
    text = {name: (zone_dir / name).read_text() for name in manifest.demand.route_files}
    assert text["vehicles.rou.xml"].count("<vehicle ") > 30
    assert text["bicycles.rou.xml"].count("<vehicle ") > 0
    assert text["pedestrians.rou.xml"].count("<person ") > 0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (dict(vehicles_per_hour=-1.0), "vehicles_per_hour is -1.0"),
        (dict(connected_share=2.0), "connected share is 2.0"),
        (dict(grid=GridSettings(columns=1, rows=1)), "empty zone"),
        (dict(duration_s=0.0), "positive duration"),
        (dict(vehicles_per_hour=0.0, pedestrians_per_hour=0.0, bicycles_per_hour=0.0), None),
    ],
)
def test_impossible_settings_are_refused(
    tmp_path: Path, settings: dict[str, object], message: str | None
) -> None:
    with pytest.raises(SettingError, match=message or "no demand"):
        new_zone(tmp_path / "zone", ZoneSettings(**settings))  # type: ignore[arg-type]


def test_refuses_to_overwrite_a_folder(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(SettingError, match="--force"):
        new_zone(tmp_path, ZoneSettings())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("option", "file_name"),
    [
        ("net", "doerpfeldstr.net.xml.gz"),
        ("xodr", "fabriksgatan_traffic_lights.xodr"),
        ("xodr", "multi_intersections.xodr"),
    ],
)
def test_zone_on_each_shared_map(tmp_path: Path, option: str, file_name: str) -> None:
    settings = ZoneSettings(
        name="shared",
        vehicles_per_hour=600.0,
        pedestrians_per_hour=120.0,
        bicycles_per_hour=60.0,
        duration_s=60.0,
        **{option: SHARED_MAPS / file_name},  # type: ignore[arg-type]
    )
    manifest = new_zone(tmp_path / "zone", settings)
    assert manifest.rsu, "every shared map has at least one signalised junction"
    assert manifest.network.source == ("sumo" if option == "net" else "opendrive")
    twin = Twin(tmp_path / "zone", duration_s=20.0)
    names = {parse_topic(e.topic).message for step in twin.run() for e in step}
    assert {"truth", "spat", "map", "heartbeat"} <= names
    assert twin.stats.peak_vehicles > 0


def test_generation_writes_only_into_the_zone_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = ZoneSettings(grid=GridSettings(columns=2, rows=2, lanes=1), duration_s=30.0)
    new_zone(tmp_path / "zone", settings)
    assert list(elsewhere.iterdir()) == []  # SUMO's tools leave nothing in the working directory
    assert not (tmp_path / "zone" / "routes.rou.xml").exists()
