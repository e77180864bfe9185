"""The twin's CLI: clear one-line errors with exit code 2, and a recorded run that replays."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadcloud.cli import main
from roadcloud.twin.manifest import Manifest


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("roadcloud: error:"), captured.err
    return lines[0]


def test_zone_new_refuses_impossible_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_line_error(capsys, ["zone", "new", str(tmp_path / "z"), "--connected-share", "-0.1"])
    assert "connected share" in line
    line = _one_line_error(capsys, ["zone", "new", str(tmp_path / "z"), "--grid", "seven"])
    assert "COLUMNSxROWS" in line
    line = _one_line_error(
        capsys, ["zone", "new", str(tmp_path / "z"), "--net", str(tmp_path / "none.net.xml")]
    )
    assert "none.net.xml" in line


def test_corrupt_network_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.net.xml"
    broken.write_text("<net><edge id='a'")
    line = _one_line_error(capsys, ["zone", "new", str(tmp_path / "z"), "--net", str(broken)])
    assert "broken.net.xml" in line


def test_twin_on_a_missing_zone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_line_error(capsys, ["twin", str(tmp_path / "nowhere")])
    assert "roadcloud zone new" in line


def test_replay_of_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_line_error(capsys, ["replay", str(tmp_path / "none.rcrec"), "--speed", "max"])
    assert "does not exist" in line
    line = _one_line_error(capsys, ["replay", str(tmp_path / "none.rcrec"), "--speed", "fast"])
    assert "--speed" in line


def test_show_record_and_replay(
    small_zone: tuple[Path, Manifest], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    zone_dir, manifest = small_zone
    assert main(["zone", "show", str(zone_dir)]) == 0
    shown = capsys.readouterr().out
    assert manifest.zone.name in shown and "stopped_vehicle" in shown
    recording = tmp_path / "run.rcrec"
    assert main(["twin", str(zone_dir), "--duration-s", "5", "--record", str(recording), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "5.0 s simulated" in out and recording.exists()
    assert main(["replay", str(recording), "--speed", "max"]) == 0
    assert "replayed" in capsys.readouterr().out


def test_help_on_every_twin_command(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["zone", "--help"],
        ["zone", "new", "--help"],
        ["zone", "show", "--help"],
        ["twin", "--help"],
        ["replay", "--help"],
        ["demo", "--help"],
    ):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 0
        assert "usage:" in capsys.readouterr().out


def test_zone_provision_registers_units_and_signals_once(
    small_zone: tuple[Path, Manifest], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from roadcloud.ingest.registry_file import load_registry

    zone_dir, manifest = small_zone
    registry_path = tmp_path / "devices.json"
    assert main(["zone", "provision", str(zone_dir), "--registry", str(registry_path)]) == 0
    assert main(["zone", "provision", str(zone_dir), "--registry", str(registry_path)]) == 0
    out = capsys.readouterr().out
    assert "provisioned 18 devices" in out and "provisioned 0 devices" in out
    devices = load_registry(registry_path).devices()
    assert {d.kind.value for d in devices} == {"rsu", "signal"}
    assert {d.id for d in devices if d.kind.value == "rsu"} == {unit.id for unit in manifest.rsu}
    assert all(d.lon_deg is not None and abs(d.lat_deg - 39.8) < 0.1 for d in devices)  # in Yizhuang
