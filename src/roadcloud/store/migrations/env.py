"""Alembic's environment for the store: runs the revisions in ``versions/`` on one connection.

``store.migrate`` hands it an open connection (``config.attributes["connection"]``); a developer running
the ``alembic`` command with ``-x url=…`` or ``sqlalchemy.url`` gets an engine made from that URL. The
whole upgrade is one transaction (SQLite included: ``store.engine`` makes its DDL transactional), so a
failed revision leaves the database as it was.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from roadcloud.store.engine import create_store_engine, parse_url
from roadcloud.store.schema import metadata

# Any constant: two processes that open the same new PostgreSQL database at once take turns upgrading.
_UPGRADE_LOCK_KEY = 0x726F6164  # "road"


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite can only change a column by copying its table
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK_KEY})
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        raise SystemExit("roadcloud migrations run against a database; offline (--sql) mode is not supported")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("give the database: alembic -x url=sqlite:///PATH …")
    engine = create_store_engine(parse_url(url))
    try:
        with engine.connect() as own_connection:
            _run(own_connection)
    finally:
        engine.dispose()


_main()
