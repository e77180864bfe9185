"""The twin's receiving side: what the cloud sends down reaches the twin's connected vehicles.

Data flow: cloud ─▶ bus ``…/{rsu|vehicle}/{id}/{rsi|denm|glosa|rsm}/down`` ─▶ ``DownlinkReception.receive``
(any thread; only queues) ─▶ every twin step, ``step`` delivers what is due:

- to a roadside unit: it gets the message after its network delay and, like a real RSU, keeps
  broadcasting an RSI (every step) until the RSI's cancellation arrives; it then broadcasts the
  cancellation for ``cancel_broadcast_ms`` and forgets it. Every connected vehicle within the unit's range
  hears each broadcast;
- to a vehicle (by BSM id): that vehicle gets it after the cellular downlink delay.

A vehicle applies an RSI only when it is inside the relevance zone: within a reference path's radius,
driving along the path (the on-board check of T/CSAE 53 reference paths). Outside, it ignores it. A
vehicle that applied an advisory and later hears its cancellation records that too. Each (vehicle,
advisory) pair is logged once per outcome — accepted, ignored outside the zone, cancellation received —
so the log stays small however often a unit repeats. Speed advice, shared objects and DENMs are counted.

Per step the work is one (units × vehicles) distance test for the units holding something and one
(vehicles × path segments) test per advisory heard, on arrays.
"""

from __future__ import annotations

import enum
import heapq
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from roadcloud.bus.topics import parse_topic
from roadcloud.errors import InputError, MessageError
from roadcloud.map import GeoReference
from roadcloud.messages import RSI, RTEData
from roadcloud.messages.json_codec import decode
from roadcloud.services.advisories import advisory_tag, rte_is_cancelled
from roadcloud.services.relevance import paths_to_local, within_paths
from roadcloud.twin.field import bsm_id as bsm_id_of
from roadcloud.twin.manifest import RoadsideUnitSpec

FloatArray = NDArray[np.float64]

VEHICLE_DOWNLINK_DELAY_MS = 40  # cellular (LTE-V2X Uu) downlink, like the uplink
CANCEL_BROADCAST_MS = 3_000  # how long a unit repeats a cancellation before forgetting the advisory
MAX_INBOX = 100_000  # downlinks waiting for the next step; beyond this they are dropped and counted
_COUNTED_MESSAGES = frozenset({"glosa", "rsm", "denm"})


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"  # inside the relevance zone: the vehicle acts on it
    IGNORED_OUTSIDE_ZONE = "ignored_outside_zone"
    CANCELLATION_RECEIVED = "cancellation_received"  # the end of an advisory the vehicle had accepted


@dataclass(frozen=True, slots=True)
class Reception:
    """One vehicle's first outcome of one kind for one advisory. ``advisory`` is the roadcloud advisory
    id the RTE description carries, else ``"{sender}/{rte id}"``; ``via`` is ``rsu:{id}`` or ``direct``."""

    vehicle_id: str  # the twin's (SUMO) id
    bsm_id: str
    advisory: str
    event_type: int  # the RTE's event type code
    time_ms: int
    outcome: Outcome
    via: str


@dataclass(slots=True)
class ReceptionStats:
    """Counters since the twin started."""

    downlinks: int = 0  # handed to ``receive``
    inbox_full: int = 0  # refused by ``receive``: more than MAX_INBOX waiting for the next step
    dropped: dict[str, int] = field(default_factory=dict)  # per reason: bad_topic, decode, unknown_unit, …
    rsi_heard: int = 0  # RSI deliveries to vehicles (broadcast hearings and direct)
    accepted: int = 0
    ignored_outside_zone: int = 0
    cancellations: int = 0
    other: dict[str, int] = field(default_factory=dict)  # glosa, rsm, denm delivered to a present vehicle


@dataclass(slots=True, eq=False)
class _Heard:
    """One RTE as a vehicle or unit holds it, its reference paths already in the local frame."""

    key: str
    event_type: int
    cancelled: bool
    segments: tuple[FloatArray, FloatArray, FloatArray]
    until_ms: int | None = None  # a unit stops repeating a cancellation at this time


