"""Track table helpers: bit counts and the sender-id memory."""

from __future__ import annotations

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
