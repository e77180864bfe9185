"""Multi-object tracking scores: CLEAR-MOT (MOTA, ID switches, misses, false positives) and IDF1.

Where it sits: the last step of evaluation. ``truth.py`` says what the twin knew, a tracker or a baseline says
what it believed; both arrive here as one ``ScoringFrame`` per 100 ms and leave as a ``TrackingScore``.

Matching and counting are ``motmetrics`` (py-motmetrics, MIT): its ``MOTAccumulator`` does the per-frame
CLEAR-MOT assignment (keep last frame's matches while they stay within the threshold, Hungarian for the
rest) and its ``compute`` the global IDF1 assignment. motmetrics 1.4.0 runs on numpy 2 as long as the IoU
helper (``distances.iou_matrix``, which calls the removed ``np.asfarray``) is not used; this module builds the
Euclidean distance matrix itself, so that path is never taken.

Definitions (GT = number of truth track-frames, i.e. (object, frame) pairs scored)::

    MOTA = 1 - (misses + false_positives + id_switches) / GT
    IDF1 = 2 IDTP / (2 IDTP + IDFP + IDFN)      (one global truth-to-hypothesis id assignment)

A truth object and a hypothesis pair when they are at most ``max_distance_m`` apart (Euclidean, local
frame). Position error is the distance of every matched pair.

Cost: motmetrics solves IDF1 on a dense (objects + tracks)² matrix, so memory grows with the square of
the distinct ids in a sequence: of the order of 1 GB and a minute for 1,000 objects and 7,000 tracks
(5 minutes of the default zone). Hour-long sequences would need a sparse IDF1.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from roadcloud.errors import SettingError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DEFAULT_MAX_DISTANCE_M = 2.0

_METRICS = (
    "num_frames",
    "num_objects",
    "num_matches",
    "mota",
    "idf1",
    "num_switches",
    "num_false_positives",
    "num_misses",
)


@dataclass(frozen=True, slots=True, eq=False)
class ScoringFrame:
    """What was true and what was believed at one instant (``time_ms``), column-wise.

    ``truth_id`` are the truth objects scored in this frame, ``track_id`` the hypotheses; ids only need to
    be stable across frames within one sequence, not meaningful.
    """

    time_ms: int
    truth_id: IntArray
    truth_x_m: FloatArray
    truth_y_m: FloatArray
    track_id: IntArray
    track_x_m: FloatArray
    track_y_m: FloatArray


@dataclass(frozen=True, slots=True)
class TrackingScore:
    """One tracker's scores over one sequence; counts are track-frames."""

    frames: int
    truth_track_frames: int
    matches: int
    mota: float
    idf1: float
    id_switches: int
    false_positives: int
    misses: int
    position_error_median_m: float
    position_error_p95_m: float

    @property
    def id_switches_per_1000(self) -> float:
        """ID switches per 1,000 truth track-frames."""
        return 1000.0 * self.id_switches / self.truth_track_frames if self.truth_track_frames else 0.0


def distance_matrix_m(
    truth_x_m: FloatArray,
    truth_y_m: FloatArray,
    track_x_m: FloatArray,
    track_y_m: FloatArray,
    *,
    max_distance_m: float,
) -> FloatArray:
    """(N truth, M tracks) Euclidean distances; NaN (do not pair) beyond ``max_distance_m``."""
    dx = np.asarray(truth_x_m, dtype=np.float64)[:, np.newaxis] - np.asarray(track_x_m, dtype=np.float64)
    dy = np.asarray(truth_y_m, dtype=np.float64)[:, np.newaxis] - np.asarray(track_y_m, dtype=np.float64)
    distance_m = np.hypot(dx, dy)
    return np.where(distance_m <= max_distance_m, distance_m, np.nan)


def score_frames(
    frames: Iterable[ScoringFrame], *, max_distance_m: float = DEFAULT_MAX_DISTANCE_M
) -> TrackingScore:
    """CLEAR-MOT and IDF1 over a sequence of frames, in time order."""
    if not max_distance_m > 0.0:
        raise SettingError(f"matching distance is {max_distance_m} m; give a positive distance, e.g. 2.0")
    import motmetrics  # type: ignore[import-untyped]  # imported here: it pulls in pandas, slow to load

    accumulator = motmetrics.MOTAccumulator(auto_id=False)
    for frame in frames:
        distances = distance_matrix_m(
            frame.truth_x_m, frame.truth_y_m, frame.track_x_m, frame.track_y_m, max_distance_m=max_distance_m
        )
        accumulator.update(
            frame.truth_id.tolist(), frame.track_id.tolist(), distances, frameid=int(frame.time_ms)
        )
    with warnings.catch_warnings():
        # motmetrics' pandas calls trip pandas deprecation warnings; they do not change the numbers.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        summary = motmetrics.metrics.create().compute(accumulator, metrics=list(_METRICS), name="run")
        events = accumulator.mot_events
    row = summary.loc["run"]
    matched = events[events["Type"].isin(("MATCH", "SWITCH"))]
    errors_m = matched["D"].to_numpy(dtype=np.float64)
    truth_track_frames = int(row["num_objects"])
    mota = float(row["mota"]) if truth_track_frames else float("nan")
    idf1 = float(row["idf1"])
    return TrackingScore(
        frames=int(row["num_frames"]),
        truth_track_frames=truth_track_frames,
        matches=int(row["num_matches"]) + int(row["num_switches"]),
        mota=mota,
        idf1=idf1 if np.isfinite(idf1) else float("nan"),
        id_switches=int(row["num_switches"]),
        false_positives=int(row["num_false_positives"]),
        misses=int(row["num_misses"]),
        position_error_median_m=float(np.median(errors_m)) if errors_m.size else float("nan"),
        position_error_p95_m=float(np.percentile(errors_m, 95)) if errors_m.size else float("nan"),
    )
