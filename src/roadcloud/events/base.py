"""The seam between ``EventDetector`` and the detectors: what a detector is given each snapshot and returns.

A detector declares the per-track memory columns it needs and turns a ``Context`` (the frame, its
remembered columns, signal lights, the keys of live events) into ``Candidates`` for the life cycle.
Detectors are independent of each other and of the life cycle; ``detector.EventDetector`` wires them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from roadcloud.events.candidates import Candidates
from roadcloud.events.config import EventConfig
from roadcloud.events.frame import Frame
from roadcloud.events.lanes import LaneTable, Movement
from roadcloud.events.model import EventType
from roadcloud.events.signal_state import GREEN_LIGHTS, PERMISSIVENESS, SignalLight, SignalStates
from roadcloud.messages import LightState

IntArray = NDArray[np.int64]

#: permissiveness by LightState value, as an array for lookups over many movements at once
_RANK_OF_CODE = np.zeros(max(LightState) + 1, dtype=np.int64)
for _light, _rank in PERMISSIVENESS.items():
    _RANK_OF_CODE[_light] = _rank
GREEN_RANK = min(PERMISSIVENESS[light] for light in GREEN_LIGHTS)


class LightLookup:
    """Signal lights during one snapshot: exact answers for a few (each asked of ``SignalStates`` once)
    and whole-map arrays at the snapshot's time for detectors that look at every stop line."""

    def __init__(self, signals: SignalStates, lanes: LaneTable, time_ms: int) -> None:
        self._signals = signals
        self._lanes = lanes
        self._time_ms = time_ms
        self._lane_cache: dict[tuple[int, int], SignalLight | None] = {}
        self._movement_cache: dict[tuple[int, int], SignalLight | None] = {}
        self._movement_codes: NDArray[np.int64] | None = None
        self._lane_rank: NDArray[np.int64] | None = None
        self._group_ranks: NDArray[np.int64] | None = None

    @property
    def movement_codes(self) -> NDArray[np.int64]:
        """``LightState`` value of every movement (``LaneTable.movement_list``) now; 0 if unknown."""
        if self._movement_codes is None:
            groups = self._lanes.movement_group
            codes = self._signals.group_lights(self._time_ms)
            self._movement_codes = np.where(groups >= 0, codes[np.maximum(groups, 0)], 0)
        return self._movement_codes

    @property
    def group_ranks(self) -> NDArray[np.int64]:
        """Permissiveness (``signal_state.PERMISSIVENESS``) of every signal group now; 0 if unknown."""
        if self._group_ranks is None:
            self._group_ranks = _RANK_OF_CODE[self._signals.group_lights(self._time_ms)]
        return self._group_ranks

    @property
    def lane_rank(self) -> NDArray[np.int64]:
        """Per lane, the permissiveness (``signal_state.PERMISSIVENESS``) of its most permissive
        movement now: the light at its stop line. 0 for unsignalised lanes and unknown lights."""
        if self._lane_rank is None:
            rank = np.zeros(len(self._lanes.ids), dtype=np.int64)
            np.maximum.at(rank, self._lanes.movement_from, _RANK_OF_CODE[self.movement_codes])
            self._lane_rank = rank
        return self._lane_rank

    def lane_light(self, lane: int, time_ms: int) -> SignalLight | None:
        """The stop-line light of approach lane number ``lane`` (most permissive movement)."""
        key = (lane, time_ms)
        if key not in self._lane_cache:
            self._lane_cache[key] = self._fresh(
                self._signals.lane_light(self._lanes.ids[lane], time_ms), time_ms
            )
        return self._lane_cache[key]

    def movement_light(self, number: int, time_ms: int) -> SignalLight | None:
        """The light of signalised movement ``number`` (``LaneTable.movement_list``)."""
        key = (number, time_ms)
        if key not in self._movement_cache:
            movement: Movement = self._lanes.movement_list[number]
            self._movement_cache[key] = self._fresh(
                self._signals.connection_light(movement.from_lane_id, movement.to_lane_id, time_ms), time_ms
            )
        return self._movement_cache[key]

    def _fresh(self, light: SignalLight | None, time_ms: int) -> SignalLight | None:
        """Detectors ask about now: an answer resting on a SPAT older than the signal states' max age is
        a controller gone silent, not a light."""
        if light is None or time_ms - light.measured_ms > self._signals.max_age_ms:
            return None
        return light


@dataclass(slots=True)
class Context:
    """Everything a detector may read for one snapshot, and where it writes its memory columns."""

    frame: Frame
    lanes: LaneTable
    config: EventConfig
    lights: LightLookup
    recalled: Mapping[str, NDArray[Any]]
    dt_ms: int  # time since the previous snapshot (0 for the first)
    active_keys: Mapping[EventType, IntArray]
    stored: dict[str, NDArray[Any]] = field(default_factory=dict)

    @property
    def now_ms(self) -> int:
        return self.frame.time_ms

    @property
    def tolerance_ms(self) -> int:
        return round(self.config.gap_tolerance_s * 1000)

    def active(self, event_type: EventType) -> IntArray:
        return self.active_keys.get(event_type, np.empty(0, dtype=np.int64))


class Detector(Protocol):
    """One detector or family of detectors."""

    @property
    def columns(self) -> Mapping[str, int | float]:
        """Per-track memory columns this detector keeps, with their value for a track never seen before."""
        ...

    def detect(self, context: Context) -> list[Candidates]:
        """This snapshot's evidence, one ``Candidates`` per event type the detector raises."""
        ...
