"""``roadcloud map …`` through the real CLI entry point: exit codes, output, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadcloud import cli

DOERPFELD_NAME = "doerpfeldstr.net.xml.gz"


@pytest.fixture(autouse=True)
def only_map_commands(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Other packages add their sub-commands to the same CLI; these tests are about the map's.
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("roadcloud.map.commands",))
    # Conversions of .xodr files go to a cache; keep it inside the test.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_info(capsys: pytest.CaptureFixture[str], maps_dir: Path) -> None:
    code, out, err = _run(capsys, "map", "info", str(maps_dir / DOERPFELD_NAME))
    assert code == 0 and err == ""
    assert "junctions      334 (10 signalised)" in out
    assert "lanes          2751" in out
    assert "connections    3676" in out
    assert "+proj=utm +zone=33" in out
    assert "lat 52.4" in out and "lon 13.5" in out


def test_info_on_opendrive_with_anchor(capsys: pytest.CaptureFixture[str], maps_dir: Path) -> None:
    code, out, _err = _run(
        capsys, "map", "info", str(maps_dir / "multi_intersections.xodr"), "--anchor", "116.5,39.8"
    )
    assert code == 0
    assert "signals        20 controllers" in out
    assert "+proj=tmerc +lat_0=39.8" in out


def test_import(capsys: pytest.CaptureFixture[str], maps_dir: Path, tmp_path: Path) -> None:
    out_path = tmp_path / "fabriksgatan.net.xml"
    code, out, _err = _run(
        capsys,
        "map",
        "import",
        "--xodr",
        str(maps_dir / "fabriksgatan_traffic_lights.xodr"),
        "-o",
        str(out_path),
    )
    assert code == 0 and out_path.is_file()
    assert f"wrote {out_path}" in out


def test_import_osm(capsys: pytest.CaptureFixture[str], tiny_osm: Path, tmp_path: Path) -> None:
    code, _out, _err = _run(
        capsys, "map", "import", "--osm", str(tiny_osm), "-o", str(tmp_path / "t.net.xml")
    )
    assert code == 0


def test_route_and_closure(capsys: pytest.CaptureFixture[str], maps_dir: Path) -> None:
    network = str(maps_dir / DOERPFELD_NAME)
    code, out, _err = _run(capsys, "map", "route", network, "-1066221582", "679901152#0")
    assert code == 0
    assert out.splitlines()[0].split()[1:] == [
        "-1066221582", "1066221582", "20553068#0", "20553068#1", "20553068#2", "20553068#3",
        "166142947#1", "-152839428", "-152839428.39", "679901152#0",
    ]  # fmt: skip
    code, out, _err = _run(
        capsys, "map", "route", network, "-1066221582", "679901152#0", "--fastest", "--close", "1066221582"
    )
    assert code == 0
    assert " 1066221582 " not in out and "travel_time_s" in out


def test_match(capsys: pytest.CaptureFixture[str], maps_dir: Path) -> None:
    code, out, _err = _run(capsys, "map", "match", str(maps_dir / DOERPFELD_NAME), "2933", "1385", "90")
    assert code == 0
    assert out.startswith("lane ") and "heading_error_deg" in out
    code, out, _err = _run(capsys, "map", "match", str(maps_dir / DOERPFELD_NAME), "100", "100")
    assert code == 1 and "no lane within 5 m" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["map", "info", "/no/such/net.net.xml"], "does not exist"),
        (["map", "match", "{net}", "2933", "north"], "Y 'north' is not a number"),
        (["map", "match", "{net}", "2933", "1385", "--max-distance", "-1"], "max_distance_m"),
        (["map", "route", "{net}", "nowhere", "679901152#0"], "unknown edge 'nowhere'"),
        (["map", "route", "{net}", "-1066221582", "679901152#0", "--close", "-152839428"], "no route"),
        (["map", "route", "{net}", "-1066221582", "679901152#0", "--vehicle-class", "carr"], "vehicle class"),
        (["map", "info", "{net}", "--anchor", "13.5"], "--anchor '13.5' is not LON,LAT"),
        (["map", "import", "--xodr", "{net}", "-o", "{tmp}/x.net.xml"], "is not an OpenDRIVE file"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], maps_dir: Path, tmp_path: Path, argv: list[str], expected: str
) -> None:
    filled = [arg.format(net=maps_dir / DOERPFELD_NAME, tmp=tmp_path) for arg in argv]
    code, out, err = _run(capsys, *filled)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("roadcloud: error: ") and expected in err


@pytest.mark.parametrize("command", ["info", "import", "route", "match"])
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["map", command, "--help"])
    assert exited.value.code == 0
    assert f"usage: roadcloud map {command}" in capsys.readouterr().out
