"""Constructed scenes for fusion tests: objects on straight lines, roadside units and vehicles that report
them as RSM / BSM messages with chosen noise, clock offsets and delays, and a driver that ticks the engine
every 100 ms of arrival time (as ``fuse_recording`` does)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from roadcloud.fusion import FusionConfig, FusionEngine, LdmSnapshot
from roadcloud.map import GeoReference
from roadcloud.messages import BSM, RSM, ActorKind, Message, Position3D
from roadcloud.twin.field import ParticipantColumns, VehicleIdentity, build_bsms, build_rsms

GEO = GeoReference.anchored(116.5055, 39.7953)
START_MS = 1_780_000_000_000
STEP_MS = 100


@dataclass(frozen=True)
class Mover:
    """An object at ``start_xy_m`` at START_MS moving with constant ``velocity_mps`` (east, north)."""

    name: str
    start_xy_m: tuple[float, float]
    velocity_mps: tuple[float, float]
    kind: ActorKind = ActorKind.CAR
    length_m: float = 4.5
    width_m: float = 1.8

    def position(self, time_ms: int) -> tuple[float, float]:
        dt_s = (time_ms - START_MS) / 1000.0
        return (
            self.start_xy_m[0] + self.velocity_mps[0] * dt_s,
            self.start_xy_m[1] + self.velocity_mps[1] * dt_s,
        )

    @property
    def speed_mps(self) -> float:
        return float(np.hypot(*self.velocity_mps))

    @property
    def heading_deg(self) -> float:
        return float(np.rad2deg(np.arctan2(*self.velocity_mps)) % 360.0)


@dataclass
class Unit:
    """A roadside unit seeing movers within ``range_m`` (optionally only x in ``x_window_m``)."""

    unit_id: str
    xy_m: tuple[float, float]
    range_m: float = 150.0
    clock_offset_ms: int = 0
    delay_ms: int = 40
    noise_m: float = 0.0
    fresh_ids: bool = False  # a new object id every frame: no identity help for fusion
    ids: dict[str, int] = field(default_factory=dict)
    issued: int = 0

    def object_id(self, name: str, frame: int) -> int:
        if self.fresh_ids:
            self.issued += 1
            return self.issued % 65536
        return self.ids.setdefault(name, len(self.ids) + 1)


def rsm_message(
    unit_id: str,
    *,
    xy_m: Sequence[tuple[float, float]],
    movers: Sequence[Mover],
    object_ids: list[int],
    sender_ms: int,
) -> RSM:
    """One RSM from ``unit_id`` reporting ``movers`` at ``xy_m``; the unit's clock reads ``sender_ms``."""
    x_m = np.array([p[0] for p in xy_m])
    y_m = np.array([p[1] for p in xy_m])
    lon_deg, lat_deg = GEO.local_to_wgs84(x_m, y_m)
    ref_lon, ref_lat = GEO.local_to_wgs84(np.array([0.0]), np.array([0.0]))
    ref = np.rint(np.array([ref_lon[0], ref_lat[0]]) * 1e7).astype(np.int64)
    count = len(movers)
    columns = ParticipantColumns.convert(
        lon_deg=lon_deg,
        lat_deg=lat_deg,
        ref_lon_units=np.full(count, ref[0]),
        ref_lat_units=np.full(count, ref[1]),
        speed_mps=np.array([m.speed_mps for m in movers]),
        heading_deg=np.array([m.heading_deg for m in movers]),
        length_m=np.array([m.length_m for m in movers]),
        width_m=np.array([m.width_m for m in movers]),
        kind=np.array([int(m.kind) for m in movers], dtype=np.int64),
    )
    (rsm,) = build_rsms(
        unit_id=unit_id,
        ref_pos=Position3D(lat=int(ref[1]), long=int(ref[0])),
        sec_mark=sender_ms % 60_000,
        first_msg_cnt=0,
        object_ids=object_ids,
        columns=columns,
        start=0,
        stop=count,
    )
    return rsm


