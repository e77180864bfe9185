"""The zone manifest: one readable TOML file that describes a whole twin scenario.

Everything the twin needs is here or referenced from here (network and route files relative to the
manifest's folder), so a zone folder is self-contained and can be copied, versioned and replayed.
Decoding checks types and ranges (msgspec); ``validate`` checks what types cannot: files exist, ids are
unique, incidents lie inside the run. Every failure is one ``ManifestError`` line with the fix.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import tomli_w
from msgspec import Meta

from roadcloud.errors import ManifestError
from roadcloud.map import RoadMap, load_map
from roadcloud.messages.truth import IncidentKind

MANIFEST_NAME = "zone.toml"

NonNegative = Annotated[float, Meta(ge=0.0)]
Positive = Annotated[float, Meta(gt=0.0)]
Share = Annotated[float, Meta(ge=0.0, le=1.0)]
Identifier = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Unknown keys are refused so a typo in the manifest is an error, not a silently ignored setting."""


class ZoneSection(_Section, frozen=True, kw_only=True):
    name: Identifier
    description: str = ""
    start_time: dt.datetime  # UTC wall-clock time of twin time 0; message timestamps derive from it
    duration_s: Positive
    step_ms: Literal[100] = 100
    seed: Annotated[int, Meta(ge=0)] = 0


class NetworkSection(_Section, frozen=True, kw_only=True):
    file: str
    source: Literal["generated", "sumo", "opendrive", "osm"]
    original: str = ""  # the file it was converted from, for the record
    anchor_lon_deg: Annotated[float, Meta(ge=-180.0, le=180.0)] | None = None
    anchor_lat_deg: Annotated[float, Meta(ge=-90.0, le=90.0)] | None = None


class DemandSection(_Section, frozen=True, kw_only=True):
    route_files: list[str]
    vehicles_per_hour: NonNegative
    pedestrians_per_hour: NonNegative
    bicycles_per_hour: NonNegative = 0.0
    connected_share: Share  # share of motor vehicles with an on-board unit sending BSM


class SensorSection(_Section, frozen=True, kw_only=True):
    noise: Literal["low", "default", "high"] = "default"
    position_noise_m: NonNegative | None = None  # overrides of the preset, when given
    speed_noise_mps: NonNegative | None = None
    heading_noise_deg: NonNegative | None = None
    size_noise_m: NonNegative | None = None
    miss_rate: Share | None = None
    false_alarms_per_frame: NonNegative | None = None
    gnss_noise_m: NonNegative = 1.0  # connected vehicles' own position error (std per axis)


class RoadsideUnitSpec(_Section, frozen=True, kw_only=True):
    id: Identifier
    x_m: float
    y_m: float
    junction: str = ""
    range_m: Positive = 150.0
    fov_deg: Annotated[float, Meta(gt=0.0, le=360.0)] = 360.0
    facing_deg: Annotated[float, Meta(ge=0.0, lt=360.0)] = 0.0
    clock_offset_ms: Annotated[int, Meta(ge=-10_000, le=10_000)] = 0
    network_delay_ms: Annotated[int, Meta(ge=0, le=10_000)] = 30
    network_jitter_ms: Annotated[int, Meta(ge=0, le=10_000)] = 0


NEAR_COLLISION_FOLLOW_GAP_M = 70.0
"""A near collision's follower starts this far behind its lead (front to front): far enough for SUMO to
put it on the road at the lane's limit behind a crawling lead, and for fusion to confirm its track before
the conflict."""

WAITING_KINDS = frozenset(
    {IncidentKind.SPEEDING_VEHICLE, IncidentKind.RED_LIGHT_RUNNER, IncidentKind.NEAR_COLLISION}
)
"""Kinds that start only once the scene allows their act (see ``roadcloud.twin.incidents``); the truth's
``start_ms`` is that moment, and their ``duration_s`` counts from it."""
MAX_WAIT_S = 180.0
"""How long such an incident waits for its moment (two signal cycles of the default grid) before it is
dropped."""

_NEEDS_SPEED = frozenset(
    {IncidentKind.SPEEDING_VEHICLE, IncidentKind.RED_LIGHT_RUNNER, IncidentKind.NEAR_COLLISION}
)


class Incident(_Section, frozen=True, kw_only=True):
    """One scripted incident on ``lane`` at ``pos_m`` metres along it, from ``start_s`` for ``duration_s``.

    ``speed_mps`` by kind: slow and wrong-way vehicles drive at it, the pedestrian walks at it, the
    speeding vehicle drives at it where its lane's limit is what ``lane`` allows (it keeps that multiple of
    the limit elsewhere), the red-light runner approaches the stop line at it, and a near collision's lead
    drives at it while its follower closes in at the lane's limit from ``NEAR_COLLISION_FOLLOW_GAP_M``
    behind. Speeding, red-light and near-collision incidents wait (up to three minutes) after ``start_s`` for
    a moment the scene allows them (a green light to speed through, a light about to turn red and a clear
    way to run it, an empty stretch to close in); ``duration_s`` counts from that moment.
    """

    id: Identifier
    kind: IncidentKind
    lane: str
    pos_m: NonNegative
    start_s: NonNegative
    duration_s: Positive
    speed_mps: NonNegative = 0.0
    extra_vehicles_per_hour: NonNegative = 0.0  # demand surge only


