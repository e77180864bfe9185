"""Lane matching: known lanes come back with the right place on them, headings pick the direction, and the
grid never misses a lane within reach (checked against shapely)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from numpy.typing import NDArray

from roadcloud.errors import SettingError
from roadcloud.map import Lane, LaneMatcher, RoadMap


def _lines(lanes: list[Lane]) -> NDArray[np.object_]:
    """Centre lines as shapely geometries, for an independent distance computation."""
    coords = np.concatenate([lane.shape_xy for lane in lanes])
    owner = np.repeat(np.arange(len(lanes)), [lane.shape_xy.shape[0] for lane in lanes])
    lines: NDArray[np.object_] = shapely.linestrings(coords, indices=owner)
    return lines


def _mid_longest_piece(lane: Lane) -> tuple[float, float, float, float, float]:
    """Middle of the lane's longest straight piece: x, y, unit x, unit y, geometric distance from start."""
    piece = np.diff(lane.shape_xy, axis=0)
    length = np.hypot(piece[:, 0], piece[:, 1])
    longest = int(np.argmax(length))
    unit = piece[longest] / length[longest]
    middle = lane.shape_xy[longest] + piece[longest] / 2
    s_geo = float(length[:longest].sum() + length[longest] / 2)
    return float(middle[0]), float(middle[1]), float(unit[0]), float(unit[1]), s_geo


def _unambiguous_samples(road_map: RoadMap, matcher: LaneMatcher, offset_m: float) -> list[Lane]:
    """Lanes whose sample point (offset to the left) is at least 2 m closer to them than to any other lane."""
    lanes = [road_map.lane(lane_id) for lane_id in matcher.lane_ids]
    lines = _lines(lanes)
    chosen: list[Lane] = []
    for lane in lanes:
        x, y, ux, uy, _s = _mid_longest_piece(lane)
        if np.hypot(*np.diff(lane.shape_xy, axis=0).T).max() < 4.0:
            continue
        point = shapely.points(x - uy * offset_m, y + ux * offset_m)
        distances = np.sort(shapely.distance(lines, point))
        if distances[1] - distances[0] > 2.0:
            chosen.append(lane)
    return chosen


@pytest.mark.parametrize("offset_m", [0.4, -0.6])
def test_points_near_centre_lines_come_back_on_their_lane(
    doerpfeld: RoadMap, passenger_matcher: LaneMatcher, offset_m: float
) -> None:
    lanes = _unambiguous_samples(doerpfeld, passenger_matcher, offset_m)
    assert len(lanes) > 200
    samples = np.array([_mid_longest_piece(lane) for lane in lanes])
    x, y, ux, uy, s_geo = samples.T
    # Left of travel direction is the unit vector turned 90° anticlockwise: (-uy, ux).
    heading_deg = np.degrees(np.arctan2(ux, uy)) + 7.0
    result = passenger_matcher.match(x - uy * offset_m, y + ux * offset_m, heading_deg)

    assert list(result.lane_ids) == [lane.id for lane in lanes]
    geometric_length = np.array([np.hypot(*np.diff(lane.shape_xy, axis=0).T).sum() for lane in lanes])
    expected_s = s_geo * np.array([lane.length_m for lane in lanes]) / geometric_length
    np.testing.assert_allclose(result.s_m, expected_s, atol=1e-6)
    np.testing.assert_allclose(result.lateral_offset_m, offset_m, atol=1e-6)
    np.testing.assert_allclose(result.distance_m, abs(offset_m), atol=1e-6)
    np.testing.assert_allclose(result.heading_error_deg, 7.0, atol=1e-6)


def test_heading_picks_the_direction_on_a_two_way_road(
    doerpfeld: RoadMap, passenger_matcher: LaneMatcher
) -> None:
    # A road and its opposite direction: edges 'X' and '-X' with one passenger lane each, side by side.
    pairs = []
    for edge_id in sorted(doerpfeld.edges):
        reverse = doerpfeld.edges.get("-" + edge_id)
        edge = doerpfeld.edges[edge_id]
        if reverse is None or edge.function != "normal" or edge.length_m < 30:
            continue
        forward_lanes = [i for i in edge.lane_ids if doerpfeld.lane(i).allows("passenger")]
        reverse_lanes = [i for i in reverse.lane_ids if doerpfeld.lane(i).allows("passenger")]
        if len(forward_lanes) == 1 and len(reverse_lanes) == 1:
            pairs.append((doerpfeld.lane(forward_lanes[0]), doerpfeld.lane(reverse_lanes[0])))
    assert len(pairs) >= 5
    checked = 0
    for forward, backward in pairs:
        x, y, ux, uy, _s = _mid_longest_piece(forward)
        gap_m = shapely.distance(shapely.linestrings(backward.shape_xy), shapely.points(x, y))
        if not 2.0 < gap_m < 8.0:
            continue  # a divided road: the two directions are not neighbours here
        # Halfway between the two centre lines: distance alone cannot decide.
        mid_x, mid_y = x - uy * gap_m / 2, y + ux * gap_m / 2
        along_deg = float(np.degrees(np.arctan2(ux, uy)))
        result = passenger_matcher.match([mid_x, mid_x], [mid_y, mid_y], [along_deg, along_deg + 180.0])
        assert result.lane_id(0) == forward.id
        assert result.lane_id(1) == backward.id
        checked += 1
    assert checked >= 3


