"""Detections: what the field reported, as arrays in the platform's frame — the input of fusion.

A roadside unit's RSM and a vehicle's BSM arrive in message units (1e-7°, 0.02 m/s, 0.0125°, secMark);
fusion works in local metres, m/s, degrees clockwise from north and UTC epoch milliseconds. This module is
the one place that turns one into the other, for any number of participants at once.

Times are the sender's clock resolved against a reference (usually the arrival time): a unit with a clock
offset reports shifted times, and estimating that offset is fusion's job, not this module's.

Conversion is array work: the decoded structs are read field by field with ``map(attrgetter)`` into
``np.fromiter`` (an iteration in C, no Python loop per participant), then every unit conversion, the
projection, the class mapping and the BSM id parsing run on whole columns. ``DetectionBuffer`` converts
arriving messages in chunks, so the decoded structs die young instead of piling up for the cyclic
garbage collector until the tick (which, at a few thousand messages per tick, cost more than decoding).
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from roadcloud.map import GeoReference
from roadcloud.messages import BSM, RSM, ActorKind, BasicVehicleClass, ParticipantType
from roadcloud.messages.units import (
    heading_units_to_deg,
    latlon_units_to_deg,
    resolve_sec_marks,
    speed_units_to_mps,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_KIND_OF_CLASS = {
    BasicVehicleClass.PASSENGER: ActorKind.CAR,
    BasicVehicleClass.TRANSIT: ActorKind.BUS,
    BasicVehicleClass.TRUCK: ActorKind.TRUCK,
    BasicVehicleClass.LIGHT_TRUCK: ActorKind.TRUCK,
    BasicVehicleClass.MOTORCYCLE: ActorKind.MOTORCYCLE,
    BasicVehicleClass.CYCLIST: ActorKind.BICYCLE,
}
_CLASSES = frozenset(int(member) for member in BasicVehicleClass)
_CLASS_COUNT = 256  # BasicVehicleClass is one octet
_KIND_BY_CLASS = np.full(_CLASS_COUNT + 1, int(ActorKind.CAR), dtype=np.int64)  # last entry: no class
for _class, _kind in _KIND_OF_CLASS.items():
    _KIND_BY_CLASS[int(_class)] = int(_kind)
_NO_CLASS = _CLASS_COUNT
_HEX_DIGITS = 16
_HEX_VALUE = np.full(256, -1, dtype=np.int64)  # byte → hex digit value, -1 for anything else
for _digit, _char in enumerate("0123456789abcdef"):
    _HEX_VALUE[ord(_char)] = _HEX_VALUE[ord(_char.upper())] = _digit

_participants = operator.attrgetter("participants")
_pos = operator.attrgetter("pos")
_size = operator.attrgetter("size")
_vehicle_class = operator.attrgetter("vehicle_class")
_classification = operator.attrgetter("classification")


def actor_kind(ptc_type: int, vehicle_class: int | None) -> ActorKind:
    """The platform's road-user class from an RSM participant's type and vehicle class."""
    if ptc_type == ParticipantType.PEDESTRIAN:
        return ActorKind.PEDESTRIAN
    if ptc_type == ParticipantType.NON_MOTOR:
        return ActorKind.BICYCLE
    if vehicle_class is None:
        return ActorKind.CAR
    return (
        _KIND_OF_CLASS.get(BasicVehicleClass(vehicle_class), ActorKind.CAR)
        if vehicle_class in _CLASSES
        else (ActorKind.CAR)
    )


@dataclass(frozen=True, slots=True, eq=False)
class Detections:
    """N reports, column-wise. ``object_id`` is the sender's own id for the object (an RSU's ptcId, or the
    BSM's temporary id as an integer); ``self_report`` marks a vehicle reporting itself."""

    time_ms: IntArray
    source_index: IntArray
    object_id: IntArray
    x_m: FloatArray
    y_m: FloatArray
    speed_mps: FloatArray
    heading_deg: FloatArray
    length_m: FloatArray
    width_m: FloatArray
    kind: IntArray
    self_report: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.time_ms)

    @property
    def velocity_mps(self) -> FloatArray:
        """(N, 2) east and north velocity from speed and heading."""
        heading_rad = np.deg2rad(self.heading_deg)
        return np.column_stack([self.speed_mps * np.sin(heading_rad), self.speed_mps * np.cos(heading_rad)])

    def take(self, index: NDArray[np.int64] | NDArray[np.bool_] | slice) -> Detections:
        return Detections(*(getattr(self, f.name)[index] for f in fields(self)))

    @classmethod
    def empty(cls) -> Detections:
        return concatenate([])

    @classmethod
    def from_rsm(cls, rsm: RSM, *, geo: GeoReference, reference_ms: int, source_index: int) -> Detections:
        """Every participant of one RSM; positions are offsets from the RSM's reference point."""
        return cls.from_rsms(
            [rsm],
            geo=geo,
            reference_ms=np.array([reference_ms], dtype=np.int64),
            source_index=np.array([source_index], dtype=np.int64),
        )

    @classmethod
    def from_rsms(
        cls,
        rsms: list[RSM],
        *,
        geo: GeoReference,
        reference_ms: NDArray[np.int64],
        source_index: NDArray[np.int64],
    ) -> Detections:
        """``from_rsm`` for many RSMs at once (one projection call for all), message ``i`` resolved against
        ``reference_ms[i]`` and tagged ``source_index[i]``; same result, row for row."""
        if not rsms:
            return cls.empty()
        counts = np.fromiter(map(len, map(_participants, rsms)), np.int64, len(rsms))
        participants = list(itertools.chain.from_iterable(map(_participants, rsms)))
        count = len(participants)
        positions = list(map(_pos, participants))
        sizes = list(map(_size, participants))
        ref_lat = np.repeat(_ints(map(operator.attrgetter("ref_pos.lat"), rsms), len(rsms)), counts)
        ref_lon = np.repeat(_ints(map(operator.attrgetter("ref_pos.long"), rsms), len(rsms)), counts)
        lat_units = ref_lat + _ints(map(operator.attrgetter("lat"), positions), count)
        lon_units = ref_lon + _ints(map(operator.attrgetter("lon"), positions), count)
        x_m, y_m = geo.wgs84_to_local(latlon_units_to_deg(lon_units), latlon_units_to_deg(lat_units))
        reference = np.repeat(np.asarray(reference_ms, dtype=np.int64), counts)
        sec_mark = _ints(map(operator.attrgetter("sec_mark"), participants), count)
        return cls(
            time_ms=resolve_sec_marks(sec_mark, reference_epoch_ms=reference),
            source_index=np.repeat(np.asarray(source_index, dtype=np.int64), counts),
            object_id=_ints(map(operator.attrgetter("ptc_id"), participants), count),
            x_m=np.asarray(x_m, dtype=np.float64),
            y_m=np.asarray(y_m, dtype=np.float64),
            speed_mps=speed_units_to_mps(_ints(map(operator.attrgetter("speed"), participants), count)),
            heading_deg=heading_units_to_deg(_ints(map(operator.attrgetter("heading"), participants), count)),
            length_m=_ints(map(operator.attrgetter("length"), sizes), count) / 100.0,
            width_m=_ints(map(operator.attrgetter("width"), sizes), count) / 100.0,
            kind=actor_kinds(
                _ints(map(operator.attrgetter("ptc_type"), participants), count),
                _vehicle_classes(list(map(_vehicle_class, participants))),
            ),
            self_report=np.zeros(count, dtype=np.bool_),
        )

    @classmethod
    def from_bsms(
        cls,
        bsms: list[BSM],
        *,
        geo: GeoReference,
        reference_ms: int | NDArray[np.int64],
        source_index: int,
    ) -> Detections:
        """Connected vehicles' own reports; ``object_id`` is the 8-octet temporary id read as an integer.
        ``reference_ms``: one time for all, or one per message (its arrival)."""
        if not bsms:
            return cls.empty()
        count = len(bsms)
        positions = list(map(_pos, bsms))
        sizes = list(map(_size, bsms))
        lat_units = _ints(map(operator.attrgetter("lat"), positions), count)
        lon_units = _ints(map(operator.attrgetter("long"), positions), count)
        x_m, y_m = geo.wgs84_to_local(latlon_units_to_deg(lon_units), latlon_units_to_deg(lat_units))
        reference = np.broadcast_to(np.asarray(reference_ms, dtype=np.int64), (count,))
        sec_mark = _ints(map(operator.attrgetter("sec_mark"), bsms), count)
        return cls(
            time_ms=resolve_sec_marks(sec_mark, reference_epoch_ms=reference),
            source_index=np.full(count, source_index, dtype=np.int64),
            object_id=temporary_ids(list(map(operator.attrgetter("id"), bsms))),
            x_m=np.asarray(x_m, dtype=np.float64),
            y_m=np.asarray(y_m, dtype=np.float64),
            speed_mps=speed_units_to_mps(_ints(map(operator.attrgetter("speed"), bsms), count)),
            heading_deg=heading_units_to_deg(_ints(map(operator.attrgetter("heading"), bsms), count)),
            length_m=_ints(map(operator.attrgetter("length"), sizes), count) / 100.0,
            width_m=_ints(map(operator.attrgetter("width"), sizes), count) / 100.0,
            kind=actor_kinds(
                np.full(count, int(ParticipantType.MOTOR), np.int64),
                _vehicle_classes(list(map(_vehicle_class, bsms))),
            ),
            self_report=np.ones(count, dtype=np.bool_),
        )


