"""Tile sets: who holds the tracks of which tiles — this process, or worker processes (scale-out).

Where it sits: ``engine.FusionEngine`` decodes, aligns time, keeps clock offsets and sender identities,
and hands each frame's detections to a tile set, which fuses them into tracks (``tracker.Tracker``, or
``oosm.fuse_late`` for data of a frame already fused), closes the frame (life cycle, hand-over) and
produces the snapshot rows. One interface (``TileSet``), two kinds:

- ``LocalTiles``: one ``Tracker`` for every tile of the zone, in this process (the default). Inside one
  process a tile boundary buys nothing and a tracker per tile costs a fixed Python overhead per tile and
  frame (at 1 km tiles the full zone has hundreds), so all tiles share one table and one assignment.
- ``ProcessTiles``: ``workers`` shared-nothing processes, each owning the tiles of every ``workers``-th
  column of the grid (tile column c belongs to worker c mod workers, so neighbouring columns differ and
  the load spreads evenly). Per call the main process routes each detection to the worker that owns its
  track: the track its sender identity last went to (``IdentityMemory``; a track id's owner is known
  from where it was born and every hand-over since), else the nearest track within ``halo_m`` among the
  tracks the workers reported near a border (halo), else the worker owning the tile under the detection.
  So a track and its detections are never split by a border. Where a detection near a border could
  belong to tracks of two workers (within ``tracker.CANDIDATE_REACH_M`` of it: objects crossing the
  border together), the other worker's tracks are first pulled into the detection's worker for the
  frame, so that one assignment decides between them, as in one process. At the end of each frame a
  worker hands every track whose position left its tiles to the owner of its new tile, row and global
  id unchanged; the rows travel with the next command to that worker. Workers allocate global ids
  without talking to each other: worker w of W issues w + 1, w + 1 + W, w + 1 + 2W, …

Detections and tracks travel between processes as numpy arrays (pickled, one message per worker per
call); each call is one round trip to all workers at once. Payloads that arrive as bytes are decoded in
the workers too: the main process only reads the topic and sends batches of raw payloads round-robin,
without waiting; each worker answers a batch with its detections as arrays, collected at the tick.
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing
import time
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass, fields
from multiprocessing.connection import Connection
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from roadcloud.errors import DecodeError, ValidationError
from roadcloud.fusion import kalman
from roadcloud.fusion.config import FusionConfig
from roadcloud.fusion.detections import DetectionBuffer, Detections, concatenate
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.fusion.lifecycle import reported
from roadcloud.fusion.tiles import TileGrid, route
from roadcloud.fusion.tracker import CANDIDATE_REACH_M, FrameResult, Tracker
from roadcloud.fusion.tracks import TrackTable
from roadcloud.map import GeoReference
from roadcloud.messages import BSM, RSM
from roadcloud.messages.json_codec import decode_named

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_NO_ROWS = np.empty(0, np.int64)

DECODE_BATCH = 256
"""Raw payloads per batch sent to a worker for decoding."""

TableHook = Callable[[TrackTable], None]
"""Run on each track table at the end of a frame (e.g. keeping posteriors for late data); must be a
module-level function or a ``functools.partial`` of one, so it can travel to a worker."""

LateFuser = Callable[..., Any]
"""``oosm.fuse_late``'s signature: (table, detections, *, time_ms, fusion_ms, keys, remembered, config,
allocate) → a result with track_index, detection_index, identity_keys, identity_tracks."""


class TileSet(Protocol):
    """What the engine needs of the holders of the tracks."""

    def fuse(
        self,
        detections: Detections,
        *,
        time_ms: FloatArray,
        fusion_ms: float,
        keys: IntArray,
        remembered: IntArray,
        late: LateFuser | None = None,
    ) -> FrameResult:
        """Fuse one frame's detections at ``fusion_ms`` (``late``: data of a frame already fused, given
        to that function instead of the tracker). Row indices in the result refer to ``detections``
        and to one numbering of all tracks (unique within the call)."""
        ...

    def end_frame(self, fusion_ms: float, *, after: TableHook | None = None) -> IntArray:
        """Merge, confirm, delete, hand over; then ``after`` on each table. Returns deleted global ids."""
        ...

    def snapshot(self, time_ms: int) -> LdmSnapshot:
        """Reported tracks predicted to ``time_ms``, without lanes and unstamped."""
        ...

    def tracks_by_tile(self) -> dict[int, IntArray]: ...

    def decode(self, name: str, payload: bytes, arrival_ms: int, source_index: int) -> bool:
        """Take a raw RSM or BSM payload to decode elsewhere; False: not taken, decode it here."""
        ...

    def decoded(self) -> tuple[Detections, int]:
        """Everything decoded elsewhere since the last call, and how many payloads were rejected."""
        ...

    @property
    def track_count(self) -> int: ...

    @property
    def table_bytes(self) -> int: ...

    def stage_seconds(self) -> dict[str, float]: ...

    def worker_cpu_seconds(self) -> float: ...

    def close(self) -> None: ...


def snapshot_rows(table: TrackTable, time_ms: int, config: FusionConfig) -> LdmSnapshot:
    """The rows of ``table`` the live dynamic map shows, predicted to ``time_ms`` (no prediction when the
    tracks are already there, as after every frame). Only the columns the map needs are gathered."""
    rows = np.flatnonzero(reported(table, fusion_ms=time_ms, config=config)) if len(table) else _NO_ROWS
    if len(rows) == 0:
        return LdmSnapshot.empty(time_ms)
    state = table.state[rows]
    dt_s = (time_ms - table.time_ms[rows]) / 1000.0
    if dt_s.any():
        state, covariance = kalman.predict(state, table.covariance[rows], dt_s, config.accel_density_m2ps3)
        position_cov = np.ascontiguousarray(covariance[:, :2, :2])
    else:
        position_cov = table.covariance[rows, :2, :2]
    vx, vy = state[:, 2], state[:, 3]
    return LdmSnapshot(
        time_ms=time_ms,
        track_id=table.track_id[rows],
        x_m=state[:, 0],
        y_m=state[:, 1],
        vx_mps=vx,
        vy_mps=vy,
        speed_mps=np.hypot(vx, vy),
        heading_deg=np.rad2deg(np.arctan2(vx, vy)) % 360.0,
        length_m=table.length_m[rows],
        width_m=table.width_m[rows],
        kind=np.argmax(table.kind_votes[rows], axis=1).astype(np.int64),
        position_cov_m2=position_cov,
        lane_id=None,
        s_m=np.full(len(rows), np.nan),
        source_count=table.source_count[rows],
    )


def concatenate_snapshots(parts: list[LdmSnapshot], time_ms: int) -> LdmSnapshot:
    """One snapshot of the parts' rows (no lanes)."""
    parts = [part for part in parts if len(part)]
    if not parts:
        return LdmSnapshot.empty(time_ms)
    if len(parts) == 1:
        return parts[0]
    values: dict[str, Any] = {"time_ms": time_ms, "lane_id": None, "published_ms": None}
    for f in fields(LdmSnapshot):
        if f.name not in values:
            values[f.name] = np.concatenate([getattr(part, f.name) for part in parts])
    return LdmSnapshot(**values)


