"""What the cloud knows about its zone before the first message: name, precise map, roadside units.

A zone folder (``zone.toml`` and its network, written by ``roadcloud zone new``) is the deployment
description the cloud starts from, whether the field side is the twin or real devices.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from roadcloud.ingest import DeviceRegistry
from roadcloud.map import LaneMatcher, RoadMap
from roadcloud.services import RoadsideUnitCoverage
from roadcloud.twin.devices import ZoneDevice, zone_devices
from roadcloud.twin.manifest import Manifest, load_manifest, load_zone_map


@dataclass(frozen=True, slots=True)
class ZoneSite:
    zone: str
    road_map: RoadMap
    lane_matcher: LaneMatcher
    units: tuple[RoadsideUnitCoverage, ...]
    manifest: Manifest | None = None

    @classmethod
    def from_zone_dir(cls, zone_dir: Path) -> ZoneSite:
        """Read a zone folder; ``ManifestError``/``MapError`` name a missing or broken file."""
        manifest, folder = load_manifest(zone_dir)
        road_map = load_zone_map(manifest, folder)
        return cls(
            zone=manifest.zone.name,
            road_map=road_map,
            lane_matcher=LaneMatcher(road_map),
            units=tuple(RoadsideUnitCoverage.from_manifest(manifest)),
            manifest=manifest,
        )

    def devices(self) -> list[ZoneDevice]:
        """The zone's roadside units and signal controllers (none for a site without a manifest)."""
        return zone_devices(self.manifest, self.road_map) if self.manifest is not None else []


def provisioned_registry(site: ZoneSite, *, provisioned_at_ms: int) -> DeviceRegistry:
    """A registry with every roadside device of the zone; vehicles enrol themselves (CloudConfig)."""
    registry = DeviceRegistry()
    for device in site.devices():
        registry.provision(
            device.device_id,
            kind=device.kind.value,
            zone=site.zone,
            name=device.name,
            lon_deg=device.lon_deg,
            lat_deg=device.lat_deg,
            provisioned_at_ms=provisioned_at_ms,
        )
    return registry
