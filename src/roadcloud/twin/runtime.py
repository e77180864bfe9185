"""The digital twin's run loop: SUMO through libsumo, every 100 ms, all field streams.

Each step reads every actor through subscriptions (one call for all vehicles, one for all persons, no
per-vehicle getters), senses them with every roadside unit at once (``sensors.sense``), and builds the wire
messages a real field would send: RSM per unit, BSM per connected vehicle, SPAT per signal controller,
MAP once (retained), heartbeats every second, plus the ground truth. Each message is stamped with its
sender's clock (units have a clock offset) and delivered after its sender's network delay, so the cloud
sees late, out-of-order data exactly as it would in the field.

libsumo holds one simulation per process: one ``Twin`` runs at a time.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import libsumo
import msgspec
import numpy as np
from traci import constants as tc

from roadcloud.bus.topics import topic
from roadcloud.errors import SettingError
from roadcloud.messages import (
    ActorKind,
    GroundTruth,
    Heartbeat,
    Position3D,
)
from roadcloud.messages.json_codec import encode
from roadcloud.messages.units import deg_to_latlon_units, epoch_ms_to_moy, epoch_ms_to_sec_mark
from roadcloud.twin.devices import (
    ZoneDevice,
    junction_node_ids,
    road_signals,
    signal_device_id,
    zone_devices,
)
from roadcloud.twin.field import (
    ParticipantColumns,
    VehicleIdentity,
    build_bsms,
    build_map_messages,
    build_rsms,
)
from roadcloud.twin.incidents import IncidentRunner
from roadcloud.twin.manifest import Manifest, load_manifest, load_zone_map
from roadcloud.twin.reception import DownlinkReception
from roadcloud.twin.sensors import SENSOR_NOISE_PRESETS, Actors, Detections, RoadsideUnits, SensorModel, sense
from roadcloud.twin.signals import ProgramTiming, build_spat

STEP_S = 0.1
HEARTBEAT_PERIOD_S = 1.0
VEHICLE_UPLINK_DELAY_MS = 40  # cellular (LTE-V2X Uu) uplink to the cloud
VEHICLE_UPLINK_JITTER_MS = 20
SIGNAL_UPLINK_DELAY_MS = 20  # signal controllers sit on the wired roadside network
GNSS_SPEED_NOISE_MPS = 0.1
GNSS_HEADING_NOISE_DEG = 1.0

# Only what changes each step; size and class are read once when a vehicle departs.
_VEHICLE_VARIABLES = [
    tc.VAR_POSITION,
    tc.VAR_SPEED,
    tc.VAR_ANGLE,
    tc.VAR_LANE_ID,
]
# Length and width are vType variables; libsumo files a person's under its type id, so they are constants.
_PERSON_VARIABLES = [tc.VAR_POSITION, tc.VAR_SPEED, tc.VAR_ANGLE, tc.VAR_ROAD_ID]
_KIND_OF_CLASS = {
    "passenger": ActorKind.CAR,
    "taxi": ActorKind.CAR,
    "private": ActorKind.CAR,
    "evehicle": ActorKind.CAR,
    "bus": ActorKind.BUS,
    "coach": ActorKind.BUS,
    "truck": ActorKind.TRUCK,
    "trailer": ActorKind.TRUCK,
    "delivery": ActorKind.TRUCK,
    "motorcycle": ActorKind.MOTORCYCLE,
    "moped": ActorKind.MOTORCYCLE,
    "bicycle": ActorKind.BICYCLE,
}
PEDESTRIAN_LENGTH_M = 0.215  # SUMO's default pedestrian type
PEDESTRIAN_WIDTH_M = 0.478
_MOTOR_KINDS = frozenset({ActorKind.CAR, ActorKind.BUS, ActorKind.TRUCK, ActorKind.MOTORCYCLE})
_DEVICE_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")


@dataclass(frozen=True, slots=True)
class Emission:
    """One message as it reaches the cloud: UTC epoch ms of delivery, topic, wire payload."""

    delivery_ms: int
    topic: str
    payload: bytes


@dataclass(slots=True)
class TwinStats:
    time_s: float = 0.0
    vehicles: int = 0
    pedestrians: int = 0
    connected: int = 0
    detections: int = 0
    messages: int = 0
    incidents_active: int = 0
    peak_vehicles: int = 0
    totals: dict[str, int] = field(default_factory=dict)  # messages per type since start
    sumo_s: float = 0.0  # wall time inside SUMO (stepping and reading subscriptions)
    sensing_s: float = 0.0  # wall time in the sensor model
    messages_s: float = 0.0  # wall time building and encoding messages


def sensor_model_for(manifest: Manifest, noise: str | None = None) -> SensorModel:
    """The manifest's preset with its per-field overrides applied (or another preset, when asked)."""
    preset = noise or manifest.sensors.noise
    if preset not in SENSOR_NOISE_PRESETS:
        raise SettingError(
            f"noise preset {preset!r} is unknown; use one of {', '.join(SENSOR_NOISE_PRESETS)}"
        )
    model = SENSOR_NOISE_PRESETS[preset]
    overrides = {
        name: getattr(manifest.sensors, name)
        for name in (
            "position_noise_m",
            "speed_noise_mps",
            "heading_noise_deg",
            "size_noise_m",
            "miss_rate",
            "false_alarms_per_frame",
        )
        if getattr(manifest.sensors, name) is not None and noise is None
    }
    return replace(model, **overrides)


