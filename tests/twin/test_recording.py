from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from roadcloud.errors import RecordingError, SettingError
from roadcloud.twin.recording import RecordingHeader, RecordingWriter, read_header, read_recording, replay
from roadcloud.twin.runtime import Emission, Twin

Run = tuple[Twin, list[Emission]]


def _record(path: Path, run: Run) -> None:
    twin, emissions = run
    header = RecordingHeader(
        zone=twin.zone,
        start_epoch_ms=twin.start_epoch_ms,
        manifest_toml="# zone",
        geo_proj=twin.road_map.geo.proj or "",
        geo_offset_m=twin.road_map.geo.net_offset_m,
    )
    with RecordingWriter(path, header) as writer:
        for emission in emissions:
            writer.write(emission)


def test_replay_gives_the_same_messages_in_the_same_order(tmp_path: Path, small_run: Run) -> None:
    path = tmp_path / "run.rcrec"
    _record(path, small_run)
    assert list(read_recording(path)) == small_run[1]
    published: list[tuple[str, bytes]] = []
    stats = replay(path, lambda topic, payload: published.append((topic, payload)), speed=None)
    assert published == [(e.topic, e.payload) for e in small_run[1]]
    assert stats.messages == len(small_run[1])
    header = read_header(path)
    assert header.zone == small_run[0].zone
    x_m, y_m = np.array([120.0, -40.0]), np.array([35.0, 410.0])
    lon_deg, lat_deg = small_run[0].road_map.geo.local_to_wgs84(x_m, y_m)
    back_x, back_y = header.geo().wgs84_to_local(lon_deg, lat_deg)  # the recording alone places messages
    assert np.allclose(back_x, x_m, atol=1e-3) and np.allclose(back_y, y_m, atol=1e-3)


def test_recording_is_compact(tmp_path: Path, small_run: Run) -> None:
    path = tmp_path / "run.rcrec"
    _record(path, small_run)
    raw_bytes = sum(len(e.payload) + len(e.topic) for e in small_run[1])
    assert path.stat().st_size < raw_bytes / 4


def test_replay_at_recorded_pace_waits_between_messages(tmp_path: Path, small_run: Run) -> None:
    path = tmp_path / "run.rcrec"
    _record(path, small_run)
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    stats = replay(path, lambda topic, payload: None, speed=10.0, clock=lambda: now[0], sleep=sleep)
    assert stats.span_s == pytest.approx(sum(waits) * 10.0, rel=0.01)


def test_damaged_recordings_are_refused(tmp_path: Path, small_run: Run) -> None:
    path = tmp_path / "run.rcrec"
    _record(path, small_run)
    data = gzip.decompress(path.read_bytes())
    truncated = tmp_path / "truncated.rcrec"
    truncated.write_bytes(gzip.compress(data[: len(data) // 2]))
    with pytest.raises(RecordingError, match="truncated"):
        list(read_recording(truncated))
    garbage = tmp_path / "garbage.rcrec"
    garbage.write_bytes(b"not a recording at all")
    with pytest.raises(RecordingError, match=r"garbage\.rcrec"):
        list(read_recording(garbage))
    with pytest.raises(RecordingError, match="does not exist"):
        list(read_recording(tmp_path / "missing.rcrec"))
    with pytest.raises(SettingError, match="positive"):
        replay(path, lambda topic, payload: None, speed=0.0)
