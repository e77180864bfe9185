"""``roadcloud eval fusion``: the comparison table, and one-line errors with exit 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from roadcloud import cli
from roadcloud.eval.accuracy import FUSION_MODULE


@pytest.fixture(autouse=True)
def only_eval_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("roadcloud.eval.commands",))


def test_missing_recording_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["eval", "fusion", str(tmp_path / "nope.rcrec")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "does not exist" in err


def test_corrupt_recording_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.rcrec"
    path.write_bytes(b"not a recording at all")
    assert cli.main(["eval", "fusion", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(path) in err


def test_non_positive_distance_is_exit_2(tiny_recording: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["eval", "fusion", str(tiny_recording), "--max-distance-m", "0"]) == 2
    assert "--max-distance-m" in capsys.readouterr().err


def test_prints_the_comparison(tiny_recording: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip(FUSION_MODULE)
    assert cli.main(["eval", "fusion", str(tiny_recording), "--max-distance-m", "2.5"]) == 0
    out = capsys.readouterr().out
    assert "match within 2.5 m" in out
    for label in ("MOTA", "IDF1", "ID switches", "false positives", "misses", "position error p95 (m)"):
        assert any(line.startswith(label) for line in out.splitlines())


def test_without_fusion_prints_baselines_and_exits_1(
    tiny_recording: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, FUSION_MODULE, None)
    assert cli.main(["eval", "fusion", str(tiny_recording)]) == 1
    captured = capsys.readouterr()
    assert "raw union" in captured.out and "n/a" in captured.out
    assert "fusion is not available" in captured.err and len(captured.err.strip().splitlines()) == 1
