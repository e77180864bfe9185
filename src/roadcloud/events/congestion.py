"""Congestion: queues of slow vehicles per lane, their length and where they end, that outlast the lights.

Per lane, vehicles slower than ``queue_speed_mps`` whose bumpers are at most ``queue_gap_m`` apart form a
run (one sort of the snapshot by lane and ``s``). A run that reaches back to the start of its lane
continues on the feeding lane whose run reaches that lane's stop line, so a queue spilling back through a
junction is one queue; its *end* is the upstream tail. Queues are grouped by the road (edge) their head
is on: one event per congested approach, reported at the longest lane's queue end, with every lane's
queue length in ``details``.

A queue at a red light looks the same for a while, so a queue becomes congestion only after it has stood
for ``congestion_confirm_s`` of which at least ``congestion_green_s`` with its head's light green (or with
no light at its head to explain it): a red-light queue clears in the green that follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from roadcloud.events.base import Context
from roadcloud.events.candidates import Candidates, evidence_confidence
from roadcloud.events.frame import Frame
from roadcloud.events.lanes import LaneTable
from roadcloud.events.memory import IntArray
from roadcloud.events.model import EventType

FloatArray = NDArray[np.float64]

#: a lane-to-lane chain of runs is followed upstream at most this many lanes
_MAX_CHAIN = 8


@dataclass(slots=True)
class _Run:
    lane: int
    rows: IntArray  # snapshot rows, upstream first
    tail_s_m: float
    head_s_m: float
    upstream: _Run | None = None
    taken: bool = False


@dataclass(slots=True)
class _Queue:
    """One queue: runs from its head (downstream) to its tail."""

    runs: list[_Run] = field(default_factory=list)

    @property
    def head(self) -> _Run:
        return self.runs[0]

    @property
    def tail(self) -> _Run:
        return self.runs[-1]

    def rows(self) -> IntArray:
        return np.concatenate([run.rows for run in self.runs])

    def length_m(self, lanes: LaneTable) -> float:
        length = sum(run.head_s_m - run.tail_s_m for run in self.runs)
        # Between lanes: the rest of the upstream lane and the start of the downstream one.
        for down, up in zip(self.runs, self.runs[1:], strict=False):
            length += float(lanes.length_m[up.lane]) - up.head_s_m + down.tail_s_m
        return float(length)


@dataclass(slots=True)
class _EdgeTimer:
    onset_ms: int
    last_ms: int
    green_ms: int = 0


class CongestionDetector:
    columns: Mapping[str, int | float] = {}

    def __init__(self) -> None:
        self._timers: dict[int, _EdgeTimer] = {}

    def detect(self, context: Context) -> list[Candidates]:
        frame, config, lanes, now = context.frame, context.config, context.lanes, context.now_ms
        queues = _queues(frame, lanes, config.queue_speed_mps, config.queue_gap_m)
        by_edge: dict[int, list[tuple[_Queue, float]]] = {}
        for queue in queues:
            rows = queue.rows()
            length_m = queue.length_m(lanes)
            if len(rows) >= config.queue_min_vehicles and length_m >= config.queue_min_length_m:
                by_edge.setdefault(int(lanes.edge[queue.head.lane]), []).append((queue, length_m))
        tolerance_ms = round(config.congestion_tolerance_s * 1000)
        step_ms = min(context.dt_ms, tolerance_ms)
        for edge in list(self._timers):
            if edge not in by_edge and now - self._timers[edge].last_ms > tolerance_ms:
                del self._timers[edge]
        confirm_ms = round(config.congestion_confirm_s * 1000)
        green_needed_ms = round(config.congestion_green_s * 1000)
        found: list[_Found] = []
        for edge, edge_queues in sorted(by_edge.items()):
            timer = self._timers.get(edge)
            if timer is None:
                timer = self._timers[edge] = _EdgeTimer(onset_ms=now, last_ms=now)
            else:
                timer.last_ms = now
                if not _light_explains(context, edge_queues):
                    timer.green_ms += step_ms
            longest, length_m = max(edge_queues, key=lambda item: item[1])
            confirmed = now - timer.onset_ms >= confirm_ms and timer.green_ms >= green_needed_ms
            found.append(_Found(edge, longest, length_m, timer, edge_queues, confirmed))
        return [_candidates(context, found)]


@dataclass(frozen=True, slots=True)
class _Found:
    """A congested road this snapshot: its longest queue and every lane's."""

    edge: int
    queue: _Queue
    length_m: float
    timer: _EdgeTimer
    lane_queues: list[tuple[_Queue, float]]
    confirmed: bool


def _light_explains(context: Context, edge_queues: list[tuple[_Queue, float]]) -> bool:
    """Whether a red (or yellow) light at the queue head explains the queue this snapshot."""
    lanes = context.lanes
    for queue, _length in edge_queues:
        head = queue.head
        lane = head.lane
        if not lanes.signalised[lane]:
            continue
        if float(lanes.length_m[lane]) - head.head_s_m > context.config.stop_line_zone_m:
            continue  # the queue does not reach the stop line: the light is not what holds it
        light = context.lights.lane_light(lane, context.now_ms)
        if light is None or not light.is_green:
            return True
    return False


