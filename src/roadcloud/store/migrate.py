"""Schema migrations, run from code: upgrade a database to the newest revision, or say where it stands.

Edge of the platform, used by ``Store`` when it opens a database and by ``roadcloud db``. The revisions
are Alembic scripts shipped inside the package (``migrations/versions``), so an installed roadcloud
upgrades its database without an ``alembic.ini`` or a source checkout. Upgrades only add and transform;
a revision that would drop data it cannot rebuild does not belong here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection

from roadcloud import __version__
from roadcloud.errors import StoreError

MIGRATIONS_PATH = Path(__file__).parent / "migrations"


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database stands: its revision (None for an empty database) and this roadcloud's newest."""

    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the shipped migrations; with ``connection`` they run on it."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_PATH))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the shipped migrations have no head revision"
    return head


def schema_state(connection: Connection, *, where: str) -> SchemaState:
    """The database's revision; ``StoreError`` when a newer roadcloud wrote it (``where`` names it)."""
    current = MigrationContext.configure(connection).get_current_revision()
    if connection.in_transaction():
        connection.rollback()  # reading the version opened a transaction; leave the connection clean
    head = head_revision()
    if current is not None:
        try:
            ScriptDirectory.from_config(alembic_config()).get_revision(current)
        except CommandError:
            raise StoreError(
                f"database {where} is at schema revision {current!r}, which roadcloud {__version__} does not "
                f"know (its newest is {head!r}); open it with the newer roadcloud that wrote it"
            ) from None
    return SchemaState(current=current, head=head)


def upgrade(connection: Connection, *, where: str, revision: str = "head") -> SchemaState:
    """Bring the database to ``revision`` (the newest by default) in one transaction; returns the state."""
    before = schema_state(connection, where=where)
    if revision == "head" and before.up_to_date:
        return before
    command.upgrade(alembic_config(connection), revision)
    if connection.in_transaction():
        connection.commit()
    return schema_state(connection, where=where)