class Twin:
    """Runs one zone; iterate ``run()`` to get, per step, the messages delivered during it."""

    def __init__(
        self,
        zone_dir: Path,
        *,
        duration_s: float | None = None,
        noise: str | None = None,
        delay_ms: int | None = None,
        seed: int | None = None,
        start_epoch_ms: int | None = None,
    ) -> None:
        """``start_epoch_ms`` overrides the manifest's start time: a live twin runs on today's clock."""
        self.manifest, self.folder = load_manifest(zone_dir)
        if duration_s is not None and duration_s <= 0:
            raise SettingError(f"duration is {duration_s} s; give a positive number of seconds")
        if delay_ms is not None and delay_ms < 0:
            raise SettingError(f"network delay is {delay_ms} ms; give zero or more")
        self.duration_s = duration_s if duration_s is not None else self.manifest.zone.duration_s
        self.seed = seed if seed is not None else self.manifest.zone.seed
        self.sensor_model = sensor_model_for(self.manifest, noise)
        self.road_map = load_zone_map(self.manifest, self.folder)
        self.zone = self.manifest.zone.name
        self.start_epoch_ms = start_epoch_ms if start_epoch_ms is not None else self.manifest.start_epoch_ms
        specs = self.manifest.rsu
        if delay_ms is not None:
            specs = [msgspec.structs.replace(unit, network_delay_ms=delay_ms) for unit in specs]
        self.unit_specs = specs
        self.units = RoadsideUnits(
            x_m=np.array([u.x_m for u in specs]),
            y_m=np.array([u.y_m for u in specs]),
            range_m=np.array([u.range_m for u in specs]),
            fov_deg=np.array([u.fov_deg for u in specs]),
            facing_deg=np.array([u.facing_deg for u in specs]),
        )
        self.unit_lon_deg, self.unit_lat_deg = self.road_map.geo.local_to_wgs84(
            self.units.x_m, self.units.y_m
        )
        self._unit_ref_units = np.column_stack(
            [deg_to_latlon_units(self.unit_lon_deg), deg_to_latlon_units(self.unit_lat_deg)]
        ).reshape(-1, 2)
        self._unit_ref_pos = [
            Position3D(lat=int(lat), long=int(lon)) for lon, lat in self._unit_ref_units.tolist()
        ]
        self._unit_jitter_ms = np.array([u.network_jitter_ms for u in specs], dtype=np.int64)
        self._topics: dict[tuple[str, str, str], str] = {}
        self.signals = road_signals(self.road_map)
        self.node_ids = junction_node_ids(self.road_map)
        self.devices = zone_devices(self.manifest, self.road_map)
        self.stats = TwinStats()
        # The connected vehicles' receiving side: subscribe ``receive`` to the zone's downlink topics.
        self.reception = DownlinkReception(self.road_map.geo, specs, zone=self.zone)
        self._rng = np.random.default_rng(self.seed)
        self._connected_threshold = int(self.manifest.demand.connected_share * 2**64)
        self._connected: dict[str, bool] = {}
        self._identities: dict[str, VehicleIdentity] = {}
        self._static: dict[str, tuple[ActorKind, float, float]] = {}  # kind, length_m, width_m
        self._msg_counts: dict[str, int] = {}
        self._object_ids: list[dict[str, int]] = [{} for _ in specs]
        self._next_object_id = [0] * len(specs)
        self._timings: dict[str, ProgramTiming] = {}
        self._queue: list[tuple[int, int, str, bytes]] = []
        self._sequence = 0

    # -- public -------------------------------------------------------------------------------------

    def run(self) -> Iterator[list[Emission]]:
        """Start SUMO, yield each step's deliveries, always close SUMO (also when the caller stops early)."""
        self._start_sumo()
        incidents = IncidentRunner(
            list(self.manifest.incident), self.road_map, start_epoch_ms=self.start_epoch_ms, seed=self.seed
        )
        try:
            self._emit_map()
            steps = round(self.duration_s / STEP_S)
            for _ in range(steps):
                tick = time.perf_counter()
                libsumo.simulationStep()
                time_s = round(libsumo.simulation.getTime(), 3)
                results = libsumo.simulation.getSubscriptionResults()
                departed = set(results[tc.VAR_DEPARTED_VEHICLES_IDS])
                arrived = set(results[tc.VAR_ARRIVED_VEHICLES_IDS])
                for vehicle_id in departed:
                    libsumo.vehicle.subscribe(vehicle_id, _VEHICLE_VARIABLES)
                    self._static[vehicle_id] = (
                        _KIND_OF_CLASS.get(libsumo.vehicle.getVehicleClass(vehicle_id), ActorKind.CAR),
                        libsumo.vehicle.getLength(vehicle_id),
                        libsumo.vehicle.getWidth(vehicle_id),
                    )
                for vehicle_id in arrived:  # forget them, so long runs do not grow without bound
                    self._static.pop(vehicle_id, None)
                    self._connected.pop(vehicle_id, None)
                    self._identities.pop(vehicle_id, None)
                for person_id in results[tc.VAR_DEPARTED_PERSONS_IDS]:
                    libsumo.person.subscribe(person_id, _PERSON_VARIABLES)
                incidents.step(time_s, departed, arrived)
                self.stats.sumo_s += time.perf_counter() - tick
                self._emit_step(time_s, incidents)
                yield self._deliver_until(self._epoch_ms(time_s))
            yield self._deliver_until(None)
        finally:
            libsumo.close()
        self.incident_truth = incidents.all_truth

    def receive(self, topic: str, payload: bytes) -> None:
        """Bus handler for the cloud's downlink (``zone_filter(zone, direction="down")``); thread-safe,
        delivered to the vehicles at the next steps (``reception``)."""
        self.reception.receive(topic, payload)

    def zone_devices(self) -> list[ZoneDevice]:
        """Every roadside device of the zone with its position, for provisioning the registry."""
        return list(self.devices)

    # -- SUMO ---------------------------------------------------------------------------------------

    def _start_sumo(self) -> None:
        if libsumo.simulation.isLoaded():
            raise SettingError("a twin is already running in this process; libsumo runs one at a time")
        route_files = ",".join(str(self.folder / name) for name in self.manifest.demand.route_files)
        libsumo.start(
            [
                "sumo",
                "--net-file",
                str(self.folder / self.manifest.network.file),
                "--route-files",
                route_files,
                "--additional-files",
                str(self.folder / "vtypes.add.xml"),
                "--step-length",
                f"{STEP_S}",
                "--seed",
                str(self.seed),
                "--end",
                f"{self.duration_s + 1:.1f}",
                "--ignore-route-errors",
                "true",
                "--time-to-teleport",
                "300",
                "--no-step-log",
                "true",
                "--no-warnings",
                "true",
                "--duration-log.disable",
                "true",
            ]
        )
        libsumo.simulation.subscribe(
            [tc.VAR_DEPARTED_VEHICLES_IDS, tc.VAR_ARRIVED_VEHICLES_IDS, tc.VAR_DEPARTED_PERSONS_IDS]
        )
        for tls_id in self.signals:
            libsumo.trafficlight.subscribe(
                tls_id, [tc.TL_CURRENT_PHASE, tc.TL_NEXT_SWITCH, tc.TL_CURRENT_PROGRAM]
            )

    # -- one step -----------------------------------------------------------------------------------

    def _emit_step(self, time_s: float, incidents: IncidentRunner) -> None:
        epoch_ms = self._epoch_ms(time_s)
        tick = time.perf_counter()
        vehicles = {key: row for key, row in libsumo.vehicle.getAllSubscriptionResults().items() if row}
        persons = {key: row for key, row in libsumo.person.getAllSubscriptionResults().items() if row}
        read = time.perf_counter()
        self.stats.sumo_s += read - tick
        scripted = incidents.scripted_actors(time_s)
        ids = [*vehicles, *persons, *(actor.actor_id for actor in scripted)]
        vehicle_rows = list(vehicles.values())
        person_rows = list(persons.values())
        static = [self._static[vehicle_id] for vehicle_id in vehicles]
        kinds = np.array(
            [kind for kind, _, _ in static]
            + [ActorKind.PEDESTRIAN] * len(person_rows)
            + [actor.kind for actor in scripted],
            dtype=np.int64,
        )
        xy = np.array(
            [row[tc.VAR_POSITION] for row in vehicle_rows]
            + [row[tc.VAR_POSITION] for row in person_rows]
            + [(actor.x_m, actor.y_m) for actor in scripted],
            dtype=np.float64,
        ).reshape(-1, 2)
        speed_mps = np.array(
            [row[tc.VAR_SPEED] for row in vehicle_rows]
            + [row[tc.VAR_SPEED] for row in person_rows]
            + [actor.speed_mps for actor in scripted],
            dtype=np.float64,
        )
        heading_deg = np.array(
            [row[tc.VAR_ANGLE] for row in vehicle_rows]
            + [row[tc.VAR_ANGLE] for row in person_rows]
            + [actor.heading_deg for actor in scripted],
            dtype=np.float64,
        )
        length_m = np.array(
            [length for _, length, _ in static]
            + [PEDESTRIAN_LENGTH_M] * len(person_rows)
            + [actor.length_m for actor in scripted],
            dtype=np.float64,
        )
        width_m = np.array(
            [width for _, _, width in static]
            + [PEDESTRIAN_WIDTH_M] * len(person_rows)
            + [actor.width_m for actor in scripted],
            dtype=np.float64,
        )
        # SUMO places a vehicle (and a person) at its front bumper; the V2X reference point, the truth
        # and every sensor use the centre of the box, half a length behind it along the heading.
        from_sumo = len(vehicle_rows) + len(person_rows)
        heading_rad = np.deg2rad(heading_deg[:from_sumo])
        xy[:from_sumo, 0] -= np.sin(heading_rad) * length_m[:from_sumo] / 2.0
        xy[:from_sumo, 1] -= np.cos(heading_rad) * length_m[:from_sumo] / 2.0
        lane_ids = (
            [row[tc.VAR_LANE_ID] for row in vehicle_rows]
            + [row[tc.VAR_ROAD_ID] for row in person_rows]
            + [actor.lane_id for actor in scripted]
        )
        connected = [
            self._is_connected(vehicle_id, kind)
            for vehicle_id, kind in zip(vehicles, kinds.tolist(), strict=False)
        ]
        connected += [False] * (len(person_rows) + len(scripted))

        truth = GroundTruth(
            time_ms=epoch_ms,
            actor_ids=ids,
            kinds=kinds.tolist(),
            x_m=np.round(xy[:, 0], 3).tolist(),
            y_m=np.round(xy[:, 1], 3).tolist(),
            speed_mps=np.round(speed_mps, 3).tolist(),
            heading_deg=np.round(heading_deg, 2).tolist(),
            length_m=length_m.tolist(),
            width_m=width_m.tolist(),
            lane_ids=lane_ids,
            connected=connected,
            incidents=incidents.active,
        )
        self._push(epoch_ms, self._topic("twin", "truth", "truth"), encode(truth), "truth")

        actors = Actors(
            x_m=xy[:, 0],
            y_m=xy[:, 1],
            speed_mps=speed_mps,
            heading_deg=heading_deg,
            length_m=length_m,
            width_m=width_m,
            kind=kinds,
        )
        sensed = time.perf_counter()
        detections = sense(self.units, actors, self.sensor_model, self._rng)
        sensing_s = time.perf_counter() - sensed
        self.stats.sensing_s += sensing_s
        self._emit_rsms(epoch_ms, detections, ids)
        self._emit_bsms(
            epoch_ms,
            ids=ids,
            xy=xy,
            speed_mps=speed_mps,
            heading_deg=heading_deg,
            length_m=length_m,
            width_m=width_m,
            kinds=kinds,
            connected=connected,
        )
        self._emit_spats(epoch_ms, time_s)
        self.reception.step(epoch_ms, ids=ids, xy=xy, heading_deg=heading_deg, connected=connected)
        if round(time_s * 10) % round(HEARTBEAT_PERIOD_S * 10) == 0:
            self._emit_heartbeats(epoch_ms, time_s)

        self.stats.messages_s += time.perf_counter() - read - sensing_s
        self.stats.time_s = time_s
        self.stats.vehicles = len(vehicles)
        self.stats.peak_vehicles = max(self.stats.peak_vehicles, len(vehicles))
        self.stats.pedestrians = len(persons)
        self.stats.connected = sum(connected)
        self.stats.detections = len(detections.unit_index)
        self.stats.incidents_active = len(incidents.active)

    def _emit_rsms(self, epoch_ms: int, d: Detections, ids: list[str]) -> None:
        if len(d.unit_index) == 0:
            return
        lon_deg, lat_deg = self.road_map.geo.local_to_wgs84(d.x_m, d.y_m)
        columns = ParticipantColumns.convert(
            lon_deg=lon_deg,
            lat_deg=lat_deg,
            ref_lon_units=self._unit_ref_units[d.unit_index, 0],
            ref_lat_units=self._unit_ref_units[d.unit_index, 1],
            speed_mps=d.speed_mps,
            heading_deg=d.heading_deg,
            length_m=d.length_m,
            width_m=d.width_m,
            kind=d.kind,
        )
        bounds = d.offsets(len(self.unit_specs)).tolist()
        actor_index = d.actor_index.tolist()
        jitters = self._rng.integers(0, self._unit_jitter_ms + 1).tolist()
        for unit_number, spec in enumerate(self.unit_specs):
            start, stop = bounds[unit_number], bounds[unit_number + 1]
            if start == stop:
                continue
            object_ids = [
                self._object_id(unit_number, ids[a] if a >= 0 else None) for a in actor_index[start:stop]
            ]
            rsms = build_rsms(
                unit_id=spec.id,
                ref_pos=self._unit_ref_pos[unit_number],
                sec_mark=epoch_ms_to_sec_mark(epoch_ms + spec.clock_offset_ms),  # the unit's own clock
                first_msg_cnt=self._next_count(spec.id),
                object_ids=object_ids,
                columns=columns,
                start=start,
                stop=stop,
            )
            self._msg_counts[spec.id] += len(rsms) - 1
            delivery_ms = epoch_ms + spec.network_delay_ms + jitters[unit_number]
            rsm_topic = self._topic("rsu", spec.id, "rsm")
            for rsm in rsms:
                self._push(delivery_ms, rsm_topic, encode(rsm), "rsm")

    def _emit_bsms(
        self,
        epoch_ms: int,
        *,
        ids: list[str],
        xy: np.ndarray,
        speed_mps: np.ndarray,
        heading_deg: np.ndarray,
        length_m: np.ndarray,
        width_m: np.ndarray,
        kinds: np.ndarray,
        connected: list[bool],
    ) -> None:
        rows = np.flatnonzero(np.array(connected, dtype=bool))
        if len(rows) == 0:
            return
        gnss = self.manifest.sensors.gnss_noise_m
        noisy_x = xy[rows, 0] + self._rng.normal(0.0, gnss, len(rows))
        noisy_y = xy[rows, 1] + self._rng.normal(0.0, gnss, len(rows))
        lon_deg, lat_deg = self.road_map.geo.local_to_wgs84(noisy_x, noisy_y)
        noisy_speed = np.abs(speed_mps[rows] + self._rng.normal(0.0, GNSS_SPEED_NOISE_MPS, len(rows)))
        noisy_heading = heading_deg[rows] + self._rng.normal(0.0, GNSS_HEADING_NOISE_DEG, len(rows))
        delays = VEHICLE_UPLINK_DELAY_MS + self._rng.integers(0, VEHICLE_UPLINK_JITTER_MS + 1, len(rows))
        identities = [
            self._identity(ids[row], length_m=length_m[row], width_m=width_m[row], kind=kinds[row])
            for row in rows.tolist()
        ]
        bsms = build_bsms(
            identities=identities,
            msg_counts=[self._next_count(identity.bsm_id) for identity in identities],
            sec_mark=epoch_ms_to_sec_mark(epoch_ms),
            lon_deg=lon_deg,
            lat_deg=lat_deg,
            speed_mps=noisy_speed,
            heading_deg=noisy_heading,
        )
        for bsm, delay_ms in zip(bsms, delays.tolist(), strict=True):
            self._push(epoch_ms + delay_ms, self._topic("vehicle", bsm.id, "bsm"), encode(bsm), "bsm")

    def _emit_spats(self, epoch_ms: int, time_s: float) -> None:
        moy = epoch_ms_to_moy(epoch_ms)
        sec_mark = epoch_ms_to_sec_mark(epoch_ms)
        states = libsumo.trafficlight.getAllSubscriptionResults()
        for tls_id, controller in self.signals.items():
            state = states[tls_id]
            timing = self._timing(tls_id, state[tc.TL_CURRENT_PROGRAM])
            phase_index = min(state[tc.TL_CURRENT_PHASE], len(timing.by_phase) - 1)
            remaining_s = max(state[tc.TL_NEXT_SWITCH] - time_s, 0.0)
            node_id = self.node_ids[controller.junction_ids[0]]
            spat = build_spat(
                timing.by_phase[phase_index],
                remaining_s=remaining_s,
                node_id=node_id,
                msg_cnt=self._next_count(tls_id),
                moy=moy,
                sec_mark=sec_mark,
            )
            device_id = signal_device_id(node_id)
            self._push(
                epoch_ms + SIGNAL_UPLINK_DELAY_MS,
                self._topic("signal", device_id, "spat"),
                encode(spat),
                "spat",
            )

    def _emit_map(self) -> None:
        epoch_ms = self.start_epoch_ms
        for map_message in build_map_messages(self.road_map, self.node_ids):
            device_id = signal_device_id(map_message.nodes[0].id.id)
            self._push(epoch_ms, topic(self.zone, "signal", device_id, "map"), encode(map_message), "map")

    def _emit_heartbeats(self, epoch_ms: int, time_s: float) -> None:
        offsets_ms = {unit.id: unit.clock_offset_ms for unit in self.unit_specs}
        for device in self.devices:
            clock_ms = epoch_ms + offsets_ms.get(device.device_id, 0)  # each device's own clock
            heartbeat = Heartbeat(
                device_id=device.device_id,
                device_kind=device.kind,
                moy=epoch_ms_to_moy(clock_ms),
                sec_mark=epoch_ms_to_sec_mark(clock_ms),
                uptime_s=int(time_s),
                firmware="roadcloud-twin",
            )
            self._push(
                epoch_ms + SIGNAL_UPLINK_DELAY_MS,
                self._topic(device.kind.value, device.device_id, "heartbeat"),
                encode(heartbeat),
                "heartbeat",
            )

    # -- helpers ------------------------------------------------------------------------------------

    def _timing(self, tls_id: str, program_id: str) -> ProgramTiming:
        cached = self._timings.get(tls_id)
        if cached is not None and cached.program_id == program_id:
            return cached
        logic = next(
            (lg for lg in libsumo.trafficlight.getAllProgramLogics(tls_id) if lg.programID == program_id),
            None,
        )
        if logic is None:
            raise SettingError(f"signal {tls_id} runs program {program_id!r}, which SUMO does not list")
        group_links = [group.link_indices[0] for group in self.signals[tls_id].groups]
        timing = ProgramTiming.from_program(
            program_id, [(phase.duration, phase.state) for phase in logic.phases], group_links
        )
        self._timings[tls_id] = timing
        return timing

    def _identity(self, vehicle_id: str, *, length_m: float, width_m: float, kind: int) -> VehicleIdentity:
        identity = self._identities.get(vehicle_id)
        if identity is None:
            identity = self._identities[vehicle_id] = VehicleIdentity.of(
                vehicle_id, length_m=float(length_m), width_m=float(width_m), kind=ActorKind(int(kind))
            )
        return identity

    def _is_connected(self, vehicle_id: str, kind: int) -> bool:
        known = self._connected.get(vehicle_id)
        if known is not None:
            return known
        draw = int.from_bytes(
            hashlib.blake2b(f"{self.seed}:{vehicle_id}".encode(), digest_size=8).digest(), "big"
        )
        connected = (
            kind in _MOTOR_KINDS
            and draw < self._connected_threshold
            and not vehicle_id.startswith("incident_")
        )
        self._connected[vehicle_id] = connected
        return connected

    def _object_id(self, unit_number: int, actor_id: str | None) -> int:
        """The unit's own object id: stable while it sees an actor, fresh for every false alarm."""
        table = self._object_ids[unit_number]
        if actor_id is not None and actor_id in table:
            return table[actor_id]
        object_id = self._next_object_id[unit_number]
        self._next_object_id[unit_number] = (object_id + 1) % 65536
        if actor_id is not None:
            table[actor_id] = object_id
        return object_id

    def _next_count(self, sender: str) -> int:
        count = self._msg_counts.get(sender, -1) + 1
        self._msg_counts[sender] = count
        return count % 128

    def _topic(self, device_kind: str, device_id: str, message: str) -> str:
        """Topic strings are built and checked once per device and message type, then reused."""
        key = (device_kind, device_id, message)
        cached = self._topics.get(key)
        if cached is None:
            cached = self._topics[key] = topic(self.zone, device_kind, device_id, message)
        return cached

    def _epoch_ms(self, time_s: float) -> int:
        return self.start_epoch_ms + round(time_s * 1000)

    def _push(self, delivery_ms: int, topic_name: str, payload: bytes, kind: str) -> None:
        heapq.heappush(self._queue, (delivery_ms, self._sequence, topic_name, payload))
        self._sequence += 1
        self.stats.totals[kind] = self.stats.totals.get(kind, 0) + 1

    def _deliver_until(self, epoch_ms: int | None) -> list[Emission]:
        delivered = []
        while self._queue and (epoch_ms is None or self._queue[0][0] <= epoch_ms):
            delivery_ms, _, topic_name, payload = heapq.heappop(self._queue)
            delivered.append(Emission(delivery_ms, topic_name, payload))
        self.stats.messages += len(delivered)
        return delivered
