"""The field devices a zone deploys: one roadside unit per manifest entry and one signal controller per
road traffic light, with the ids they publish under. Pure (no SUMO), so the cloud can provision a zone's
registry from the same folder the twin plays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roadcloud.map import RoadMap, SignalController
from roadcloud.messages import DeviceKind
from roadcloud.twin.manifest import Manifest


@dataclass(frozen=True, slots=True)
class ZoneDevice:
    device_id: str
    kind: DeviceKind
    name: str  # the junction or SUMO traffic light it belongs to
    lon_deg: float
    lat_deg: float


def signal_device_id(node_id: int) -> str:
    return f"S{node_id:04d}"


def junction_node_ids(road_map: RoadMap) -> dict[str, int]:
    """MAP/SPAT node id of every junction: 1, 2, … in sorted junction-id order."""
    return {junction_id: number for number, junction_id in enumerate(sorted(road_map.junctions), start=1)}


def road_signals(road_map: RoadMap) -> dict[str, SignalController]:
    """Road traffic lights only: rail signals have no program in the network and no SPAT."""
    return {
        tls_id: controller
        for tls_id, controller in road_map.signal_controllers.items()
        if controller.phases and controller.groups
    }


def zone_devices(manifest: Manifest, road_map: RoadMap) -> list[ZoneDevice]:
    """Every roadside device of the zone with its WGS84 position, for provisioning a registry."""
    units = manifest.rsu
    lon, lat = road_map.geo.local_to_wgs84(
        np.array([unit.x_m for unit in units], dtype=np.float64),
        np.array([unit.y_m for unit in units], dtype=np.float64),
    )
    devices = [
        ZoneDevice(unit.id, DeviceKind.RSU, unit.junction or unit.id, float(x), float(y))
        for unit, x, y in zip(units, lon, lat, strict=True)
    ]
    node_ids = junction_node_ids(road_map)
    for controller in road_signals(road_map).values():
        junction = road_map.junctions[controller.junction_ids[0]]
        junction_lon, junction_lat = road_map.geo.local_to_wgs84(
            np.array([junction.x_m]), np.array([junction.y_m])
        )
        devices.append(
            ZoneDevice(
                signal_device_id(node_ids[junction.id]),
                DeviceKind.SIGNAL,
                controller.tls_id,
                float(junction_lon[0]),
                float(junction_lat[0]),
            )
        )
    return devices
