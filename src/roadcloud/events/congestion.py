"""Congestion: queues of slow vehicles per lane, their length and where they end, that outlast the lights.

Per lane, vehicles slower than ``queue_speed_mps`` whose bumpers are at most ``queue_gap_m`` apart form a
run (one sort of the snapshot by lane and ``s``). A run that reaches back to the start of its lane
continues on the feeding lane whose run reaches that lane's stop line, so a queue spilling back through a
junction is one queue; its *end* is the upstream tail. Queues are grouped by the road (edge) their head
is on: one event per congested approach, reported at the longest lane's queue end, with every lane's
queue length in ``details`` (``queue_lane<index>_m``).

A queue at a red light looks the same for a while, so a queue becomes congestion only after it has stood
for ``congestion_confirm_s`` of which at least ``congestion_green_s`` with its head's light green (or with
no light at its head to explain it): a red-light queue clears in the green that follows.

Everything is array arithmetic over runs, queues and roads; only queues that spill across a junction (a
few, in a jam) are chained in Python.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from roadcloud.events.base import GREEN_RANK, Context
from roadcloud.events.candidates import Candidates, evidence_confidence
from roadcloud.events.frame import Frame
from roadcloud.events.lanes import LaneTable
from roadcloud.events.model import EventType

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: a lane-to-lane chain of runs is followed upstream at most this many lanes
_MAX_CHAIN = 8


@dataclass(frozen=True, slots=True)
class Queues:
    """Queues of one snapshot, one entry per queue (arrays); ``rows`` lists each queue's snapshot rows,
    upstream first, as ``QueueRows``."""

    head_lane: IntArray
    head_s_m: FloatArray
    tail_lane: IntArray
    tail_s_m: FloatArray
    length_m: FloatArray
    count: IntArray
    rows: QueueRows

    def __len__(self) -> int:
        return len(self.head_lane)


class QueueRows(Sequence[IntArray]):
    """Snapshot rows of each queue, built only when asked: a contiguous stretch of the lane-sorted order
    for a queue on one lane, an explicit list for one chained across lanes."""

    def __init__(
        self, order: IntArray, start: IntArray, stop: IntArray, chained: Mapping[int, IntArray]
    ) -> None:
        self._order, self._start, self._stop, self._chained = order, start, stop, chained

    def __len__(self) -> int:
        return len(self._start)

    def __getitem__(self, index: int) -> IntArray:  # type: ignore[override]
        chained = self._chained.get(index)
        if chained is not None:
            return chained
        rows: IntArray = self._order[self._start[index] : self._stop[index]]
        return rows

    def means(self, values: FloatArray, picked: IntArray) -> FloatArray:
        """Mean of ``values`` (one per snapshot row) over each picked queue's rows, without a loop."""
        running = np.concatenate([[0.0], np.cumsum(values[self._order])])
        start, stop = self._start[picked], self._stop[picked]
        means: FloatArray = (running[stop] - running[start]) / np.maximum(stop - start, 1)
        for n, queue in enumerate(picked.tolist()):
            if queue in self._chained:
                means[n] = float(values[self._chained[queue]].mean())
        return means


class TrackIds(Sequence[IntArray]):
    """Track ids of each selected queue, built only for the rows the life cycle looks at."""

    def __init__(self, rows: QueueRows, picked: IntArray, track_id: IntArray) -> None:
        self._rows, self._picked, self._track_id = rows, picked, track_id

    def __len__(self) -> int:
        return len(self._picked)

    def __getitem__(self, index: int) -> IntArray:  # type: ignore[override]
        ids: IntArray = self._track_id[self._rows[int(self._picked[index])]]
        return ids