def actor_kinds(ptc_type: IntArray, vehicle_class: IntArray) -> IntArray:
    """``actor_kind`` for arrays; ``vehicle_class`` -1 where the participant has none."""
    known = (vehicle_class >= 0) & (vehicle_class < _CLASS_COUNT)
    by_class = _KIND_BY_CLASS[np.where(known, vehicle_class, _NO_CLASS)]
    kinds: IntArray = np.where(
        ptc_type == ParticipantType.PEDESTRIAN,
        int(ActorKind.PEDESTRIAN),
        np.where(ptc_type == ParticipantType.NON_MOTOR, int(ActorKind.BICYCLE), by_class),
    )
    return kinds


def temporary_ids(ids: list[str]) -> IntArray:
    """BSM ids (hex digits, at most 16) as signed 64-bit integers, all at once; an id that is not hex is
    hashed as ``_temporary_id`` does (rare: one Python call each)."""
    count = len(ids)
    try:
        text = np.array(ids, dtype=f"S{_HEX_DIGITS}") if count else np.empty(0, f"S{_HEX_DIGITS}")
    except UnicodeEncodeError:  # not ASCII, so not hex: every id the slow way
        return np.array([_temporary_id(text) for text in ids], dtype=np.int64)
    digits = _HEX_VALUE[text.view(np.uint8).reshape(count, _HEX_DIGITS)]
    present = text.view(np.uint8).reshape(count, _HEX_DIGITS) != 0  # shorter ids are NUL-padded
    value = np.zeros(count, np.uint64)
    for column in range(_HEX_DIGITS):
        value = np.where(
            present[:, column], (value << np.uint64(4)) | digits[:, column].astype(np.uint64), value
        )
    result = value.view(np.int64)
    bad = np.flatnonzero(((digits < 0) & present).any(axis=1) | ~present[:, 0])
    for row in bad.tolist():
        result[row] = _temporary_id(ids[row])
    return result


