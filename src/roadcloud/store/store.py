"""The store: device registry, road events, advisories and track history in SQLite or PostgreSQL.

Edge of the platform (ARCHITECTURE: "store · API"): the pipeline's publications come in (through
``writer.StoreWriter``, which keeps the 10 Hz loop off the database), the API's queries go out. The core
never imports this module; it takes and returns the core's own types (``Device``, ``StatusChange``,
``RoadEvent``, ``Advisory``, ``LdmSnapshot``) and the plain records of ``records``.

Writes are idempotent where the data allows: devices, events and advisories are upserts keyed by id whose
current row only moves forward (a late publication is kept in the history but does not overwrite a newer
state, nor reopen an ended event); histories and track points are appends. Track points are written in
bulk (PostgreSQL ``COPY``, SQLite ``executemany`` of tuples), never as per-row objects.

Thread safety: one ``Store`` may be shared by threads (the writer thread and API threads); every call
takes a pooled connection of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import (
    URL,
    ColumnElement,
    Connection,
    Row,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from roadcloud.errors import SettingError, StoreError
from roadcloud.events.model import EventPhase, EventType, RoadEvent
from roadcloud.fusion.ldm import LdmSnapshot
from roadcloud.ingest.registry import Device, StatusChange
from roadcloud.messages import DeviceKind
from roadcloud.services.model import Advisory, AdvisoryKind, AdvisoryState
from roadcloud.store import migrate
from roadcloud.store.engine import create_store_engine, default_url, display_url, parse_url
from roadcloud.store.records import AdvisoryRecord, BoundingBox, EventRecord, StoredDevice, TrackHistory
from roadcloud.store.schema import (
    TRACK_COLUMNS,
    advisories,
    advisory_history,
    device_status,
    devices,
    event_history,
    events,
    track_points,
)

MAX_PAGE = 10_000  # events, advisories, status changes per query
MAX_TRACK_ROWS = 1_000_000  # track points per query: about 80 MB of arrays


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """``track_retention_h``: track points older than this (before the newest data time) are deleted by
    ``apply_retention``. Events, advisories and device history are kept: they are the record."""

    track_retention_h: float = 24.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.track_retention_h) and self.track_retention_h > 0):
            raise SettingError(
                f"track retention is {self.track_retention_h} h; use a positive number of hours"
            )

    @property
    def track_retention_ms(self) -> int:
        return round(self.track_retention_h * 3_600_000)


class Store:
    """One database. ``Store(url)`` opens it and, unless ``upgrade=False``, brings its schema to the newest
    revision first (an empty database gets the whole schema). ``url`` defaults to ``$ROADCLOUD_DB_URL`` or
    ``sqlite:///.roadcloud/roadcloud.db``; PostgreSQL is ``postgresql+psycopg://USER@HOST:PORT/DB``.

    Writes: ``upsert_devices``, ``remove_devices``, ``record_device_status``, ``record_last_seen``,
    ``record_events``, ``record_advisories``, ``record_tracks`` — each one transaction, or several in one
    with ``transaction()``. Reads for the API: ``events``/``count_events``/``event``,
    ``advisories``/``count_advisories``/``advisory``, ``devices``/``device``/``device_status_history``,
    ``track_history``/``tracks_in_area``. Upkeep: ``apply_retention``.
    """

    def __init__(
        self, url: str | URL | None = None, *, config: StoreConfig | None = None, upgrade: bool = True
    ) -> None:
        self._url = parse_url(url if url is not None else default_url())
        self._config = config or StoreConfig()
        self._engine = create_store_engine(self._url)
        where = display_url(self._url)
        try:
            with self._engine.connect() as connection:
                if upgrade:
                    state = migrate.upgrade(connection, where=where)
                else:
                    state = migrate.schema_state(connection, where=where)
        except OperationalError as error:
            self._engine.dispose()
            raise StoreError(
                f"cannot open database {where}: {first_line(error)}; check that the server runs and that "
                "the URL's host, port, user and database are right"
            ) from None
        except BaseException:
            self._engine.dispose()
            raise
        if not state.up_to_date:
            self._engine.dispose()
            raise StoreError(
                f"database {where} is at schema revision {state.current or 'none (empty)'}, this roadcloud "
                f"needs {state.head}; run `roadcloud db upgrade --url URL` first"
            )
        self._revision = state.head

    # -- the database ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The URL without its password, for logs."""
        return display_url(self._url)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._url.get_backend_name()

    @property
    def revision(self) -> str:
        return self._revision

    @property
    def config(self) -> StoreConfig:
        return self._config

    def close(self) -> None:
        self._engine.dispose()

    def is_transient(self, error: BaseException) -> bool:
        """Whether trying the same write again may succeed: the database is unreachable, restarting, or
        busy (SQLite's lock), as opposed to refusing the data. Covers the driver's own errors too, which
        the bulk ``COPY`` path raises without SQLAlchemy's wrapping."""
        if isinstance(error, OperationalError | InterfaceError):
            return True
        if isinstance(error, DBAPIError):
            return bool(error.connection_invalidated)
        dbapi = self._engine.dialect.loaded_dbapi
        return isinstance(error, dbapi.OperationalError | dbapi.InterfaceError)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[StoreTransaction]:
        """Several writes in one transaction: all of them are stored, or (on an exception) none."""
        with self._engine.begin() as connection:
            yield StoreTransaction(connection)

    # -- writes, one transaction each -----------------------------------------------------------------

    def upsert_devices(self, devices_: Iterable[Device]) -> int:
        with self.transaction() as tx:
            return tx.upsert_devices(devices_)

    def remove_devices(self, device_ids: Iterable[str]) -> int:
        with self.transaction() as tx:
            return tx.remove_devices(device_ids)

    def record_device_status(self, changes: Iterable[StatusChange]) -> int:
        with self.transaction() as tx:
            return tx.record_device_status(changes)

    def record_last_seen(self, last_seen_ms: Mapping[str, int]) -> int:
        with self.transaction() as tx:
            return tx.record_last_seen(last_seen_ms)

    def record_events(self, events_: Iterable[RoadEvent]) -> int:
        with self.transaction() as tx:
            return tx.record_events(events_)

    def record_advisories(self, advisories_: Iterable[Advisory]) -> int:
        with self.transaction() as tx:
            return tx.record_advisories(advisories_)

    def record_tracks(self, snapshots: Iterable[LdmSnapshot]) -> int:
        with self.transaction() as tx:
            return tx.record_tracks(snapshots)

    def apply_retention(self, now_ms: int) -> int:
        """Delete track points older than ``now_ms`` minus the retention; returns how many. ``now_ms`` is
        data time (the newest snapshot's), so replaying an old recording does not erase what it writes."""
        cutoff_ms = int(now_ms) - self._config.track_retention_ms
        with self._engine.begin() as connection:
            result = connection.execute(delete(track_points).where(track_points.c.time_ms < cutoff_ms))
            return max(result.rowcount, 0)

    # -- devices --------------------------------------------------------------------------------------

    def devices(self, *, zone: str | None = None) -> list[StoredDevice]:
        """Every stored device (of ``zone``), by id."""
        query = select(devices).order_by(devices.c.device_id)
        if zone is not None:
            query = query.where(devices.c.zone == zone)
        with self._engine.connect() as connection:
            return [_stored_device(row) for row in connection.execute(query)]

    def device(self, device_id: str) -> StoredDevice | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(devices).where(devices.c.device_id == device_id)).first()
        return None if row is None else _stored_device(row)

    def device_status_history(
        self,
        device_id: str,
        *,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int = 1_000,
        offset: int = 0,
    ) -> list[StatusChange]:
        """A device's online/offline changes in ``[since_ms, until_ms]``, oldest first."""
        _check_page(limit, offset, MAX_PAGE)
        _check_range(since_ms, until_ms)
        query = select(device_status).where(device_status.c.device_id == device_id)
        if since_ms is not None:
            query = query.where(device_status.c.at_ms >= since_ms)
        if until_ms is not None:
            query = query.where(device_status.c.at_ms <= until_ms)
        query = query.order_by(device_status.c.at_ms, device_status.c.seq).limit(limit).offset(offset)
        with self._engine.connect() as connection:
            return [
                StatusChange(row.device_id, bool(row.online), int(row.at_ms))
                for row in connection.execute(query)
            ]

    # -- events ---------------------------------------------------------------------------------------

    def events(
        self,
        *,
        active: bool | None = None,
        event_type: EventType | str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        bbox_m: BoundingBox | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[RoadEvent]:
        """Events in their current state, newest start first. ``active`` True: not ended yet; False: ended.
        ``since_ms``/``until_ms``: events whose life overlaps that range. ``bbox_m``: the event's
        position inside ``(xmin_m, ymin_m, xmax_m, ymax_m)``, local metres."""
        _check_page(limit, offset, MAX_PAGE)
        conditions = _event_conditions(active, event_type, since_ms, until_ms, bbox_m)
        query = (
            select(events)
            .where(*conditions)
            .order_by(events.c.start_ms.desc(), events.c.event_id)
            .limit(limit)
            .offset(offset)
        )
        with self._engine.connect() as connection:
            return [_road_event(row) for row in connection.execute(query)]

    def count_events(
        self,
        *,
        active: bool | None = None,
        event_type: EventType | str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        bbox_m: BoundingBox | None = None,
    ) -> int:
        """How many events ``events`` would page through with the same filters."""
        conditions = _event_conditions(active, event_type, since_ms, until_ms, bbox_m)
        with self._engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(events).where(*conditions)).scalar_one()
            )

    def event(self, event_id: str) -> EventRecord | None:
        """One event with every publication of it, oldest first; None when unknown."""
        with self._engine.connect() as connection:
            row = connection.execute(select(events).where(events.c.event_id == event_id)).first()
            if row is None:
                return None
            history = connection.execute(
                select(event_history)
                .where(event_history.c.event_id == event_id)
                .order_by(event_history.c.seq)
            )
            return EventRecord(current=_road_event(row), history=tuple(_road_event(item) for item in history))

    # -- advisories -----------------------------------------------------------------------------------

    def advisories(
        self,
        *,
        active: bool | None = None,
        kind: AdvisoryKind | str | None = None,
        event_id: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Advisory]:
        """Advisories in their current state, most recently first sent first. ``active`` True: not
        cancelled. ``since_ms``/``until_ms``: advisories live (first sent … cancelled) during that range."""
        _check_page(limit, offset, MAX_PAGE)
        conditions = _advisory_conditions(active, kind, event_id, since_ms, until_ms)
        query = (
            select(advisories)
            .where(*conditions)
            .order_by(advisories.c.first_sent_ms.desc(), advisories.c.advisory_id)
            .limit(limit)
            .offset(offset)
        )
        with self._engine.connect() as connection:
            return [_advisory(row) for row in connection.execute(query)]

    def count_advisories(
        self,
        *,
        active: bool | None = None,
        kind: AdvisoryKind | str | None = None,
        event_id: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> int:
        conditions = _advisory_conditions(active, kind, event_id, since_ms, until_ms)
        with self._engine.connect() as connection:
            query = select(func.count()).select_from(advisories).where(*conditions)
            return int(connection.execute(query).scalar_one())

    def advisory(self, advisory_id: str) -> AdvisoryRecord | None:
        """One advisory with every publication of it, oldest first; None when unknown."""
        with self._engine.connect() as connection:
            row = connection.execute(
                select(advisories).where(advisories.c.advisory_id == advisory_id)
            ).first()
            if row is None:
                return None
            history = connection.execute(
                select(advisory_history)
                .where(advisory_history.c.advisory_id == advisory_id)
                .order_by(advisory_history.c.seq)
            )
            return AdvisoryRecord(
                current=_advisory(row),
                first_sent_ms=int(row.first_sent_ms),
                history=tuple(_advisory(item) for item in history),
            )

    # -- track history --------------------------------------------------------------------------------

    def track_history(
        self,
        track_id: int,
        *,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int = 100_000,
    ) -> TrackHistory:
        """One track's stored positions in ``[since_ms, until_ms]``, oldest first, at most ``limit``."""
        _check_page(limit, 0, MAX_TRACK_ROWS)
        _check_range(since_ms, until_ms)
        conditions = [track_points.c.track_id == int(track_id)]
        if since_ms is not None:
            conditions.append(track_points.c.time_ms >= since_ms)
        if until_ms is not None:
            conditions.append(track_points.c.time_ms <= until_ms)
        return self._tracks(conditions, limit)

    def tracks_in_area(
        self, bbox_m: BoundingBox, *, since_ms: int, until_ms: int, limit: int = 100_000
    ) -> TrackHistory:
        """Every stored position inside ``bbox_m`` (local metres) in ``[since_ms, until_ms]``, by time then
        track id, at most ``limit``. The time range is required: it is what the index serves."""
        _check_page(limit, 0, MAX_TRACK_ROWS)
        _check_range(since_ms, until_ms)
        xmin_m, ymin_m, xmax_m, ymax_m = _check_bbox(bbox_m)
        conditions = [
            track_points.c.time_ms >= since_ms,
            track_points.c.time_ms <= until_ms,
            track_points.c.x_m.between(xmin_m, xmax_m),
            track_points.c.y_m.between(ymin_m, ymax_m),
        ]
        return self._tracks(conditions, limit)

    def _tracks(self, conditions: Sequence[ColumnElement[bool]], limit: int) -> TrackHistory:
        query = (
            select(*(track_points.c[name] for name in TRACK_COLUMNS))
            .where(*conditions)
            .order_by(track_points.c.time_ms, track_points.c.track_id)
            .limit(limit)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        if not rows:
            return TrackHistory.empty()
        columns = dict(zip(TRACK_COLUMNS, zip(*rows, strict=True), strict=True))
        lane_id = np.empty(len(rows), object)
        lane_id[:] = columns["lane_id"]
        return TrackHistory(
            time_ms=np.asarray(columns["time_ms"], np.int64),
            track_id=np.asarray(columns["track_id"], np.int64),
            x_m=np.asarray(columns["x_m"], np.float64),
            y_m=np.asarray(columns["y_m"], np.float64),
            speed_mps=np.asarray(columns["speed_mps"], np.float64),
            heading_deg=np.asarray(columns["heading_deg"], np.float64),
            kind=np.asarray(columns["kind"], np.int64),
            lane_id=lane_id,
            # None (no lane) becomes NaN, as in the LDM.
            s_m=np.asarray(columns["s_m"], dtype=np.float64),
        )

    # -- housekeeping ---------------------------------------------------------------------------------

    def row_counts(self) -> dict[str, int]:
        """Rows per table, for operators and benchmarks."""
        tables = (devices, device_status, events, event_history, advisories, advisory_history, track_points)
        with self._engine.connect() as connection:
            return {
                table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
                for table in tables
            }


class StoreTransaction:
    """The write half of ``Store``, on one open transaction (``Store.transaction()``)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _upsert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        # Both dialects spell INSERT … ON CONFLICT … DO UPDATE the same way; SQLAlchemy has one per dialect.
        if self._connection.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def upsert_devices(self, devices_: Iterable[Device]) -> int:
        """Add or update device records (provisioning data only; liveness is left as stored)."""
        rows = {device.id: _device_row(device) for device in devices_}  # the last record of an id wins
        if not rows:
            return 0
        statement = self._upsert(devices)
        identity = ("kind", "zone", "name", "lon_deg", "lat_deg", "provisioned_at_ms", "auto_enrolled")
        statement = statement.on_conflict_do_update(
            index_elements=[devices.c.device_id],
            set_={name: statement.excluded[name] for name in identity},
        )
        self._connection.execute(statement, [rows[key] for key in sorted(rows)])
        return len(rows)

    def remove_devices(self, device_ids: Iterable[str]) -> int:
        """Delete device records; their status history stays."""
        ids = sorted(set(device_ids))
        if not ids:
            return 0
        result = self._connection.execute(delete(devices).where(devices.c.device_id.in_(ids)))
        return max(result.rowcount, 0)

    def record_device_status(self, changes: Iterable[StatusChange]) -> int:
        """Append online/offline changes and move each device's current liveness forward."""
        rows = [
            {"device_id": change.device_id, "online": bool(change.online), "at_ms": int(change.at_ms)}
            for change in changes
        ]
        if not rows:
            return 0
        self._connection.execute(device_status.insert(), rows)
        current = (
            update(devices)
            .where(
                devices.c.device_id == bindparam("b_device_id"),
                or_(
                    devices.c.status_changed_ms.is_(None),
                    devices.c.status_changed_ms <= bindparam("b_at_ms"),
                ),
            )
            .values(online=bindparam("b_online"), status_changed_ms=bindparam("b_at_ms"))
        )
        self._connection.execute(
            current,
            [
                {"b_device_id": row["device_id"], "b_online": row["online"], "b_at_ms": row["at_ms"]}
                for row in sorted(rows, key=lambda row: (row["device_id"], row["at_ms"]))
            ],
        )
        return len(rows)

    def record_last_seen(self, last_seen_ms: Mapping[str, int]) -> int:
        """Move devices' last-seen times forward (never back); unknown ids are ignored."""
        if not last_seen_ms:
            return 0
        statement = (
            update(devices)
            .where(
                devices.c.device_id == bindparam("b_device_id"),
                or_(devices.c.last_seen_ms.is_(None), devices.c.last_seen_ms < bindparam("b_last_seen_ms")),
            )
            .values(last_seen_ms=bindparam("b_last_seen_ms"))
        )
        self._connection.execute(
            statement,
            [
                {"b_device_id": device_id, "b_last_seen_ms": int(last_seen_ms[device_id])}
                for device_id in sorted(last_seen_ms)
            ],
        )
        return len(last_seen_ms)

    def record_events(self, events_: Iterable[RoadEvent]) -> int:
        """Append every publication to the history and upsert each event's newest state."""
        publications = list(events_)
        if not publications:
            return 0
        rows = [_event_row(event) for event in publications]
        self._connection.execute(event_history.insert(), rows)
        latest = _latest(
            zip(publications, rows, strict=True),
            key=lambda event: event.event_id,
            order=lambda event: (event.update_ms, event.phase == EventPhase.ENDED),
        )
        statement = self._upsert(events)
        statement = statement.on_conflict_do_update(
            index_elements=[events.c.event_id],
            set_={
                column.name: statement.excluded[column.name]
                for column in events.c
                if column.name != "event_id"
            },
            # Only forward: a late publication never overwrites a newer one, nor reopens an ended event.
            where=and_(
                statement.excluded.update_ms >= events.c.update_ms,
                or_(
                    events.c.phase != EventPhase.ENDED.value,
                    statement.excluded.phase == EventPhase.ENDED.value,
                ),
            ),
        )
        self._connection.execute(statement, latest)
        return len(publications)

    def record_advisories(self, advisories_: Iterable[Advisory]) -> int:
        """Append every publication to the history and upsert each advisory's newest state."""
        publications = list(advisories_)
        if not publications:
            return 0
        rows = [_advisory_row(advisory) for advisory in publications]
        self._connection.execute(advisory_history.insert(), rows)
        first_sent_ms: dict[str, int] = {}
        for advisory in publications:
            known = first_sent_ms.get(advisory.advisory_id)
            first_sent_ms[advisory.advisory_id] = (
                advisory.sent_ms if known is None else min(known, advisory.sent_ms)
            )
        latest = _latest(
            zip(publications, rows, strict=True),
            key=lambda advisory: advisory.advisory_id,
            order=lambda advisory: (advisory.sent_ms, advisory.state == AdvisoryState.CANCELLED),
        )
        for row in latest:
            row["first_sent_ms"] = first_sent_ms[row["advisory_id"]]
        statement = self._upsert(advisories)
        excluded = statement.excluded
        # Only forward, as for events; but a late first sending still moves ``first_sent_ms`` back, so the
        # condition goes into each column rather than the statement's WHERE.
        forward = and_(
            excluded.sent_ms >= advisories.c.sent_ms,
            or_(
                advisories.c.state != AdvisoryState.CANCELLED.value,
                excluded.state == AdvisoryState.CANCELLED.value,
            ),
        )
        state_columns = [
            column.name for column in advisories.c if column.name not in ("advisory_id", "first_sent_ms")
        ]
        statement = statement.on_conflict_do_update(
            index_elements=[advisories.c.advisory_id],
            set_={
                **{name: case((forward, excluded[name]), else_=advisories.c[name]) for name in state_columns},
                "first_sent_ms": case(
                    (excluded.first_sent_ms < advisories.c.first_sent_ms, excluded.first_sent_ms),
                    else_=advisories.c.first_sent_ms,
                ),
            },
        )
        self._connection.execute(statement, latest)
        return len(publications)

    def record_tracks(self, snapshots: Iterable[LdmSnapshot]) -> int:
        """Append every track of the snapshots (downsample first: ``downsample.TrackDownsampler``). Rows
        with a non-finite position, speed or heading are skipped; returns the rows written."""
        rows = track_rows(snapshots)
        if not rows:
            return 0
        if self._connection.dialect.name == "postgresql":
            columns = ", ".join(TRACK_COLUMNS)
            raw = self._connection.connection.driver_connection
            assert raw is not None
            with raw.cursor() as cursor, cursor.copy(f"COPY track_points ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join("?" for _ in TRACK_COLUMNS)
            self._connection.exec_driver_sql(
                f"INSERT INTO track_points ({', '.join(TRACK_COLUMNS)}) VALUES ({placeholders})", rows
            )
        return len(rows)


# -- rows in ----------------------------------------------------------------------------------------------


def track_rows(snapshots: Iterable[LdmSnapshot]) -> list[tuple[Any, ...]]:
    """The snapshots' tracks as row tuples in ``schema.TRACK_COLUMNS`` order, built column-wise."""
    parts = [snapshot for snapshot in snapshots if len(snapshot)]
    if not parts:
        return []
    time_ms = np.concatenate([np.full(len(part), part.time_ms, np.int64) for part in parts])
    x_m = np.concatenate([part.x_m for part in parts])
    y_m = np.concatenate([part.y_m for part in parts])
    speed_mps = np.concatenate([part.speed_mps for part in parts])
    heading_deg = np.concatenate([part.heading_deg for part in parts])
    lane_id = np.concatenate(
        [part.lane_id if part.lane_id is not None else np.full(len(part), None, object) for part in parts]
    )
    s_m = np.concatenate([part.s_m for part in parts])
    valid = np.isfinite(x_m) & np.isfinite(y_m) & np.isfinite(speed_mps) & np.isfinite(heading_deg)
    s_column: NDArray[np.object_] = s_m.astype(object)
    s_column[~np.isfinite(s_m)] = None  # no lane: NULL, as SQLite cannot store NaN
    columns = (
        time_ms[valid].tolist(),
        np.concatenate([part.track_id for part in parts])[valid].tolist(),
        x_m[valid].tolist(),
        y_m[valid].tolist(),
        speed_mps[valid].tolist(),
        heading_deg[valid].tolist(),
        np.concatenate([part.kind for part in parts])[valid].tolist(),
        lane_id[valid].tolist(),
        s_column[valid].tolist(),
    )
    return list(zip(*columns, strict=True))


def _device_row(device: Device) -> dict[str, Any]:
    return {
        "device_id": device.id,
        "kind": str(device.kind),
        "zone": device.zone,
        "name": device.name,
        "lon_deg": device.lon_deg,
        "lat_deg": device.lat_deg,
        "provisioned_at_ms": int(device.provisioned_at_ms),
        "auto_enrolled": bool(device.auto_enrolled),
    }


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _event_row(event: RoadEvent) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "event_type": str(event.event_type),
        "phase": str(event.phase),
        "lane_id": event.lane_id,
        "s_m": _finite_or_none(event.s_m),
        "x_m": float(event.x_m),
        "y_m": float(event.y_m),
        "severity": int(event.severity),
        "confidence": float(event.confidence),
        "start_ms": int(event.start_ms),
        "update_ms": int(event.update_ms),
        "end_ms": None if event.end_ms is None else int(event.end_ms),
        "extent_m": float(event.extent_m),
        "track_ids": [int(track_id) for track_id in event.track_ids],
        "details": {str(name): float(value) for name, value in event.details.items()},
    }


def _advisory_row(advisory: Advisory) -> dict[str, Any]:
    return {
        "advisory_id": advisory.advisory_id,
        "kind": str(advisory.kind),
        "state": str(advisory.state),
        "event_id": advisory.event_id,
        "sent_ms": int(advisory.sent_ms),
        "cancelled_ms": None if advisory.cancelled_ms is None else int(advisory.cancelled_ms),
        "relevance_lane_ids": list(advisory.relevance_lane_ids),
        "via_rsu_ids": list(advisory.via_rsu_ids),
        "vehicle_ids": list(advisory.vehicle_ids),
        "summary": advisory.summary,
    }


_T = TypeVar("_T")


def _latest(
    items: Iterable[tuple[_T, dict[str, Any]]],
    *,
    key: Callable[[_T], str],
    order: Callable[[_T], tuple[int, bool]],
) -> list[dict[str, Any]]:
    """The row of each id's newest publication (ties: the later one in the batch), by id.

    One row per id keeps the upsert to one statement per row that never touches a row twice."""
    best: dict[str, tuple[tuple[int, bool], dict[str, Any]]] = {}
    for item, row in items:
        rank = order(item)
        known = best.get(key(item))
        if known is None or rank >= known[0]:
            best[key(item)] = (rank, row)
    return [dict(best[item_id][1]) for item_id in sorted(best)]


# -- rows out ---------------------------------------------------------------------------------------------


def _stored_device(row: Row[Any]) -> StoredDevice:
    device = Device(
        id=row.device_id,
        kind=DeviceKind(row.kind),
        zone=row.zone,
        provisioned_at_ms=int(row.provisioned_at_ms),
        name=row.name,
        lon_deg=row.lon_deg,
        lat_deg=row.lat_deg,
        auto_enrolled=bool(row.auto_enrolled),
    )
    return StoredDevice(
        device=device,
        online=None if row.online is None else bool(row.online),
        status_changed_ms=row.status_changed_ms,
        last_seen_ms=row.last_seen_ms,
    )


def _road_event(row: Row[Any]) -> RoadEvent:
    return RoadEvent(
        event_id=row.event_id,
        event_type=EventType(row.event_type),
        phase=EventPhase(row.phase),
        lane_id=row.lane_id,
        s_m=math.nan if row.s_m is None else float(row.s_m),
        x_m=float(row.x_m),
        y_m=float(row.y_m),
        severity=int(row.severity),
        confidence=float(row.confidence),
        start_ms=int(row.start_ms),
        update_ms=int(row.update_ms),
        end_ms=None if row.end_ms is None else int(row.end_ms),
        extent_m=float(row.extent_m),
        track_ids=[int(track_id) for track_id in row.track_ids],
        # JSON has no NaN: it was stored as null.
        details={name: math.nan if value is None else float(value) for name, value in row.details.items()},
    )


def _advisory(row: Row[Any]) -> Advisory:
    return Advisory(
        advisory_id=row.advisory_id,
        kind=AdvisoryKind(row.kind),
        state=AdvisoryState(row.state),
        event_id=row.event_id,
        sent_ms=int(row.sent_ms),
        cancelled_ms=None if row.cancelled_ms is None else int(row.cancelled_ms),
        relevance_lane_ids=list(row.relevance_lane_ids),
        via_rsu_ids=list(row.via_rsu_ids),
        vehicle_ids=list(row.vehicle_ids),
        summary=row.summary,
    )


# -- query arguments --------------------------------------------------------------------------------------


def _event_conditions(
    active: bool | None,
    event_type: EventType | str | None,
    since_ms: int | None,
    until_ms: int | None,
    bbox_m: BoundingBox | None,
) -> list[ColumnElement[bool]]:
    _check_range(since_ms, until_ms)
    conditions: list[ColumnElement[bool]] = []
    if active is not None:
        conditions.append(events.c.end_ms.is_(None) if active else events.c.end_ms.is_not(None))
    if event_type is not None:
        conditions.append(events.c.event_type == _enum_value(EventType, event_type, "event type"))
    if until_ms is not None:
        conditions.append(events.c.start_ms <= until_ms)
    if since_ms is not None:
        conditions.append(or_(events.c.end_ms.is_(None), events.c.end_ms >= since_ms))
    if bbox_m is not None:
        xmin_m, ymin_m, xmax_m, ymax_m = _check_bbox(bbox_m)
        conditions.append(events.c.x_m.between(xmin_m, xmax_m))
        conditions.append(events.c.y_m.between(ymin_m, ymax_m))
    return conditions


def _advisory_conditions(
    active: bool | None,
    kind: AdvisoryKind | str | None,
    event_id: str | None,
    since_ms: int | None,
    until_ms: int | None,
) -> list[ColumnElement[bool]]:
    _check_range(since_ms, until_ms)
    conditions: list[ColumnElement[bool]] = []
    if active is not None:
        cancelled = advisories.c.state == AdvisoryState.CANCELLED.value
        conditions.append(~cancelled if active else cancelled)
    if kind is not None:
        conditions.append(advisories.c.kind == _enum_value(AdvisoryKind, kind, "advisory kind"))
    if event_id is not None:
        conditions.append(advisories.c.event_id == event_id)
    if until_ms is not None:
        conditions.append(advisories.c.first_sent_ms <= until_ms)
    if since_ms is not None:
        conditions.append(or_(advisories.c.cancelled_ms.is_(None), advisories.c.cancelled_ms >= since_ms))
    return conditions


def _enum_value(enum_type: type[EventType] | type[AdvisoryKind], value: str, what: str) -> str:
    try:
        return str(enum_type(value))
    except ValueError:
        known = ", ".join(member.value for member in enum_type)
        raise StoreError(f"{what} {value!r} is unknown; use one of {known}") from None


def _check_page(limit: int, offset: int, most: int) -> None:
    if not 1 <= limit <= most:
        raise StoreError(f"limit {limit} is out of range; ask for 1 to {most} rows and page with offset")
    if offset < 0:
        raise StoreError(f"offset {offset} is negative; use 0 or more")


def _check_range(since_ms: int | None, until_ms: int | None) -> None:
    if since_ms is not None and until_ms is not None and since_ms > until_ms:
        raise StoreError(f"time range {since_ms}..{until_ms} ms ends before it starts; swap the bounds")


def _check_bbox(bbox_m: BoundingBox) -> BoundingBox:
    try:
        xmin_m, ymin_m, xmax_m, ymax_m = (float(value) for value in bbox_m)
    except (TypeError, ValueError):
        raise StoreError(
            f"area {bbox_m!r} is not four numbers; give (xmin_m, ymin_m, xmax_m, ymax_m)"
        ) from None
    if not all(math.isfinite(value) for value in (xmin_m, ymin_m, xmax_m, ymax_m)):
        raise StoreError(f"area {bbox_m!r} has a non-finite bound; give finite metres")
    if xmin_m > xmax_m or ymin_m > ymax_m:
        raise StoreError(
            f"area {bbox_m!r} has a minimum above its maximum; give (xmin_m, ymin_m, xmax_m, ymax_m)"
        )
    return xmin_m, ymin_m, xmax_m, ymax_m


def first_line(error: BaseException) -> str:
    """The driver's own first line of an error, without SQLAlchemy's statement dump."""
    original = error.orig if isinstance(error, DBAPIError) else error
    text = str(original).strip()
    return text.splitlines()[0] if text else type(original).__name__