def _tracks_by_tile(table: TrackTable, grid: TileGrid) -> dict[int, IntArray]:
    keys = grid.key_of(table.state[:, 0], table.state[:, 1])
    return {key: table.track_id[rows] for key, rows in route(keys)}


def _late_result(result: Any) -> FrameResult:
    """``oosm.fuse_late``'s result as a ``FrameResult``."""
    return FrameResult(
        result.matched,
        result.initiated,
        result.timing_residual_s,
        result.timing_source,
        result.track_index,
        result.detection_index,
        result.identity_keys,
        result.identity_tracks,
    )


class LocalTiles:
    """Every tile in this process: one tracker, one table, one assignment per frame."""

    def __init__(self, config: FusionConfig, allocate: Callable[[int], IntArray]) -> None:
        self.config = config
        self.grid = TileGrid(config.tile_size_m)
        self.tracker = Tracker(config, allocate)
        self._allocate = allocate

    def fuse(
        self,
        detections: Detections,
        *,
        time_ms: FloatArray,
        fusion_ms: float,
        keys: IntArray,
        remembered: IntArray,
        late: LateFuser | None = None,
    ) -> FrameResult:
        if late is None:
            return self.tracker.process(
                detections, time_ms=time_ms, fusion_ms=fusion_ms, keys=keys, remembered=remembered
            )
        started = time.thread_time()
        result = late(
            self.tracker.table,
            detections,
            time_ms=time_ms,
            fusion_ms=fusion_ms,
            keys=keys,
            remembered=remembered,
            config=self.config,
            allocate=self._allocate,
        )
        seconds = self.tracker.stage_seconds
        seconds["late data (oosm)"] = seconds.get("late data (oosm)", 0.0) + time.thread_time() - started
        return _late_result(result)

    def end_frame(self, fusion_ms: float, *, after: TableHook | None = None) -> IntArray:
        deleted = self.tracker.end_frame(fusion_ms)
        if after is not None:
            after(self.tracker.table)
        return deleted

    def snapshot(self, time_ms: int) -> LdmSnapshot:
        started = time.thread_time()
        snapshot = snapshot_rows(self.tracker.table, time_ms, self.config)
        seconds = self.tracker.stage_seconds
        seconds["snapshot rows"] = seconds.get("snapshot rows", 0.0) + time.thread_time() - started
        return snapshot

    def tracks_by_tile(self) -> dict[int, IntArray]:
        return _tracks_by_tile(self.tracker.table, self.grid)

    def decode(self, name: str, payload: bytes, arrival_ms: int, source_index: int) -> bool:
        return False

    def decoded(self) -> tuple[Detections, int]:
        return Detections.empty(), 0

    @property
    def track_count(self) -> int:
        return len(self.tracker.table)

    @property
    def table_bytes(self) -> int:
        return self.tracker.table.nbytes

    def stage_seconds(self) -> dict[str, float]:
        return dict(self.tracker.stage_seconds)

    def worker_cpu_seconds(self) -> float:
        return 0.0

    def close(self) -> None:
        pass