def test_grid_finds_the_nearest_lane_like_shapely(doerpfeld: RoadMap, matcher: LaneMatcher) -> None:
    rng = np.random.default_rng(7)
    xmin, ymin, xmax, ymax = doerpfeld.bounds_m
    x = rng.uniform(xmin, xmax, 4000)
    y = rng.uniform(ymin, ymax, 4000)
    lines = _lines([doerpfeld.lane(lane_id) for lane_id in matcher.lane_ids])
    tree = shapely.STRtree(lines)
    points = shapely.points(x, y)
    (point_index, _line_index), nearest_m = tree.query_nearest(
        points, max_distance=matcher.max_distance_m, return_distance=True, all_matches=False
    )
    expected = np.full(len(x), np.nan)
    expected[point_index] = nearest_m

    result = matcher.match(x, y)
    reached = np.isfinite(expected)
    assert 200 < reached.sum() < len(x)  # both cases occur
    np.testing.assert_array_equal(result.matched, reached)
    np.testing.assert_allclose(result.distance_m[reached], expected[reached], atol=1e-6)


def test_far_and_invalid_points_match_nothing(matcher: LaneMatcher) -> None:
    result = matcher.match([-1.0e6, 1.0e7, np.nan, 2000.0], [0.0, 0.0, 500.0, np.inf], [0.0, 90.0, 0.0, 0.0])
    assert result.lane_index.tolist() == [-1, -1, -1, -1]
    assert list(result.lane_ids) == [None, None, None, None]
    assert result.lane_id(0) is None
    for values in (result.s_m, result.lateral_offset_m, result.heading_error_deg, result.distance_m):
        assert np.isnan(values).all()


def test_max_distance_is_respected(doerpfeld: RoadMap, passenger_matcher: LaneMatcher) -> None:
    lanes = [doerpfeld.lane(lane_id) for lane_id in passenger_matcher.lane_ids]
    lines = _lines(lanes)
    for lane in lanes:
        x, y, ux, uy, _s = _mid_longest_piece(lane)
        near = (x - uy * 4.5, y + ux * 4.5)
        far = (x - uy * 5.5, y + ux * 5.5)
        if np.sort(shapely.distance(lines, shapely.points(*far)))[0] < 5.5 - 1e-9:
            continue  # another lane is nearer on that side
        result = passenger_matcher.match([near[0], far[0]], [near[1], far[1]])
        assert result.lane_id(0) == lane.id
        assert result.lane_id(1) is None
        return
    pytest.fail("no lane with 5.5 m of free space on its left in the fixture")


def test_heading_error_sign_and_wrap(doerpfeld: RoadMap, passenger_matcher: LaneMatcher) -> None:
    # Without heading weight the lane is chosen by distance, so any heading error can be read back.
    by_distance = LaneMatcher(
        doerpfeld, vehicle_class="passenger", include_internal=False, heading_weight_m_per_deg=0.0
    )
    lane = _unambiguous_samples(doerpfeld, passenger_matcher, 0.0)[0]
    x, y, ux, uy, _s = _mid_longest_piece(lane)
    along = float(np.degrees(np.arctan2(ux, uy)))
    headings = [along + 10.0, along - 10.0 + 720.0, along + 170.0, along + 180.0, along - 190.0]
    result = by_distance.match(x, y, headings)
    assert set(result.lane_ids) == {lane.id}
    np.testing.assert_allclose(result.heading_error_deg, [10.0, -10.0, 170.0, 180.0, 170.0], atol=1e-9)


def test_nan_heading_matches_on_distance(passenger_matcher: LaneMatcher, doerpfeld: RoadMap) -> None:
    lane = _unambiguous_samples(doerpfeld, passenger_matcher, 0.3)[0]
    x, y, ux, uy, _s = _mid_longest_piece(lane)
    result = passenger_matcher.match(x - uy * 0.3, y + ux * 0.3, np.nan)
    assert result.lane_id(0) == lane.id
    assert np.isnan(result.heading_error_deg[0])
    without = passenger_matcher.match(x - uy * 0.3, y + ux * 0.3)
    assert without.lane_id(0) == lane.id and np.isnan(without.heading_error_deg[0])


def test_inputs_are_not_modified_and_shapes_broadcast(matcher: LaneMatcher) -> None:
    x = np.array([[2900.0, 2950.0], [3000.0, 3050.0]])
    y = np.array([1380.0, 1400.0])
    heading = np.array([[90.0], [400.0]])
    snapshots = [array.copy() for array in (x, y, heading)]
    x.setflags(write=False)
    result = matcher.match(x, y, heading)
    assert len(result) == 4 and result.s_m.shape == (4,)
    for array, snapshot in zip((x, y, heading), snapshots, strict=True):
        assert np.array_equal(array, snapshot)
    scalar = matcher.match(2933.0, 1385.0)
    assert len(scalar) == 1


def test_vehicle_class_filters_lanes(doerpfeld: RoadMap) -> None:
    tram = LaneMatcher(doerpfeld, vehicle_class="tram")
    assert tram.lane_count > 0
    assert all(doerpfeld.lane(lane_id).allows("tram") for lane_id in tram.lane_ids)
    outside = LaneMatcher(doerpfeld, include_internal=False)
    assert not any(doerpfeld.lane(lane_id).is_internal for lane_id in outside.lane_ids)
    with pytest.raises(SettingError, match="unknown vehicle class 'passengr'; did you mean 'passenger'"):
        LaneMatcher(doerpfeld, vehicle_class="passengr")
    with pytest.raises(SettingError, match="max_distance_m"):
        LaneMatcher(doerpfeld, max_distance_m=0.0)
