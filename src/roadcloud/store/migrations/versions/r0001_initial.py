"""The first schema: device registry, events and advisories with history, track points.

Written out in full rather than imported from ``schema.py``: a revision must keep creating the schema as
it was when it was released, whatever ``schema.py`` becomes later.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _event_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("lane_id", sa.String()),
        sa.Column("s_m", sa.Double()),
        sa.Column("x_m", sa.Double(), nullable=False),
        sa.Column("y_m", sa.Double(), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("update_ms", sa.BigInteger(), nullable=False),
        sa.Column("end_ms", sa.BigInteger()),
        sa.Column("extent_m", sa.Double(), nullable=False),
        sa.Column("track_ids", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
    ]


def _advisory_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("event_id", sa.String()),
        sa.Column("sent_ms", sa.BigInteger(), nullable=False),
        sa.Column("cancelled_ms", sa.BigInteger()),
        sa.Column("relevance_lane_ids", sa.JSON(), nullable=False),
        sa.Column("via_rsu_ids", sa.JSON(), nullable=False),
        sa.Column("vehicle_ids", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128)),
        sa.Column("lon_deg", sa.Double()),
        sa.Column("lat_deg", sa.Double()),
        sa.Column("provisioned_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("auto_enrolled", sa.Boolean(), nullable=False),
        sa.Column("online", sa.Boolean()),
        sa.Column("status_changed_ms", sa.BigInteger()),
        sa.Column("last_seen_ms", sa.BigInteger()),
        sa.PrimaryKeyConstraint("device_id", name="pk_devices"),
    )
    op.create_index("ix_devices_zone", "devices", ["zone"])

    op.create_table(
        "device_status",
        sa.Column("seq", _SEQ, nullable=False, autoincrement=True),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_device_status"),
    )
    op.create_index("ix_device_status_device_id_at_ms", "device_status", ["device_id", "at_ms"])

    op.create_table(
        "events",
        sa.Column("event_id", sa.String(), nullable=False),
        *_event_columns(),
        sa.PrimaryKeyConstraint("event_id", name="pk_events"),
    )
    op.create_index("ix_events_start_ms", "events", ["start_ms"])
    op.create_index("ix_events_event_type_start_ms", "events", ["event_type", "start_ms"])

    op.create_table(
        "event_history",
        sa.Column("seq", _SEQ, nullable=False, autoincrement=True),
        sa.Column("event_id", sa.String(), nullable=False),
        *_event_columns(),
        sa.PrimaryKeyConstraint("seq", name="pk_event_history"),
    )
    op.create_index("ix_event_history_event_id_seq", "event_history", ["event_id", "seq"])

    op.create_table(
        "advisories",
        sa.Column("advisory_id", sa.String(), nullable=False),
        *_advisory_columns(),
        sa.PrimaryKeyConstraint("advisory_id", name="pk_advisories"),
    )
    op.create_index("ix_advisories_event_id", "advisories", ["event_id"])

    op.create_table(
        "advisory_history",
        sa.Column("seq", _SEQ, nullable=False, autoincrement=True),
        sa.Column("advisory_id", sa.String(), nullable=False),
        *_advisory_columns(),
        sa.PrimaryKeyConstraint("seq", name="pk_advisory_history"),
    )
    op.create_index("ix_advisory_history_advisory_id_seq", "advisory_history", ["advisory_id", "seq"])

    op.create_table(
        "track_points",
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.Column("track_id", sa.BigInteger(), nullable=False),
        sa.Column("x_m", sa.Double(), nullable=False),
        sa.Column("y_m", sa.Double(), nullable=False),
        sa.Column("speed_mps", sa.Double(), nullable=False),
        sa.Column("heading_deg", sa.Double(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("lane_id", sa.String()),
        sa.Column("s_m", sa.Double()),
    )
    op.create_index("ix_track_points_track_id_time_ms", "track_points", ["track_id", "time_ms"])
    op.create_index("ix_track_points_time_ms", "track_points", ["time_ms"])


def downgrade() -> None:
    for table in (
        "track_points",
        "advisory_history",
        "advisories",
        "event_history",
        "events",
        "device_status",
        "devices",
    ):
        op.drop_table(table)