def _candidates(context: Context, found: list[_Found]) -> Candidates:
    if not found:
        return Candidates.empty(EventType.CONGESTION)
    lanes, config, now = context.lanes, context.config, context.now_ms
    snapshot = context.frame.snapshot
    count = len(found)
    tail_lane = np.empty(count, dtype=np.int64)
    tail_s = np.empty(count)
    vehicles = np.empty(count)
    mean_speed = np.empty(count)
    sources = np.empty(count, dtype=np.int64)
    members: list[list[int]] = []
    details: dict[str, FloatArray] = {
        "lanes_queued": np.array([len(item.lane_queues) for item in found], float)
    }
    for i, item in enumerate(found):
        rows = item.queue.rows()
        tail_lane[i] = item.queue.tail.lane
        tail_s[i] = item.queue.tail.tail_s_m
        vehicles[i] = len(rows)
        mean_speed[i] = float(snapshot.speed_mps[rows].mean())
        sources[i] = int(np.median(snapshot.source_count[rows]))
        members.append(snapshot.track_id[rows].tolist())
        for other, other_length in item.lane_queues:
            name = f"queue_lane{lanes.ids[other.head.lane].rsplit('_', 1)[-1]}_m"
            details.setdefault(name, np.full(count, np.nan))[i] = other_length
    extent = np.array([item.length_m for item in found])
    onset = np.array([item.timer.onset_ms for item in found], dtype=np.int64)
    confirmed = np.array([item.confirmed for item in found], dtype=bool)
    details["vehicles"] = vehicles
    details["mean_speed_mps"] = mean_speed
    tail_x, tail_y, _ = lanes.centre(tail_lane, tail_s)
    nowhere = np.full(count, np.nan)  # congestion merges by road (key), not by distance
    held_s = (now - onset) / 1000.0
    return Candidates(
        event_type=EventType.CONGESTION,
        key=np.array([item.edge for item in found], dtype=np.int64),
        confirmed=confirmed,
        x_m=tail_x,
        y_m=tail_y,
        lane=tail_lane,
        s_m=tail_s,
        # 2: a queue; 3: 150 m and more; 4: 400 m and more (spilling through junctions)
        severity=(2 + (extent >= 150.0).astype(np.int64) + (extent >= 400.0).astype(np.int64)),
        confidence=evidence_confidence(
            sources,
            held_s,
            config.congestion_confirm_s,
            (vehicles - config.queue_min_vehicles) / config.queue_min_vehicles,
        ),
        onset_ms=onset,
        extent_m=extent,
        match_x_m=nowhere,
        match_y_m=nowhere,
        members=members,
        details=details,
    )


def _queues(frame: Frame, lanes: LaneTable, queue_speed_mps: float, queue_gap_m: float) -> list[_Queue]:
    """Runs of slow vehicles per lane, chained upstream across junctions; one ``_Queue`` per head."""
    snapshot = frame.snapshot
    safe = np.maximum(frame.lane, 0)
    eligible = np.flatnonzero((frame.motor | frame.cyclist) & (frame.lane >= 0) & lanes.is_normal[safe])
    if len(eligible) == 0:
        return []
    order = eligible[np.lexsort((frame.s_m[eligible], frame.lane[eligible]))]
    lane = frame.lane[order]
    half = 0.5 * snapshot.length_m[order]
    rear = frame.s_m[order] - half
    front = frame.s_m[order] + half
    slow = snapshot.speed_mps[order] < queue_speed_mps
    linked = np.zeros(len(order), dtype=bool)
    linked[1:] = (lane[1:] == lane[:-1]) & slow[1:] & slow[:-1] & (rear[1:] - front[:-1] <= queue_gap_m)
    starts = np.flatnonzero(slow & ~linked)
    if len(starts) == 0:
        return []
    # Each run ends where the next unlinked row begins; rows of a run are contiguous in ``order``.
    first_of_run = np.flatnonzero(~linked)
    ends = np.append(first_of_run[1:], len(order))
    end_of = dict(zip(first_of_run.tolist(), ends.tolist(), strict=True))
    runs: list[_Run] = []
    for start in starts.tolist():
        stop = end_of[start]
        runs.append(
            _Run(
                lane=int(lane[start]),
                rows=order[start:stop],
                tail_s_m=float(rear[start]),
                head_s_m=float(front[stop - 1]),
            )
        )
    # Chain: a run reaching back to its lane start continues on the feeder whose run reaches its end.
    at_end: dict[int, _Run] = {}
    for run in runs:
        if lanes.length_m[run.lane] - run.head_s_m <= queue_gap_m:
            best = at_end.get(run.lane)
            if best is None or len(run.rows) > len(best.rows):
                at_end[run.lane] = run
    for run in runs:
        if run.tail_s_m > queue_gap_m:
            continue
        feeders = [at_end[f] for f in lanes.feeders.get(run.lane, ()) if f in at_end and not at_end[f].taken]
        if feeders:
            upstream = max(feeders, key=lambda r: len(r.rows))
            upstream.taken = True
            run.upstream = upstream
    queues = []
    for run in runs:
        if run.taken:
            continue  # part of a queue headed further downstream
        queue = _Queue([run])
        while queue.tail.upstream is not None and len(queue.runs) < _MAX_CHAIN:
            queue.runs.append(queue.tail.upstream)
        queues.append(queue)
    return queues
