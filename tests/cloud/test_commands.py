"""``roadcloud demo`` as a user runs it: a real process, its printed address, the API answering live, a
clean exit when the run ends; and one-line errors for bad arguments."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from roadcloud.cli import main
from roadcloud.twin.generator import GridSettings, ZoneSettings, new_zone

DEMO_ZONE = ZoneSettings(
    name="demozone",
    grid=GridSettings(columns=2, rows=2, lanes=1, block_x_m=200.0, block_y_m=200.0),
    vehicles_per_hour=1800.0,
    pedestrians_per_hour=200.0,
    bicycles_per_hour=100.0,
    connected_share=0.5,
    duration_s=30.0,
    seed=3,
    incidents_per_kind=0,
)
URL_PATTERN = re.compile(r"http://127\.0\.0\.1:(\d+)/")


def _get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as response:
        payload: dict[str, object] = json.load(response)
        return payload


@pytest.mark.slow
def test_demo_serves_the_live_zone_and_stops_when_the_run_ends(tmp_path: Path) -> None:
    with contextlib.chdir(tmp_path):
        new_zone(tmp_path / "zone", DEMO_ZONE)
    command = [sys.executable, "-m", "roadcloud.cli", "demo", "--zone", str(tmp_path / "zone")]
    command += ["--duration-s", "12", "--warm-up-s", "0", "--port", "0"]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        port = None
        lines = []
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            found = URL_PATTERN.search(line)
            port = int(found.group(1)) if found else None
        assert port is not None, "".join(lines)
        base = f"http://127.0.0.1:{port}"
        stats: dict[str, object] = {}
        for _ in range(100):
            stats = _get_json(f"{base}/api/v1/stats")
            if int(str(stats.get("tracks", 0))) > 0:
                break
            time.sleep(0.1)
        assert int(str(stats.get("tracks", 0))) > 0, stats
        assert _get_json(f"{base}/health")["status"] in ("ok", "degraded")
        with urllib.request.urlopen(f"{base}/", timeout=5) as page:
            assert b"<html" in page.read().lower()
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, "".join(lines) + rest
    assert (tmp_path / "roadcloud.db").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--duration-s", "-5"], "--duration-s"),
        (["--port", "70000"], "--port"),
        (["--warm-up-s", "-1"], "--warm-up-s"),
    ],
)
def test_bad_demo_arguments_are_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", *argv]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error
