"""Database URLs and engines: SQLite by default (a file in the working data folder), PostgreSQL by URL.

Edge of the platform, used by ``store.Store`` and ``roadcloud db``. Every URL from outside passes
``parse_url`` first, so a typo becomes one ``StoreError`` line that names the URL and the accepted forms
instead of a driver traceback.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

from roadcloud.errors import StoreError

DEFAULT_URL = "sqlite:///.roadcloud/roadcloud.db"
URL_ENVIRONMENT_VARIABLE = "ROADCLOUD_DB_URL"
_FORMS = "sqlite:///PATH (a file; the default is .roadcloud/roadcloud.db) or postgresql+psycopg://USER@HOST:PORT/DB"


def default_url() -> str:
    """``$ROADCLOUD_DB_URL`` when set, else the SQLite file in ``.roadcloud/`` of the working folder."""
    return os.environ.get(URL_ENVIRONMENT_VARIABLE) or DEFAULT_URL


def parse_url(url: str | URL) -> URL:
    """A checked URL: SQLite, or PostgreSQL through psycopg 3 (``postgresql://`` is taken to mean that)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"database URL {str(url)!r} is not a URL; use {_FORMS}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return parsed.set(drivername="sqlite")
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        if not parsed.database:
            raise StoreError(f"database URL {display_url(parsed)} names no database; use {_FORMS}")
        return parsed.set(drivername="postgresql+psycopg")
    raise StoreError(
        f"database URL {display_url(parsed)} uses {parsed.drivername!r}, which roadcloud does not support; "
        f"use {_FORMS}"
    )


def display_url(url: URL) -> str:
    """The URL for messages and logs: never the password."""
    return url.render_as_string(hide_password=True)


def is_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_store_engine(url: URL) -> Engine:
    """An engine for a checked URL. SQLite gets a created parent folder, write-ahead logging (readers do
    not block the writer), and real transactions around DDL so a migration is all-or-nothing."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(
        url, pool_pre_ping=True, json_serializer=_json_text, json_deserializer=msgspec.json.decode
    )


def _json_text(value: Any) -> str:
    # msgspec writes NaN and infinity as null, which PostgreSQL's json type accepts and json.dumps's
    # bare NaN is not.
    return msgspec.json.encode(value).decode()


def _sqlite_engine(url: URL) -> Engine:
    options: dict[str, Any] = {
        "json_serializer": _json_text,
        "json_deserializer": msgspec.json.decode,
        # The writer thread and API threads share the pool; sqlite3 connections are safe to hand over.
        "connect_args": {"check_same_thread": False},
    }
    if is_memory(url):
        # One shared connection, or every pooled connection would open its own empty database.
        options["poolclass"] = StaticPool
    else:
        path = Path(str(url.database))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(
                f"cannot create the folder {path.parent} for database {display_url(url)}: "
                f"{error.strerror or error}; choose a writable path"
            ) from None
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # pysqlite's own transaction handling commits before DDL; take it over (SQLAlchemy's documented
        # recipe) so that BEGIN … COMMIT really spans a migration.
        dbapi_connection.isolation_level = None
        if not is_memory(url):
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine
