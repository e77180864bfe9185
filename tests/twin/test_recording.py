from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from roadcloud.errors import RecordingError, SettingError
from roadcloud.twin.recording import RecordingHeader, RecordingWriter, read_header, read_recording, replay
from roadcloud.twin.runtime import Emission, Twin

Run = tuple[Twin, list[Emission]]


def _record(path: Path, run: Run) -> None:
    twin, emissions = run
    header = RecordingHeader(zone=twin.zone, start_epoch_ms=twin.start_epoch_ms, manifest_toml="# zone")
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
    assert read_header(path).zone == small_run[0].zone


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
