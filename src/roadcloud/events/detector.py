"""``EventDetector``: the events stage of the pipeline, from LDM snapshots and signal states to road events.

    LdmSnapshot (fusion, 10 Hz) ─┐
                                 ├─▶ Frame (lane facts per track) ─▶ detectors ─▶ Candidates
    SPAT ─▶ SignalStates ────────┘                                                   │
                                  RoadEvent (STARTED / UPDATED / ENDED) ◀── EventBook (life cycle)

One call per snapshot, in time order. The detectors (stopped vehicle, wrong way, congestion, speeding and
slow, pedestrian or cyclist on the carriageway, red-light violation, collision risk) share one per-track
memory and one life cycle; everything is pure, so a recording replays to the same events.
"""

from __future__ import annotations

from roadcloud.errors import InputError, SettingError
from roadcloud.events.base import Context, Detector, LightLookup
from roadcloud.events.collision import CollisionDetector
from roadcloud.events.config import EventConfig
from roadcloud.events.congestion import CongestionDetector
from roadcloud.events.frame import Frame
from roadcloud.events.lanes import LaneTable, PositionMatcher
from roadcloud.events.lifecycle import EventBook
from roadcloud.events.memory import TrackMemory
from roadcloud.events.model import RoadEvent
from roadcloud.events.red_light import RedLightDetector
from roadcloud.events.signal_state import SignalStates
from roadcloud.events.speed import SpeedDetector
from roadcloud.events.stopped import StoppedVehicleDetector
from roadcloud.events.vulnerable import VulnerableUserDetector
from roadcloud.events.wrong_way import WrongWayDetector
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.map import RoadMap


class EventDetector:
    """Road events of one zone from its LDM snapshots.

    ``update(snapshot, signals)`` returns this snapshot's publications: events that started, changed
    materially, or ended; ``active`` lists every live event's current state. The snapshot must carry
    lanes (fusion run with a ``LaneMatcher`` on the same map) and come later than the previous one.
    """

    def __init__(self, road_map: RoadMap, config: EventConfig | None = None) -> None:
        self.road_map = road_map
        self.config = config or EventConfig()
        self._lanes = LaneTable(road_map, walking_clearance_m=self.config.crossing_clearance_m)
        self._positions = PositionMatcher(road_map, self._lanes)
        self._detectors: list[Detector] = [
            StoppedVehicleDetector(),
            WrongWayDetector(),
            CongestionDetector(self._lanes),
            SpeedDetector(),
            VulnerableUserDetector(),
            RedLightDetector(self._lanes),
            CollisionDetector(),
        ]
        columns: dict[str, int | float] = {}
        for detector in self._detectors:
            clash = set(columns) & set(detector.columns)
            if clash:
                raise SettingError(
                    f"detectors share memory columns {sorted(clash)}; give them distinct names"
                )
            columns.update(detector.columns)
        self._memory = TrackMemory(columns, handover_m=self.config.handover_m)
        self._book = EventBook(self._lanes, self.config)
        self._last_ms: int | None = None

    @property
    def active(self) -> list[RoadEvent]:
        """Every live event in its current state."""
        return self._book.active

    def update(self, snapshot: LdmSnapshot, signals: SignalStates) -> list[RoadEvent]:
        """Run every detector on ``snapshot``; returns this snapshot's STARTED, UPDATED and ENDED events."""
        now_ms = int(snapshot.time_ms)
        if self._last_ms is not None and now_ms <= self._last_ms:
            raise InputError(
                f"LDM snapshot at {now_ms} ms is not after the previous one ({self._last_ms} ms); "
                "feed snapshots in time order, once each"
            )
        if snapshot.lane_id is None and len(snapshot):
            raise InputError(
                "LDM snapshot has no lanes; run fusion with a LaneMatcher on the zone's map "
                "(FusionEngine(..., lane_matcher=LaneMatcher(road_map)))"
            )
        if signals.road_map is not self.road_map and signals.road_map.source != self.road_map.source:
            raise InputError(
                f"SignalStates is for network {signals.road_map.name}, the detector for "
                f"{self.road_map.name}; build both on the zone's map"
            )
        dt_ms = 0 if self._last_ms is None else now_ms - self._last_ms
        self._last_ms = now_ms
        frame = Frame.build(snapshot, self._lanes, self._positions)
        context = Context(
            frame=frame,
            lanes=self._lanes,
            config=self.config,
            lights=LightLookup(signals, self._lanes, now_ms),
            recalled=self._memory.recall(snapshot, frame.motor),
            dt_ms=dt_ms,
            active_keys=self._book.active_keys(),
        )
        published: list[RoadEvent] = []
        for detector in self._detectors:
            for candidates in detector.detect(context):
                published.extend(self._book.process(candidates, now_ms))
        published.extend(self._book.release(now_ms))
        self._memory.store(
            snapshot, frame.motor, context.stored, keep_ms=round(self.config.track_memory_s * 1000)
        )
        return published