class Manifest(_Section, frozen=True, kw_only=True):
    zone: ZoneSection
    network: NetworkSection
    demand: DemandSection
    sensors: SensorSection = SensorSection()
    rsu: list[RoadsideUnitSpec] = []
    incident: list[Incident] = []

    @property
    def start_epoch_ms(self) -> int:
        return int(self.zone.start_time.timestamp() * 1000)


def load_manifest(zone_dir: Path) -> tuple[Manifest, Path]:
    """Read and validate ``zone_dir/zone.toml`` (or a manifest path); return it with its folder."""
    path = zone_dir / MANIFEST_NAME if zone_dir.is_dir() else zone_dir
    if not path.exists():
        raise ManifestError(f"no zone manifest at {path}; create a zone with 'roadcloud zone new {zone_dir}'")
    try:
        manifest = msgspec.toml.decode(path.read_bytes(), type=Manifest)
    except msgspec.ValidationError as error:
        raise ManifestError(f"{path}: {error}; fix that entry and try again") from None
    except msgspec.DecodeError as error:
        raise ManifestError(f"{path} is not valid TOML: {error}") from None
    validate(manifest, path.parent)
    return manifest, path.parent


def validate(manifest: Manifest, folder: Path) -> None:
    """Checks that span fields: referenced files exist, ids are unique, incidents happen during the run."""
    if manifest.zone.start_time.tzinfo is None:
        raise ManifestError("zone.start_time has no time zone; write it in UTC, e.g. 2026-06-01T08:00:00Z")
    files = [manifest.network.file, *manifest.demand.route_files]
    for name in files:
        if not (folder / name).exists():
            raise ManifestError(f"{folder / MANIFEST_NAME} names {name!r}, which is not in {folder}")
    for what, ids in (("rsu", [u.id for u in manifest.rsu]), ("incident", [i.id for i in manifest.incident])):
        duplicates = sorted({item for item in ids if ids.count(item) > 1})
        if duplicates:
            raise ManifestError(f"{what} ids must be unique; {', '.join(duplicates)} appear more than once")
    for incident in manifest.incident:
        if incident.start_s >= manifest.zone.duration_s:
            raise ManifestError(
                f"incident {incident.id} starts at {incident.start_s} s, after the zone's "
                f"{manifest.zone.duration_s} s run; move it earlier or lengthen zone.duration_s"
            )
        if incident.kind == IncidentKind.DEMAND_SURGE and incident.extra_vehicles_per_hour <= 0:
            raise ManifestError(f"incident {incident.id} is a demand surge with no extra_vehicles_per_hour")
        if incident.kind in _NEEDS_SPEED and incident.speed_mps <= 0:
            raise ManifestError(
                f"incident {incident.id} is a {incident.kind.value} with speed_mps = 0; give its speed, "
                "e.g. speed_mps = 8.0"
            )
        if incident.kind == IncidentKind.NEAR_COLLISION and incident.pos_m < NEAR_COLLISION_FOLLOW_GAP_M:
            raise ManifestError(
                f"incident {incident.id} is a near collision at pos_m = {incident.pos_m}; its follower "
                f"starts {NEAR_COLLISION_FOLLOW_GAP_M:g} m behind the lead, so give pos_m of at least that"
            )


_HEADER = """\
# roadcloud zone manifest: everything the digital twin needs to play this zone's field side.
# Paths are relative to this file. Times: twin seconds from zone.start_time (UTC). Units are in the names.
# [zone] run settings · [network] the road network · [demand] traffic · [sensors] roadside sensor noise
# [[rsu]] one roadside unit each · [[incident]] scripted incidents, recorded in the ground truth.
"""


def write_manifest(manifest: Manifest, zone_dir: Path) -> Path:
    """Write the manifest as sections in a fixed order, units and incidents as arrays of tables."""
    document = msgspec.to_builtins(manifest, builtin_types=(dt.datetime,))
    chunks = [_HEADER]
    for section in ("zone", "network", "demand", "sensors"):
        if document.get(section):
            chunks.append(tomli_w.dumps({section: document[section]}))
    for array in ("rsu", "incident"):
        for item in document.get(array, []):
            chunks.append(f"[[{array}]]\n" + tomli_w.dumps(item))
    path = zone_dir / MANIFEST_NAME
    path.write_text("\n".join(chunks))
    return path


def load_zone_map(manifest: Manifest, folder: Path) -> RoadMap:
    """The zone's network from ``folder``, anchored where the manifest says (unprojected networks)."""
    anchor = None
    if manifest.network.anchor_lon_deg is not None and manifest.network.anchor_lat_deg is not None:
        anchor = (manifest.network.anchor_lon_deg, manifest.network.anchor_lat_deg)
    return load_map(folder / manifest.network.file, anchor_lonlat=anchor)
