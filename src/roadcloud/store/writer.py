"""The background writer: the 10 Hz pipeline hands its publications over and never waits on the database.

Between the pipeline and ``store.Store``: ``submit_*`` calls queue work and return; one thread of the
writer's own takes everything queued, writes it in one transaction (so a slow commit makes the next batch
bigger, not the pipeline slower), and runs track retention now and then.

What happens under overload, or while the database is unreachable:

- **Records** (devices, status changes, last-seen times, events, advisories) are never dropped. They wait
  in memory, in order, and the writer retries with back-off until the database takes them. When
  ``max_pending_records`` are waiting, ``submit_*`` *blocks* until there is room: the pipeline slows down
  rather than lose an event. Time spent blocked is counted (``WriterCounts.blocked_s``).
- **Track history** is shed: beyond ``max_pending_track_rows`` the oldest queued snapshots are dropped and
  counted (``track_rows_shed``); a later position of the same track is queued behind them.

A batch the database refuses for a reason other than connectivity (a bug, a constraint) is split and
retried record by record, so one bad record costs only itself; each such record is logged and counted
(``records_rejected``). ``close`` writes everything still queued before it returns.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from roadcloud.errors import SettingError, StoreError
from roadcloud.events.model import RoadEvent
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.ingest.registry import Device, StatusChange
from roadcloud.services.model import Advisory
from roadcloud.store.downsample import TrackDownsampler
from roadcloud.store.store import Store, StoreTransaction, first_line

log = logging.getLogger(__name__)
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class WriterConfig:
    """Queue bounds, downsampling and upkeep of a ``StoreWriter``."""

    max_pending_records: int = 100_000  # records waiting before submit_* blocks
    max_pending_track_rows: int = 200_000  # track rows waiting before the oldest snapshots are shed
    track_period_ms: int = 1_000  # one stored position per track per period (data time)
    retention_interval_s: float | None = 60.0  # how often to apply track retention; None: never
    retry_initial_s: float = 0.05  # back-off after a failed write, doubling up to retry_max_s
    retry_max_s: float = 5.0

    def __post_init__(self) -> None:
        if self.max_pending_records < 1 or self.max_pending_track_rows < 0:
            raise SettingError(
                f"writer bounds {self.max_pending_records} records, {self.max_pending_track_rows} track "
                "rows: use at least 1 record and 0 or more track rows"
            )
        if self.retention_interval_s is not None and self.retention_interval_s <= 0:
            raise SettingError(
                f"retention interval is {self.retention_interval_s} s; use a positive number or None"
            )
        if not 0 < self.retry_initial_s <= self.retry_max_s:
            raise SettingError(
                f"retry back-off {self.retry_initial_s}..{self.retry_max_s} s: both positive, initial ≤ max"
            )


@dataclass(frozen=True, slots=True)
class WriterCounts:
    """What a writer has done so far. ``*_written`` count stored items; ``pending_*`` what still waits."""

    devices_written: int
    status_changes_written: int
    events_written: int
    advisories_written: int
    track_rows_written: int
    track_rows_shed: int  # dropped from the queue under overload, or refused by the database
    track_rows_invalid: int  # non-finite position, speed or heading: not storable
    records_rejected: int  # refused by the database for a reason other than connectivity; logged
    pending_records: int
    pending_track_rows: int
    batches: int
    retries: int  # failed attempts that were tried again (database unreachable or busy)
    retention_deleted_rows: int
    blocked_s: float  # time submit_* calls spent waiting for room


class _Kind(enum.Enum):
    DEVICES = "devices"
    REMOVALS = "removals"
    STATUS = "status"
    LAST_SEEN = "last_seen"
    EVENTS = "events"
    ADVISORIES = "advisories"


# Which transaction method stores each kind; every one takes a sequence of its items.
_WRITE: dict[_Kind, Callable[[StoreTransaction, list[Any]], int]] = {
    _Kind.DEVICES: StoreTransaction.upsert_devices,
    _Kind.REMOVALS: StoreTransaction.remove_devices,
    _Kind.STATUS: StoreTransaction.record_device_status,
    _Kind.LAST_SEEN: lambda tx, items: tx.record_last_seen(dict(items)),
    _Kind.EVENTS: StoreTransaction.record_events,
    _Kind.ADVISORIES: StoreTransaction.record_advisories,
}


class _AbandonedError(Exception):
    """``close`` gave up waiting for a database that does not come back."""


class StoreWriter:
    """Writes to ``store`` from a thread of its own; ``submit_*`` are safe to call from any thread.

    ``now`` is a monotonic clock in seconds (injectable for tests); it only paces retention and back-off.
    """

    def __init__(
        self,
        store: Store,
        *,
        config: WriterConfig | None = None,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._config = config or WriterConfig()
        self._now = now
        self._downsampler = TrackDownsampler(self._config.track_period_ms)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        # Records in submission order; consecutive submissions of one kind share an entry.
        self._records: deque[tuple[_Kind, list[Any]]] = deque()
        self._snapshots: deque[LdmSnapshot] = deque()
        self._queued_records = 0
        self._in_flight_records = 0
        self._pending_track_rows = 0
        self._submitted = 0  # submissions so far; flush waits for ``_done`` to reach its value
        self._done = 0
        self._closing = False
        self._abandon = False
        self._newest_track_ms: int | None = None
        self._next_retention_s = self._now() + (self._config.retention_interval_s or 0.0)
        self._counts: dict[str, int] = dict.fromkeys(
            (
                "devices_written",
                "status_changes_written",
                "events_written",
                "advisories_written",
                "track_rows_written",
                "track_rows_shed",
                "track_rows_invalid",
                "records_rejected",
                "batches",
                "retries",
                "retention_deleted_rows",
            ),
            0,
        )
        self._blocked_s = 0.0
        self._thread = threading.Thread(target=self._run, name="roadcloud-store-writer", daemon=True)
        self._thread.start()

    # -- the pipeline's side --------------------------------------------------------------------------

    def submit_devices(self, devices: Iterable[Device]) -> None:
        self._submit_records(_Kind.DEVICES, list(devices))

    def submit_device_removals(self, device_ids: Iterable[str]) -> None:
        self._submit_records(_Kind.REMOVALS, list(device_ids))

    def submit_device_status(self, changes: Iterable[StatusChange]) -> None:
        self._submit_records(_Kind.STATUS, list(changes))

    def submit_last_seen(self, last_seen_ms: Mapping[str, int]) -> None:
        self._submit_records(_Kind.LAST_SEEN, list(last_seen_ms.items()))

    def submit_events(self, events: Iterable[RoadEvent]) -> None:
        self._submit_records(_Kind.EVENTS, list(events))

    def submit_advisories(self, advisories: Iterable[Advisory]) -> None:
        self._submit_records(_Kind.ADVISORIES, list(advisories))

    def submit_snapshot(self, snapshot: LdmSnapshot) -> None:
        """Queue the snapshot's tracks that are due for history (downsampled here); never blocks."""
        with self._lock:
            self._check_open()
            reduced = self._downsampler.reduce(snapshot)
            if len(reduced):
                self._submitted += 1
                self._snapshots.append(reduced)
                self._pending_track_rows += len(reduced)
                self._shed()
            if self._newest_track_ms is None or snapshot.time_ms > self._newest_track_ms:
                self._newest_track_ms = snapshot.time_ms
            self._changed.notify_all()

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until everything submitted before this call is stored (or shed); False on timeout."""
        with self._lock:
            target = self._submitted
            return self._changed.wait_for(
                lambda: self._done >= target or not self._thread.is_alive(), timeout_s
            ) and (self._done >= target)

    def close(self, timeout_s: float | None = None) -> None:
        """Store everything queued, then stop the thread. If the database stays unreachable past
        ``timeout_s``, give up and raise ``StoreError`` saying how many records were not stored."""
        with self._lock:
            if self._closing and not self._thread.is_alive():
                return
            self._closing = True
            self._changed.notify_all()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            with self._lock:
                self._abandon = True
                self._changed.notify_all()
            self._thread.join()
        with self._lock:
            lost = self._queued_records + self._in_flight_records
        if lost:
            raise StoreError(
                f"the database {self._store.url} did not come back within {timeout_s} s: {lost} records "
                "(events, advisories, device data) were not stored; check the database and run again"
            )

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def counts(self) -> WriterCounts:
        with self._lock:
            return WriterCounts(
                **self._counts,
                pending_records=self._queued_records + self._in_flight_records,
                pending_track_rows=self._pending_track_rows,
                blocked_s=self._blocked_s,
            )

    def _submit_records(self, kind: _Kind, items: list[Any]) -> None:
        if not items:
            return
        with self._lock:
            self._check_open()
            limit = self._config.max_pending_records
            if self._queued_records + self._in_flight_records + len(items) > limit and self._queued_records:
                started_s = time.monotonic()
                # A submission larger than the whole bound goes in once the queue is empty.
                self._changed.wait_for(
                    lambda: (
                        self._queued_records + self._in_flight_records + len(items) <= limit
                        or not (self._queued_records or self._in_flight_records)
                        or not self._thread.is_alive()
                    )
                )
                self._blocked_s += time.monotonic() - started_s
                self._check_open()
            if self._records and self._records[-1][0] is kind:
                self._records[-1][1].extend(items)
            else:
                self._records.append((kind, items))
            self._queued_records += len(items)
            self._submitted += 1
            self._changed.notify_all()

    def _check_open(self) -> None:
        if self._closing:
            raise RuntimeError("the store writer is closed; submit before close()")
        if not self._thread.is_alive():
            raise RuntimeError("the store writer thread has stopped; see the log for why")

    def _shed(self) -> None:
        while self._pending_track_rows > self._config.max_pending_track_rows and self._snapshots:
            dropped = self._snapshots.popleft()
            self._pending_track_rows -= len(dropped)
            self._counts["track_rows_shed"] += len(dropped)

    # -- the writer's thread --------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._lock:
                self._changed.wait_for(
                    lambda: (
                        self._records
                        or self._snapshots
                        or self._closing
                        or self._retention_due()
                        or self._done < self._submitted  # only shed snapshots: nothing to write
                    ),
                    timeout=self._retention_wait_s(),
                )
                if self._closing and not (self._records or self._snapshots):
                    self._done = self._submitted
                    self._changed.notify_all()
                    return
                records = list(self._records)
                self._records.clear()
                self._in_flight_records, self._queued_records = self._queued_records, 0
                snapshots = list(self._snapshots)
                self._snapshots.clear()
                target = self._submitted
                retention_ms = self._newest_track_ms if self._retention_due() else None
            try:
                self._write_batch(records, snapshots)
                if retention_ms is not None:
                    self._apply_retention(retention_ms)
            except _AbandonedError:
                with self._lock:
                    self._pending_track_rows = 0
                    self._changed.notify_all()
                return
            except Exception:  # keep the thread alive: a dead writer would block the pipeline for good
                log.exception(
                    "store writer: unexpected failure; %d records not stored", self._in_flight_records
                )
                with self._lock:
                    self._counts["records_rejected"] += self._in_flight_records
            with self._lock:
                self._in_flight_records = 0
                self._done = target
                self._changed.notify_all()

    def _retention_due(self) -> bool:
        return (
            self._config.retention_interval_s is not None
            and self._newest_track_ms is not None
            and self._now() >= self._next_retention_s
        )

    def _retention_wait_s(self) -> float | None:
        if self._config.retention_interval_s is None:
            return None
        return max(self._next_retention_s - self._now(), 0.0) + 0.001

    def _apply_retention(self, newest_ms: int) -> None:
        deleted = self._retry(lambda: self._store.apply_retention(newest_ms))
        with self._lock:
            self._next_retention_s = self._now() + (self._config.retention_interval_s or 0.0)
            if isinstance(deleted, int):
                self._counts["retention_deleted_rows"] += deleted
            else:
                log.error("store writer: retention failed: %s", first_line(deleted))

    def _write_batch(
        self, records: Sequence[tuple[_Kind, list[Any]]], snapshots: Sequence[LdmSnapshot]
    ) -> None:
        if not records and not snapshots:
            return
        track_rows = sum(len(snapshot) for snapshot in snapshots)

        def write_all() -> dict[_Kind | None, int]:
            written: dict[_Kind | None, int] = {}
            with self._store.transaction() as tx:
                for kind, items in records:
                    _WRITE[kind](tx, items)
                    written[kind] = written.get(kind, 0) + len(items)
                if snapshots:
                    written[None] = tx.record_tracks(snapshots)
            return written

        outcome = self._retry(write_all)
        if isinstance(outcome, BaseException):
            log.error("store writer: batch refused (%s); writing it record by record", first_line(outcome))
            outcome = self._write_apart(records, snapshots)
        with self._lock:
            self._counts["batches"] += 1
            self._pending_track_rows -= track_rows
            self._tally(records, outcome, track_rows)

    def _tally(
        self, records: Sequence[tuple[_Kind, list[Any]]], written: dict[_Kind | None, int], track_rows: int
    ) -> None:
        for kind in {kind for kind, _ in records}:
            name = _counted(kind)
            if name is not None:
                self._counts[f"{name}_written"] += written.get(kind, 0)
        if None in written:
            self._counts["track_rows_written"] += written[None]
            self._counts["track_rows_invalid"] += max(track_rows - written[None], 0)

    def _write_apart(
        self, records: Sequence[tuple[_Kind, list[Any]]], snapshots: Sequence[LdmSnapshot]
    ) -> dict[_Kind | None, int]:
        """After a refused batch: each entry on its own, then each record of a refused entry on its own."""
        written: dict[_Kind | None, int] = {}
        for kind, items in records:
            outcome = self._retry(partial(self._write_one, kind, items))
            if not isinstance(outcome, BaseException):
                written[kind] = written.get(kind, 0) + len(items)
                continue
            for item in items:
                single = self._retry(partial(self._write_one, kind, [item]))
                if isinstance(single, BaseException):
                    log.error(
                        "store writer: %s record refused, not stored: %r (%s)",
                        kind.value,
                        item,
                        first_line(single),
                    )
                    with self._lock:
                        self._counts["records_rejected"] += 1
                else:
                    written[kind] = written.get(kind, 0) + 1
        if snapshots:
            rows = self._retry(lambda: self._store.record_tracks(snapshots))
            if isinstance(rows, BaseException):
                log.error("store writer: track rows refused, not stored: %s", first_line(rows))
                with self._lock:
                    self._counts["track_rows_shed"] += sum(len(snapshot) for snapshot in snapshots)
            else:
                written[None] = rows
        return written

    def _write_one(self, kind: _Kind, items: list[Any]) -> int:
        with self._store.transaction() as tx:
            return _WRITE[kind](tx, items)

    def _retry(self, attempt: Callable[[], _T]) -> _T | BaseException:
        """Run ``attempt`` until it succeeds or fails for a reason retrying cannot fix (returned)."""
        delay_s = self._config.retry_initial_s
        while True:
            try:
                return attempt()
            except Exception as error:
                if not self._store.is_transient(error):
                    return error
                reason = error
            with self._lock:
                self._counts["retries"] += 1
                if self._counts["retries"] == 1 or self._counts["retries"] % 100 == 0:
                    log.warning("store writer: database unavailable (%s); retrying", first_line(reason))
                if self._changed.wait_for(lambda: self._abandon, delay_s):
                    raise _AbandonedError
            delay_s = min(delay_s * 2, self._config.retry_max_s)


def _counted(kind: _Kind) -> str | None:
    """The ``WriterCounts`` field that counts a kind's written items."""
    return {
        _Kind.DEVICES: "devices",
        _Kind.STATUS: "status_changes",
        _Kind.EVENTS: "events",
        _Kind.ADVISORIES: "advisories",
    }.get(kind)
