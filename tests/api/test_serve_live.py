"""``roadcloud serve`` split from the field as in production: a twin publishing to a real Mosquitto in one
process, the service ingesting from it in another, and the API answering with the live zone and its
stored history."""

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
from typing import Any

import pytest

from roadcloud.cli import main
from roadcloud.twin.generator import GridSettings, ZoneSettings, new_zone

LIVE_ZONE = ZoneSettings(
    name="livezone",
    grid=GridSettings(columns=2, rows=2, lanes=1, block_x_m=200.0, block_y_m=200.0),
    vehicles_per_hour=2400.0,
    pedestrians_per_hour=200.0,
    bicycles_per_hour=100.0,
    connected_share=0.5,
    duration_s=30.0,
    seed=4,
    incidents_per_kind=0,
)
ADDRESS = re.compile(r"http://127\.0\.0\.1:(\d+)/docs")


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@pytest.mark.integration
@pytest.mark.slow
def test_serve_ingests_a_twin_over_mqtt_and_answers_live(mosquitto: Any, tmp_path: Path) -> None:
    with contextlib.chdir(tmp_path):
        new_zone(tmp_path / "zone", LIVE_ZONE)
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    database = tmp_path / "history.db"
    roadcloud = [sys.executable, "-m", "roadcloud.cli"]
    serve = subprocess.Popen(
        [
            *roadcloud,
            "serve",
            "--zone",
            str(tmp_path / "zone"),
            "--bus",
            mosquitto.url,
            "--port",
            "0",
            "--db",
            f"sqlite:///{database}",
        ],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    twin = None
    try:
        assert serve.stderr is not None
        found = ADDRESS.search(serve.stderr.readline())
        assert found, "serve printed no address"
        base = f"http://127.0.0.1:{found.group(1)}"
        twin_args = ["--bus", mosquitto.url, "--realtime", "--duration-s", "12", "--quiet"]
        twin = subprocess.Popen(
            [*roadcloud, "twin", str(tmp_path / "zone"), *twin_args],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            env=environment,
        )
        stats: dict[str, Any] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (stats.get("tracks") and "bsm" in stats["messages_in"]):
            time.sleep(0.5)
            stats = _get(f"{base}/api/v1/stats")
        assert stats.get("tracks", 0) > 0, stats
        assert stats["messages_in"].get("rsm", 0) > 0 and stats["messages_in"].get("bsm", 0) > 0, stats
        assert _get(f"{base}/health")["components"]["store"] == "ok"
        ldm = _get(f"{base}/api/v1/ldm")
        assert ldm["count"] > 0 and len(ldm["tracks"]["id"]) == ldm["count"]
        assert twin.wait(timeout=60) == 0
    finally:
        for process in (twin, serve):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
    assert database.exists() and database.stat().st_size > 0


def test_a_database_url_that_cannot_be_used_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with contextlib.chdir(tmp_path):
        new_zone(tmp_path / "zone", LIVE_ZONE)
    code = main(["serve", "--zone", str(tmp_path / "zone"), "--port", "0", "--db", "nosuchdb://x"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "nosuchdb" in err
