"""Tiles: the zone cut into squares, the unit of ownership and scale-out of fusion.

A tile's key packs its column and row, ``key = (col + 2³⁰) · 2³² + (row + 2³⁰)``, with
``col = floor(x / size)``, ``row = floor(y / size)`` in the local frame. A track belongs to the tile under
its position at the end of each frame. Tiles are the unit of ownership between processes: in one
process a single tracker holds every tile; worker processes each own a stripe of columns, route
detections to the owner of their track and hand tracks over, row and global id unchanged, when they
cross into another worker's tile (``tileset``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_BIAS = 1 << 30  # keys stay non-negative int64 (-1 can mean "no tile")


@dataclass(frozen=True, slots=True)
class TileGrid:
    size_m: float

    def key_of(self, x_m: FloatArray, y_m: FloatArray) -> IntArray:
        """Tile key per position (vectorised)."""
        col = np.floor(np.asarray(x_m) / self.size_m).astype(np.int64) + _BIAS
        row = np.floor(np.asarray(y_m) / self.size_m).astype(np.int64) + _BIAS
        keys: IntArray = (col << 32) + row
        return keys

    def bounds_of(self, key: int) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of a tile, metres."""
        col = (key >> 32) - _BIAS
        row = (key & 0xFFFFFFFF) - _BIAS
        return (col * self.size_m, row * self.size_m, (col + 1) * self.size_m, (row + 1) * self.size_m)


def route(keys: IntArray) -> list[tuple[int, IntArray]]:
    """Group row indices by key: [(key, rows), …] in key order, one sort, no per-row loop."""
    if len(keys) == 0:
        return []
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    bounds = np.r_[starts, len(keys)]
    return [
        (int(sorted_keys[start]), order[start:stop].astype(np.int64))
        for start, stop in itertools.pairwise(bounds)
    ]
