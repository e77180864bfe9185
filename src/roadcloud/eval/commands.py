"""``roadcloud eval …``: score the platform against a twin recording's ground truth from the shell.

Thin wrappers over ``roadcloud.eval``: parse, call, print. A missing or damaged recording raises
``RecordingError`` (an ``InputError``), which the top-level CLI prints as one line with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from roadcloud.errors import SettingError

DEFAULT_MAX_DISTANCE_M = 2.0  # the same as roadcloud.eval.metrics; not imported, to keep CLI start fast

EXIT_NO_FUSION = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``eval`` and its sub-commands to the top-level parser."""
    parser = subparsers.add_parser(
        "eval",
        help="score fusion against twin ground truth",
        description="Score the platform against the ground truth a twin recording carries.",
    )
    commands = parser.add_subparsers(dest="eval_command", metavar="EVAL_COMMAND")
    commands.required = True

    fusion = commands.add_parser(
        "fusion",
        help="MOTA, IDF1, ID switches, position error of fusion vs. no-fusion baselines",
        description=(
            "Replay a recording through fusion and score it (MOTA, IDF1, ID switches, false positives, "
            "misses, position error) against the observable ground truth, side by side with a single "
            "roadside unit per place and the raw union of all roadside reports; --at-publication adds "
            "fusion's map predicted to the moment it is published."
        ),
    )
    fusion.add_argument("recording", metavar="RECORDING", type=Path, help="twin recording (.rcrec)")
    fusion.add_argument(
        "--max-distance-m",
        type=float,
        default=DEFAULT_MAX_DISTANCE_M,
        help=f"largest truth-to-track distance that counts as a match (default {DEFAULT_MAX_DISTANCE_M:g})",
    )
    fusion.add_argument(
        "--at-publication",
        action="store_true",
        help="also score fusion's map predicted to its publication time (what a service sees then)",
    )
    fusion.set_defaults(run=run_fusion)
    register_events(commands)


def run_fusion(args: argparse.Namespace) -> int:
    recording: Path = args.recording
    max_distance_m: float = args.max_distance_m
    if not max_distance_m > 0.0:
        raise SettingError(f"--max-distance-m is {max_distance_m}; give a positive distance, e.g. 2.0")
    # Imported here: scoring pulls in scipy and motmetrics (pandas), which other commands never need.
    from roadcloud.eval.accuracy import FUSION_MODULE, compare, fusion_available, score_baselines

    if not fusion_available():
        print(score_baselines(recording, max_distance_m=max_distance_m).table())
        print(
            f"roadcloud: fusion is not available ({FUSION_MODULE} is not installed); "
            "only the baselines were scored",
            file=sys.stderr,
        )
        return EXIT_NO_FUSION
    at_publication: bool = args.at_publication
    print(compare(recording, max_distance_m=max_distance_m, at_publication=at_publication).table())
    return 0


DEFAULT_EVENT_DISTANCE_M = 30.0  # as roadcloud.eval.event_matching; not imported, to keep CLI start fast


def register_events(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``roadcloud eval events RECORDING``."""
    events = commands.add_parser(
        "events",
        help="precision, recall and delays of road events against the twin's scripted incidents",
        description=(
            "Replay a recording through fusion, the event detectors and the advisory service, match the "
            "road events to the incidents the twin scripted, and print per event type: incidents, events, "
            "true and false positives, misses, precision, recall, detection delay, and the delay until an "
            "advisory reached an affected connected vehicle; then the false positives with what the truth "
            "showed there, and the misses."
        ),
    )
    events.add_argument("recording", metavar="RECORDING", type=Path, help="twin recording (.rcrec)")
    events.add_argument(
        "--zone",
        type=Path,
        default=None,
        help="zone folder the recording was made from, for its network (default: the recording's folder)",
    )
    events.add_argument(
        "--max-distance-m",
        type=float,
        default=DEFAULT_EVENT_DISTANCE_M,
        help=f"largest event-to-incident distance counted as a match (default {DEFAULT_EVENT_DISTANCE_M:g})",
    )
    events.add_argument(
        "--show", type=int, default=10, help="false positives and misses to list per cause (default 10)"
    )
    events.set_defaults(run=run_events)


def run_events(args: argparse.Namespace) -> int:
    recording: Path = args.recording
    zone: Path | None = args.zone
    max_distance_m: float = args.max_distance_m
    show: int = args.show
    if not max_distance_m > 0.0:
        raise SettingError(f"--max-distance-m is {max_distance_m}; give a positive distance, e.g. 30")
    if show < 0:
        raise SettingError(f"--show is {show}; give how many to list, 0 or more")
    if zone is not None and not zone.is_dir():
        raise SettingError(f"--zone {zone} is not a folder; give the zone folder the recording was made from")
    # Imported here: the replay pulls in fusion, events, services and SUMO's libraries.
    from roadcloud.eval.event_matching import MatchConfig
    from roadcloud.eval.events import evaluate_events

    config = MatchConfig(max_distance_m=max_distance_m)
    report = evaluate_events(recording, zone_dir=zone, match_config=config)
    print(report.table(show=show))
    return 0
