"""Tile keys and routing."""

from __future__ import annotations

import numpy as np

from roadcloud.fusion.tiles import TileGrid, route


def test_keys_are_distinct_per_square_and_bounds_round_trip() -> None:
    grid = TileGrid(500.0)
    x = np.array([0.0, 499.9, 500.0, -0.1, -500.0, 1e6])
    y = np.array([0.0, 0.0, 0.0, 0.0, -0.1, -1e6])
    keys = grid.key_of(x, y)
    assert keys[0] == keys[1] and len(set(keys.tolist())) == 5
    assert (keys >= 0).all()
    assert grid.bounds_of(int(keys[2])) == (500.0, 0.0, 1000.0, 500.0)
    assert grid.bounds_of(int(keys[4])) == (-500.0, -500.0, 0.0, 0.0)


def test_route_groups_rows_by_key_in_key_order() -> None:
    groups = route(np.array([5, 3, 5, 3, 9], dtype=np.int64))
    assert [(key, rows.tolist()) for key, rows in groups] == [(3, [1, 3]), (5, [0, 2]), (9, [4])]
    assert route(np.empty(0, np.int64)) == []