def bsm_message(mover: Mover, *, xy_m: tuple[float, float], measured_ms: int) -> BSM:
    lon_deg, lat_deg = GEO.local_to_wgs84(np.array([xy_m[0]]), np.array([xy_m[1]]))
    identity = VehicleIdentity.of(mover.name, length_m=mover.length_m, width_m=mover.width_m, kind=mover.kind)
    (bsm,) = build_bsms(
        identities=[identity],
        msg_counts=[0],
        sec_mark=measured_ms % 60_000,
        lon_deg=lon_deg,
        lat_deg=lat_deg,
        speed_mps=np.array([mover.speed_mps]),
        heading_deg=np.array([mover.heading_deg]),
    )
    return bsm


def rsm_topic(unit_id: str) -> str:
    return f"roadcloud/v1/test/rsu/{unit_id}/rsm/up"


def bsm_topic(mover: Mover) -> str:
    return f"roadcloud/v1/test/vehicle/{mover.name}/bsm/up"


Delivery = tuple[int, str, Message]


def scene(
    movers: Sequence[Mover],
    units: Sequence[Unit],
    *,
    duration_ms: int,
    connected: Sequence[str] = (),
    bsm_noise_m: float = 0.0,
    bsm_delay_ms: int = 50,
    seed: int = 0,
) -> list[Delivery]:
    """Every RSM and BSM of the scene as (arrival_ms, topic, message), sorted by arrival."""
    rng = np.random.default_rng(seed)
    deliveries: list[Delivery] = []
    for frame, time_ms in enumerate(range(START_MS, START_MS + duration_ms, STEP_MS)):
        for unit in units:
            seen = [
                m
                for m in movers
                if np.hypot(m.position(time_ms)[0] - unit.xy_m[0], m.position(time_ms)[1] - unit.xy_m[1])
                <= unit.range_m
            ]
            if not seen:
                continue
            xy = [
                (
                    m.position(time_ms)[0] + rng.normal(0, unit.noise_m),
                    m.position(time_ms)[1] + rng.normal(0, unit.noise_m),
                )
                if unit.noise_m
                else m.position(time_ms)
                for m in seen
            ]
            message = rsm_message(
                unit.unit_id,
                xy_m=xy,
                movers=seen,
                object_ids=[unit.object_id(m.name, frame) for m in seen],
                sender_ms=time_ms + unit.clock_offset_ms,
            )
            deliveries.append((time_ms + unit.delay_ms, rsm_topic(unit.unit_id), message))
        for mover in movers:
            if mover.name in connected:
                x, y = mover.position(time_ms)
                if bsm_noise_m:
                    x, y = x + rng.normal(0, bsm_noise_m), y + rng.normal(0, bsm_noise_m)
                deliveries.append(
                    (
                        time_ms + bsm_delay_ms,
                        bsm_topic(mover),
                        bsm_message(mover, xy_m=(x, y), measured_ms=time_ms),
                    )
                )
    deliveries.sort(key=lambda d: d[0])
    return deliveries


def drive(engine: FusionEngine, deliveries: Sequence[Delivery], *, until_ms: int) -> list[LdmSnapshot]:
    """Feed by arrival time; tick at every 100 ms boundary once all deliveries up to it are in."""
    snapshots = []
    next_tick = START_MS
    for arrival_ms, topic, message in deliveries:
        while arrival_ms > next_tick:
            snapshots.append(engine.tick(next_tick))
            next_tick += STEP_MS
        engine.add(topic, message, arrival_ms)
    while next_tick <= until_ms:
        snapshots.append(engine.tick(next_tick))
        next_tick += STEP_MS
    return snapshots


WORKERS = 0
"""Worker processes of the engines ``new_engine`` makes (tests run the in-process and parallel engines)."""
ENGINES: list[FusionEngine] = []
"""Engines made by ``new_engine``, closed by the tests' fixture."""


def new_engine(**settings: float) -> FusionEngine:
    engine = FusionEngine(FusionConfig(**{"workers": WORKERS, **settings}), GEO)  # type: ignore[arg-type]
    ENGINES.append(engine)
    return engine


def nearest_id(snapshot: LdmSnapshot, xy_m: tuple[float, float], *, within_m: float = 2.0) -> int | None:
    rows = snapshot.around(xy_m[0], xy_m[1], within_m)
    return int(snapshot.track_id[rows[0]]) if len(rows) else None
