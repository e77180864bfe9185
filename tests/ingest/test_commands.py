"""``roadcloud devices …`` and ``roadcloud ingest`` through the real CLI entry point."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from roadcloud import cli
from roadcloud.bus import connect_bus
from roadcloud.bus.topics import topic
from roadcloud.messages.json_codec import encode

from .factories import bsm, heartbeat, rsm


@pytest.fixture(autouse=True)
def only_ingest_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI as it is, with only this package's commands: other packages' commands are tested with them."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("roadcloud.ingest.commands",))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, _, err = run(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("roadcloud: error:"), err
    return lines[0]


def test_provision_list_show_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "devices.json")
    code, out, _ = run(
        capsys,
        "devices",
        "provision",
        "R0042",
        "--kind",
        "rsu",
        "--zone",
        "yizhuang",
        "--name",
        "Kechuang 6th St north",
        "--lon",
        "116.5123",
        "--lat",
        "39.7945",
        "--registry",
        path,
    )
    assert code == 0 and "provisioned rsu R0042 in zone yizhuang" in out
    assert (
        run(
            capsys, "devices", "provision", "S7", "--kind", "SIGNAL", "--zone", "yizhuang", "--registry", path
        )[0]
        == 0
    )

    code, out, _ = run(capsys, "devices", "list", "--registry", path)
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == [
        "ID",
        "KIND",
        "ZONE",
        "NAME",
        "LON",
        "LAT",
        "PROVISIONED",
        "(UTC)",
    ]
    assert lines[1].startswith("R0042  rsu     yizhuang  Kechuang 6th St north  116.5123000  39.7945000  20")
    assert lines[2].split()[:3] == ["S7", "signal", "yizhuang"]

    code, out, _ = run(capsys, "devices", "show", "S7", "--registry", path)
    assert code == 0 and re.search(r"^kind:\s+signal$", out, re.MULTILINE)
    assert re.search(r"^position:\s+-$", out, re.MULTILINE)

    code, out, _ = run(capsys, "devices", "remove", "R0042", "--registry", path)
    assert code == 0 and "removed rsu R0042" in out
    code, out, _ = run(capsys, "devices", "list", "--registry", path, "--zone", "elsewhere")
    assert "no devices in zone elsewhere" in out
    code, out, _ = run(capsys, "devices", "list", "--registry", path)
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["S7"]


def test_device_mistakes_are_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "devices.json")
    run(capsys, "devices", "provision", "R1", "--kind", "rsu", "--zone", "z", "--registry", path)
    assert "already provisioned" in one_line_error(
        capsys, "devices", "provision", "R1", "--kind", "rsu", "--zone", "z", "--registry", path
    )
    assert "kind 'drone' is unknown; use one of rsu, signal, vehicle, sensor" in one_line_error(
        capsys, "devices", "provision", "D1", "--kind", "drone", "--zone", "z", "--registry", path
    )
    assert "give both or neither" in one_line_error(
        capsys,
        "devices",
        "provision",
        "R2",
        "--kind",
        "rsu",
        "--zone",
        "z",
        "--lon",
        "116",
        "--registry",
        path,
    )
    assert "'R404' is not provisioned" in one_line_error(
        capsys, "devices", "remove", "R404", "--registry", path
    )
    assert "'R404' is not in" in one_line_error(capsys, "devices", "show", "R404", "--registry", path)
    Path(path).write_text("{broken")
    assert f"device registry {path} is not a roadcloud device file" in one_line_error(
        capsys, "devices", "list", "--registry", path
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["devices", "--help"],
        ["devices", "provision", "--help"],
        ["devices", "list", "--help"],
        ["devices", "remove", "--help"],
        ["devices", "show", "--help"],
        ["ingest", "--help"],
    ],
)
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 0
    assert "usage: roadcloud" in capsys.readouterr().out


def test_ingest_mistakes_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    registry = str(tmp_path / "devices.json")
    assert "neither inproc:// nor mqtt://" in one_line_error(
        capsys, "ingest", "--bus", "amqp://x", "--zone", "z", "--registry", registry
    )
    assert "zone 'a/b' cannot be used" in one_line_error(
        capsys, "ingest", "--zone", "a/b", "--registry", registry
    )
    assert "--seconds -1.0 must be positive" in one_line_error(
        capsys, "ingest", "--zone", "z", "--seconds", "-1", "--registry", registry
    )


def test_ingest_on_an_inproc_bus_prints_a_total(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "ingest", "--zone", "z", "--seconds", "0.2", "--registry", str(tmp_path / "d.json")
    )
    assert code == 0
    assert "no devices in" in err
    assert out.strip().splitlines()[-1].startswith("total after 0.2 s: accepted 0, dropped 0")


@pytest.mark.integration
def test_ingest_console_over_mqtt(mosquitto, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """A field publisher and the operator's console on a real broker: live lines, then the totals."""
    registry = str(tmp_path / "devices.json")
    for device_id, kind in (("R1", "rsu"), ("V1", "vehicle")):
        run(
            capsys,
            "devices",
            "provision",
            device_id,
            "--kind",
            kind,
            "--zone",
            "yizhuang",
            "--registry",
            registry,
        )
    result: list[int] = []
    console = threading.Thread(
        target=lambda: result.append(
            cli.main(
                [
                    "ingest",
                    "--bus",
                    mosquitto.url,
                    "--zone",
                    "yizhuang",
                    "--seconds",
                    "2.5",
                    "--registry",
                    registry,
                ]
            )
        )
    )
    console.start()
    time.sleep(0.5)  # connected and subscribed
    with connect_bus(mosquitto.url) as field:
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            now_ms = time.time_ns() // 1_000_000
            field.publish(topic("yizhuang", "rsu", "R1", "rsm"), encode(rsm(now_ms)))
            field.publish(topic("yizhuang", "vehicle", "V1", "bsm"), encode(bsm(now_ms)))
            field.publish(topic("yizhuang", "rsu", "R1", "heartbeat"), encode(heartbeat(now_ms)))
            field.publish(topic("yizhuang", "rsu", "R404", "rsm"), encode(rsm(now_ms, device_id="R404")))
            field.publish(topic("yizhuang", "vehicle", "V1", "bsm"), encode(bsm(now_ms - 60_000 + 20_000)))
            time.sleep(0.1)
    console.join(timeout=10)
    assert result == [0]
    lines = capsys.readouterr().out.strip().splitlines()
    live = [line for line in lines if " accepted " in line and "msg/s" in line]
    assert live, lines
    assert re.search(r"\(bsm \d+, heartbeat \d+, rsm \d+\)", live[-1])
    assert "future" in live[-1] and "unknown_device" in live[-1]
    assert "online 2/2" in live[-1]
    assert any(line == "  device R1 is online" for line in lines)
    total = lines[-1]
    accepted = int(re.search(r"accepted (\d+)", total).group(1))  # type: ignore[union-attr]
    assert total.startswith("total after 2.5 s") and accepted >= 3 * 10
