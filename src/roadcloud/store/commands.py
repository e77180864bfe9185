"""``roadcloud db upgrade`` and ``roadcloud db current``: the store's schema from the command line.

Command-line edge of the store. ``Store(url)`` upgrades on open anyway; these are for operators who
upgrade a shared PostgreSQL deliberately (before rolling out a new roadcloud) or want to see where a
database stands. User errors raise ``StoreError``: one line, exit code 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy.exc import OperationalError

from roadcloud.errors import StoreError
from roadcloud.store import migrate
from roadcloud.store.engine import (
    DEFAULT_URL,
    URL_ENVIRONMENT_VARIABLE,
    create_store_engine,
    default_url,
    display_url,
    is_memory,
    parse_url,
)
from roadcloud.store.store import first_line


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    url_option = argparse.ArgumentParser(add_help=False)
    url_option.add_argument(
        "--url",
        metavar="URL",
        help=f"database: sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB "
        f"(default: ${URL_ENVIRONMENT_VARIABLE}, else {DEFAULT_URL})",
    )
    db = subparsers.add_parser(
        "db",
        help="upgrade the store's database or show its schema revision",
        description="The store keeps devices, events, advisories and track history in SQLite or PostgreSQL. "
        "Opening a store upgrades its schema; these commands do it, or look, on their own.",
    )
    actions = db.add_subparsers(dest="db_command", metavar="ACTION")
    actions.required = True
    upgrade = actions.add_parser(
        "upgrade",
        parents=[url_option],
        help="bring the schema to the newest revision (creates an empty database's tables)",
        description="Upgrade the database's schema to the newest revision this roadcloud knows, in one "
        "transaction. Stored data is kept.",
    )
    upgrade.set_defaults(run=_upgrade)
    current = actions.add_parser(
        "current",
        parents=[url_option],
        help="show the database's schema revision",
        description="Show the database's schema revision and whether it is the newest; changes nothing.",
    )
    current.set_defaults(run=_current)


def _upgrade(args: argparse.Namespace) -> int:
    before, after, where = _states(args.url, upgrade=True)
    if before.current == after.current:
        print(f"{where}: schema already at the newest revision {after.current}")
    else:
        print(f"{where}: schema upgraded from {before.current or 'empty'} to {after.current} (newest)")
    return 0


def _current(args: argparse.Namespace) -> int:
    state, _, where = _states(args.url, upgrade=False)
    if state.current is None:
        print(f"{where}: empty (no roadcloud schema); `roadcloud db upgrade` creates revision {state.head}")
    elif state.up_to_date:
        print(f"{where}: revision {state.current} (newest)")
    else:
        print(f"{where}: revision {state.current}; the newest is {state.head}: run `roadcloud db upgrade`")
    return 0


def _states(url_text: str | None, *, upgrade: bool) -> tuple[migrate.SchemaState, migrate.SchemaState, str]:
    url = parse_url(url_text or default_url())
    where = display_url(url)
    if not upgrade and url.get_backend_name() == "sqlite" and not is_memory(url):
        path = Path(str(url.database))
        if not path.exists():
            raise StoreError(f"no database file {path}; `roadcloud db upgrade --url {where}` creates one")
    engine = create_store_engine(url)
    try:
        with engine.connect() as connection:
            before = migrate.schema_state(connection, where=where)
            after = migrate.upgrade(connection, where=where) if upgrade else before
    except OperationalError as error:
        raise StoreError(
            f"cannot open database {where}: {first_line(error)}; check that the server runs and that the "
            "URL's host, port, user and database are right"
        ) from None
    finally:
        engine.dispose()
    return before, after, where