class DownlinkReception:
    """Receives the cloud's downlink for the twin; ``receive`` is a bus handler, ``step`` runs each step."""

    def __init__(
        self,
        geo: GeoReference,
        units: Sequence[RoadsideUnitSpec],
        *,
        zone: str,
        vehicle_delay_ms: int = VEHICLE_DOWNLINK_DELAY_MS,
        cancel_broadcast_ms: int = CANCEL_BROADCAST_MS,
    ) -> None:
        self.geo = geo
        self.zone = zone
        self.vehicle_delay_ms = vehicle_delay_ms
        self.cancel_broadcast_ms = cancel_broadcast_ms
        self.unit_ids = tuple(unit.id for unit in units)
        self._unit_index = {unit.id: index for index, unit in enumerate(units)}
        self._unit_xy = np.array([[unit.x_m, unit.y_m] for unit in units], dtype=np.float64).reshape(-1, 2)
        self._unit_range_m = np.array([unit.range_m for unit in units], dtype=np.float64)
        self._unit_delay_ms = [int(unit.network_delay_ms) for unit in units]
        self.stats = ReceptionStats()
        self.log: list[Reception] = []
        self._inbox: deque[tuple[str, bytes]] = deque()
        self._due: list[tuple[int, int, str, str, str, bytes]] = []  # (due, seq, kind, device, msg, payload)
        self._sequence = 0
        self._held: list[dict[str, _Heard]] = [{} for _ in units]  # what each unit repeats
        self._outcomes: dict[tuple[str, str], set[Outcome]] = {}  # (bsm id, advisory) → outcomes logged
        self._bsm_ids: dict[str, str] = {}

    # -- input (any thread) ---------------------------------------------------------------------------

    def receive(self, topic: str, payload: bytes) -> None:
        """A bus handler for ``zone_filter(zone, direction="down")``; only queues, never raises.

        It may run on the bus's delivery thread: it touches nothing but the queue (``deque.append`` is
        atomic) and two counters that only it writes."""
        self.stats.downlinks += 1
        if len(self._inbox) >= MAX_INBOX:
            self.stats.inbox_full += 1
            return
        self._inbox.append((topic, payload))

    # -- every step -----------------------------------------------------------------------------------

    def step(
        self,
        epoch_ms: int,
        *,
        ids: Sequence[str],
        xy: FloatArray,
        heading_deg: FloatArray,
        connected: Sequence[bool],
    ) -> None:
        """Deliver what is due at ``epoch_ms`` to the connected vehicles among the step's actors."""
        self._take_inbox(epoch_ms)
        nothing_due = not self._due or self._due[0][0] > epoch_ms
        if nothing_due and not any(self._held):
            return
        rows = np.flatnonzero(np.asarray(connected, dtype=bool))
        vehicle_ids = [ids[row] for row in rows.tolist()]
        bsm_ids = [self._bsm_id(vehicle_id) for vehicle_id in vehicle_ids]
        xy_c = np.asarray(xy, dtype=np.float64).reshape(-1, 2)[rows]
        heading_c = np.asarray(heading_deg, dtype=np.float64)[rows]
        fleet = _Fleet(vehicle_ids, bsm_ids, xy_c, heading_c)
        while self._due and self._due[0][0] <= epoch_ms:
            _, _, kind, device, message, payload = heapq.heappop(self._due)
            try:
                self._deliver(kind, device, message, payload, fleet=fleet, epoch_ms=epoch_ms)
            except (InputError, ValueError, OverflowError):
                # Decodable but unusable (e.g. reference paths that do not project): the twin runs on.
                self._drop("unusable")
        self._broadcast(fleet, epoch_ms)

    # -- internals ------------------------------------------------------------------------------------

    def _take_inbox(self, epoch_ms: int) -> None:
        while self._inbox:
            topic, payload = self._inbox.popleft()
            try:
                parsed = parse_topic(topic)
            except InputError:
                self._drop("bad_topic")
                continue
            if parsed.direction != "down" or parsed.zone != self.zone:
                self._drop("not_for_this_zone")
                continue
            if parsed.device_kind == "rsu":
                unit = self._unit_index.get(parsed.device_id)
                if unit is None:
                    self._drop("unknown_unit")
                    continue
                due_ms = epoch_ms + self._unit_delay_ms[unit]
            elif parsed.device_kind == "vehicle":
                due_ms = epoch_ms + self.vehicle_delay_ms
            else:
                self._drop("unknown_device_kind")
                continue
            heapq.heappush(
                self._due,
                (due_ms, self._sequence, parsed.device_kind, parsed.device_id, parsed.message, payload),
            )
            self._sequence += 1

    def _deliver(
        self, kind: str, device: str, message: str, payload: bytes, *, fleet: _Fleet, epoch_ms: int
    ) -> None:
        if message in _COUNTED_MESSAGES:
            # Only a unit's RSI is repeated; other messages to a unit are not modelled further.
            if kind == "vehicle" and device in fleet.row_of_bsm:
                self.stats.other[message] = self.stats.other.get(message, 0) + 1
            return
        if message != "rsi":
            self._drop("unknown_message")
            return
        try:
            rsi = decode(payload, RSI)
        except MessageError:
            self._drop("decode")
            return
        heard = [self._heard(rsi, rte, epoch_ms) for rte in rsi.rtes]
        if kind == "rsu":
            held = self._held[self._unit_index[device]]
            for item in heard:
                if item.cancelled:
                    item.until_ms = epoch_ms + self.cancel_broadcast_ms
                held[item.key] = item
            return
        row = fleet.row_of_bsm.get(device)
        if row is None:
            self._drop("vehicle_gone")
            return
        for item in heard:
            self._apply(item, fleet, np.array([row]), epoch_ms, via="direct")

    def _heard(self, rsi: RSI, rte: RTEData, epoch_ms: int) -> _Heard:
        key = advisory_tag(rte) or f"{rsi.id}/{rte.rte_id}"
        segments = paths_to_local(
            rte.reference_paths, self.geo, ref_lon_units=rsi.ref_pos.long, ref_lat_units=rsi.ref_pos.lat
        )
        return _Heard(key, rte.event_type, rte_is_cancelled(rte, epoch_ms), segments)

    def _broadcast(self, fleet: _Fleet, epoch_ms: int) -> None:
        holding = [index for index, held in enumerate(self._held) if held]
        if not holding or len(fleet.bsm_ids) == 0:
            self._expire(holding, epoch_ms)
            return
        gap = fleet.xy[None, :, :] - self._unit_xy[holding][:, None, :]
        in_range = np.hypot(gap[..., 0], gap[..., 1]) <= self._unit_range_m[holding][:, None]
        for position, unit in enumerate(holding):
            rows = np.flatnonzero(in_range[position])
            if len(rows) == 0:
                continue
            for item in self._held[unit].values():
                self._apply(item, fleet, rows, epoch_ms, via=f"rsu:{self.unit_ids[unit]}")
        self._expire(holding, epoch_ms)

    def _expire(self, holding: list[int], epoch_ms: int) -> None:
        for unit in holding:
            held = self._held[unit]
            for key in [
                key for key, item in held.items() if item.until_ms is not None and item.until_ms <= epoch_ms
            ]:
                del held[key]

    def _apply(
        self, item: _Heard, fleet: _Fleet, rows: NDArray[np.int64], epoch_ms: int, *, via: str
    ) -> None:
        self.stats.rsi_heard += len(rows)
        if item.cancelled:
            for row in rows.tolist():
                outcomes = self._outcomes.get((fleet.bsm_ids[row], item.key))
                if (
                    outcomes
                    and Outcome.ACCEPTED in outcomes
                    and Outcome.CANCELLATION_RECEIVED not in outcomes
                ):
                    self._log(
                        item, fleet, row, epoch_ms=epoch_ms, outcome=Outcome.CANCELLATION_RECEIVED, via=via
                    )
            return
        # Only vehicles that have not yet accepted it need the zone test.
        pending = [
            row
            for row in rows.tolist()
            if Outcome.ACCEPTED not in self._outcomes.get((fleet.bsm_ids[row], item.key), ())
        ]
        if not pending:
            return
        index = np.array(pending, dtype=np.int64)
        inside = within_paths(fleet.xy[index, 0], fleet.xy[index, 1], fleet.heading_deg[index], item.segments)
        for row, is_inside in zip(pending, inside.tolist(), strict=True):
            outcome = Outcome.ACCEPTED if is_inside else Outcome.IGNORED_OUTSIDE_ZONE
            if outcome not in self._outcomes.get((fleet.bsm_ids[row], item.key), ()):
                self._log(item, fleet, row, epoch_ms=epoch_ms, outcome=outcome, via=via)

    def _log(
        self, item: _Heard, fleet: _Fleet, row: int, *, epoch_ms: int, outcome: Outcome, via: str
    ) -> None:
        self._outcomes.setdefault((fleet.bsm_ids[row], item.key), set()).add(outcome)
        self.log.append(
            Reception(
                fleet.vehicle_ids[row], fleet.bsm_ids[row], item.key, item.event_type, epoch_ms, outcome, via
            )
        )
        if outcome == Outcome.ACCEPTED:
            self.stats.accepted += 1
        elif outcome == Outcome.IGNORED_OUTSIDE_ZONE:
            self.stats.ignored_outside_zone += 1
        else:
            self.stats.cancellations += 1

    def _bsm_id(self, vehicle_id: str) -> str:
        cached = self._bsm_ids.get(vehicle_id)
        if cached is None:
            if len(self._bsm_ids) > 200_000:  # vehicles come and go; keep the cache bounded
                self._bsm_ids.clear()
            cached = self._bsm_ids[vehicle_id] = bsm_id_of(vehicle_id)
        return cached

    def _drop(self, reason: str) -> None:
        self.stats.dropped[reason] = self.stats.dropped.get(reason, 0) + 1

    def receptions(self, *, outcome: Outcome | None = None, advisory: str | None = None) -> list[Reception]:
        """The log, filtered."""
        return [
            item
            for item in self.log
            if (outcome is None or item.outcome == outcome)
            and (advisory is None or item.advisory == advisory)
        ]


@dataclass(frozen=True, slots=True, eq=False)
class _Fleet:
    """The step's connected vehicles."""

    vehicle_ids: list[str]
    bsm_ids: list[str]
    xy: FloatArray
    heading_deg: FloatArray
    row_of_bsm: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "row_of_bsm", {bsm: row for row, bsm in enumerate(self.bsm_ids)})
