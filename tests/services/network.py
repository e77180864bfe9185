"""A hand-built four-arm signalised junction, so every number in the service tests can be checked by hand.

Junction J at (0, 0); four arms of 400 m, two 3.2 m lanes each way (lane 0 outer, lane 1 inner),
right-hand traffic. Edge ids name their ends: ``WJ`` runs from the west end into J (eastbound), ``JE``
on to the east end. Lane centres: eastbound y = -4.8 / -1.6, westbound y = +4.8 / +1.6, northbound
x = +4.8 / +1.6, southbound x = -4.8 / -1.6. Arms stop 10 m from the junction centre.

Movements into ``JE`` (east exit): straight from ``WJ`` (both lanes), right from ``SJ`` lane 0, left from
``NJ`` lane 1, and a turnaround from ``EJ`` lane 1 (the opposite carriageway). Plus straight through for
the other three directions. Every movement has its own signal group at traffic light ``J``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from roadcloud.map import (
    Connection,
    Edge,
    GeoReference,
    Junction,
    Lane,
    RoadMap,
    SignalController,
    SignalGroup,
)

ARM_M = 400.0
BOX_M = 10.0
WIDTH_M = 3.2
LIMIT_MPS = 13.89
VEHICLES = frozenset({"passenger", "bus", "truck", "motorcycle"})
ANCHOR = (116.5055, 39.7953)  # Yizhuang


def _lane(
    lane_id: str, edge_id: str, index: int, points: list[tuple[float, float]], *, internal: bool
) -> Lane:
    shape = np.array(points, dtype=np.float64)
    return Lane(
        id=lane_id,
        edge_id=edge_id,
        index=index,
        shape_xy=shape,
        width_m=WIDTH_M,
        speed_limit_mps=LIMIT_MPS,
        length_m=float(np.hypot(*np.diff(shape, axis=0).T).sum()),
        allowed_classes=VEHICLES,
        is_internal=internal,
    )


def junction_map() -> RoadMap:
    far, near = BOX_M + ARM_M, BOX_M
    offsets = {0: 4.8, 1: 1.6}
    # (edge id, from, to, start, end) with lane offset applied to the right of travel
    arms = {
        "WJ": ("W", "J", lambda o: [(-far, -o), (-near, -o)]),
        "JE": ("J", "E", lambda o: [(near, -o), (far, -o)]),
        "EJ": ("E", "J", lambda o: [(far, o), (near, o)]),
        "JW": ("J", "W", lambda o: [(-near, o), (-far, o)]),
        "SJ": ("S", "J", lambda o: [(o, -far), (o, -near)]),
        "JN": ("J", "N", lambda o: [(o, near), (o, far)]),
        "NJ": ("N", "J", lambda o: [(-o, far), (-o, near)]),
        "JS": ("J", "S", lambda o: [(-o, -near), (-o, -far)]),
    }
    lanes: dict[str, Lane] = {}
    edges: dict[str, Edge] = {}
    for edge_id, (start, end, shape) in arms.items():
        ids = []
        for index, offset in offsets.items():
            lane = _lane(f"{edge_id}_{index}", edge_id, index, shape(offset), internal=False)
            lanes[lane.id] = lane
            ids.append(lane.id)
        edges[edge_id] = Edge(edge_id, start, end, tuple(ids), "normal", "", LIMIT_MPS, ARM_M)
    # Movements: (internal edge, from lane, to lane, direction, internal shape)
    movements = [
        (":J_0", "WJ_0", "JE_0", "s", [(-near, -4.8), (near, -4.8)]),
        (":J_0", "WJ_1", "JE_1", "s", [(-near, -1.6), (near, -1.6)]),
        (":J_1", "SJ_0", "JE_0", "r", [(4.8, -near), (6.0, -6.0), (near, -4.8)]),
        (":J_2", "NJ_1", "JE_1", "l", [(-1.6, near), (-1.0, -1.0), (near, -1.6)]),
        (":J_3", "EJ_1", "JE_1", "t", [(near, 1.6), (8.0, 0.0), (near, -1.6)]),
        (":J_4", "EJ_0", "JW_0", "s", [(near, 4.8), (-near, 4.8)]),
        (":J_4", "EJ_1", "JW_1", "s", [(near, 1.6), (-near, 1.6)]),
        (":J_5", "SJ_1", "JN_1", "s", [(1.6, -near), (1.6, near)]),
        (":J_6", "NJ_0", "JS_0", "s", [(-4.8, near), (-4.8, -near)]),
    ]
    connections = []
    groups = []
    internal_index: dict[str, int] = {}
    for link, (edge_id, from_lane, to_lane, direction, shape) in enumerate(movements):
        index = internal_index.get(edge_id, 0)
        internal_index[edge_id] = index + 1
        via = f"{edge_id}_{index}"
        lanes[via] = _lane(via, edge_id, index, shape, internal=True)
        if edge_id not in edges:
            edges[edge_id] = Edge(edge_id, "J", "J", (), "internal", "", LIMIT_MPS, 0.0)
        edges[edge_id] = Edge(
            edge_id, "J", "J", (*edges[edge_id].lane_ids, via), "internal", "", LIMIT_MPS, lanes[via].length_m
        )
        connections.append(Connection(from_lane, to_lane, via, "J", link, direction))
        connections.append(Connection(via, to_lane, None, None, -1, direction))
        groups.append(SignalGroup(link, (link,), ((from_lane, to_lane),)))
    junctions = {
        "J": Junction("J", 0.0, 0.0, "traffic_light", "J", np.empty((0, 2))),
        "W": Junction("W", -far, 0.0, "dead_end", None, np.empty((0, 2))),
        "E": Junction("E", far, 0.0, "dead_end", None, np.empty((0, 2))),
        "N": Junction("N", 0.0, far, "dead_end", None, np.empty((0, 2))),
        "S": Junction("S", 0.0, -far, "dead_end", None, np.empty((0, 2))),
    }
    state = "G" * len(movements)
    controller = SignalController("J", ("J",), tuple(groups), ((30.0, state),))
    return RoadMap(
        lanes=lanes,
        edges=edges,
        junctions=junctions,
        connections=tuple(connections),
        signal_controllers={"J": controller},
        geo=GeoReference.anchored(*ANCHOR),
        bounds_m=(-far, -far, far, far),
        source=Path("junction.net.xml"),
    )


#: SPAT/MAP node id of J: junctions numbered from 1 in id order (E, J, N, S, W).
NODE_J = 2
#: signal group (SPAT phase id) of each movement into JE
GROUP_STRAIGHT_EAST = 0
GROUP_RIGHT_FROM_SOUTH = 2
