"""Where on the road incidents can happen: lane geometry and movements, without SUMO running.

Shared by the zone generator (which places incidents where a roadside unit sees them) and the incident
runner (which makes them happen inside the simulation), so both agree on what a lane offers: a point along
it, the signalised straight-on movement a red-light runner needs, the movement a vehicle leaves it by.
"""

from __future__ import annotations

import math

import numpy as np

from roadcloud.map import Connection, Lane, RoadMap


def lane_point(lane: Lane, pos_m: float) -> tuple[float, float, float]:
    """(x, y, heading_deg) at ``pos_m`` along a lane's centre line, heading clockwise from north."""
    shape = lane.shape_xy
    steps = np.hypot(*np.diff(shape, axis=0).T)
    cumulative = np.concatenate([[0.0], np.cumsum(steps)])
    pos = float(np.clip(pos_m, 0.0, cumulative[-1]))
    segment = int(np.clip(np.searchsorted(cumulative, pos, side="right") - 1, 0, len(steps) - 1))
    fraction = (pos - cumulative[segment]) / steps[segment] if steps[segment] > 0 else 0.0
    start, end = shape[segment], shape[segment + 1]
    x_m, y_m = start + fraction * (end - start)
    heading_deg = math.degrees(math.atan2(end[0] - start[0], end[1] - start[1])) % 360.0
    return float(x_m), float(y_m), heading_deg


def straight_signalised_connection(road_map: RoadMap, lane_id: str) -> Connection | None:
    """The signalised straight-on movement from a lane into a lane cars may use, if it has one."""
    for connection in road_map.connections:
        if (
            connection.from_lane_id == lane_id
            and connection.direction == "s"
            and connection.tls_id is not None
            and connection.link_index >= 0
            and road_map.lanes[connection.to_lane_id].allows("passenger")
        ):
            return connection
    return None


def onward_connection(road_map: RoadMap, lane_id: str) -> Connection | None:
    """A movement out of a lane into a lane cars may use, straight on where there is one."""
    found = [
        c
        for c in road_map.connections
        if c.from_lane_id == lane_id and road_map.lanes[c.to_lane_id].allows("passenger")
    ]
    straight = [c for c in found if c.direction == "s"]
    best = straight or found
    return best[0] if best else None
