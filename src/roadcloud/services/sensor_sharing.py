"""Sensor sharing: each connected vehicle gets the fused objects around it, including those its own
sensors cannot see (behind a truck, round a corner, beyond their range).

Data flow: ``LdmSnapshot`` (every fused track) + ``VehicleStates`` ─▶ ``SensorSharing.share`` ─▶ one RSM
per vehicle due (``vehicle/{id}/rsm/down``), sent under the cloud's id with the vehicle's own position as
reference. The RSM is the message a roadside unit uses for the same purpose, so an OBU needs nothing new.

Per frame: the vehicles due (once per ``sharing_period_ms`` each, spread over the period by
``Cadence``) are moved to the snapshot's time, one k-d tree query finds each one's nearest
``sharing_max_objects + 1`` tracks within ``sharing_radius_m``, and the track that is the vehicle itself
(closest to its own report, same heading) is dropped. No per-object Python work except building the
message structs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.map import GeoReference
from roadcloud.messages import (
    RSM,
    ActorKind,
    BasicVehicleClass,
    ParticipantData,
    ParticipantType,
    Position3D,
    PositionOffsetLL,
    SourceType,
    VehicleClassification,
    VehicleSize,
)
from roadcloud.messages.units import (
    deg_to_heading_units,
    deg_to_latlon_units,
    epoch_ms_to_sec_mark,
    m_to_cm,
    mps_to_speed_units,
)
from roadcloud.services.config import ServiceConfig
from roadcloud.services.vehicles import Cadence, VehicleStates

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

# ActorKind (the LDM's class; 0 = not known yet) → what an RSM participant says.
_PTC_TYPE = np.full(max(ActorKind) + 1, int(ParticipantType.UNKNOWN), dtype=np.int64)
_VEHICLE_CLASS = np.full(max(ActorKind) + 1, -1, dtype=np.int64)  # -1: no vehicle class
for _kind, _ptc, _class in (
    (ActorKind.CAR, ParticipantType.MOTOR, BasicVehicleClass.PASSENGER),
    (ActorKind.BUS, ParticipantType.MOTOR, BasicVehicleClass.TRANSIT),
    (ActorKind.TRUCK, ParticipantType.MOTOR, BasicVehicleClass.TRUCK),
    (ActorKind.MOTORCYCLE, ParticipantType.MOTOR, BasicVehicleClass.MOTORCYCLE),
    (ActorKind.BICYCLE, ParticipantType.NON_MOTOR, BasicVehicleClass.CYCLIST),
):
    _PTC_TYPE[_kind] = _ptc
    _VEHICLE_CLASS[_kind] = _class
_PTC_TYPE[ActorKind.PEDESTRIAN] = ParticipantType.PEDESTRIAN
_PARTICIPANT_TYPES = {int(member): member for member in ParticipantType}
# Immutable and few: shared between messages instead of built for every participant.
_CLASSIFICATIONS = {int(c): VehicleClassification(classification=int(c)) for c in _VEHICLE_CLASS if c >= 0}
_MAX_CACHED_SIZES = 10_000


class SensorSharing:
    """Builds the per-vehicle RSMs; remembers when each vehicle last got one."""

    def __init__(self, geo: GeoReference, config: ServiceConfig) -> None:
        self.geo = geo
        self.config = config
        # Offset by half a period from speed advice, which runs on the same kind of cadence.
        self._cadence = Cadence(config.sharing_period_ms, offset=config.sharing_period_ms // 200)
        self._msg_cnt = 0
        self._sizes: dict[tuple[int, int], VehicleSize] = {}

    def _size(self, width_cm: int, length_cm: int) -> VehicleSize:
        size = self._sizes.get((width_cm, length_cm))
        if size is None:
            if len(self._sizes) > _MAX_CACHED_SIZES:
                self._sizes.clear()
            size = self._sizes[(width_cm, length_cm)] = VehicleSize(width=width_cm, length=length_cm)
        return size

    def share(self, snapshot: LdmSnapshot, vehicles: VehicleStates, now_ms: int) -> list[tuple[str, RSM]]:
        """``(vehicle id, RSM)`` for each vehicle due, with its nearest fused objects (itself excluded);
        vehicles with nothing around them get nothing."""
        config = self.config
        if len(vehicles) == 0 or len(snapshot) == 0:
            return []
        due = np.flatnonzero(self._cadence.due(vehicles.vehicle_id, now_ms))
        if len(due) == 0:
            return []
        x_m, y_m = vehicles.predicted_xy(snapshot.time_ms)
        x_m, y_m = x_m[due], y_m[due]
        k = config.sharing_max_objects + 1
        index, distance = nearest_within(
            snapshot.x_m, snapshot.y_m, x_m, y_m, radius_m=config.sharing_radius_m, k=k
        )
        found = np.isfinite(distance)
        safe = np.where(found, index, 0)  # -1 marks no neighbour
        # Itself: the nearest track close to its own report, heading alike (a track at the same spot
        # going the other way is someone else).
        heading = vehicles.heading_deg[due]
        turn = np.abs((snapshot.heading_deg[safe] - heading[:, None] + 180.0) % 360.0 - 180.0)
        alike = np.isnan(heading)[:, None] | (turn <= config.self_match_heading_deg)
        candidate = found & (distance <= config.self_match_m) & alike
        first = np.argmax(candidate, axis=1)
        is_self = np.zeros_like(found)
        has_self = candidate.any(axis=1)
        is_self[np.flatnonzero(has_self), first[has_self]] = True
        keep = found & ~is_self
        keep &= np.cumsum(keep, axis=1) <= config.sharing_max_objects
        return self._messages(
            snapshot, vehicles, due=due, x_m=x_m, y_m=y_m, index=index, keep=keep, now_ms=now_ms
        )

    def _messages(
        self,
        snapshot: LdmSnapshot,
        vehicles: VehicleStates,
        *,
        due: IntArray,
        x_m: NDArray[np.float64],
        y_m: NDArray[np.float64],
        index: IntArray,
        keep: NDArray[np.bool_],
        now_ms: int,
    ) -> list[tuple[str, RSM]]:
        rows, columns = np.nonzero(keep)
        if len(rows) == 0:
            return []
        objects = index[rows, columns]
        # Message units for every (vehicle, object) pair in a handful of numpy calls.
        ref_lon, ref_lat = self.geo.local_to_wgs84(x_m, y_m)
        ref_lon_units = deg_to_latlon_units(ref_lon)
        ref_lat_units = deg_to_latlon_units(ref_lat)
        used, position = np.unique(objects, return_inverse=True)
        lon, lat = self.geo.local_to_wgs84(snapshot.x_m[used], snapshot.y_m[used])
        d_lon = (deg_to_latlon_units(lon)[position] - ref_lon_units[rows]).tolist()
        d_lat = (deg_to_latlon_units(lat)[position] - ref_lat_units[rows]).tolist()
        kinds = np.clip(snapshot.kind[objects], 0, len(_PTC_TYPE) - 1)
        ptc_type = _PTC_TYPE[kinds].tolist()
        vehicle_class = _VEHICLE_CLASS[kinds].tolist()
        ptc_id = (snapshot.track_id[objects] % 65536).tolist()
        speed = mps_to_speed_units(snapshot.speed_mps[objects]).tolist()
        heading = deg_to_heading_units(snapshot.heading_deg[objects]).tolist()
        length = m_to_cm(snapshot.length_m[objects], upper=4095).tolist()
        width = m_to_cm(snapshot.width_m[objects], upper=1023).tolist()
        sec_mark = epoch_ms_to_sec_mark(snapshot.time_ms)
        bounds = np.searchsorted(rows, np.arange(len(due) + 1)).tolist()
        messages = []
        for vehicle in range(len(due)):
            start, stop = bounds[vehicle], bounds[vehicle + 1]
            if start == stop:
                continue
            participants = [
                ParticipantData(
                    ptc_type=_PARTICIPANT_TYPES[ptc_type[j]],
                    ptc_id=ptc_id[j],
                    source=SourceType.INTEGRATED,
                    sec_mark=sec_mark,
                    pos=PositionOffsetLL(lon=d_lon[j], lat=d_lat[j]),
                    speed=speed[j],
                    heading=heading[j],
                    size=VehicleSize(width=width[j], length=length[j]),
                    vehicle_class=(
                        VehicleClassification(classification=vehicle_class[j])
                        if vehicle_class[j] >= 0
                        else None
                    ),
                )
                for j in range(start, stop)
            ]
            vehicle_id = str(vehicles.vehicle_id[due[vehicle]])
            rsm = RSM(
                msg_cnt=self._msg_cnt % 128,
                id=self.config.sender_id,
                ref_pos=Position3D(lat=int(ref_lat_units[vehicle]), long=int(ref_lon_units[vehicle])),
                participants=participants,
            )
            messages.append((vehicle_id, rsm))
            self._msg_cnt += 1
        return messages


def nearest_within(
    x_m: FloatArray, y_m: FloatArray, query_x_m: FloatArray, query_y_m: FloatArray, *, radius_m: float, k: int
) -> tuple[IntArray, FloatArray]:
    """For each query point, its ``k`` nearest points within ``radius_m``, nearest first: ``(index (Q, k),
    distance (Q, k))``, padded with -1 and inf.

    The LDM changes every frame, so the tree is built every frame and its build is the cost (the queries of
    a frame are a few hundred). An unbalanced tree without compacted nodes builds in about half the time of
    scipy's default and queries as fast here; a grid of radius-sized cells was quicker on sparse maps but
    several times slower where tracks crowd (its candidate lists grow with the square of the density).
    """
    queries = len(query_x_m)
    index = np.full((queries, k), -1, dtype=np.int64)
    distance = np.full((queries, k), np.inf)
    if queries == 0 or len(x_m) == 0 or k == 0:
        return index, distance
    tree = cKDTree(np.column_stack([x_m, y_m]), balanced_tree=False, compact_nodes=False)
    wanted = min(k, len(x_m))
    query = np.column_stack([np.nan_to_num(query_x_m, nan=1e15), np.nan_to_num(query_y_m, nan=1e15)])
    found_distance, found_index = tree.query(query, k=wanted, distance_upper_bound=radius_m)
    found_distance = np.asarray(found_distance, dtype=np.float64).reshape(queries, wanted)
    found_index = np.asarray(found_index, dtype=np.int64).reshape(queries, wanted)
    hit = np.isfinite(found_distance)
    index[:, :wanted] = np.where(hit, found_index, -1)
    distance[:, :wanted] = found_distance
    return index, distance
