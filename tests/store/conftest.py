"""Store fixtures: a SQLite file per test, and a real PostgreSQL that the session starts for itself.

The PostgreSQL server is ``roadcloud.store.pgserver.TemporaryPostgres``: ``initdb`` into a temporary
folder and ``pg_ctl start`` on a free loopback port (as the ``postgres`` user when the tests run as root),
never the machine's own service. Each test gets a new database on it. Without the server binaries the
PostgreSQL tests are skipped with the install line, and fail under CI=true, where ``make test`` has
installed them (a skip there would hide them).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from roadcloud.store import Store
from roadcloud.store.pgserver import INSTALL_HINT, TemporaryPostgres, find_bindir

_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres]:
    if find_bindir() is None:
        message = f"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = TemporaryPostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def postgres_url(postgres_server: TemporaryPostgres) -> str:
    """A new, empty database on the session's server."""
    if not postgres_server.running:  # a test that stopped the server failed before starting it again
        postgres_server.start()
    return postgres_server.create_database(f"test_{next(_database_numbers)}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store_url(request: pytest.FixtureRequest) -> str:
    """The same test on SQLite and on PostgreSQL."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as opened:
        yield opened