class CongestionDetector:
    columns: Mapping[str, int | float] = {}

    def __init__(self, lanes: LaneTable) -> None:
        edges = len(lanes.edge_ids)
        # Per road: when its queue began, when it was last seen, how long it stood at green.
        self._onset_ms = np.full(edges, -1, dtype=np.int64)
        self._last_ms = np.full(edges, -1, dtype=np.int64)
        self._green_ms = np.zeros(edges, dtype=np.int64)

    def detect(self, context: Context) -> list[Candidates]:
        frame, config, lanes, now = context.frame, context.config, context.lanes, context.now_ms
        queues = find_queues(frame, lanes, config.queue_speed_mps, config.queue_gap_m)
        real = np.flatnonzero(
            (queues.count >= config.queue_min_vehicles) & (queues.length_m >= config.queue_min_length_m)
        )
        edge_of = lanes.edge[queues.head_lane[real]]
        edges = np.unique(edge_of)
        tolerance_ms = round(config.congestion_tolerance_s * 1000)
        # Timers: a road whose queue lapsed for longer than the tolerance starts over.
        lapsed = (self._onset_ms >= 0) & (now - self._last_ms > tolerance_ms)
        self._onset_ms[lapsed] = -1
        fresh = edges[self._onset_ms[edges] < 0]
        self._onset_ms[fresh] = now
        self._green_ms[fresh] = 0
        # A red (or yellow, or unknown) light at a queue's head explains it, if the head is at the line.
        head = queues.head_lane[real]
        at_line = lanes.signalised[head] & (
            lanes.length_m[head] - queues.head_s_m[real] <= config.stop_line_zone_m
        )
        explained = np.zeros(len(lanes.edge_ids), dtype=bool)
        np.logical_or.at(explained, edge_of, at_line & (context.lights.lane_rank[head] < GREEN_RANK))
        running = edges[(self._last_ms[edges] >= 0) & ~np.isin(edges, fresh) & ~explained[edges]]
        self._green_ms[running] += min(context.dt_ms, tolerance_ms)
        self._last_ms[edges] = now
        if len(real) == 0:
            return [Candidates.empty(EventType.CONGESTION)]
        # One candidate per road: its longest queue.
        by_edge = np.lexsort((queues.length_m[real], edge_of))
        last_of_edge = np.flatnonzero(np.append(edge_of[by_edge][1:] != edge_of[by_edge][:-1], True))
        picked = real[by_edge[last_of_edge]]
        picked_edge = edge_of[by_edge[last_of_edge]]
        lanes_queued = np.bincount(edge_of, minlength=len(lanes.edge_ids))[picked_edge]
        confirmed = (now - self._onset_ms[picked_edge] >= round(config.congestion_confirm_s * 1000)) & (
            self._green_ms[picked_edge] >= round(config.congestion_green_s * 1000)
        )
        details: dict[str, FloatArray] = {"lanes_queued": lanes_queued.astype(np.float64)}
        slot = np.searchsorted(picked_edge, edge_of)
        for index in np.unique(lanes.lane_index[head]).tolist():
            column = np.full(len(picked), np.nan)
            on_lane = lanes.lane_index[head] == index
            np.fmax.at(column, slot[on_lane], queues.length_m[real][on_lane])
            details[f"queue_lane{index}_m"] = column
        return [
            _candidates(
                context,
                queues,
                picked=picked,
                edge=picked_edge,
                confirmed=confirmed,
                onset_ms=self._onset_ms[picked_edge],
                details=details,
            )
        ]


def _candidates(
    context: Context,
    queues: Queues,
    *,
    picked: IntArray,
    edge: IntArray,
    confirmed: NDArray[np.bool_],
    onset_ms: IntArray,
    details: dict[str, FloatArray],
) -> Candidates:
    if len(picked) == 0:
        return Candidates.empty(EventType.CONGESTION)
    lanes, config, now = context.lanes, context.config, context.now_ms
    snapshot = context.frame.snapshot
    vehicles = queues.count[picked].astype(np.float64)
    sources = np.rint(queues.rows.means(snapshot.source_count.astype(np.float64), picked)).astype(np.int64)
    details["vehicles"] = vehicles
    details["mean_speed_mps"] = queues.rows.means(snapshot.speed_mps, picked)
    tail_lane = queues.tail_lane[picked]
    tail_s = queues.tail_s_m[picked]
    tail_x, tail_y, _ = lanes.centre(tail_lane, tail_s)
    extent = queues.length_m[picked]
    nowhere = np.full(len(picked), np.nan)  # congestion merges by road (key), not by distance
    return Candidates(
        event_type=EventType.CONGESTION,
        key=edge,
        confirmed=confirmed,
        x_m=tail_x,
        y_m=tail_y,
        lane=tail_lane,
        s_m=tail_s,
        # 2: a queue; 3: 150 m and more; 4: 400 m and more (spilling through junctions)
        severity=(2 + (extent >= 150.0).astype(np.int64) + (extent >= 400.0).astype(np.int64)),
        confidence=evidence_confidence(
            sources,
            (now - onset_ms) / 1000.0,
            config.congestion_confirm_s,
            (vehicles - config.queue_min_vehicles) / config.queue_min_vehicles,
        ),
        onset_ms=onset_ms,
        extent_m=extent,
        match_x_m=nowhere,
        match_y_m=nowhere,
        members=TrackIds(queues.rows, picked, snapshot.track_id),
        details=details,
    )


