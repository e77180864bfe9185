"""Track table helpers: bit counts and the sender-id memory."""

from __future__ import annotations

import pickle

import numpy as np

from roadcloud.fusion.tracks import IdentityMemory, TrackTable, popcount


def test_popcount() -> None:
    values = np.array([0, 1, 0b1011, (1 << 62) - 1], dtype=np.int64)
    assert popcount(values).tolist() == [0, 1, 3, 62]


def test_identity_memory_keeps_the_newest_pair_of_live_tracks() -> None:
    memory = IdentityMemory()
    keys = IdentityMemory.key(np.array([1, 1, 2]), np.array([7, 8, 7]), np.zeros(3, np.bool_))
    assert len(set(keys.tolist())) == 3
    memory.remember(keys, np.array([10, 11, 12]))
    assert memory.lookup(keys).tolist() == [-1, -1, -1]  # not before the frame is committed
    memory.commit(np.array([10, 11, 12]))
    assert memory.lookup(keys).tolist() == [10, 11, 12]
    memory.remember(keys[:1], np.array([13]))
    memory.commit(np.array([10, 12, 13]))  # 11 deleted
    assert memory.lookup(keys).tolist() == [13, -1, 12]


def test_self_report_key_is_the_vehicle_id() -> None:
    key = IdentityMemory.key(np.array([0]), np.array([-1234567890123]), np.array([True]))
    assert key.tolist() == [-1234567890123]


def test_table_take_extend_keep_do_not_share_rows() -> None:
    table = TrackTable.empty()
    assert len(table) == 0
    other = TrackTable.empty()
    table.extend(other)
    assert len(table.take(np.zeros(0, np.bool_))) == 0


def numbered(count: int, first_id: int) -> TrackTable:
    """A table of ``count`` rows whose every column holds the row's id (recognisable after moves)."""
    table = TrackTable.empty()
    ids = np.arange(first_id, first_id + count)
    for name, column in table.columns().items():
        shape = (count, *column.shape[1:])
        value = ids.reshape((count,) + (1,) * (len(shape) - 1))
        setattr(table, name, np.broadcast_to(value, shape).astype(column.dtype))
    return table


def test_appends_and_deletions_in_place_keep_every_row_whole() -> None:
    rng = np.random.default_rng(5)
    table, alive, next_id = TrackTable.empty(), set(), 1
    for _ in range(60):
        born = int(rng.integers(0, 40))
        table.extend(numbered(born, next_id))
        alive |= set(range(next_id, next_id + born))
        next_id += born
        if rng.random() < 0.3:  # a column replaced by a new array, as predict does
            table.width_m = table.width_m.copy()
        keep = rng.random(len(table)) < 0.85
        alive -= set(table.track_id[~keep].tolist())
        table.keep(keep)
        assert set(table.track_id.tolist()) == alive and len(table) == len(alive)
        for name, column in table.columns().items():
            flat = column.reshape(len(table), -1)
            if column.dtype != np.bool_:
                assert (flat == table.track_id[:, np.newaxis].astype(column.dtype)).all(), name


def test_a_pickled_table_carries_its_rows_only() -> None:
    table = TrackTable.empty()
    table.extend(numbered(3, 1))
    back = pickle.loads(pickle.dumps(table))
    assert back.track_id.tolist() == [1, 2, 3] and len(back.state) == 3
    assert back.state.base is None or len(back.state.base) == 3


def test_identity_memory_forgets_deleted_tracks_only() -> None:
    memory = IdentityMemory()
    keys = np.array([5, 3, 9], dtype=np.int64)
    memory.remember(keys, np.array([50, 30, 90]))
    memory.remember(np.array([3]), np.array([31]))  # given twice in one frame: the later wins
    memory.commit(deleted_track_ids=np.empty(0, np.int64))
    assert memory.lookup(np.array([3, 5, 9, 4])).tolist() == [31, 50, 90, -1]
    memory.remember(np.array([7]), np.array([70]))
    memory.commit(deleted_track_ids=np.array([50]))
    assert memory.lookup(np.array([3, 5, 7, 9])).tolist() == [31, -1, 70, 90]
