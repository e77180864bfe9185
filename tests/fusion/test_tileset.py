"""Tile sets: tracks kept in one process or spread over worker processes that own column stripes."""

from __future__ import annotations

import operator

import numpy as np
import pytest

from roadcloud.fusion import FusionConfig, FusionEngine
from roadcloud.fusion.detections import Detections
from roadcloud.fusion.tiles import TileGrid
from roadcloud.fusion.tileset import ProcessTiles

from .scenario import GEO, START_MS, Mover, Unit, drive, nearest_id, scene


def test_a_track_crossing_many_borders_between_three_workers_keeps_its_id_and_owner() -> None:
    # 50 m tiles, three workers: the car crosses ten column borders, each a hand-over to another worker
    car = Mover("car", (-240.0, 10.0), (25.0, 0.0))
    other = Mover("other", (240.0, -10.0), (-25.0, 0.0))  # and meets one coming the other way
    units = [Unit("R1", (-150.0, 0.0), range_m=160.0, noise_m=0.2), Unit("R2", (150.0, 0.0), range_m=160.0)]
    deliveries = scene([car, other], units, duration_ms=16_000, seed=7)
    with FusionEngine(FusionConfig(tile_size_m=50.0, workers=3), GEO) as engine:
        snapshots = drive(engine, deliveries, until_ms=START_MS + 16_100)
        car_ids = {nearest_id(s, car.position(s.time_ms)) for s in snapshots[10:150]}
        other_ids = {nearest_id(s, other.position(s.time_ms)) for s in snapshots[10:150]}
        assert len(car_ids) == 1 and len(other_ids) == 1 and car_ids != other_ids
        assert None not in car_ids
        # the live track sits in the tile under it, owned by the worker of that tile's column
        (track_id,) = car_ids
        last = snapshots[-2]
        row = last.index_of(int(track_id))  # type: ignore[arg-type]
        assert row is not None
        grid = TileGrid(50.0)
        tile = int(grid.key_of(last.x_m[row : row + 1], last.y_m[row : row + 1])[0])
        assert track_id in engine.tracks_by_tile()[tile].tolist()
        assert engine.track_count == sum(len(ids) for ids in engine.tracks_by_tile().values())
        assert engine.worker_cpu_seconds() > 0.0
        assert "gate (workers)" in engine.stage_seconds()


def test_ids_issued_by_workers_never_collide() -> None:
    units = [Unit(f"R{i}", (-400.0 + 200.0 * i, 0.0), range_m=100.0) for i in range(5)]
    movers = [Mover(f"m{i}", (-420.0 + 43.0 * i, 3.0 * (i % 2)), (0.0, 0.0)) for i in range(20)]
    with FusionEngine(FusionConfig(tile_size_m=100.0, workers=2), GEO) as engine:
        drive(engine, scene(movers, units, duration_ms=1000), until_ms=START_MS + 1100)
        ids = np.concatenate(list(engine.tracks_by_tile().values()))
        assert len(ids) == len(set(ids.tolist())) >= len(movers)


def test_close_stops_the_workers_and_a_failing_worker_is_reported() -> None:
    tiles = ProcessTiles(FusionConfig(), GEO, 2)
    processes = list(tiles._processes)
    assert all(process.is_alive() for process in processes)
    with pytest.raises(RuntimeError, match="fusion worker 1 failed"):
        # the detection goes to the owner of its remembered track 2 (issued by worker 1: ids w + 1 + k·W),
        # where a late-data function that cannot take these arguments fails
        tiles.fuse(
            _one(),
            time_ms=np.array([float(START_MS)]),
            fusion_ms=float(START_MS),
            keys=np.array([1]),
            remembered=np.array([2]),
            late=operator.truediv,
        )
    tiles.close()
    assert not any(process.is_alive() for process in processes)


def _one() -> Detections:
    return Detections(
        time_ms=np.array([START_MS]),
        source_index=np.array([1]),
        object_id=np.array([1]),
        x_m=np.array([10.0]),
        y_m=np.array([0.0]),
        speed_mps=np.array([5.0]),
        heading_deg=np.array([90.0]),
        length_m=np.array([4.5]),
        width_m=np.array([1.8]),
        kind=np.array([1]),
        self_report=np.array([False]),
    )