def _ints(values: Any, count: int) -> IntArray:
    return np.fromiter(values, np.int64, count)


def _vehicle_classes(classes: list[Any]) -> IntArray:
    """Classification per struct (``VehicleClassification`` or None), -1 for None."""
    present = np.fromiter(map(operator.is_not, classes, itertools.repeat(None)), np.bool_, len(classes))
    out = np.full(len(classes), -1, np.int64)
    out[present] = np.fromiter(
        map(_classification, itertools.compress(classes, present.tolist())), np.int64, int(present.sum())
    )
    return out


class DetectionBuffer:
    """Messages as they arrive, converted to ``Detections`` every ``chunk`` RSMs (2 ``chunk`` BSMs);
    ``take`` returns all converted so far. Times are resolved against each message's arrival.

    The chunk trades numpy's and the projection's fixed cost per call (small chunks) against decoded
    structs that outlive several garbage-collector passes (large ones); 128 RSMs was the best measured."""

    def __init__(self, geo: GeoReference, *, chunk: int = 128) -> None:
        self.geo = geo
        self.chunk = chunk
        self._rsms: list[RSM] = []
        self._rsm_arrival_ms: list[int] = []
        self._rsm_source: list[int] = []
        self._bsms: list[BSM] = []
        self._bsm_arrival_ms: list[int] = []
        self._bsm_source = 0
        self._parts: list[Detections] = []

    def add_rsm(self, rsm: RSM, arrival_ms: int, source_index: int) -> None:
        self._rsms.append(rsm)
        self._rsm_arrival_ms.append(arrival_ms)
        self._rsm_source.append(source_index)
        if len(self._rsms) >= self.chunk:
            self._convert_rsms()

    def add_bsm(self, bsm: BSM, arrival_ms: int, source_index: int) -> None:
        if self._bsms and source_index != self._bsm_source:
            self._convert_bsms()
        self._bsm_source = source_index
        self._bsms.append(bsm)
        self._bsm_arrival_ms.append(arrival_ms)
        if len(self._bsms) >= 2 * self.chunk:  # one participant each: a longer chunk pays its overhead
            self._convert_bsms()

    def take(self) -> Detections:
        """Everything added since the last ``take``, as one batch (RSMs and BSMs in chunk order)."""
        self._convert_rsms()
        self._convert_bsms()
        parts, self._parts = self._parts, []
        return parts[0] if len(parts) == 1 else concatenate(parts)

    def _convert_rsms(self) -> None:
        if self._rsms:
            self._parts.append(
                Detections.from_rsms(
                    self._rsms,
                    geo=self.geo,
                    reference_ms=np.array(self._rsm_arrival_ms, dtype=np.int64),
                    source_index=np.array(self._rsm_source, dtype=np.int64),
                )
            )
            self._rsms, self._rsm_arrival_ms, self._rsm_source = [], [], []

    def _convert_bsms(self) -> None:
        if self._bsms:
            self._parts.append(
                Detections.from_bsms(
                    self._bsms,
                    geo=self.geo,
                    reference_ms=np.array(self._bsm_arrival_ms, dtype=np.int64),
                    source_index=self._bsm_source,
                )
            )
            self._bsms, self._bsm_arrival_ms = [], []


def concatenate(batches: list[Detections]) -> Detections:
    """One batch from many (in order); an empty list gives an empty batch."""

    def column(name: str, dtype: type) -> NDArray[Any]:
        parts = [getattr(batch, name) for batch in batches]
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype)

    return Detections(
        time_ms=column("time_ms", np.int64),
        source_index=column("source_index", np.int64),
        object_id=column("object_id", np.int64),
        x_m=column("x_m", np.float64),
        y_m=column("y_m", np.float64),
        speed_mps=column("speed_mps", np.float64),
        heading_deg=column("heading_deg", np.float64),
        length_m=column("length_m", np.float64),
        width_m=column("width_m", np.float64),
        kind=column("kind", np.int64),
        self_report=column("self_report", np.bool_),
    )


def _temporary_id(text: str) -> int:
    """A BSM id (hex digits, at most 16) as a signed 64-bit integer; other text is hashed."""
    try:
        value = int(text, 16)
    except ValueError:
        value = int.from_bytes(text.encode()[:8].ljust(8, b"\0"), "big")
    return value - (1 << 64) if value >= 1 << 63 else value
