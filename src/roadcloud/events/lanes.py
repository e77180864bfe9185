"""The precise map as arrays indexed by lane number, so detectors look up lane facts for whole snapshots.

Built once per ``EventDetector`` from the ``RoadMap``: per lane its length, width, limit, kind of lane and
who may use it; the centre line cut into segments for position and heading at any ``s``; the signalised
movements; and, for junction-internal lanes, the movement that leads into them (red-light violations are
decided on that movement). Every per-track lookup is one numpy gather or ``searchsorted``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from roadcloud.events.signal_state import signal_group_numbers
from roadcloud.map import LaneMatcher, RoadMap

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: vClasses whose presence makes a lane part of the carriageway (motor traffic uses it)
MOTOR_CLASSES = frozenset({"passenger", "bus", "truck", "motorcycle", "taxi", "delivery", "coach", "trailer"})

NORMAL, INTERNAL, CROSSING, WALKINGAREA = 0, 1, 2, 3
_FUNCTION_CODE = {"normal": NORMAL, "internal": INTERNAL, "crossing": CROSSING, "walkingarea": WALKINGAREA}


@dataclass(frozen=True, slots=True)
class Movement:
    """A signalised movement out of an approach lane (one ``roadcloud.map.Connection``)."""

    number: int  # index in LaneTable.movement_list
    from_lane: int
    to_lane: int
    from_lane_id: str
    to_lane_id: str
    via_lane: int  # first junction-internal lane of the movement, -1 if none
    group: int  # its signal group's number (signal_state.signal_group_numbers), -1 if none


class LaneTable:
    """Lane facts as arrays; lane number ``i`` is ``ids[i]`` (ids sorted). ``walking_clearance_m`` grows
    crossings and walking areas for ``near_walking_area``."""

    def __init__(self, road_map: RoadMap, *, walking_clearance_m: float = 0.0) -> None:
        self.road_map = road_map
        self.ids: tuple[str, ...] = tuple(sorted(road_map.lanes))
        self.index: dict[str | None, int] = {lane_id: i for i, lane_id in enumerate(self.ids)}
        self.index[None] = -1
        lanes = [road_map.lanes[lane_id] for lane_id in self.ids]
        functions = [road_map.edges[lane.edge_id].function for lane in lanes]
        self.length_m = np.array([lane.length_m for lane in lanes], dtype=np.float64)
        self.width_m = np.array([lane.width_m for lane in lanes], dtype=np.float64)
        self.lane_index = np.array([lane.index for lane in lanes], dtype=np.int64)  # 0 = rightmost
        self.speed_limit_mps = np.array([lane.speed_limit_mps for lane in lanes], dtype=np.float64)
        self.function = np.array([_FUNCTION_CODE.get(f, INTERNAL) for f in functions], dtype=np.int64)
        self.is_normal: BoolArray = self.function == NORMAL
        self.carriageway: BoolArray = self.is_normal & np.array(
            [bool(lane.allowed_classes & MOTOR_CLASSES) for lane in lanes]
        )
        self.allows_pedestrian = np.array([lane.allows("pedestrian") for lane in lanes])
        self.allows_bicycle = np.array([lane.allows("bicycle") for lane in lanes])
        edge_ids = sorted(road_map.edges)
        edge_index = {edge_id: i for i, edge_id in enumerate(edge_ids)}
        self.edge_ids: tuple[str, ...] = tuple(edge_ids)
        self.edge = np.array([edge_index[lane.edge_id] for lane in lanes], dtype=np.int64)
        self._build_geometry()
        self._build_movements(road_map)
        self._build_walking_areas(road_map, walking_clearance_m)

    # --- lookups ------------------------------------------------------------------------------------

    def lane_numbers(self, lane_ids: NDArray[np.object_] | None, count: int) -> IntArray:
        """Lane number of each id (None and ids of other maps: -1)."""
        if lane_ids is None:
            return np.full(count, -1, dtype=np.int64)
        try:
            return np.fromiter(map(self.index.__getitem__, lane_ids), dtype=np.int64, count=count)
        except KeyError:  # a lane this map lacks: the slow path, once
            get = self.index.get
            return np.fromiter((get(lane_id, -1) for lane_id in lane_ids), dtype=np.int64, count=count)

    def centre(self, lane: IntArray, s_m: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Centre-line point and travel heading (degrees clockwise from north) at ``s_m`` along each lane
        (SUMO lane length units, as LDM and LaneMatcher report them); NaN where ``lane`` is -1."""
        known = lane >= 0
        safe = np.where(known, lane, 0)
        geometric = np.clip(np.nan_to_num(s_m) / self._s_scale[safe], 0.0, self._geo_length[safe])
        key = self._lane_base[safe] + geometric
        segment = np.searchsorted(self._segment_key, key, side="right") - 1
        segment = np.clip(segment, self._first_segment[safe], self._last_segment[safe])
        along = key - self._segment_key[segment]
        x = self._start_xy[segment, 0] + self._unit_xy[segment, 0] * along
        y = self._start_xy[segment, 1] + self._unit_xy[segment, 1] * along
        heading = self._heading_deg[segment]
        nan = np.float64(np.nan)
        return np.where(known, x, nan), np.where(known, y, nan), np.where(known, heading, nan)

    def near_walking_area(self, x_m: FloatArray, y_m: FloatArray) -> BoolArray:
        """Whether each point lies on (or within the clearance of) a crossing or walking area."""
        if self._walking is None:
            return np.zeros(len(x_m), dtype=bool)
        inside: BoolArray = shapely.contains_xy(self._walking, x_m, y_m)
        return inside

    # --- construction -------------------------------------------------------------------------------

    def _build_geometry(self) -> None:
        starts, units, lengths, headings, lane_of = [], [], [], [], []
        geo_length = np.zeros(len(self.ids))
        for i, lane_id in enumerate(self.ids):
            shape = self.road_map.lanes[lane_id].shape_xy
            if shape.shape[0] < 2:  # a point lane (or none): one tiny segment pointing north
                origin = shape[0] if shape.shape[0] else np.zeros(2)
                shape = np.vstack([origin, origin + np.array([0.0, 1e-6])])
            piece = np.diff(shape, axis=0)
            length = np.hypot(piece[:, 0], piece[:, 1])
            keep = length > 1e-9
            if not keep.any():
                keep[0] = True
                piece[0] = (0.0, 1e-9)
                length[0] = 1e-9
            starts.append(shape[:-1][keep])
            units.append(piece[keep] / length[keep, None])
            lengths.append(length[keep])
            headings.append(np.mod(np.degrees(np.arctan2(piece[keep, 0], piece[keep, 1])), 360.0))
            lane_of.append(np.full(int(keep.sum()), i, dtype=np.int64))
            geo_length[i] = float(length[keep].sum())
        seg_lane = np.concatenate(lane_of)
        # Lanes laid end to end on one axis (1 m apart), so one searchsorted finds every point's segment.
        self._lane_base = np.concatenate([[0.0], np.cumsum(geo_length + 1.0)[:-1]])
        within = np.concatenate([np.cumsum(part) - part for part in lengths])
        self._segment_key = self._lane_base[seg_lane] + within
        self._start_xy = np.concatenate(starts)
        self._unit_xy = np.concatenate(units)
        self._heading_deg = np.concatenate(headings)
        counts = np.bincount(seg_lane, minlength=len(self.ids))
        self._first_segment = np.cumsum(counts) - counts
        self._last_segment = self._first_segment + counts - 1
        self._geo_length = geo_length
        self._s_scale = np.where(geo_length > 1e-6, self.length_m / np.maximum(geo_length, 1e-9), 1.0)

    def _build_movements(self, road_map: RoadMap) -> None:
        index = self.index
        #: approach lane number -> its signalised movements
        self.movements: dict[int, list[Movement]] = {}
        entry = np.full(len(self.ids), -1, dtype=np.int64)  # internal lane -> movement number
        self.movement_list: list[Movement] = []
        internal_next: dict[str, list[str]] = {}
        numbers = signal_group_numbers(road_map)
        group_of = {
            connection: numbers[(controller.tls_id, group.index)]
            for controller in road_map.signal_controllers.values()
            for group in controller.groups
            for connection in group.connections
        }
        for connection in road_map.connections:
            from_lane = index.get(connection.from_lane_id, -1)
            if from_lane < 0:
                continue
            if not self.is_normal[from_lane]:
                if connection.via_lane_id is not None:
                    internal_next.setdefault(connection.from_lane_id, []).append(connection.via_lane_id)
                continue
            if connection.tls_id is None or connection.via_lane_id is None:
                continue
            movement = Movement(
                number=len(self.movement_list),
                from_lane=from_lane,
                to_lane=index.get(connection.to_lane_id, -1),
                from_lane_id=connection.from_lane_id,
                to_lane_id=connection.to_lane_id,
                via_lane=index.get(connection.via_lane_id, -1),
                group=group_of.get((connection.from_lane_id, connection.to_lane_id), -1),
            )
            self.movements.setdefault(from_lane, []).append(movement)
            self.movement_list.append(movement)
        # Every internal lane of a movement (the first via and those after internal junctions) leads back
        # to the movement that entered the junction.
        for number, movement in enumerate(self.movement_list):
            frontier = [self.ids[movement.via_lane]] if movement.via_lane >= 0 else []
            while frontier:
                lane_id = frontier.pop()
                lane = index.get(lane_id, -1)
                if lane < 0 or entry[lane] >= 0:
                    continue
                entry[lane] = number
                frontier.extend(internal_next.get(lane_id, ()))
        self.entry_movement = entry
        # The movements as arrays, for whole-snapshot questions (are all of a lane's movements green?).
        listed = self.movement_list
        self.movement_from = np.array([m.from_lane for m in listed], dtype=np.int64)
        self.movement_to = np.array([m.to_lane for m in listed], dtype=np.int64)
        self.movement_via = np.array([m.via_lane for m in listed], dtype=np.int64)
        self.movement_group = np.array([m.group for m in listed], dtype=np.int64)
        self.signalised = np.zeros(len(self.ids), dtype=bool)
        self.signalised[list(self.movements)] = True
        # Normal lane -> normal lanes that feed it (through a junction), for queues spilling back.
        feeders: dict[int, set[int]] = {}
        for connection in road_map.connections:
            from_lane = index.get(connection.from_lane_id, -1)
            to_lane = index.get(connection.to_lane_id, -1)
            if from_lane >= 0 and to_lane >= 0 and self.is_normal[from_lane] and self.is_normal[to_lane]:
                feeders.setdefault(to_lane, set()).add(from_lane)
        self.feeders: dict[int, tuple[int, ...]] = {lane: tuple(sorted(f)) for lane, f in feeders.items()}
        self._build_signal_conflicts(road_map, numbers)

    def _build_signal_conflicts(self, road_map: RoadMap, numbers: dict[tuple[str, int], int]) -> None:
        """The conflict table, once per map: which signal groups are ever green together in their
        controller's program (``groups_compatible``), and which groups govern each lane (``lane_groups``):
        an approach lane its movements', a junction-internal lane the movement that entered it, a
        pedestrian crossing its own. Two lanes none of whose groups are ever green together are protected
        from each other by the lights: they cannot both legally be moving into the junction at once."""
        count = len(numbers)
        # Groups of different controllers, or of a controller without a static program, are never known
        # apart: compatible (no protection assumed).
        compatible = np.ones((count, count), dtype=bool)
        for controller in road_map.signal_controllers.values():
            if not controller.phases or not controller.groups:
                continue
            own = np.array([numbers[(controller.tls_id, group.index)] for group in controller.groups])
            # SUMO's green letters: G (priority) and g (yield while going); any other lets nobody go.
            green = np.array(
                [
                    [state in "Gg" for state in controller.group_states(phase)]
                    for _duration, phase in controller.phases
                ]
            )  # (phases, groups)
            together = (green.T.astype(np.int64) @ green.astype(np.int64)) > 0
            np.fill_diagonal(together, True)
            compatible[np.ix_(own, own)] = together
        self.groups_compatible: BoolArray = compatible
        governing: list[set[int]] = [set() for _ in self.ids]
        for movement in self.movement_list:
            if movement.group >= 0:
                governing[movement.from_lane].add(movement.group)
        for lane in np.flatnonzero(self.entry_movement >= 0).tolist():
            entered = int(self.movement_group[self.entry_movement[lane]])
            if entered >= 0:
                governing[lane].add(entered)
        for controller in road_map.signal_controllers.values():
            for group in controller.groups:
                for from_id, to_id in group.connections:
                    for lane_id in (from_id, to_id):
                        lane = self.index.get(lane_id, -1)
                        if lane >= 0 and self.function[lane] == CROSSING:
                            governing[lane].add(numbers[(controller.tls_id, group.index)])
        # Padded with -1: a lane has a few groups (one per movement), so pairs look up K x K entries of
        # the table instead of multiplying whole-map rows.
        width = max((len(g) for g in governing), default=0) or 1
        lane_groups = np.full((len(self.ids), width), -1, dtype=np.int64)
        for lane, groups in enumerate(governing):
            lane_groups[lane, : len(groups)] = sorted(groups)
        #: per lane, the signal groups governing it (-1 padding; all -1: not signalised)
        self.lane_groups: IntArray = lane_groups

    def _build_walking_areas(self, road_map: RoadMap, clearance_m: float) -> None:
        shapes = []
        for lane_id, lane in road_map.lanes.items():
            function = self.function[self.index[lane_id]]
            if function == CROSSING and lane.shape_xy.shape[0] >= 2:
                shapes.append(
                    shapely.buffer(shapely.LineString(lane.shape_xy), lane.width_m / 2 + clearance_m)
                )
            elif function == WALKINGAREA and lane.shape_xy.shape[0] >= 3:
                shapes.append(shapely.buffer(shapely.make_valid(shapely.Polygon(lane.shape_xy)), clearance_m))
        if not shapes:
            self._walking: shapely.Geometry | None = None
            return
        walking = shapely.union_all(shapes)
        shapely.prepare(walking)
        self._walking = walking


class PositionMatcher:
    """Lanes by position alone (no heading preference), numbered as in a ``LaneTable``.

    The LDM's heading-aware match is right for moving traffic and wrong exactly where detectors look:
    a wrong-way driver is put on the lane of its heading one lane over, a stopped car whose velocity
    heading is noise flips to the opposite lane, a pedestrian walking against a sidewalk's direction
    lands on the car lane beside it. This matcher says which lane a point physically lies on.
    """

    def __init__(self, road_map: RoadMap, lanes: LaneTable) -> None:
        self._matcher = LaneMatcher(road_map, heading_weight_m_per_deg=0.0)
        self._to_table = np.array(
            [lanes.index[lane_id] for lane_id in self._matcher.lane_ids] + [-1], dtype=np.int64
        )

    def match(
        self, x_m: FloatArray, y_m: FloatArray, heading_deg: FloatArray
    ) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
        """(lane number, s_m, distance from the centre line, heading error in (-180, 180]) per point;
        lane -1 and NaN where no lane is within reach."""
        match = self._matcher.match(x_m, y_m, heading_deg)
        lane = self._to_table[match.lane_index]
        return lane, match.s_m, np.abs(match.lateral_offset_m), match.heading_error_deg
