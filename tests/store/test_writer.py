"""``StoreWriter``: the pipeline never waits on the database, records are never dropped, tracks are shed.

"The database is unavailable" is real here: another SQLite connection holds the write lock, or the test's
own PostgreSQL server is stopped and started again.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from roadcloud.errors import SettingError, StoreError
from roadcloud.events.model import EventPhase
from roadcloud.ingest.registry import StatusChange
from roadcloud.services.model import AdvisoryState
from roadcloud.store import Store, StoreConfig, StoreWriter, WriterConfig
from roadcloud.store.pgserver import TemporaryPostgres

from .factories import T0_MS, advisory, device, event, snapshot


def fast_retry(**bounds: int) -> WriterConfig:
    """Retries every 10-50 ms, so tests see several while a lock is held."""
    return WriterConfig(retry_initial_s=0.01, retry_max_s=0.05, **bounds)


def _wait(condition: Callable[[], object], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())


class Lock:
    """Another connection holding SQLite's write lock, as a long transaction elsewhere would."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def hold(self) -> None:
        self._connection.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        if self._connection.in_transaction:
            self._connection.execute("ROLLBACK")

    def close(self) -> None:
        self.release()
        self._connection.close()


@pytest.fixture
def busy_store(tmp_path: Path) -> Iterator[tuple[Store, Lock]]:
    """A SQLite store that gives up on a held lock after 20 ms, and the lock."""
    path = tmp_path / "store.db"
    store = Store(f"sqlite:///{path}?timeout=0.02")
    lock = Lock(path)
    try:
        yield store, lock
    finally:
        lock.close()
        store.close()


def test_everything_submitted_is_stored_and_tracks_are_downsampled(store: Store) -> None:
    with StoreWriter(store) as writer:
        writer.submit_devices([device("R0001"), device("R0002")])
        writer.submit_device_status([StatusChange("R0001", True, T0_MS)])
        writer.submit_last_seen({"R0001": T0_MS + 300})
        writer.submit_events([event("E1")])
        writer.submit_events([event("E1", phase=EventPhase.UPDATED, update_ms=T0_MS + 100)])
        writer.submit_advisories([advisory("A1")])
        for tick in range(30):  # 3 s at 10 Hz, 3 tracks: 9 stored positions at 1 Hz
            writer.submit_snapshot(snapshot(T0_MS + tick * 100, [1, 2, 3]))
        writer.submit_device_removals(["R0002"])
        assert writer.flush(timeout_s=10)
        counts = writer.counts()
    assert (counts.devices_written, counts.status_changes_written) == (2, 1)
    assert (counts.events_written, counts.advisories_written, counts.track_rows_written) == (2, 1, 9)
    assert counts.track_rows_shed == counts.records_rejected == counts.pending_records == 0
    assert store.row_counts() == {
        "devices": 1,
        "device_status": 1,
        "events": 1,
        "event_history": 2,
        "advisories": 1,
        "advisory_history": 1,
        "track_points": 9,
    }
    stored = store.device("R0001")
    assert stored is not None and (stored.online, stored.last_seen_ms) == (True, T0_MS + 300)
    assert store.track_history(2).time_ms.tolist() == [T0_MS, T0_MS + 1_000, T0_MS + 2_000]


def test_a_locked_database_delays_records_but_loses_none(busy_store: tuple[Store, Lock]) -> None:
    store, lock = busy_store
    writer = StoreWriter(store, config=fast_retry())
    try:
        lock.hold()
        writer.submit_events([event(f"E{n}") for n in range(5)])
        assert _wait(lambda: writer.counts().retries >= 2)
        assert store.row_counts()["events"] == 0
        assert not writer.flush(timeout_s=0.1)
        lock.release()
        assert writer.flush(timeout_s=10)
        assert store.count_events() == 5
    finally:
        writer.close(timeout_s=10)


def test_under_overload_tracks_are_shed_and_counted_while_records_wait(
    busy_store: tuple[Store, Lock],
) -> None:
    store, lock = busy_store
    writer = StoreWriter(store, config=fast_retry(max_pending_track_rows=10))
    try:
        lock.hold()
        started_s = time.monotonic()
        for second in range(30):  # every snapshot is due: 3 rows each, 90 in all
            writer.submit_snapshot(snapshot(T0_MS + second * 1_000, [1, 2, 3]))
            writer.submit_events([event(f"E{second}")])
        assert time.monotonic() - started_s < 2.0  # the pipeline did not wait on the lock
        counts = writer.counts()
        assert counts.track_rows_shed >= 60 and counts.pending_track_rows <= 10
        lock.release()
        assert writer.flush(timeout_s=10)
        counts = writer.counts()
        assert counts.track_rows_written + counts.track_rows_shed == 90
        assert store.row_counts()["track_points"] == counts.track_rows_written
        assert store.count_events() == 30 == counts.events_written
    finally:
        writer.close(timeout_s=10)


