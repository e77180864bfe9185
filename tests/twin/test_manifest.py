from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec
import pytest

from roadcloud.errors import ManifestError
from roadcloud.messages.truth import IncidentKind
from roadcloud.twin.manifest import (
    DemandSection,
    Incident,
    Manifest,
    NetworkSection,
    RoadsideUnitSpec,
    ZoneSection,
    load_manifest,
    write_manifest,
)


def _manifest(**changes: object) -> Manifest:
    manifest = Manifest(
        zone=ZoneSection(name="z", start_time=dt.datetime(2026, 6, 1, tzinfo=dt.UTC), duration_s=100.0),
        network=NetworkSection(file="zone.net.xml", source="generated"),
        demand=DemandSection(
            route_files=["vehicles.rou.xml"],
            vehicles_per_hour=100.0,
            pedestrians_per_hour=0.0,
            connected_share=0.2,
        ),
        rsu=[RoadsideUnitSpec(id="R1", x_m=1.0, y_m=2.0, clock_offset_ms=-12)],
        incident=[
            Incident(
                id="I1",
                kind=IncidentKind.STOPPED_VEHICLE,
                lane="e_0",
                pos_m=5.0,
                start_s=10.0,
                duration_s=30.0,
            )
        ],
    )
    return msgspec.structs.replace(manifest, **changes)


def _folder(tmp_path: Path, manifest: Manifest) -> Path:
    for name in (manifest.network.file, *manifest.demand.route_files):
        (tmp_path / name).write_text("<x/>")
    write_manifest(manifest, tmp_path)
    return tmp_path


def test_round_trip_through_toml(tmp_path: Path) -> None:
    manifest = _manifest()
    loaded, folder = load_manifest(_folder(tmp_path, manifest))
    assert loaded == manifest
    assert folder == tmp_path
    text = (tmp_path / "zone.toml").read_text()
    assert "[[rsu]]" in text and "[[incident]]" in text and text.startswith("# roadcloud zone manifest")


def test_missing_manifest_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="roadcloud zone new"):
        load_manifest(tmp_path)


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ("connected_share = 0.2", "connected_share = 1.5", r"connected_share"),
        ("duration_s = 100", "duration_s = -5", r"duration_s"),
        ('kind = "stopped_vehicle"', 'kind = "meteor"', r"kind"),
        ('name = "z"', 'name = "z"\nspeed = 3', r"unknown field `speed`"),
        ('source = "generated"', "source = [", r"not valid TOML"),
    ],
)
def test_malformed_manifest_is_one_clear_error(tmp_path: Path, replace: str, by: str, expected: str) -> None:
    folder = _folder(tmp_path, _manifest())
    path = folder / "zone.toml"
    text = path.read_text()
    assert replace in text
    path.write_text(text.replace(replace, by, 1))
    with pytest.raises(ManifestError, match=expected) as caught:
        load_manifest(folder)
    assert "\n" not in str(caught.value)


def test_missing_network_file_is_named(tmp_path: Path) -> None:
    folder = _folder(tmp_path, _manifest())
    (folder / "zone.net.xml").unlink()
    with pytest.raises(ManifestError, match=r"zone\.net\.xml"):
        load_manifest(folder)


def test_incident_after_the_run_is_refused(tmp_path: Path) -> None:
    late = Incident(
        id="I9", kind=IncidentKind.LANE_CLOSURE, lane="e_0", pos_m=0.0, start_s=500.0, duration_s=1.0
    )
    with pytest.raises(ManifestError, match="I9 starts at 500"):
        load_manifest(_folder(tmp_path, _manifest(incident=[late])))


def test_duplicate_unit_ids_are_refused(tmp_path: Path) -> None:
    units = [RoadsideUnitSpec(id="R1", x_m=0.0, y_m=0.0), RoadsideUnitSpec(id="R1", x_m=5.0, y_m=0.0)]
    with pytest.raises(ManifestError, match="R1 appear"):
        load_manifest(_folder(tmp_path, _manifest(rsu=units)))
