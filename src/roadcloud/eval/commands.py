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
            "misses, position error) against the observable ground truth, side by side with the best single "
            "roadside unit per object and the raw union of all roadside reports."
        ),
    )
    fusion.add_argument("recording", metavar="RECORDING", type=Path, help="twin recording (.rcrec)")
    fusion.add_argument(
        "--max-distance-m",
        type=float,
        default=DEFAULT_MAX_DISTANCE_M,
        help=f"largest truth-to-track distance that counts as a match (default {DEFAULT_MAX_DISTANCE_M:g})",
    )
    fusion.set_defaults(run=run_fusion)


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
    print(compare(recording, max_distance_m=max_distance_m).table())
    return 0
