"""Detections: what the field reported, as arrays in the platform's frame — the input of fusion.

A roadside unit's RSM and a vehicle's BSM arrive in message units (1e-7°, 0.02 m/s, 0.0125°, secMark);
fusion works in local metres, m/s, degrees clockwise from north and UTC epoch milliseconds. This module is
the one place that turns one into the other, for any number of participants at once.

Times are the sender's clock resolved against a reference (usually the arrival time): a unit with a clock
offset reports shifted times, and estimating that offset is fusion's job, not this module's.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from roadcloud.map import GeoReference
from roadcloud.messages import BSM, RSM, ActorKind, BasicVehicleClass, ParticipantType
from roadcloud.messages.units import (
    heading_units_to_deg,
    latlon_units_to_deg,
    resolve_sec_mark,
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
        counts = np.array([len(rsm.participants) for rsm in rsms], dtype=np.int64)
        participants = [p for rsm in rsms for p in rsm.participants]
        ref_lat = np.repeat(np.array([rsm.ref_pos.lat for rsm in rsms], dtype=np.int64), counts)
        ref_lon = np.repeat(np.array([rsm.ref_pos.long for rsm in rsms], dtype=np.int64), counts)
        lat_units = ref_lat + np.array([p.pos.lat for p in participants], dtype=np.int64)
        lon_units = ref_lon + np.array([p.pos.lon for p in participants], dtype=np.int64)
        x_m, y_m = geo.wgs84_to_local(latlon_units_to_deg(lon_units), latlon_units_to_deg(lat_units))
        reference = np.repeat(np.asarray(reference_ms, dtype=np.int64), counts)
        sec_mark = np.array([p.sec_mark for p in participants], dtype=np.int64)
        time_ms = resolve_sec_marks(sec_mark, reference_epoch_ms=reference)
        return cls(
            time_ms=time_ms,
            source_index=np.repeat(np.asarray(source_index, dtype=np.int64), counts),
            object_id=np.array([p.ptc_id for p in participants], dtype=np.int64),
            x_m=np.asarray(x_m, dtype=np.float64),
            y_m=np.asarray(y_m, dtype=np.float64),
            speed_mps=speed_units_to_mps(np.array([p.speed for p in participants], dtype=np.int64)),
            heading_deg=heading_units_to_deg(np.array([p.heading for p in participants], dtype=np.int64)),
            length_m=np.array([p.size.length for p in participants], dtype=np.float64) / 100.0,
            width_m=np.array([p.size.width for p in participants], dtype=np.float64) / 100.0,
            kind=np.array(
                [
                    actor_kind(p.ptc_type, p.vehicle_class.classification if p.vehicle_class else None)
                    for p in participants
                ],
                dtype=np.int64,
            ),
            self_report=np.zeros(len(participants), dtype=np.bool_),
        )

    @classmethod
    def from_bsms(
        cls, bsms: list[BSM], *, geo: GeoReference, reference_ms: int, source_index: int
    ) -> Detections:
        """Connected vehicles' own reports; ``object_id`` is the 8-octet temporary id read as an integer."""
        if not bsms:
            return cls.empty()
        lat_units = np.array([b.pos.lat for b in bsms], dtype=np.int64)
        lon_units = np.array([b.pos.long for b in bsms], dtype=np.int64)
        x_m, y_m = geo.wgs84_to_local(latlon_units_to_deg(lon_units), latlon_units_to_deg(lat_units))
        count = len(bsms)
        return cls(
            time_ms=np.array(
                [resolve_sec_mark(b.sec_mark, reference_epoch_ms=reference_ms) for b in bsms], dtype=np.int64
            ),
            source_index=np.full(count, source_index, dtype=np.int64),
            object_id=np.array([_temporary_id(b.id) for b in bsms], dtype=np.int64),
            x_m=np.asarray(x_m, dtype=np.float64),
            y_m=np.asarray(y_m, dtype=np.float64),
            speed_mps=speed_units_to_mps(np.array([b.speed for b in bsms], dtype=np.int64)),
            heading_deg=heading_units_to_deg(np.array([b.heading for b in bsms], dtype=np.int64)),
            length_m=np.array([b.size.length for b in bsms], dtype=np.float64) / 100.0,
            width_m=np.array([b.size.width for b in bsms], dtype=np.float64) / 100.0,
            kind=np.array(
                [actor_kind(ParticipantType.MOTOR, b.vehicle_class.classification) for b in bsms],
                dtype=np.int64,
            ),
            self_report=np.ones(count, dtype=np.bool_),
        )


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
