"""Schema migrations: the shipped revisions build exactly ``schema.py``, and an upgrade keeps every row."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, text

from roadcloud.errors import StoreError
from roadcloud.events.model import EventPhase
from roadcloud.ingest.registry import StatusChange
from roadcloud.services.model import AdvisoryState
from roadcloud.store import Store, migrate
from roadcloud.store.engine import create_store_engine, parse_url
from roadcloud.store.schema import metadata

from .factories import T0_MS


@pytest.fixture
def connection(store_url: str) -> Iterator[Connection]:
    engine = create_store_engine(parse_url(store_url))
    try:
        with engine.connect() as opened:
            yield opened
    finally:
        engine.dispose()


def test_head_revision_builds_exactly_the_declared_schema(store_url: str, connection: Connection) -> None:
    Store(store_url).close()
    differences = compare_metadata(
        MigrationContext.configure(connection, opts={"compare_type": True}), metadata
    )
    assert differences == []
    assert migrate.schema_state(connection, where="test").current == migrate.head_revision() == "0002"


def _event_row(phase: str, update_ms: int, end_ms: int | None = None) -> dict[str, Any]:
    return {
        "event_id": "E1",
        "event_type": "stopped_vehicle",
        "phase": phase,
        "lane_id": "e1_0",
        "s_m": 42.5,
        "x_m": 100.0,
        "y_m": 200.0,
        "severity": 3,
        "confidence": 0.8,
        "start_ms": T0_MS,
        "update_ms": update_ms,
        "end_ms": end_ms,
        "extent_m": 0.0,
        "track_ids": [7],
        "details": {"dwell_s": 12.0},
    }


def _advisory_row(advisory_id: str, state: str, sent_ms: int) -> dict[str, Any]:
    return {
        "advisory_id": advisory_id,
        "kind": "road_event",
        "state": state,
        "event_id": "E1",
        "sent_ms": sent_ms,
        "cancelled_ms": None,
        "relevance_lane_ids": ["e0_0"],
        "via_rsu_ids": ["R0001"],
        "vehicle_ids": ["V1"],
        "summary": "stopped vehicle ahead",
    }


def _fill_revision_1(connection: Connection) -> None:
    """Data as a roadcloud at revision 0001 wrote it, through the tables as they were then."""
    tables = MetaData()
    tables.reflect(connection)
    rows: dict[str, list[dict[str, Any]]] = {
        "devices": [
            {
                "device_id": "R0001",
                "kind": "rsu",
                "zone": "yizhuang",
                "name": "north arm",
                "lon_deg": 116.5,
                "lat_deg": 39.79,
                "provisioned_at_ms": T0_MS - 1,
                "auto_enrolled": False,
                "online": True,
                "status_changed_ms": T0_MS,
                "last_seen_ms": T0_MS + 900,
            }
        ],
        "device_status": [
            {"device_id": "R0001", "online": False, "at_ms": T0_MS - 60_000},
            {"device_id": "R0001", "online": True, "at_ms": T0_MS},
        ],
        "events": [_event_row("updated", T0_MS + 1_000)],
        "event_history": [_event_row("started", T0_MS), _event_row("updated", T0_MS + 1_000)],
        # A1 was sent at T0 and updated at T0 + 2 s; B has no history (only a hand edit could do that).
        "advisories": [
            _advisory_row("A1", "updated", T0_MS + 2_000),
            _advisory_row("B", "active", T0_MS + 7),
        ],
        "advisory_history": [
            _advisory_row("A1", "active", T0_MS),
            _advisory_row("A1", "updated", T0_MS + 2_000),
        ],
        "track_points": [
            {
                "time_ms": T0_MS + second * 1_000,
                "track_id": 7,
                "x_m": 1.0 * second,
                "y_m": 2.0,
                "speed_mps": 1.0,
                "heading_deg": 90.0,
                "kind": 1,
                "lane_id": "e1_0",
                "s_m": None,
            }
            for second in range(3)
        ],
    }
    for name, table_rows in rows.items():
        connection.execute(tables.tables[name].insert(), table_rows)
    connection.commit()


def test_upgrade_from_revision_1_keeps_every_row_and_fills_the_new_column(
    store_url: str, connection: Connection
) -> None:
    migrate.upgrade(connection, where="test", revision="0001")
    assert migrate.schema_state(connection, where="test").current == "0001"
    _fill_revision_1(connection)
    connection.close()

    with Store(store_url) as store:  # opening upgrades
        assert store.revision == "0002"
        assert store.row_counts() == {
            "devices": 1,
            "device_status": 2,
            "events": 1,
            "event_history": 2,
            "advisories": 2,
            "advisory_history": 2,
            "track_points": 3,
        }
        stored = store.device("R0001")
        assert stored is not None
        assert (stored.device.name, stored.online, stored.last_seen_ms) == ("north arm", True, T0_MS + 900)
        assert store.device_status_history("R0001") == [
            StatusChange("R0001", False, T0_MS - 60_000),
            StatusChange("R0001", True, T0_MS),
        ]
        record = store.event("E1")
        assert record is not None
        assert record.current.phase == EventPhase.UPDATED
        assert [item.phase for item in record.history] == [EventPhase.STARTED, EventPhase.UPDATED]
        assert record.current.details == {"dwell_s": 12.0} and record.current.track_ids == [7]

        first = store.advisory("A1")
        assert first is not None
        assert first.first_sent_ms == T0_MS  # from its history, not its latest sending
        assert first.current.state == AdvisoryState.UPDATED and first.current.vehicle_ids == ["V1"]
        assert len(first.history) == 2
        orphan = store.advisory("B")
        assert orphan is not None and orphan.first_sent_ms == T0_MS + 7
        # The new column serves the time filter: A1 was live from T0, before B's first sending.
        assert [item.advisory_id for item in store.advisories(until_ms=T0_MS + 5)] == ["A1"]

        assert store.track_history(7).x_m.tolist() == [0.0, 1.0, 2.0]


def test_downgrade_to_revision_1_and_up_again_keeps_the_advisories(sqlite_url: str) -> None:
    engine = create_store_engine(parse_url(sqlite_url))
    try:
        with engine.connect() as connection:
            migrate.upgrade(connection, where="test", revision="0001")
            _fill_revision_1(connection)
            migrate.upgrade(connection, where="test")
            command.downgrade(migrate.alembic_config(connection), "0001")
            connection.commit()
            assert migrate.schema_state(connection, where="test").current == "0001"
            names = connection.execute(
                text("SELECT advisory_id FROM advisories ORDER BY advisory_id")
            ).scalars()
            assert list(names) == ["A1", "B"]
    finally:
        engine.dispose()
    with Store(sqlite_url) as store:
        first = store.advisory("A1")
        assert first is not None and first.first_sent_ms == T0_MS
        assert store.row_counts()["advisory_history"] == 2


def test_database_from_a_newer_roadcloud_is_refused_with_the_fix(
    store_url: str, connection: Connection
) -> None:
    Store(store_url).close()
    connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    connection.commit()
    with pytest.raises(StoreError, match=r"revision '0099'.*newer roadcloud"):
        Store(store_url)


def test_without_upgrade_an_old_database_is_refused_with_the_command(sqlite_url: str) -> None:
    engine = create_store_engine(parse_url(sqlite_url))
    try:
        with engine.connect() as connection:
            migrate.upgrade(connection, where="test", revision="0001")
    finally:
        engine.dispose()
    with pytest.raises(
        StoreError, match=r"revision 0001, this roadcloud needs 0002; run `roadcloud db upgrade"
    ):
        Store(sqlite_url, upgrade=False)
    Store(sqlite_url).close()  # the default upgrades it
    Store(sqlite_url, upgrade=False).close()


def test_migrations_ship_inside_the_package() -> None:
    versions = sorted(path.name for path in (migrate.MIGRATIONS_PATH / "versions").glob("r*.py"))
    assert versions == ["r0001_initial.py", "r0002_advisory_first_sent.py"]
    assert (migrate.MIGRATIONS_PATH / "env.py").is_file()