# -- worker processes --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Fuse:
    detections: Detections
    time_ms: FloatArray
    fusion_ms: float
    keys: IntArray
    remembered: IntArray
    late: LateFuser | None


@dataclass(frozen=True, slots=True)
class _EndFrame:
    fusion_ms: float
    after: TableHook | None


@dataclass(frozen=True, slots=True)
class _Snapshot:
    time_ms: int


@dataclass(frozen=True, slots=True)
class _Decode:
    names: list[str]
    payloads: list[bytes]
    arrival_ms: list[int]
    sources: list[int]


@dataclass(frozen=True, slots=True)
class _Release:
    track_ids: IntArray


@dataclass(frozen=True, slots=True)
class _Query:
    what: str  # "tiles" | "stats"


@dataclass(frozen=True, slots=True)
class _Command:
    """One call to a worker: tracks handed to it since its last command, then the work."""

    incoming: TrackTable | None
    work: _Fuse | _EndFrame | _Snapshot | _Release | _Decode | _Query | None


@dataclass(frozen=True, slots=True)
class _FrameClosed:
    deleted: IntArray
    outgoing: TrackTable
    outgoing_worker: IntArray
    border_ids: IntArray
    border_xy: FloatArray
    track_count: int
    table_bytes: int


@dataclass(frozen=True, slots=True)
class _Failed:
    worker: int
    text: str


