"""Advisories remember when they were first sent, so the API can ask which were active in a time range.

``advisories.sent_ms`` is the latest publication; the first one is only in ``advisory_history``. The new
column is filled from there (an advisory without history, which revision 0001 could not write but a hand
edit could, takes its own ``sent_ms``) before it becomes NOT NULL. On SQLite the NOT NULL step copies the
table (Alembic batch mode); it runs inside the upgrade's one transaction.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("advisories", sa.Column("first_sent_ms", sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE advisories SET first_sent_ms = COALESCE("
        "(SELECT MIN(h.sent_ms) FROM advisory_history h WHERE h.advisory_id = advisories.advisory_id), "
        "sent_ms)"
    )
    with op.batch_alter_table("advisories") as batch:
        batch.alter_column("first_sent_ms", existing_type=sa.BigInteger(), nullable=False)
    op.create_index("ix_advisories_first_sent_ms", "advisories", ["first_sent_ms"])


def downgrade() -> None:
    op.drop_index("ix_advisories_first_sent_ms", table_name="advisories")
    with op.batch_alter_table("advisories") as batch:
        batch.drop_column("first_sent_ms")
