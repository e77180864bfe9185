"""Fusion accuracy against the twin's ground truth, side by side with two no-fusion baselines.

Where it sits: the top of evaluation. It reads one twin recording, builds the observable truth
(``truth.py``), replays the recording through the tracker (``roadcloud.fusion.replay.fuse_recording``) and
through the baselines (``baselines.py``), scores all of them the same way (``metrics.py``) over the same
frames, and renders the comparison ``roadcloud eval fusion`` prints and the accuracy benchmark reports.

Scored frames are the truth frames between the first and the last 100 ms frame any roadside unit reported
(``baselines.scored_window``). A fused snapshot for a time outside them is ignored; a scored frame without a
snapshot counts every truth object in it as missed.

Fusion is scored twice when asked (``at_publication``): each snapshot against the truth at its own time
(``time_ms``; how well the map describes the moment it is about), and each snapshot's tracks predicted
along their velocity to its publication (``published_ms``, the fusion tick) against the truth then: what a
service acting on the newest map sees, so waiting longer for late data costs accuracy here.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from roadcloud.errors import RoadcloudError
from roadcloud.eval.baselines import (
    ReceivedDetections,
    raw_union_frames,
    received_detections,
    scored_window,
    single_unit_frames,
)
from roadcloud.eval.metrics import DEFAULT_MAX_DISTANCE_M, ScoringFrame, TrackingScore, score_frames
from roadcloud.eval.truth import TruthFrame, manifest_of, roadside_units, truth_frames
from roadcloud.twin.recording import read_header

if TYPE_CHECKING:
    from roadcloud.fusion.config import FusionConfig

FUSION_MODULE = "roadcloud.fusion.replay"


class Snapshot(Protocol):
    """What evaluation needs of a fused snapshot (``roadcloud.fusion`` 's ``LdmSnapshot``): the time the
    estimates refer to (UTC epoch ms, a multiple of 100) and one row per track."""

    @property
    def time_ms(self) -> int: ...
    @property
    def track_id(self) -> NDArray[np.int64]: ...
    @property
    def x_m(self) -> NDArray[np.float64]: ...
    @property
    def y_m(self) -> NDArray[np.float64]: ...


class PublishedSnapshot(Snapshot, Protocol):
    """A snapshot that also says when fusion published it and where its tracks are heading."""

    @property
    def published_ms(self) -> int | None: ...
    @property
    def vx_mps(self) -> NDArray[np.float64]: ...
    @property
    def vy_mps(self) -> NDArray[np.float64]: ...


@dataclass(frozen=True, slots=True, eq=False)
class _Predicted:
    time_ms: int
    track_id: NDArray[np.int64]
    x_m: NDArray[np.float64]
    y_m: NDArray[np.float64]


class FusionUnavailableError(RoadcloudError):
    """``roadcloud.fusion.replay`` cannot be imported: this installation has no tracker to score."""


@dataclass(frozen=True, slots=True)
class AccuracyReport:
    """Scores of fusion (None when it was not run) and of both baselines on one recording;
    ``fusion_published``: fusion at publication (see the module docstring), when asked for, and
    ``fusion_age_ms`` the median age of fusion's map when published (publication minus its time)."""

    recording: str
    max_distance_m: float
    fusion: TrackingScore | None
    single_unit: TrackingScore
    raw_union: TrackingScore
    fusion_published: TrackingScore | None = None
    fusion_age_ms: float | None = None

    def table(self) -> str:
        """One line per metric; columns fusion | [fusion at publication] | single unit | raw union."""
        columns: dict[str, TrackingScore | None] = {"fusion": self.fusion}
        if self.fusion_published is not None:
            columns["fusion, published"] = self.fusion_published
        columns |= {"single unit": self.single_unit, "raw union": self.raw_union}
        table = render_table(
            columns,
            title=(
                f"{self.recording}: {self.raw_union.frames} frames, "
                f"{self.raw_union.truth_track_frames} observable truth track-frames, "
                f"match within {self.max_distance_m:g} m"
            ),
        )
        if self.fusion_age_ms is None:
            return table
        return f"{table}\nfusion's map when published: {self.fusion_age_ms:g} ms old (median)"


_ROWS: tuple[tuple[str, str, str], ...] = (
    # label, TrackingScore attribute, format
    ("MOTA", "mota", ".3f"),
    ("IDF1", "idf1", ".3f"),
    ("ID switches", "id_switches", "d"),
    ("ID switches / 1,000 track-frames", "id_switches_per_1000", ".2f"),
    ("false positives", "false_positives", "d"),
    ("misses", "misses", "d"),
    ("position error median (m)", "position_error_median_m", ".3f"),
    ("position error p95 (m)", "position_error_p95_m", ".3f"),
)


def render_table(columns: dict[str, TrackingScore | None], *, title: str = "") -> str:
    """Aligned text table, one line per metric and one column per scored method ("n/a" when None)."""
    label_width = max(len(label) for label, _, _ in _ROWS)
    widths = [max(len(name), 12) for name in columns]
    lines = [title] if title else []
    lines.append(
        f"{'metric':<{label_width}}  " + "  ".join(f"{n:>{w}}" for n, w in zip(columns, widths, strict=True))
    )
    for label, attribute, spec in _ROWS:
        cells = []
        for score, width in zip(columns.values(), widths, strict=True):
            value: Any = None if score is None else getattr(score, attribute)
            cells.append(f"{'n/a' if value is None else format(value, spec):>{width}}")
        lines.append(f"{label:<{label_width}}  " + "  ".join(cells))
    return "\n".join(lines)


def fusion_available() -> bool:
    """Whether ``roadcloud.fusion.replay`` can be imported. A missing dependency *inside* fusion is a bug
    in the installation, not an absent tracker, and is raised."""
    try:
        importlib.import_module(FUSION_MODULE)
    except ModuleNotFoundError as error:
        if error.name is not None and (FUSION_MODULE + ".").startswith(error.name + "."):
            return False
        raise
    return True


def snapshot_frames(truth: Sequence[TruthFrame], snapshots: Iterable[Snapshot]) -> list[ScoringFrame]:
    """Pair each scored truth frame with the snapshot for its time (the last one, if several)."""
    wanted = {frame.time_ms for frame in truth}
    by_time = {int(s.time_ms): s for s in snapshots if int(s.time_ms) in wanted}
    no_ids = np.empty(0, dtype=np.int64)
    no_xy = np.empty(0, dtype=np.float64)
    frames = []
    for frame in truth:
        snapshot = by_time.get(frame.time_ms)
        frames.append(
            ScoringFrame(
                time_ms=frame.time_ms,
                truth_id=frame.actor_id,
                truth_x_m=frame.x_m,
                truth_y_m=frame.y_m,
                track_id=no_ids if snapshot is None else np.asarray(snapshot.track_id, dtype=np.int64),
                track_x_m=no_xy if snapshot is None else np.asarray(snapshot.x_m, dtype=np.float64),
                track_y_m=no_xy if snapshot is None else np.asarray(snapshot.y_m, dtype=np.float64),
            )
        )
    return frames


def published_frames(
    truth: Sequence[TruthFrame], snapshots: Iterable[PublishedSnapshot]
) -> list[ScoringFrame]:
    """``snapshot_frames`` at publication: each published snapshot's tracks moved along their velocity
    from ``time_ms`` to ``published_ms`` and paired with the truth at ``published_ms``."""
    predicted = []
    for snapshot in snapshots:
        if snapshot.published_ms is None:
            continue
        ahead_s = (snapshot.published_ms - snapshot.time_ms) / 1000.0
        predicted.append(
            _Predicted(
                time_ms=int(snapshot.published_ms),
                track_id=np.asarray(snapshot.track_id, dtype=np.int64),
                x_m=np.asarray(snapshot.x_m, dtype=np.float64) + ahead_s * np.asarray(snapshot.vx_mps),
                y_m=np.asarray(snapshot.y_m, dtype=np.float64) + ahead_s * np.asarray(snapshot.vy_mps),
            )
        )
    return snapshot_frames(truth, predicted)


def score_fusion(
    path: Path, config: FusionConfig | None = None, *, max_distance_m: float = DEFAULT_MAX_DISTANCE_M
) -> TrackingScore:
    """Replay a recording through the tracker and score its snapshots against the observable truth."""
    window = scored_window(truth_frames(path), received_detections(path))
    score, _, _ = _score_fusion(path, config, window, max_distance_m=max_distance_m)
    return score


def score_baselines(path: Path, *, max_distance_m: float = DEFAULT_MAX_DISTANCE_M) -> AccuracyReport:
    """Both baselines on a recording; the report's ``fusion`` is None."""
    return _evaluate(path, None, with_fusion=False, at_publication=False, max_distance_m=max_distance_m)


def compare(
    path: Path,
    config: FusionConfig | None = None,
    *,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    at_publication: bool = False,
) -> AccuracyReport:
    """Fusion and both baselines on one recording, over the same frames; with ``at_publication`` also
    fusion at publication. Raises ``FusionUnavailableError`` when there is no tracker; use
    ``score_baselines`` then."""
    return _evaluate(
        path, config, with_fusion=True, at_publication=at_publication, max_distance_m=max_distance_m
    )


def _evaluate(
    path: Path,
    config: FusionConfig | None,
    *,
    with_fusion: bool,
    at_publication: bool,
    max_distance_m: float,
) -> AccuracyReport:
    header = read_header(path)
    manifest = manifest_of(header, path)
    received: ReceivedDetections = received_detections(path)
    window = scored_window(truth_frames(path), received)
    fusion = published = age_ms = None
    if with_fusion:
        fusion, published, age_ms = _score_fusion(
            path, config, window, max_distance_m=max_distance_m, at_publication=at_publication
        )
    single = single_unit_frames(
        window, received, units=roadside_units(manifest), unit_ids=[unit.id for unit in manifest.rsu]
    )
    return AccuracyReport(
        recording=path.name,
        max_distance_m=max_distance_m,
        fusion=fusion,
        single_unit=score_frames(single, max_distance_m=max_distance_m),
        raw_union=score_frames(raw_union_frames(window, received), max_distance_m=max_distance_m),
        fusion_published=published,
        fusion_age_ms=age_ms,
    )


def _score_fusion(
    path: Path,
    config: FusionConfig | None,
    window: Sequence[TruthFrame],
    *,
    max_distance_m: float,
    at_publication: bool = False,
) -> tuple[TrackingScore, TrackingScore | None, float | None]:
    if not fusion_available():
        raise FusionUnavailableError(
            f"fusion is not available: {FUSION_MODULE} is not part of this installation"
        )
    from roadcloud.fusion.replay import fuse_recording  # the tracker is optional for evaluation

    snapshots = list(fuse_recording(path, config))
    published_ms = [getattr(s, "published_ms", None) for s in snapshots]  # a stand-in tracker may not say
    ages = [p - s.time_ms for p, s in zip(published_ms, snapshots, strict=True) if p is not None]
    age_ms = float(np.median(ages)) if ages else None
    score = score_frames(snapshot_frames(window, snapshots), max_distance_m=max_distance_m)
    if not at_publication:
        return score, None, age_ms
    return score, score_frames(published_frames(window, snapshots), max_distance_m=max_distance_m), age_ms