def test_at_the_record_bound_the_producer_blocks_until_there_is_room(busy_store: tuple[Store, Lock]) -> None:
    store, lock = busy_store
    writer = StoreWriter(store, config=fast_retry(max_pending_records=5))
    try:
        lock.hold()
        submitted = []

        def produce() -> None:
            for n in range(10):
                writer.submit_events([event(f"E{n}")])
                submitted.append(n)

        producer = threading.Thread(target=produce)
        producer.start()
        assert _wait(lambda: len(submitted) == 5)
        time.sleep(0.2)
        assert producer.is_alive() and len(submitted) == 5 and writer.counts().pending_records == 5
        lock.release()
        producer.join(timeout=10)
        assert not producer.is_alive()
        assert writer.flush(timeout_s=10)
        assert store.count_events() == 10
        assert writer.counts().blocked_s > 0.1
    finally:
        writer.close(timeout_s=10)


def test_close_stores_what_is_queued_and_says_what_it_could_not(busy_store: tuple[Store, Lock]) -> None:
    store, lock = busy_store
    writer = StoreWriter(store, config=fast_retry())
    lock.hold()
    writer.submit_advisories([advisory("A1"), advisory("A2"), advisory("A3")])
    with pytest.raises(StoreError, match=r"within 0.2 s: 3 records .* were not stored"):
        writer.close(timeout_s=0.2)
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit_events([event()])

    lock.release()
    with StoreWriter(store) as second:
        second.submit_advisories([advisory("A4")])
    assert store.count_advisories() == 1  # close() waited for the write


def test_a_record_the_database_refuses_costs_only_itself(sqlite_url: str) -> None:
    with Store(sqlite_url) as store:
        with StoreWriter(store) as writer:
            # SQLite stores NaN as NULL, so an event without a position breaks a NOT NULL constraint.
            writer.submit_events([event("E1"), event("bad", x_m=float("nan")), event("E3")])
            writer.submit_advisories([advisory("A1", state=AdvisoryState.ACTIVE)])
            writer.submit_snapshot(snapshot(T0_MS, [1]))
            assert writer.flush(timeout_s=10)
            counts = writer.counts()
        assert counts.records_rejected == 1
        assert (counts.events_written, counts.advisories_written, counts.track_rows_written) == (2, 1, 1)
        assert [item.event_id for item in store.events()] == ["E1", "E3"]


def test_retention_runs_every_interval_on_data_time(sqlite_url: str) -> None:
    clock_s = [1_000.0]
    with Store(sqlite_url, config=StoreConfig(track_retention_h=2 / 3_600)) as store:  # keep 2 s
        config = WriterConfig(retention_interval_s=10.0)
        with StoreWriter(store, config=config, now=lambda: clock_s[0]) as writer:
            for second in range(6):
                writer.submit_snapshot(snapshot(T0_MS + second * 1_000, [1]))
            assert writer.flush(timeout_s=10)
            assert writer.counts().retention_deleted_rows == 0  # not due yet
            clock_s[0] += 11.0
            writer.submit_snapshot(snapshot(T0_MS + 6_000, [1]))  # the next write finds retention due
            assert _wait(lambda: writer.counts().retention_deleted_rows == 4)
        # Newest data at T0 + 6 s, kept for 2 s: positions from T0 + 4 s on remain.
        assert ((store.track_history(1).time_ms - T0_MS) // 1_000).tolist() == [4, 5, 6]


def test_writer_config_refuses_impossible_bounds() -> None:
    with pytest.raises(SettingError, match="writer bounds"):
        WriterConfig(max_pending_records=0)
    with pytest.raises(SettingError, match="retention interval"):
        WriterConfig(retention_interval_s=0.0)


@pytest.mark.integration
def test_writer_rides_out_a_postgresql_restart(postgres_server: TemporaryPostgres, postgres_url: str) -> None:
    with Store(postgres_url) as store:
        writer = StoreWriter(store, config=WriterConfig(retry_initial_s=0.05, retry_max_s=0.2))
        try:
            writer.submit_events([event("before")])
            assert writer.flush(timeout_s=10)
            postgres_server.stop()
            try:
                writer.submit_events([event("during")])
                writer.submit_snapshot(snapshot(T0_MS, [1, 2]))
                assert _wait(lambda: writer.counts().retries >= 2)
            finally:
                postgres_server.start()
            assert writer.flush(timeout_s=30)
        finally:
            writer.close(timeout_s=30)
        assert sorted(item.event_id for item in store.events()) == ["before", "during"]
        assert store.row_counts()["track_points"] == 2