class _Worker:
    """The state of one worker process: its tracker (the tracks of its tiles) and the stripe rule."""

    def __init__(self, config: FusionConfig, geo: GeoReference, index: int, count: int) -> None:
        self.config = config
        self.buffer = DetectionBuffer(geo)
        self.index = index
        self.count = count
        self.grid = TileGrid(config.tile_size_m)
        self._ids = itertools.count(index + 1, count)
        self.tracker = Tracker(config, self.allocate)

    def allocate(self, count: int) -> IntArray:
        return np.fromiter(itertools.islice(self._ids, count), dtype=np.int64, count=count)

    def handle(self, command: _Command) -> Any:
        if command.incoming is not None and len(command.incoming):
            self.tracker.table.extend(command.incoming)
        work = command.work
        reply: Any = None
        if isinstance(work, _Decode):
            reply = self.decode(work)
        elif isinstance(work, _Fuse):
            reply = self.fuse(work)
        elif isinstance(work, _EndFrame):
            reply = self.end_frame(work)
        elif isinstance(work, _Snapshot):
            started = time.thread_time()
            snapshot = snapshot_rows(self.tracker.table, work.time_ms, self.config)
            self._lap("snapshot rows", started)
            reply = snapshot, len(self.tracker.table), self.tracker.table.nbytes
        elif isinstance(work, _Release):
            table = self.tracker.table
            leaving = np.isin(table.track_id, work.track_ids)
            reply = table.take(leaving)
            table.keep(~leaving)
        elif isinstance(work, _Query) and work.what == "tiles":
            reply = _tracks_by_tile(self.tracker.table, self.grid)
        elif isinstance(work, _Query) and work.what == "stats":
            reply = dict(self.tracker.stage_seconds), time.process_time()
        return reply

    def decode(self, work: _Decode) -> tuple[Detections, int]:
        """Decode and validate a batch of raw payloads into detections; count the ones rejected."""
        started = time.thread_time()
        rejected = 0
        for name, payload, arrival_ms, source in zip(
            work.names, work.payloads, work.arrival_ms, work.sources, strict=True
        ):
            try:
                message = decode_named(payload, name)
            except (DecodeError, ValidationError):
                rejected += 1
                continue
            if isinstance(message, RSM):
                self.buffer.add_rsm(message, arrival_ms, source)
            elif isinstance(message, BSM):
                self.buffer.add_bsm(message, arrival_ms, source)
        detections = self.buffer.take()
        self._lap("decode + to arrays", started)
        return detections, rejected

    def fuse(self, work: _Fuse) -> FrameResult:
        if work.late is None:
            return self.tracker.process(
                work.detections,
                time_ms=work.time_ms,
                fusion_ms=work.fusion_ms,
                keys=work.keys,
                remembered=work.remembered,
            )
        started = time.thread_time()
        result = work.late(
            self.tracker.table,
            work.detections,
            time_ms=work.time_ms,
            fusion_ms=work.fusion_ms,
            keys=work.keys,
            remembered=work.remembered,
            config=self.config,
            allocate=self.allocate,
        )
        self._lap("late data (oosm)", started)
        return _late_result(result)

    def end_frame(self, work: _EndFrame) -> _FrameClosed:
        deleted = self.tracker.end_frame(work.fusion_ms)
        table = self.tracker.table
        if work.after is not None:
            work.after(table)
        started = time.thread_time()
        column = np.floor(table.state[:, 0] / self.config.tile_size_m).astype(np.int64)
        owner = column % self.count
        leaving = owner != self.index
        outgoing = table.take(leaving)
        if leaving.any():
            table.keep(~leaving)
        # tracks near a column boundary: what the main process routes by (halo) and checks for contention
        near = _near_border(table.state[:, 0], self.config)
        self._lap("hand-over (worker)", started)
        return _FrameClosed(
            deleted=deleted,
            outgoing=outgoing,
            outgoing_worker=owner[leaving],
            border_ids=table.track_id[near],
            border_xy=table.state[near, :2].copy(),
            track_count=len(table),
            table_bytes=table.nbytes,
        )

    def _lap(self, label: str, started: float) -> None:
        """CPU seconds since ``started`` (a ``time.thread_time()``) added to ``label``."""
        seconds = self.tracker.stage_seconds
        seconds[label] = seconds.get(label, 0.0) + time.thread_time() - started


