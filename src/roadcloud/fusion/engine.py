"""The fusion engine: RSMs and BSMs in, one live dynamic map snapshot out every 100 ms.

Data flow: ``add`` decodes each message into ``Detections`` and buffers it; ``tick(now)`` fuses everything
measured up to the fusion horizon ``H = now - latency_budget_ms`` and returns the snapshot at H. Per tick:

1. time alignment: each detection's time is the sender's clock minus that sender's estimated offset;
   new arrivals measured in a frame already fused (at or before the previous horizon) are dropped and
   counted per sender; those after H (plus a small tolerance) wait for the next tick;
2. routing: each detection goes to the tile owning the track its sender's id last went to, else to the
   tile of the nearest track within ``halo_m``, else to the tile under it;
3. per tile, ``tracker.Tracker.process`` aligns the detections to H (each from its own measurement time),
   predicts, gates, assigns (one-to-one per sender) and updates;
4. clock offsets: each roadside unit's offset moves by ``gain · mean(δ)``, δ = -(r·v)/|v|² the difference
   between its detection and a connected vehicle's own GNSS-timed report extrapolated to the same time,
   along the velocity (``Tracker._timing_residual``);
5. life cycle per tile, then tracks that left their tile are handed over with their global id;
6. snapshot: confirmed, recently seen tracks at H.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from roadcloud.bus.topics import parse_topic
from roadcloud.errors import DecodeError, InputError, ValidationError
from roadcloud.fusion import kalman
from roadcloud.fusion.config import FusionConfig
from roadcloud.fusion.detections import Detections, concatenate
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.fusion.lifecycle import reported
from roadcloud.fusion.tiles import TileGrid, route
from roadcloud.fusion.tracker import Tracker
from roadcloud.fusion.tracks import IdentityMemory, TrackTable
from roadcloud.map import GeoReference, LaneMatch
from roadcloud.messages import BSM, RSM, Message
from roadcloud.messages.json_codec import decode_named

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

VEHICLES_SOURCE = "vehicle"
"""All self-reports share source index 0: each vehicle reports only itself, and GNSS time is exact."""


class LaneMatching(Protocol):
    """What the engine needs of ``roadcloud.map.LaneMatcher``."""

    def match(self, x_m: FloatArray, y_m: FloatArray, heading_deg: FloatArray | None = None) -> LaneMatch: ...


@dataclass(frozen=True, slots=True)
class FusionCounts:
    """Per sender ("rsu/R0001", "vehicle"): detections fused, dropped as too late (measured in a frame
    already fused), and dropped as too far in the future (``max_future_ms`` past the horizon)."""

    fused: dict[str, int]
    late_dropped: dict[str, int]
    future_dropped: dict[str, int]
    rejected_messages: int
    ticks: int

    @property
    def fused_total(self) -> int:
        return sum(self.fused.values())

    @property
    def late_dropped_total(self) -> int:
        return sum(self.late_dropped.values())


class FusionEngine:
    """Tile trackers, time alignment and the LDM; feed with ``add``, drive with ``tick`` every step."""

    def __init__(
        self, config: FusionConfig, geo: GeoReference, *, lane_matcher: LaneMatching | None = None
    ) -> None:
        self.config = config
        self.geo = geo
        self.grid = TileGrid(config.tile_size_m)
        self._lane_matcher = lane_matcher
        self._source_index: dict[str, int] = {VEHICLES_SOURCE: 0}
        self._offset_ms = np.zeros(1)
        self._fused = np.zeros(1, np.int64)
        self._late = np.zeros(1, np.int64)
        self._future = np.zeros(1, np.int64)
        self._rejected = 0
        self._ticks = 0
        self._rsms: list[RSM] = []
        self._rsm_arrival_ms: list[int] = []
        self._rsm_source: list[int] = []
        self._bsms: list[BSM] = []
        self._pending = Detections.empty()
        self._horizon_ms: int | None = None
        self._trackers: dict[int, Tracker] = {}
        self._memory = IdentityMemory()
        self._owner_ids = np.empty(0, np.int64)
        self._owner_tiles = np.empty(0, np.int64)
        self._owner_tree: cKDTree | None = None
        self._owner_xy_tiles = np.empty(0, np.int64)
        self._ids = itertools.count(1)

    # -- input ---------------------------------------------------------------------------------------

    def add(self, topic: str, payload_or_message: bytes | Message, arrival_ms: int) -> None:
        """Take one message; RSM and BSM are fused, every other message is ignored. A payload that does
        not decode is counted in ``counts.rejected_messages`` and skipped."""
        try:
            parsed = parse_topic(topic)
        except InputError:
            self._rejected += 1
            return
        if parsed.message not in ("rsm", "bsm") or parsed.direction != "up":
            return
        message: Message
        if isinstance(payload_or_message, bytes):
            try:
                message = decode_named(payload_or_message, parsed.message)
            except (DecodeError, ValidationError):
                self._rejected += 1
                return
        else:
            message = payload_or_message
        if isinstance(message, RSM):
            # converted at the tick, all RSMs in one call (one projection for every participant)
            self._rsms.append(message)
            self._rsm_arrival_ms.append(arrival_ms)
            self._rsm_source.append(self.source_index(f"{parsed.device_kind}/{parsed.device_id}"))
        elif isinstance(message, BSM):
            self._bsms.append(message)

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
        return index

    # -- the frame -----------------------------------------------------------------------------------

    def tick(self, now_ms: int) -> LdmSnapshot:
        """Fuse everything measured up to ``now_ms - latency_budget_ms`` and return the map at that time."""
        horizon_ms = now_ms - self.config.latency_budget_ms
        waiting, arrived = self._collect(now_ms)
        detections, corrected_ms = self._align(waiting, arrived, horizon_ms)
        if len(detections):
            self._fuse_frame(detections, corrected_ms, horizon_ms)
        for key, tracker in list(self._trackers.items()):
            tracker.end_frame(horizon_ms)
            self._settle(tracker, key)
        self._trackers = {key: tracker for key, tracker in self._trackers.items() if len(tracker.table)}
        self._memory.commit(self.live_track_ids())
        self._index_owners()
        self._horizon_ms = horizon_ms
        self._ticks += 1
        return self.snapshot(horizon_ms)

    def _collect(self, now_ms: int) -> tuple[Detections, Detections]:
        """(waiting from earlier ticks, newly arrived)."""
        parts = [
            Detections.from_rsms(
                self._rsms,
                geo=self.geo,
                reference_ms=np.array(self._rsm_arrival_ms, dtype=np.int64),
                source_index=np.array(self._rsm_source, dtype=np.int64),
            )
        ]
        if self._bsms:
            parts.append(Detections.from_bsms(self._bsms, geo=self.geo, reference_ms=now_ms, source_index=0))
        self._rsms, self._rsm_arrival_ms, self._rsm_source, self._bsms = [], [], [], []
        return self._pending, concatenate(parts)

    def _align(
        self, waiting: Detections, arrived: Detections, horizon_ms: int
    ) -> tuple[Detections, FloatArray]:
        """Correct times, drop and count late arrivals, keep the future for later; return what is ready.

        Late: measured (corrected) at or before the previous horizon plus the tolerance, i.e. in a frame
        already fused. Detections that waited a tick are never late, even if the sender's offset estimate
        moved meanwhile. Ready: measured up to the horizon plus ``alignment_tolerance_ms`` (so a frame taken
        on the grid is fused in its own tick despite a few ms of residual clock error).
        """
        sources = len(self._offset_ms)
        tolerance_ms = self.config.alignment_tolerance_ms
        if self._horizon_ms is not None and len(arrived):
            corrected_ms = arrived.time_ms - self._offset_ms[arrived.source_index]
            late = corrected_ms <= self._horizon_ms + tolerance_ms
            if late.any():
                self._late += np.bincount(arrived.source_index[late], minlength=sources)
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
        return ready_detections, corrected_ms[ready]

    def _fuse_frame(self, detections: Detections, corrected_ms: FloatArray, horizon_ms: int) -> None:
        """Route every ready detection to a tile and let each tile's tracker fuse its share."""
        keys = IdentityMemory.key(detections.source_index, detections.object_id, detections.self_report)
        remembered = self._memory.lookup(keys)
        joined, members = self._join_contested(detections, self._route(detections, remembered))
        for key, rows in route(joined):
            whole = len(rows) == len(detections)
            group = members.get(key, [key])
            if len(group) == 1:
                tracker = self._tracker(key)
            else:
                # tracks of several tiles compete for these detections: fuse them in one assignment
                tracker = Tracker(self.config, self._allocate)
                owned = [self._trackers.pop(member, None) for member in group]
                tracker.table = TrackTable.concatenate([t.table for t in owned if t is not None])
            result = tracker.process(
                detections if whole else detections.take(rows),
                time_ms=corrected_ms if whole else corrected_ms[rows],
                fusion_ms=float(horizon_ms),
                keys=keys if whole else keys[rows],
                remembered=remembered if whole else remembered[rows],
                memory=self._memory,
            )
            if len(group) > 1:
                self._settle(tracker, None)
            self._correct_clocks(result.timing_residual_s, result.timing_source)

    def _join_contested(
        self, detections: Detections, tile: IntArray
    ) -> tuple[IntArray, dict[int, list[int]]]:
        """Tiles whose tracks lie within ``halo_m`` of one detection are fused together: each such group
        is relabelled with one key, its root; returns the labels and root → member tiles of every group
        of more than one tile (few, and only near borders)."""
        if self._owner_tree is None or len(tile) == 0:
            return tile, {}
        neighbours = min(3, len(self._owner_xy_tiles))
        xy = np.column_stack([detections.x_m, detections.y_m])
        _, nearest = self._owner_tree.query(xy, k=neighbours, distance_upper_bound=self.config.halo_m)
        nearest = nearest.reshape(len(tile), neighbours)
        found = nearest < len(self._owner_xy_tiles)
        near_tile = np.where(
            found, self._owner_xy_tiles[np.minimum(nearest, len(self._owner_xy_tiles) - 1)], -1
        )
        contested = found & (near_tile != tile[:, np.newaxis])
        if not contested.any():
            return tile, {}
        edges = np.unique(
            np.column_stack(
                [np.broadcast_to(tile[:, np.newaxis], near_tile.shape)[contested], near_tile[contested]]
            ),
            axis=0,
        )
        parent: dict[int, int] = {}

        def find(key: int) -> int:
            while parent.get(key, key) != key:
                key = parent[key]
            return key

        for a, b in edges.tolist():  # a handful of border tiles, not objects
            root_a, root_b = find(a), find(b)
            if root_a != root_b:
                parent[max(root_a, root_b)] = min(root_a, root_b)
        if not parent:
            return tile, {}
        members: dict[int, list[int]] = {}
        for key in {*parent, *parent.values()}:
            members.setdefault(find(key), []).append(key)
        joined: IntArray = np.array([find(key) for key in tile.tolist()], dtype=np.int64)
        return joined, members

    def _route(self, detections: Detections, remembered: IntArray) -> IntArray:
        """Tile key per detection: the tile owning the track its sender id last went to; else the tile of
        the nearest track within ``halo_m`` (what a tile worker learns from its neighbours' border tracks);
        else the tile under the detection. So a track and its detections are never split by a border."""
        tile = self.grid.key_of(detections.x_m, detections.y_m)
        if len(self._owner_ids) == 0:
            return tile
        position = np.minimum(np.searchsorted(self._owner_ids, remembered), len(self._owner_ids) - 1)
        known = (self._owner_ids[position] == remembered) & (remembered >= 0)
        owner = np.where(known, self._owner_tiles[position], -1)
        unknown = np.flatnonzero(~known)
        if len(unknown) and self._owner_tree is not None:
            xy = np.column_stack([detections.x_m[unknown], detections.y_m[unknown]])
            _, nearest = self._owner_tree.query(xy, distance_upper_bound=self.config.halo_m)
            found = nearest < len(self._owner_xy_tiles)
            owner[unknown[found]] = self._owner_xy_tiles[nearest[found]]
        routed: IntArray = np.where(owner >= 0, owner, tile)
        return routed

    def _correct_clocks(self, residual_s: FloatArray, source: IntArray) -> None:
        """offset += gain · mean(clip(δ)) per roadside sender over this frame's anchored matches."""
        if len(residual_s) == 0:
            return
        limit_s = self.config.clock_offset_max_step_ms / 1000.0
        clipped_ms = np.clip(residual_s, -limit_s, limit_s) * 1000.0
        sources = len(self._offset_ms)
        count = np.bincount(source, minlength=sources)
        total = np.bincount(source, weights=clipped_ms, minlength=sources)
        seen = count > 0
        seen[0] = False  # vehicles: GNSS time is the reference
        step = np.zeros(sources)
        step[seen] = self.config.clock_offset_gain * total[seen] / count[seen]
        bound = self.config.clock_offset_limit_ms
        self._offset_ms = np.clip(self._offset_ms + step, -bound, bound)

    def _index_owners(self) -> None:
        """Sorted (track id → tile) and a k-d tree of track positions, for routing the next frame."""
        tables = [(key, tracker.table) for key, tracker in self._trackers.items()]
        if not tables:
            self._owner_ids = np.empty(0, np.int64)
            self._owner_tree = None
            return
        ids = np.concatenate([table.track_id for _, table in tables])
        tiles = np.concatenate([np.full(len(table), key, np.int64) for key, table in tables])
        order = np.argsort(ids)
        self._owner_ids, self._owner_tiles = ids[order], tiles[order]
        self._owner_tree = cKDTree(np.concatenate([table.state[:, :2] for _, table in tables]))
        self._owner_xy_tiles = tiles

    def _settle(self, tracker: Tracker, key: int | None) -> None:
        """Hand every row of ``tracker`` that is not in tile ``key`` (None: a joined tracker, every row) to
        the tile under its position; global ids travel with the rows."""
        table = tracker.table
        if len(table) == 0:
            return
        row_keys = self.grid.key_of(table.state[:, 0], table.state[:, 1])
        outside = row_keys != key if key is not None else np.ones(len(table), np.bool_)
        if not outside.any():
            return
        moving = table.take(outside)
        table.keep(~outside)
        for target, rows in route(row_keys[outside]):
            self._tracker(target).table.extend(moving.take(rows))

    def _tracker(self, key: int) -> Tracker:
        tracker = self._trackers.get(key)
        if tracker is None:
            tracker = self._trackers[key] = Tracker(self.config, self._allocate)
        return tracker

    def _allocate(self, count: int) -> IntArray:
        return np.fromiter(itertools.islice(self._ids, count), dtype=np.int64, count=count)

    # -- output --------------------------------------------------------------------------------------

    def snapshot(self, time_ms: int) -> LdmSnapshot:
        """Confirmed, recently seen tracks, each predicted to ``time_ms``."""
        table = TrackTable.concatenate(
            [
                tracker.table.take(reported(tracker.table, fusion_ms=time_ms, config=self.config))
                for tracker in self._trackers.values()
            ]
        )
        if len(table) == 0:
            return LdmSnapshot.empty(time_ms)
        dt_s = (time_ms - table.time_ms) / 1000.0
        state, covariance = kalman.predict(
            table.state, table.covariance, dt_s, self.config.accel_density_m2ps3
        )
        vx, vy = state[:, 2], state[:, 3]
        lane_id: NDArray[np.object_] | None = None
        s_m = np.full(len(table), np.nan)
        if self._lane_matcher is not None:
            heading = np.rad2deg(np.arctan2(vx, vy)) % 360.0
            match = self._lane_matcher.match(state[:, 0], state[:, 1], heading)
            lane_id, s_m = match.lane_ids, match.s_m
        return LdmSnapshot(
            time_ms=time_ms,
            track_id=table.track_id,
            x_m=state[:, 0],
            y_m=state[:, 1],
            vx_mps=vx,
            vy_mps=vy,
            speed_mps=np.hypot(vx, vy),
            heading_deg=np.rad2deg(np.arctan2(vx, vy)) % 360.0,
            length_m=table.length_m,
            width_m=table.width_m,
            kind=np.argmax(table.kind_votes, axis=1).astype(np.int64),
            position_cov_m2=covariance[:, :2, :2],
            lane_id=lane_id,
            s_m=s_m,
            source_count=table.source_count,
        )

    def live_track_ids(self) -> IntArray:
        parts = [tracker.table.track_id for tracker in self._trackers.values()]
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    @property
    def counts(self) -> FusionCounts:
        names = list(self._source_index)
        return FusionCounts(
            fused={name: int(self._fused[i]) for i, name in enumerate(names)},
            late_dropped={name: int(self._late[i]) for i, name in enumerate(names)},
            future_dropped={name: int(self._future[i]) for i, name in enumerate(names)},
            rejected_messages=self._rejected,
            ticks=self._ticks,
        )

    @property
    def clock_offsets_ms(self) -> dict[str, float]:
        """Current clock-offset estimate per sender (sender clock minus true time)."""
        return {name: float(self._offset_ms[i]) for name, i in self._source_index.items()}

    def tracks_by_tile(self) -> dict[int, IntArray]:
        """Global ids of every live track (tentative included), per owning tile key (``TileGrid``)."""
        return {key: tracker.table.track_id.copy() for key, tracker in self._trackers.items()}

    @property
    def track_count(self) -> int:
        return sum(len(tracker.table) for tracker in self._trackers.values())
