"""The fusion engine: RSMs and BSMs in, one live dynamic map snapshot out every 100 ms.

Data flow: ``add`` decodes each message and converts it to ``Detections`` in chunks (with worker processes,
payloads are decoded there); ``tick(now)`` fuses everything
measured up to the fusion horizon ``H = now - budget`` and returns the snapshot at H. Per tick:

1. time alignment: each detection's time is the sender's clock minus that sender's estimated offset.
   The latency budget adapts to the zone's measured arrival delay (``FusionConfig``: a quantile of the
   last ticks' detections, between ``latency_budget_ms`` and ``max_latency_budget_ms``); H never moves
   back, so when the budget grows the map holds its time for a few ticks. New arrivals measured in a
   frame already fused (at or before the previous horizon) are out of sequence: fused by retrodiction
   (step 3) when measured at most ``max_age_ms`` before the tick, else dropped and counted per sender;
   those after H (plus a small tolerance) wait for the next tick;
2. tiles: the tile set fuses the frame (``tileset``). In-process (the default) one tracker holds every
   tile; with ``FusionConfig.workers`` > 0, worker processes own column stripes of tiles and each
   detection goes to the owner of the track its sender's id last went to, else of the nearest border
   track within ``halo_m``, else of the tile under it;
3. in the tile set, first the out-of-sequence detections into the tracks at the previous horizon
   (``oosm.fuse_late``: gate against the track retrodicted to each detection's time, update where the
   track is), then ``Tracker.process`` with the frame's: align the detections to H (each from its own
   measurement time), predict, gate, assign (one-to-one per sender) and update;
4. clock offsets: each roadside unit's offset moves by ``gain · mean(δ)``, δ = -(r·v)/|v|² the difference
   along the velocity between its detection and, for the same object at the same time, a connected
   vehicle's own GNSS-timed report (``Tracker._timing_residual``) or, for a unit that has not seen
   connected vehicles, the detections of units that have (``_unit_residuals``);
5. life cycle, then (with workers) tracks that left their worker's tiles are handed over with their
   global id, and each track's posterior is kept for later retrodiction;
6. snapshot: confirmed, recently seen tracks at H, stamped with the tick (``published_ms``); the map's
   age at publication is ``freshness_ms``; lanes matched for the tracks that moved (``lanes``).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, replace
from types import TracebackType

import numpy as np
from numpy.typing import NDArray

from roadcloud.bus.topics import parse_topic
from roadcloud.errors import DecodeError, InputError, ValidationError
from roadcloud.fusion import oosm
from roadcloud.fusion.config import FusionConfig
from roadcloud.fusion.detections import DetectionBuffer, Detections, concatenate
from roadcloud.fusion.lanes import LaneMatching, SnapshotLanes
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.fusion.tiles import TileGrid
from roadcloud.fusion.tileset import LocalTiles, ProcessTiles, TableHook, TileSet
from roadcloud.fusion.tracker import FrameResult
from roadcloud.fusion.tracks import HISTORY_FRAMES, IdentityMemory, TrackTable
from roadcloud.map import GeoReference
from roadcloud.messages import BSM, RSM, Message
from roadcloud.messages.json_codec import decode_named

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

VEHICLES_SOURCE = "vehicle"
"""All self-reports share source index 0: each vehicle reports only itself, and GNSS time is exact."""

TOPIC_CACHE_SIZE = 1 << 16
"""Topics remembered as parsed (every unit and vehicle sends on its own topic ten times a second)."""


def _read_topic(topic: str) -> tuple[str | None, str | None]:
    """(message name, sender "kind/id") of a fused topic; (None, None) for a topic that does not parse
    (rejected); (None, "") for one fusion ignores (another message, or downstream)."""
    try:
        parsed = parse_topic(topic)
    except InputError:
        return None, None
    if parsed.message not in ("rsm", "bsm") or parsed.direction != "up":
        return None, ""
    return parsed.message, f"{parsed.device_kind}/{parsed.device_id}"


@dataclass(frozen=True, slots=True)
class FusionCounts:
    """Per sender ("rsu/R0001", "vehicle"): detections fused (in their frame or out of sequence), of
    those fused out of sequence (measured in a frame already fused, by retrodiction), dropped as too late
    (out of sequence and measured more than ``max_age_ms`` before the tick they arrived in), and dropped
    as too far in the future (``max_future_ms`` past the horizon)."""

    fused: dict[str, int]
    late_dropped: dict[str, int]
    future_dropped: dict[str, int]
    rejected_messages: int
    ticks: int
    out_of_sequence: dict[str, int]

    @property
    def fused_total(self) -> int:
        return sum(self.fused.values())

    @property
    def late_dropped_total(self) -> int:
        return sum(self.late_dropped.values())


class FusionEngine:
    """Time alignment, sender identities, the tile set and the LDM; feed with ``add``, drive with ``tick``
    every step. With ``config.workers`` > 0 it starts worker processes: ``close()`` it (or use ``with``)."""

    def __init__(
        self, config: FusionConfig, geo: GeoReference, *, lane_matcher: LaneMatching | None = None
    ) -> None:
        self.config = config
        self.geo = geo
        self.grid = TileGrid(config.tile_size_m)
        self._lane_matcher = lane_matcher
        self._lanes = SnapshotLanes(lane_matcher) if lane_matcher is not None else None
        self._source_index: dict[str, int] = {VEHICLES_SOURCE: 0}
        self._offset_ms = np.zeros(1)
        self._fused = np.zeros(1, np.int64)
        self._late = np.zeros(1, np.int64)
        self._future = np.zeros(1, np.int64)
        self._out_of_sequence = np.zeros(1, np.int64)
        self._anchor_frames = np.zeros(1, np.int64)  # frames with GNSS timing residuals, per sender
        self._timing: list[tuple[FloatArray, IntArray, bool]] = []  # this tick's (δ s, sender, from GNSS)
        self._rejected = 0
        self._ticks = 0
        self._buffer = DetectionBuffer(geo)
        self._decoded: list[Detections] = []  # by the worker processes, not fused yet
        self._topics: dict[str, tuple[str | None, str | None]] = {}
        self._pending = Detections.empty()
        self._horizon_ms: int | None = None
        self._now_ms: int | None = None
        self._budget_ms = config.latency_budget_ms
        # per tick, detections per needed budget (in steps; the last bin: more than the maximum)
        self._budget_bins = np.zeros(
            (config.latency_window_ticks, config.max_latency_budget_ms // config.step_ms + 2), np.int64
        )
        self._budget_tick = 0
        self._shrink_ticks = 0
        self._frames = 0
        self._memory = IdentityMemory()
        self._ids = itertools.count(1)
        self._tiles: TileSet = (
            ProcessTiles(config, geo, config.workers)
            if config.workers
            else LocalTiles(config, self._allocate)
        )

    # -- input ---------------------------------------------------------------------------------------

    def add(self, topic: str, payload_or_message: bytes | Message, arrival_ms: int) -> None:
        """Take one message; RSM and BSM are fused, every other message is ignored. A payload that does
        not decode is counted in ``counts.rejected_messages`` and skipped."""
        known = self._topics.get(topic)
        if known is None:
            known = self._topics[topic] = _read_topic(topic)
            if len(self._topics) > TOPIC_CACHE_SIZE:  # temporary vehicle ids rotate: start afresh
                self._topics = {topic: known}
        name, sender = known
        if name is None:
            if sender is None:  # not a roadcloud topic
                self._rejected += 1
            return
        message: Message
        if isinstance(payload_or_message, bytes):
            # with worker processes the payload is decoded there (its sender registered here first)
            source = self.source_index(str(sender)) if name == "rsm" else 0
            if self._tiles.decode(name, payload_or_message, arrival_ms, source):
                return
            try:
                message = decode_named(payload_or_message, name)
            except (DecodeError, ValidationError):
                self._rejected += 1
                return
        else:
            message = payload_or_message
        if isinstance(message, RSM):
            # converted to arrays in chunks as messages come (``DetectionBuffer``), not one by one
            self._buffer.add_rsm(message, arrival_ms, self.source_index(str(sender)))
        elif isinstance(message, BSM):
            self._buffer.add_bsm(message, arrival_ms, 0)

    def source_index(self, name: str) -> int:
        """The index of a sender, registering it on first sight."""
        index = self._source_index.get(name)
        if index is None:
            index = len(self._source_index)
            self._source_index[name] = index
            self._offset_ms = np.append(self._offset_ms, 0.0)
            self._fused = np.append(self._fused, 0)
            self._late = np.append(self._late, 0)
            self._future = np.append(self._future, 0)
            self._out_of_sequence = np.append(self._out_of_sequence, 0)
            self._anchor_frames = np.append(self._anchor_frames, 0)
        return index

    # -- the frame -----------------------------------------------------------------------------------

    def tick(self, now_ms: int) -> LdmSnapshot:
        """Fuse everything measured up to ``now_ms`` minus the latency budget and return the map at that
        time (``published_ms`` = ``now_ms``); fuse what arrived for earlier frames out of sequence."""
        waiting, arrived = self._collect(now_ms)
        arrived_ms = arrived.time_ms - self._offset_ms[arrived.source_index]
        self._learn_budget(now_ms - arrived_ms)
        previous_ms = self._horizon_ms
        # the map never goes back in time: a grown budget holds the horizon until now - budget catches up
        horizon_ms = (
            now_ms - self._budget_ms if previous_ms is None else max(previous_ms, now_ms - self._budget_ms)
        )
        ready, ready_ms, late, late_ms = self._align(waiting, arrived, arrived_ms, now_ms, horizon_ms)
        if len(late) and previous_ms is not None:
            self._fuse_frame(late, late_ms, previous_ms, out_of_sequence=True)
        if len(ready):
            self._fuse_frame(ready, ready_ms, horizon_ms, out_of_sequence=False)
        self._correct_clocks()
        deleted = np.empty(0, np.int64)
        if previous_ms is None or horizon_ms > previous_ms:
            deleted = self._tiles.end_frame(horizon_ms, after=self._keep_posteriors())
        self._memory.commit(deleted_track_ids=deleted)
        self._horizon_ms = horizon_ms
        self._now_ms = now_ms
        self._ticks += 1
        return self.snapshot(horizon_ms, published_ms=now_ms)

    def _learn_budget(self, lateness_ms: FloatArray) -> None:
        """Record how long this tick's arrivals needed and move the budget.

        A detection measured at t and collected at the tick ``now`` is in time for its frame when the
        budget b satisfies t > now - step - b + tolerance (after the previous horizon), so it needs the
        smallest multiple of the step above ``now - t - step + tolerance``. The budget is the
        ``latency_quantile`` of that over the window, between the configured floor and maximum; it grows
        at once and shrinks by one step after a whole window that needed less.
        """
        config = self.config
        step = config.step_ms
        bins = self._budget_bins
        needed_steps = (
            np.floor((lateness_ms - step + config.alignment_tolerance_ms) / step).astype(np.int64) + 1
        )
        row = self._budget_tick % len(bins)
        bins[row] = np.bincount(np.clip(needed_steps, 1, bins.shape[1] - 1), minlength=bins.shape[1])
        self._budget_tick += 1
        counts = bins.sum(axis=0)
        total = int(counts.sum())
        if total == 0:
            return
        quantile_steps = int(np.searchsorted(np.cumsum(counts), config.latency_quantile * total))
        target_ms = min(max(quantile_steps * step, config.latency_budget_ms), config.max_latency_budget_ms)
        if target_ms > self._budget_ms:
            self._budget_ms, self._shrink_ticks = target_ms, 0
        elif target_ms < self._budget_ms:
            self._shrink_ticks += 1
            if self._shrink_ticks >= len(bins):
                self._budget_ms, self._shrink_ticks = self._budget_ms - step, 0
        else:
            self._shrink_ticks = 0

    def _collect(self, now_ms: int) -> tuple[Detections, Detections]:
        """(waiting from earlier ticks, newly arrived)."""
        self._collect_decoded()
        parts, self._decoded = [self._buffer.take(), *self._decoded], []
        return self._pending, parts[0] if len(parts) == 1 else concatenate(parts)

    def _collect_decoded(self) -> None:
        """Take what the worker processes decoded so far (and count what they rejected)."""
        detections, rejected = self._tiles.decoded()
        self._rejected += rejected
        if len(detections):
            self._decoded.append(detections)

    def _align(
        self, waiting: Detections, arrived: Detections, arrived_ms: FloatArray, now_ms: int, horizon_ms: int
    ) -> tuple[Detections, FloatArray, Detections, FloatArray]:
        """Sort detections by corrected time (``arrived_ms`` for the new arrivals): (ready, their times,
        out of sequence, their times); drop and count the too old, keep the future for later.

        Out of sequence: measured at or before the previous horizon plus the tolerance, i.e. in a frame
        already fused, and at most ``max_age_ms`` before ``now_ms`` (older: dropped, ``late_dropped``).
        Detections that waited a tick are never late, even if the sender's offset estimate moved
        meanwhile. Ready: measured up to the horizon plus ``alignment_tolerance_ms`` (so a frame taken on the
        grid is fused in its own tick despite a few ms of residual clock error).
        """
        sources = len(self._offset_ms)
        tolerance_ms = self.config.alignment_tolerance_ms
        late_detections, late_ms = Detections.empty(), np.empty(0)
        if self._horizon_ms is not None and len(arrived):
            late = arrived_ms <= self._horizon_ms + tolerance_ms
            if late.any():
                too_old = late & (now_ms - arrived_ms > self.config.max_age_ms)
                self._late += np.bincount(arrived.source_index[too_old], minlength=sources)
                usable = late & ~too_old
                late_detections, late_ms = arrived.take(usable), arrived_ms[usable]
                self._out_of_sequence += np.bincount(late_detections.source_index, minlength=sources)
                self._fused += np.bincount(late_detections.source_index, minlength=sources)
                arrived = arrived.take(~late)
        detections = concatenate([waiting, arrived])
        corrected_ms = detections.time_ms - self._offset_ms[detections.source_index]
        ready = corrected_ms <= horizon_ms + tolerance_ms
        future = corrected_ms > horizon_ms + self.config.max_future_ms
        if future.any():
            # a clock far ahead would otherwise hold its detections here for ever
            self._future += np.bincount(detections.source_index[future], minlength=sources)
        self._pending = detections.take(~ready & ~future)
        ready_detections = detections.take(ready)
        self._fused += np.bincount(ready_detections.source_index, minlength=sources)
        return ready_detections, corrected_ms[ready], late_detections, late_ms

    def _fuse_frame(
        self, detections: Detections, corrected_ms: FloatArray, horizon_ms: int, *, out_of_sequence: bool
    ) -> None:
        """Route every detection to a tile and let each tile's tracker fuse its share at ``horizon_ms``
        (``oosm.fuse_late`` for detections of frames already fused)."""
        keys = IdentityMemory.key(detections.source_index, detections.object_id, detections.self_report)
        remembered = self._memory.lookup(keys)
        result = self._tiles.fuse(
            detections,
            time_ms=corrected_ms,
            fusion_ms=float(horizon_ms),
            keys=keys,
            remembered=remembered,
            late=oosm.fuse_late if out_of_sequence else None,
        )
        self._memory.remember(result.identity_keys, result.identity_tracks)
        self._timing.append((result.timing_residual_s, result.timing_source, True))
        self._timing.append(self._unit_residuals(detections, corrected_ms, result))

    def _unit_residuals(
        self, detections: Detections, time_ms: FloatArray, result: FrameResult | oosm.LateResult
    ) -> tuple[FloatArray, IntArray, bool]:
        """Timing residuals of roadside units not anchored to GNSS time against units that are.

        For each track matched this frame by a unit u without GNSS anchoring (fewer than
        ``clock_anchor_frames`` frames with connected-vehicle residuals) and by anchored units: every
        detection moved to a common time along its own velocity (its corrected time; the anchored units'
        clocks are right), r = u's position - the mean of the anchored units', δ = -(r·v)/|v|² with v
        their mean velocity. Anchored units never take residuals from other units, so the estimates
        cannot chase each other round: every offset traces back to GNSS time, and a unit that has
        nobody anchored to compare with keeps its offset.
        """
        config = self.config
        none = (np.empty(0), np.empty(0, np.int64), False)
        track, row = result.track_index, result.detection_index
        if len(row) == 0:
            return none
        source = detections.source_index[row]
        anchored = self._anchor_frames >= config.clock_anchor_frames
        roadside = ~detections.self_report[row] & (source > 0)
        reference = roadside & anchored[source]
        target = roadside & ~anchored[source]
        if not (reference.any() and target.any()):
            return none
        velocity = detections.velocity_mps[row]
        common_ms = float(time_ms.max())
        lag_s = (common_ms - time_ms[row]) / 1000.0
        xy = np.column_stack([detections.x_m[row], detections.y_m[row]]) + velocity * lag_s[:, np.newaxis]
        slots = int(track.max()) + 1
        weight = reference.astype(np.float64)
        count = np.bincount(track, weights=weight, minlength=slots)
        mean_xy = np.column_stack(
            [np.bincount(track, weights=weight * xy[:, axis], minlength=slots) for axis in (0, 1)]
        )
        mean_velocity = np.column_stack(
            [np.bincount(track, weights=weight * velocity[:, axis], minlength=slots) for axis in (0, 1)]
        )
        usable = target & (count[track] > 0)
        at = track[usable]
        reference_xy = mean_xy[at] / count[at, np.newaxis]
        reference_velocity = mean_velocity[at] / count[at, np.newaxis]
        speed2 = (reference_velocity**2).sum(axis=1)
        fast = speed2 >= config.clock_offset_min_speed_mps**2
        r = xy[usable][fast] - reference_xy[fast]
        delta_s: FloatArray = -(r * reference_velocity[fast]).sum(axis=1) / speed2[fast]
        return delta_s, source[usable][fast], False

    def _correct_clocks(self) -> None:
        """offset += gain · mean(clip(δ)) per roadside sender over this tick's residuals: those against
        GNSS-timed self-reports where the sender had any, else those against anchored units."""
        timing, self._timing = self._timing, []
        sources = len(self._offset_ms)
        limit_s = self.config.clock_offset_max_step_ms / 1000.0
        step = np.zeros(sources)
        have_gnss = np.zeros(sources, np.bool_)
        for from_gnss in (True, False):
            parts = [(delta, source) for delta, source, gnss in timing if gnss == from_gnss and len(delta)]
            if not parts:
                continue
            residual_s = np.concatenate([delta for delta, _ in parts])
            source = np.concatenate([source for _, source in parts])
            clipped_ms = np.clip(residual_s, -limit_s, limit_s) * 1000.0
            count = np.bincount(source, minlength=sources)
            total = np.bincount(source, weights=clipped_ms, minlength=sources)
            seen = (count > 0) & ~have_gnss
            seen[0] = False  # vehicles: GNSS time is the reference
            step[seen] = self.config.clock_offset_gain * total[seen] / count[seen]
            if from_gnss:
                have_gnss = seen
                self._anchor_frames += seen
        bound = self.config.clock_offset_limit_ms
        self._offset_ms = np.clip(self._offset_ms + step, -bound, bound)

    def _keep_posteriors(self) -> TableHook:
        """Write every track's posterior into this frame's history slot, for retrodiction (``oosm``); run
        by the tile set on each table at the end of the frame."""
        slot = self._frames % HISTORY_FRAMES
        self._frames += 1
        return functools.partial(keep_posteriors, slot=slot)

    def _allocate(self, count: int) -> IntArray:
        return np.fromiter(itertools.islice(self._ids, count), dtype=np.int64, count=count)

    # -- output --------------------------------------------------------------------------------------

    def snapshot(self, time_ms: int, *, published_ms: int | None = None) -> LdmSnapshot:
        """Confirmed, recently seen tracks, each predicted to ``time_ms``; ``published_ms`` stamps it (the
        tick that makes it, for ``tick``)."""
        snapshot = self._tiles.snapshot(time_ms)
        if self._lanes is not None:
            snapshot = self._lanes.apply(snapshot)
        return replace(snapshot, published_ms=published_ms)

    def live_track_ids(self) -> IntArray:
        parts = list(self._tiles.tracks_by_tile().values())
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    @property
    def counts(self) -> FusionCounts:
        self._collect_decoded()  # rejected payloads are counted where they were decoded
        names = list(self._source_index)
        return FusionCounts(
            fused={name: int(self._fused[i]) for i, name in enumerate(names)},
            late_dropped={name: int(self._late[i]) for i, name in enumerate(names)},
            future_dropped={name: int(self._future[i]) for i, name in enumerate(names)},
            rejected_messages=self._rejected,
            ticks=self._ticks,
            out_of_sequence={name: int(self._out_of_sequence[i]) for i, name in enumerate(names)},
        )

    @property
    def latency_budget_ms(self) -> int:
        """How long fusion now waits for late data: the map's time is the tick minus this (adaptive)."""
        return self._budget_ms

    @property
    def freshness_ms(self) -> int | None:
        """Age of the map at its publication: the last tick minus its snapshot time (None before the
        first tick). Equals the budget, except while the map holds its time after the budget grew."""
        if self._now_ms is None or self._horizon_ms is None:
            return None
        return self._now_ms - self._horizon_ms

    @property
    def clock_offsets_ms(self) -> dict[str, float]:
        """Current clock-offset estimate per sender (sender clock minus true time)."""
        return {name: float(self._offset_ms[i]) for name, i in self._source_index.items()}

    def tracks_by_tile(self) -> dict[int, IntArray]:
        """Global ids of every live track (tentative included), per owning tile key (``TileGrid``)."""
        return self._tiles.tracks_by_tile()

    @property
    def track_count(self) -> int:
        return self._tiles.track_count

    # -- resources and measurement -------------------------------------------------------------------

    @property
    def track_table_bytes(self) -> int:
        """Memory held by the track tables (in the worker processes, with ``workers``)."""
        return self._tiles.table_bytes

    def stage_seconds(self) -> dict[str, float]:
        """Seconds spent so far per tracking stage (predict, gate, assign, …; with ``workers``, summed
        over the workers, plus the main process's routing and waiting)."""
        return self._tiles.stage_seconds()

    def worker_cpu_seconds(self) -> float:
        """CPU seconds used by the worker processes so far (0 in-process)."""
        return self._tiles.worker_cpu_seconds()

    def close(self) -> None:
        """Stop the worker processes, if any (also done when the engine is garbage-collected)."""
        self._tiles.close()

    def __enter__(self) -> FusionEngine:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def keep_posteriors(table: TrackTable, *, slot: int) -> None:
    """Write each track's posterior into history ``slot`` of its table (``FusionEngine._keep_posteriors``)."""
    table.past_time_ms[:, slot] = table.time_ms
    table.past_info_ms[:, slot] = table.last_hit_ms
    table.past_covariance[:, slot] = table.covariance