def find_queues(frame: Frame, lanes: LaneTable, queue_speed_mps: float, queue_gap_m: float) -> Queues:
    """Runs of slow vehicles per lane, chained upstream across junctions; one queue per head."""
    snapshot = frame.snapshot
    safe = np.maximum(frame.lane, 0)
    eligible = np.flatnonzero((frame.motor | frame.cyclist) & (frame.lane >= 0) & lanes.is_normal[safe])
    order = eligible[np.lexsort((frame.s_m[eligible], frame.lane[eligible]))]
    lane = frame.lane[order]
    half = 0.5 * snapshot.length_m[order]
    rear = frame.s_m[order] - half
    front = frame.s_m[order] + half
    slow = snapshot.speed_mps[order] < queue_speed_mps
    linked = np.zeros(len(order), dtype=bool)
    linked[1:] = (lane[1:] == lane[:-1]) & slow[1:] & slow[:-1] & (rear[1:] - front[:-1] <= queue_gap_m)
    first = np.flatnonzero(~linked)
    ends = np.append(first[1:], len(order))
    keep = slow[first]  # a run that starts with a moving vehicle is that vehicle alone
    start, stop = first[keep], ends[keep]
    run_lane = lane[start]
    tail = rear[start]
    head = front[stop - 1]
    count = stop - start
    upstream = _chain(lanes, run_lane, tail=tail, head=head, count=count, gap_m=queue_gap_m)
    taken = np.zeros(len(start), dtype=bool)
    taken[upstream[upstream >= 0]] = True
    heads = np.flatnonzero(~taken)
    tail_lane, tail_s = run_lane[heads].copy(), tail[heads].copy()
    length, total = head[heads] - tail[heads], count[heads].copy()
    chained: dict[int, IntArray] = {}
    for n in np.flatnonzero(upstream[heads] >= 0).tolist():
        runs = [int(heads[n])]
        while upstream[runs[-1]] >= 0 and len(runs) < _MAX_CHAIN:
            runs.append(int(upstream[runs[-1]]))
        # Between two runs: the rest of the upstream lane and the start of the downstream one.
        length[n] = sum(float(head[r] - tail[r]) for r in runs) + sum(
            float(lanes.length_m[run_lane[up]] - head[up] + tail[down])
            for down, up in itertools.pairwise(runs)
        )
        total[n] = int(sum(int(count[r]) for r in runs))
        tail_lane[n], tail_s[n] = run_lane[runs[-1]], tail[runs[-1]]
        chained[n] = np.concatenate([order[start[r] : stop[r]] for r in reversed(runs)])
    return Queues(
        head_lane=run_lane[heads],
        head_s_m=head[heads],
        tail_lane=tail_lane,
        tail_s_m=tail_s,
        length_m=length,
        count=total,
        rows=QueueRows(order, start[heads], stop[heads], chained),
    )


def _chain(
    lanes: LaneTable, run_lane: IntArray, *, tail: FloatArray, head: FloatArray, count: IntArray, gap_m: float
) -> IntArray:
    """For each run reaching back to its lane's start, the run on a feeding lane that reaches that
    lane's stop line (the longest, each used once); -1 elsewhere."""
    upstream = np.full(len(run_lane), -1, dtype=np.int64)
    at_start = np.flatnonzero(tail <= gap_m)
    if len(at_start) == 0:
        return upstream
    at_end = np.flatnonzero(lanes.length_m[run_lane] - head <= gap_m)
    best_at_end: dict[int, int] = {}
    for run in at_end[np.argsort(count[at_end], kind="stable")].tolist():
        best_at_end[int(run_lane[run])] = run  # the longest run last, so it wins
    used: set[int] = set()
    for run in at_start.tolist():
        feeders = [best_at_end[f] for f in lanes.feeders.get(int(run_lane[run]), ()) if f in best_at_end]
        feeders = [f for f in feeders if f not in used and f != run]
        if feeders:
            pick = max(feeders, key=lambda f: int(count[f]))
            used.add(pick)
            upstream[run] = pick
    return upstream
