"""Settings of the V2X services, injected as one frozen dataclass (no globals, no hidden defaults)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields

from roadcloud.errors import SettingError

# T/CSAE 53-2020 limits: ReferencePathList SIZE(1..8), PathPointList SIZE(2..32), RSM participants ≤ 16.
MAX_REFERENCE_PATHS = 8
MAX_PATH_POINTS = 32
MAX_SHARED_OBJECTS = 16
_DEVICE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceConfig:
    """Every tunable of advisories, speed advice and sensor sharing.

    Relevance zone: the lanes within ``zone_distance_m`` upstream of an event, following the map's
    connections back across junctions; ``include_parallel_lanes`` adds the other lanes of every edge
    reached (a driver two lanes over can still change into the blocked one); turnarounds are left out
    unless ``include_turnarounds`` (they would pull the opposite carriageway into the zone). At most
    ``max_reference_paths`` paths of at most ``max_path_points`` points go on the wire (the standard's
    limits); a zone that needs more paths is cut back to the nearest ones, so the lanes the cloud targets
    and the paths a vehicle checks are always the same zone.

    ``sender_id`` is the RSI/RSM ``id`` the cloud sends under; ``denm_station_id`` its ETSI station id.
    ``vehicle_max_age_ms``: a connected vehicle whose last BSM is older is treated as gone.

    Speed advice (GLOSA) goes to connected vehicles within ``glosa_distance_m`` of a signalised stop line,
    once per ``glosa_period_ms`` per vehicle (each in its own frame of the period); advised speeds below
    ``glosa_min_speed_mps`` are not worth driving (the vehicle is told to expect a stop instead); a coming
    green whose end the SPAT does not give is assumed to last ``glosa_min_green_s``. Sensor sharing sends
    each connected vehicle the fused objects within ``sharing_radius_m``, nearest first, at most
    ``sharing_max_objects`` (≤ 16, one RSM) once per ``sharing_period_ms``; the LDM track nearer than
    ``self_match_m`` to the vehicle's own reported position, heading within ``self_match_heading_deg``, is
    taken to be the vehicle itself and left out.

    An event's UPDATED publication is sent on as a new RSI only when its zone changed: other lanes, or a
    lane's stretch moved by more than ``zone_update_m`` (or the severity changed).
    """

    zone_distance_m: float = 300.0
    zone_update_m: float = 25.0
    include_parallel_lanes: bool = True
    include_turnarounds: bool = False
    max_reference_paths: int = MAX_REFERENCE_PATHS
    max_path_points: int = MAX_PATH_POINTS
    sender_id: str = "RC-CLOUD"
    send_denm: bool = True
    denm_station_id: int = 0x52430001
    denm_validity_s: int = 600
    direct_to_vehicles: bool = True
    vehicle_max_age_ms: int = 1_000
    glosa_enabled: bool = True
    glosa_distance_m: float = 300.0
    glosa_period_ms: int = 1_000
    glosa_min_speed_mps: float = 3.0
    glosa_min_green_s: float = 5.0
    sharing_enabled: bool = True
    sharing_radius_m: float = 150.0
    sharing_period_ms: int = 1_000
    sharing_max_objects: int = MAX_SHARED_OBJECTS
    self_match_m: float = 4.0
    self_match_heading_deg: float = 45.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool | str):
                continue
            if not (math.isfinite(value) and value >= 0):
                raise SettingError(f"ServiceConfig.{f.name} = {value!r}; give a finite number >= 0")
        if not 1 <= self.max_reference_paths <= MAX_REFERENCE_PATHS:
            raise SettingError(
                f"ServiceConfig.max_reference_paths = {self.max_reference_paths}; "
                f"T/CSAE 53 allows 1 to {MAX_REFERENCE_PATHS}"
            )
        if not 2 <= self.max_path_points <= MAX_PATH_POINTS:
            raise SettingError(
                f"ServiceConfig.max_path_points = {self.max_path_points}; "
                f"T/CSAE 53 allows 2 to {MAX_PATH_POINTS}"
            )
        if not 1 <= self.sharing_max_objects <= MAX_SHARED_OBJECTS:
            raise SettingError(
                f"ServiceConfig.sharing_max_objects = {self.sharing_max_objects}; "
                f"one RSM carries 1 to {MAX_SHARED_OBJECTS}"
            )
        if not _DEVICE_ID.match(self.sender_id):
            raise SettingError(
                f"ServiceConfig.sender_id = {self.sender_id!r}; use 1-64 letters, digits and _ . : -"
            )
        if self.zone_distance_m <= 0:
            raise SettingError("ServiceConfig.zone_distance_m must be positive, e.g. 300")
        if self.denm_station_id > 4_294_967_295:
            raise SettingError(f"ServiceConfig.denm_station_id = {self.denm_station_id}; ETSI allows < 2^32")