def _border_band_m(config: FusionConfig) -> float:
    return max(config.halo_m, CANDIDATE_REACH_M)


def _near_border(x_m: FloatArray, config: FusionConfig) -> NDArray[np.bool_]:
    """Positions within the border band of a column boundary (every boundary is between two workers)."""
    size = config.tile_size_m
    offset = x_m - np.floor(x_m / size) * size
    band = _border_band_m(config)
    near: NDArray[np.bool_] = (offset <= band) | (offset >= size - band)
    return near


def _serve(connection: Connection, config: FusionConfig, geo: GeoReference, index: int, count: int) -> None:
    """A worker process: answer commands until ``None`` arrives (or the pipe closes)."""
    worker = _Worker(config, geo, index, count)
    # The worker's own heap (modules, the tracker) never becomes garbage: moved out of the collector's
    # sight, full collections no longer walk it while thousands of decoded messages come and go per tick
    # (40 % less decoding CPU at the design load). The process is fusion's alone, so the setting is too.
    gc.freeze()
    while True:
        try:
            command = connection.recv()
        except EOFError:
            return
        if command is None:
            return
        try:
            reply = worker.handle(command)
        except Exception:  # the main process re-raises it with this traceback
            reply = _Failed(index, traceback.format_exc())
        connection.send(reply)


