"""``roadcloud eval events``: a real recording replayed through fusion, events and advisories, and scored.

Detector tuning is not tested here (the numbers move as detectors improve); what is: the replay wires the
pipeline as the cloud does and finds incidents at all, the incident truth is read back as scripted, the
counts add up, and the command's errors are one line with exit 2.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import msgspec
import pytest

from roadcloud import cli
from roadcloud.errors import RecordingError
from roadcloud.eval.event_matching import INCIDENT_EVENT_TYPE, MatchConfig
from roadcloud.eval.events import EventReport, evaluate_events
from roadcloud.events.model import EventType
from roadcloud.messages.truth import IncidentKind
from roadcloud.twin.commands import run_twin
from roadcloud.twin.generator import GridSettings, ZoneSettings, new_zone
from roadcloud.twin.manifest import write_manifest
from roadcloud.twin.runtime import Twin

ZONE = ZoneSettings(
    name="eventzone",
    grid=GridSettings(columns=3, rows=3, lanes=2, block_x_m=250.0, block_y_m=250.0),
    vehicles_per_hour=1500.0,
    pedestrians_per_hour=300.0,
    bicycles_per_hour=100.0,
    connected_share=0.5,
    duration_s=120.0,
    seed=3,
)
RUN_S = 75.0


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 75 s run with one incident of each kind, all started in its first 40 s; (recording, zone)."""
    folder = tmp_path_factory.mktemp("events")
    zone_dir = folder / "zone"
    manifest = new_zone(zone_dir, ZONE)
    early = [
        msgspec.structs.replace(incident, start_s=5.0 + 4.0 * number)
        for number, incident in enumerate(manifest.incident)
    ]
    write_manifest(msgspec.structs.replace(manifest, incident=early), zone_dir)
    path = folder / "run.rcrec"
    run_twin(Twin(zone_dir, duration_s=RUN_S), publish=None, record=path, quiet=True, out=io.StringIO())
    return path, zone_dir


@pytest.fixture(scope="module")
def report(recorded: tuple[Path, Path]) -> EventReport:
    path, zone_dir = recorded
    return evaluate_events(path, zone_dir=zone_dir)


def test_the_incidents_are_read_back_as_scripted(report: EventReport) -> None:
    kinds = {incident.kind for incident in report.incidents} | {kind for _, kind in report.never_started}
    assert kinds == set(IncidentKind)
    for incident in report.incidents:
        assert incident.start_ms <= incident.end_ms
        assert incident.event_type == INCIDENT_EVENT_TYPE[incident.kind]
        if incident.kind in (IncidentKind.STOPPED_VEHICLE, IncidentKind.PEDESTRIAN_ON_CARRIAGEWAY):
            assert incident.realised and incident.reference_ms == incident.start_ms
    assert report.lane_closures == 1


def test_counts_add_up_and_matches_are_of_the_right_type(report: EventReport) -> None:
    for event_type, score in report.scores.items():
        assert score.true_positives + score.false_negatives == score.truths, event_type
        assert score.true_positives + score.false_positives == score.detected, event_type
        assert score.false_alarms <= score.false_positives
    by_id = {incident.incident_id: incident for incident in report.incidents}
    for match in report.matching.matches:
        incident = by_id[match.incident_id]
        assert INCIDENT_EVENT_TYPE[incident.kind] == match.event_type
        assert match.distance_m <= report.match_config.max_distance_m
        assert match.delay_ms >= -report.match_config.early_s * 1000
    # The pipeline is wired: fusion feeds the detectors, and at least one scripted incident is found.
    assert sum(score.true_positives for score in report.scores.values()) >= 1
    for score in report.scores.values():
        if score.advisory_reached:
            # An advisory goes out after its event is detected, and the event after its incident began.
            assert score.advisory_p50_s >= -report.match_config.early_s
            assert not math.isnan(score.advisory_max_s)


def test_the_report_names_every_type_and_explains_the_false_positives(report: EventReport) -> None:
    text = report.table(show=3)
    for event_type in EventType:
        assert event_type.value in text
    assert "false positives:" in text and "waiting at a red light" in text
    assert f"{len(report.incidents)} incidents" in text


def test_a_tighter_distance_never_finds_more(recorded: tuple[Path, Path], report: EventReport) -> None:
    path, zone_dir = recorded
    tight = evaluate_events(path, zone_dir=zone_dir, match_config=MatchConfig(max_distance_m=5.0))
    assert len(tight.matching.matches) <= len(report.matching.matches)
    assert len(tight.events) == len(report.events)  # the replay is deterministic


@pytest.fixture
def only_eval_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("roadcloud.eval.commands",))


@pytest.mark.usefixtures("only_eval_commands")
def test_cli_prints_the_table(tiny_recording: Path, capsys: pytest.CaptureFixture[str]) -> None:
    zone_dir = tiny_recording.parent / "zone"
    assert cli.main(["eval", "events", str(tiny_recording), "--zone", str(zone_dir), "--show", "2"]) == 0
    out = capsys.readouterr().out
    assert "event type" in out and "precision" in out and "stopped_vehicle" in out


@pytest.mark.usefixtures("only_eval_commands")
@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([], "--zone"),  # the network is not beside the recording
        (["--zone", "ZONE", "--max-distance-m", "0"], "--max-distance-m"),
        (["--zone", "ZONE", "--show", "-1"], "--show"),
        (["--zone", "NOWHERE"], "not a folder"),
    ],
)
def test_cli_errors_are_one_line_and_exit_2(
    tiny_recording: Path, capsys: pytest.CaptureFixture[str], extra: list[str], expected: str
) -> None:
    zone_dir = tiny_recording.parent / "zone"
    args = [
        str(zone_dir) if a == "ZONE" else str(zone_dir / "nowhere") if a == "NOWHERE" else a for a in extra
    ]
    assert cli.main(["eval", "events", str(tiny_recording), *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and expected in err


def test_another_zone_is_refused(tiny_recording: Path, recorded: tuple[Path, Path]) -> None:
    _, other_zone = recorded
    with pytest.raises(RecordingError, match=r"holds zone 'eventzone'.*recorded in zone 'evalzone'"):
        evaluate_events(tiny_recording, zone_dir=other_zone)
