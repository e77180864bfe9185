"""``roadcloud serve``: a bad zone, host or port is one line and exit code 2, before anything starts."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from roadcloud.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["serve", *args])
    err = capsys.readouterr().err.strip()
    return code, err


def test_a_missing_zone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "--zone", str(tmp_path / "nowhere"))
    assert code == 2 and "\n" not in err and "roadcloud zone new" in err


def test_a_folder_without_a_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "--zone", str(tmp_path), "--port", "0")
    assert code == 2 and "\n" not in err and "zone.toml" in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--port", "70000"), ("--port 70000", "1-65535")),
        (("--host", "no.such.host.invalid"), ("--host", "no.such.host.invalid")),
        (("--host", "256.1.1.1"), ("--host",)),
    ],
)
def test_bad_addresses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    code, err = run(capsys, "--zone", str(tmp_path), *args)
    assert code == 2 and "\n" not in err
    for word in words:
        assert word in err


def test_a_port_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, err = run(capsys, "--zone", str(tmp_path), "--port", str(port))
    assert code == 2 and "\n" not in err and f"127.0.0.1:{port}" in err and "--port" in err


def test_serve_is_listed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    assert "--zone ZONE_DIR" in capsys.readouterr().out