def _context() -> multiprocessing.context.ForkServerContext | multiprocessing.context.SpawnContext:
    """forkserver where the platform has it (safe when the main process runs threads, e.g. an MQTT
    client, and cheap per worker once the server is up), else spawn."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # the server imports numpy, scipy and pyproj once; each worker is then a cheap fork of it
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


def _stop(connections: list[Connection], processes: list[Any]) -> None:
    for connection in connections:
        try:
            connection.send(None)
            connection.close()
        except (OSError, ValueError):
            pass
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()


class ProcessTiles:
    """The tiles spread over ``workers`` processes (column c of the grid → worker c mod workers)."""

    def __init__(self, config: FusionConfig, geo: GeoReference, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers = {workers}; a process tile set needs at least one worker")
        self.config = config
        self.workers = workers
        self.grid = TileGrid(config.tile_size_m)
        context = _context()
        self._connections: list[Connection] = []
        self._processes: list[Any] = []
        for index in range(workers):
            here, there = context.Pipe()
            process = context.Process(
                target=_serve, args=(there, config, geo, index, workers), name=f"fusion-{index}", daemon=True
            )
            process.start()
            there.close()
            self._connections.append(here)
            self._processes.append(process)
        self._finalizer = weakref.finalize(self, _stop, self._connections, self._processes)
        self._incoming: list[list[TrackTable]] = [[] for _ in range(workers)]
        # owner of a track id: the worker that issued it ((id - 1) mod workers) unless handed over since
        self._moved_ids = np.empty(0, np.int64)
        self._moved_to = np.empty(0, np.int64)
        self._border_tree: cKDTree | None = None
        self._border_ids = np.empty(0, np.int64)
        self._border_owner = np.empty(0, np.int64)
        self._raw: _Decode = _Decode([], [], [], [])
        self._next_decoder = 0
        self._decoding = [0] * workers  # batches sent for decoding and not answered yet, per worker
        self._decoded: list[tuple[Detections, int]] = []
        self._counts = np.zeros(workers, np.int64)
        self._bytes = np.zeros(workers, np.int64)
        self._seconds: dict[str, float] = {}

    # -- the calls -------------------------------------------------------------------------------------

    def fuse(
        self,
        detections: Detections,
        *,
        time_ms: FloatArray,
        fusion_ms: float,
        keys: IntArray,
        remembered: IntArray,
        late: LateFuser | None = None,
    ) -> FrameResult:
        started = time.perf_counter()
        owner = self._route(detections, remembered)
        if self._pull_contested(detections, owner):
            owner = self._route(detections, remembered)
        groups = dict(route(owner))
        work: dict[int, _Fuse] = {}
        for index, rows in groups.items():
            work[index] = _Fuse(
                detections=detections.take(rows),
                time_ms=time_ms[rows],
                fusion_ms=fusion_ms,
                keys=keys[rows],
                remembered=remembered[rows],
                late=late,
            )
        self._lap("route detections (main)", started)
        replies = self._call(work)
        started = time.perf_counter()
        results: list[FrameResult] = []
        row_offset = 0
        for index in sorted(replies):
            result: FrameResult = replies[index]
            rows = groups[index]
            results.append(
                FrameResult(
                    result.matched,
                    result.initiated,
                    result.timing_residual_s,
                    result.timing_source,
                    result.track_index + row_offset,
                    rows[result.detection_index],
                    result.identity_keys,
                    result.identity_tracks,
                )
            )
            row_offset += int(result.track_index.max()) + 1 if len(result.track_index) else 0
        combined = _combine(results)
        self._lap("route detections (main)", started)
        return combined

    def end_frame(self, fusion_ms: float, *, after: TableHook | None = None) -> IntArray:
        replies = self._call({index: _EndFrame(fusion_ms, after) for index in range(self.workers)})
        started = time.perf_counter()
        closed: list[_FrameClosed] = [replies[index] for index in range(self.workers)]
        deleted = np.concatenate([c.deleted for c in closed])
        moving_ids = np.concatenate([c.outgoing.track_id for c in closed])
        moving_to = np.concatenate([c.outgoing_worker for c in closed])
        for c in closed:
            for target, rows in route(c.outgoing_worker):
                self._incoming[target].append(c.outgoing.take(rows))
        self._record_moves(moving_ids, moving_to, deleted)
        border_xy = [c.border_xy for c in closed] + [c.outgoing.state[:, :2] for c in closed]
        border_ids = [c.border_ids for c in closed] + [c.outgoing.track_id for c in closed]
        border_owner = [np.full(len(c.border_ids), index, np.int64) for index, c in enumerate(closed)]
        border_owner += [c.outgoing_worker for c in closed]
        xy = np.concatenate(border_xy)
        self._border_ids = np.concatenate(border_ids)
        self._border_owner = np.concatenate(border_owner)
        self._border_tree = cKDTree(xy) if len(xy) else None
        self._counts = np.array([c.track_count for c in closed], np.int64)
        self._bytes = np.array([c.table_bytes for c in closed], np.int64)
        np.add.at(self._counts, moving_to, 1)  # rows in flight count where they go
        self._lap("hand-over (main)", started)
        return deleted

    def snapshot(self, time_ms: int) -> LdmSnapshot:
        replies = self._call({index: _Snapshot(time_ms) for index in range(self.workers)})
        started = time.perf_counter()
        parts = []
        for index in range(self.workers):
            part, count, nbytes = replies[index]
            parts.append(part)
            self._counts[index], self._bytes[index] = count, nbytes
        snapshot = concatenate_snapshots(parts, time_ms)
        self._lap("gather snapshot (main)", started)
        return snapshot

    def decode(self, name: str, payload: bytes, arrival_ms: int, source_index: int) -> bool:
        raw = self._raw
        raw.names.append(name)
        raw.payloads.append(payload)
        raw.arrival_ms.append(arrival_ms)
        raw.sources.append(source_index)
        if len(raw.payloads) >= DECODE_BATCH:
            self._send_raw()
        return True

    def decoded(self) -> tuple[Detections, int]:
        started = time.perf_counter()
        self._send_raw()
        for index in range(self.workers):
            self._drain(index)
        parts, self._decoded = self._decoded, []
        self._lap("wait for decoding (main)", started)
        return concatenate([part for part, _ in parts]), sum(rejected for _, rejected in parts)

    def _send_raw(self) -> None:
        """Send the batch of raw payloads to the next worker, without waiting for its answer."""
        if not self._raw.payloads:
            return
        index = self._next_decoder
        self._next_decoder = (index + 1) % self.workers
        self._drain(index)
        self._connections[index].send(_Command(None, self._raw))
        self._decoding[index] += 1
        self._raw = _Decode([], [], [], [])

    def tracks_by_tile(self) -> dict[int, IntArray]:
        replies = self._call({index: _Query("tiles") for index in range(self.workers)})
        merged: dict[int, IntArray] = {}
        for index in range(self.workers):
            for key, ids in replies[index].items():  # a tile's tracks may sit in two workers mid-frame
                merged[key] = np.concatenate([merged[key], ids]) if key in merged else ids
        return merged

    @property
    def track_count(self) -> int:
        return int(self._counts.sum())

    @property
    def table_bytes(self) -> int:
        return int(self._bytes.sum())

    def stage_seconds(self) -> dict[str, float]:
        """Main-process stages (wall time) plus every worker's stages (CPU time, summed over workers)."""
        replies = self._call({index: _Query("stats") for index in range(self.workers)})
        totals = dict(self._seconds)
        for index in range(self.workers):
            seconds, _ = replies[index]
            for label, value in seconds.items():
                key = f"{label} (workers)"
                totals[key] = totals.get(key, 0.0) + value
        return totals

    def worker_cpu_seconds(self) -> float:
        replies = self._call({index: _Query("stats") for index in range(self.workers)})
        return float(sum(replies[index][1] for index in range(self.workers)))

    def close(self) -> None:
        self._finalizer()

    # -- routing -----------------------------------------------------------------------------------------

    def _route(self, detections: Detections, remembered: IntArray) -> IntArray:
        """Worker per detection: owner of the remembered track, else of the nearest border track within
        the halo, else of the tile column under the detection."""
        column = np.floor(detections.x_m / self.config.tile_size_m).astype(np.int64)
        owner = column % self.workers
        known = remembered >= 0
        if known.any():
            owner[known] = self._owner_of(remembered[known])
        unknown = np.flatnonzero(~known)
        if len(unknown) and self._border_tree is not None:
            xy = np.column_stack([detections.x_m[unknown], detections.y_m[unknown]])
            _, nearest = self._border_tree.query(xy, distance_upper_bound=self.config.halo_m)
            found = nearest < len(self._border_owner)
            owner[unknown[found]] = self._border_owner[nearest[found]]
        return owner

    def _pull_contested(self, detections: Detections, owner: IntArray) -> bool:
        """Gather contested border groups into one worker before the frame; returns whether any track
        moved (one extra round trip, only then).

        Near-border detections and the border tracks within candidate reach of them form a graph; a
        connected group whose tracks or detections span several workers moves all its tracks to the
        lowest-numbered of those workers, where one assignment decides between them. Coasting tracks
        whose gate reaches farther than the candidate reach are not pulled."""
        if self._border_tree is None or len(detections) == 0:
            return False
        near = np.flatnonzero(_near_border(detections.x_m, self.config))
        if len(near) == 0:
            return False
        count = len(self._border_owner)
        neighbours = min(4, count)
        xy = np.column_stack([detections.x_m[near], detections.y_m[near]])
        _, nearest = self._border_tree.query(xy, k=neighbours, distance_upper_bound=CANDIDATE_REACH_M)
        nearest = nearest.reshape(len(near), neighbours)
        found = nearest < count
        if not found.any():
            return False
        detection_node = np.broadcast_to(np.arange(len(near))[:, np.newaxis], nearest.shape)[found]
        entries, track_node = np.unique(nearest[found], return_inverse=True)
        nodes = len(near) + len(entries)
        graph = coo_array(
            (np.ones(len(detection_node)), (detection_node, len(near) + track_node.reshape(-1))),
            shape=(nodes, nodes),
        )
        groups, label = connected_components(graph, directed=False)
        worker = np.concatenate([owner[near], self._border_owner[entries]])
        lowest = np.full(groups, self.workers, np.int64)
        highest = np.full(groups, -1, np.int64)
        np.minimum.at(lowest, label, worker)
        np.maximum.at(highest, label, worker)
        track_label = label[len(near) :]
        target = lowest[track_label]
        moving = (lowest[track_label] != highest[track_label]) & (self._border_owner[entries] != target)
        if not moving.any():
            return False
        entries, target = entries[moving], target[moving]
        ids, source = self._border_ids[entries], self._border_owner[entries]
        order = np.argsort(ids)
        replies = self._call({int(w): _Release(ids[source == w]) for w in np.unique(source).tolist()})
        for released in replies.values():
            to = target[order][np.searchsorted(ids[order], released.track_id)]
            for index, rows in route(to):
                self._incoming[index].append(released.take(rows))
        self._record_moves(ids, target, np.empty(0, np.int64))
        self._border_owner[entries] = target
        return True

    def _owner_of(self, track_ids: IntArray) -> IntArray:
        owner = (track_ids - 1) % self.workers
        if len(self._moved_ids):
            position = np.minimum(np.searchsorted(self._moved_ids, track_ids), len(self._moved_ids) - 1)
            moved = self._moved_ids[position] == track_ids
            owner[moved] = self._moved_to[position[moved]]
        result: IntArray = owner
        return result

    def _record_moves(self, moving_ids: IntArray, moving_to: IntArray, deleted: IntArray) -> None:
        """Owner exceptions: add this frame's hand-overs, drop deleted tracks and tracks back home."""
        ids = np.concatenate([self._moved_ids, moving_ids])
        to = np.concatenate([self._moved_to, moving_to])
        if len(ids) == 0:
            return
        # newest entry per id wins: stable sort by id keeps the order of arrival within one id
        order = np.argsort(ids, kind="stable")
        ids, to = ids[order], to[order]
        last = np.r_[ids[1:] != ids[:-1], True]
        ids, to = ids[last], to[last]
        keep = (to != (ids - 1) % self.workers) & ~np.isin(ids, deleted)
        self._moved_ids, self._moved_to = ids[keep], to[keep]

    # -- transport ---------------------------------------------------------------------------------------

    def _call(self, work: dict[int, Any]) -> dict[int, Any]:
        """Send each worker its work (with the tracks handed to it), then collect every reply."""
        started = time.perf_counter()
        for index, item in work.items():
            incoming = self._incoming[index]
            table = None if not incoming else TrackTable.concatenate(incoming)
            self._incoming[index] = []
            self._drain(index)
            self._connections[index].send(_Command(table, item))
        replies: dict[int, Any] = {}
        for index in work:
            replies[index] = self._receive(index)
        self._lap("wait for workers (main)", started)
        return replies

    def _drain(self, index: int) -> None:
        """Read a worker's answers to the decode batches it was sent. Done before sending it anything
        else: a worker blocked writing a large answer reads nothing, and a pipe holds only so much, so
        sending first could block both sides for ever."""
        for _ in range(self._decoding[index]):
            self._decoded.append(self._receive(index))
        self._decoding[index] = 0

    def _receive(self, index: int) -> Any:
        reply = self._connections[index].recv()
        if isinstance(reply, _Failed):
            raise RuntimeError(f"fusion worker {reply.worker} failed:\n{reply.text}")
        return reply

    def _lap(self, label: str, started: float) -> None:
        self._seconds[label] = self._seconds.get(label, 0.0) + time.perf_counter() - started


def _combine(results: list[FrameResult]) -> FrameResult:
    if not results:
        return FrameResult.empty()
    if len(results) == 1:
        return results[0]
    return FrameResult(
        sum(r.matched for r in results),
        sum(r.initiated for r in results),
        np.concatenate([r.timing_residual_s for r in results]),
        np.concatenate([r.timing_source for r in results]),
        np.concatenate([r.track_index for r in results]),
        np.concatenate([r.detection_index for r in results]),
        np.concatenate([r.identity_keys for r in results]),
        np.concatenate([r.identity_tracks for r in results]),
    )
