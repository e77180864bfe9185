"""The store's tables, as SQLAlchemy Core: one definition that renders on SQLite and PostgreSQL alike.

Edge of the platform: ``store.Store`` writes what the pipeline publishes (device registry, road events,
advisories, downsampled tracks) into these tables and reads them back for the API. This module is the
schema at the newest migration; ``migrations/versions`` holds how each older database gets here, and a
test checks that both agree.

Conventions: times are UTC epoch milliseconds (``_ms``, BIGINT), positions are metres in the zone's local
frame (``x_m``, ``y_m``), device positions WGS84 degrees. Current-state tables (``devices``, ``events``,
``advisories``) hold one row per thing; ``*_history`` tables hold every publication in arrival order
(``seq``). There are no foreign keys on purpose: history outlives the thing it describes (a removed
device keeps its status history) and a batch is never refused because its rows arrived out of order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

# Stable constraint names, so migrations can refer to them on both databases.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid); PostgreSQL gets a 64-bit identity.
SequenceId = BigInteger().with_variant(Integer(), "sqlite")

DEVICE_ID_LENGTH = 64  # the registry's limit: one MQTT topic level


def _seq() -> Column[int]:
    return Column("seq", SequenceId, primary_key=True, autoincrement=True)


devices = Table(
    "devices",
    metadata,
    Column("device_id", String(DEVICE_ID_LENGTH), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("zone", String(DEVICE_ID_LENGTH), nullable=False, index=True),
    Column("name", String(128)),
    Column("lon_deg", Double()),
    Column("lat_deg", Double()),
    Column("provisioned_at_ms", BigInteger(), nullable=False),
    Column("auto_enrolled", Boolean(), nullable=False),
    # Liveness as last reported by the registry's sweep; NULL until the first status change.
    Column("online", Boolean()),
    Column("status_changed_ms", BigInteger()),
    Column("last_seen_ms", BigInteger()),
)

device_status = Table(
    "device_status",
    metadata,
    _seq(),
    Column("device_id", String(DEVICE_ID_LENGTH), nullable=False),
    Column("online", Boolean(), nullable=False),
    Column("at_ms", BigInteger(), nullable=False),
    Index("ix_device_status_device_id_at_ms", "device_id", "at_ms"),
)


def _event_columns() -> list[Column[Any]]:
    """The columns of one ``RoadEvent`` publication, fresh objects for each table that holds them."""
    return [
        Column("event_type", String(40), nullable=False),
        Column("phase", String(16), nullable=False),
        Column("lane_id", String()),
        Column("s_m", Double()),  # NULL: not on a lane (NaN in the event)
        Column("x_m", Double(), nullable=False),
        Column("y_m", Double(), nullable=False),
        Column("severity", SmallInteger(), nullable=False),
        Column("confidence", Double(), nullable=False),
        Column("start_ms", BigInteger(), nullable=False),
        Column("update_ms", BigInteger(), nullable=False),
        Column("end_ms", BigInteger()),
        Column("extent_m", Double(), nullable=False),
        Column("track_ids", JSON(), nullable=False),
        Column("details", JSON(), nullable=False),
    ]


events = Table(
    "events",
    metadata,
    Column("event_id", String(), primary_key=True),
    *_event_columns(),
    Index("ix_events_start_ms", "start_ms"),
    Index("ix_events_event_type_start_ms", "event_type", "start_ms"),
)

event_history = Table(
    "event_history",
    metadata,
    _seq(),
    Column("event_id", String(), nullable=False),
    *_event_columns(),
    Index("ix_event_history_event_id_seq", "event_id", "seq"),
)


def _advisory_columns() -> list[Column[Any]]:
    """The columns of one ``Advisory`` publication."""
    return [
        Column("kind", String(32), nullable=False),
        Column("state", String(16), nullable=False),
        Column("event_id", String()),
        Column("sent_ms", BigInteger(), nullable=False),
        Column("cancelled_ms", BigInteger()),
        Column("relevance_lane_ids", JSON(), nullable=False),
        Column("via_rsu_ids", JSON(), nullable=False),
        Column("vehicle_ids", JSON(), nullable=False),
        Column("summary", Text(), nullable=False),
    ]


advisories = Table(
    "advisories",
    metadata,
    Column("advisory_id", String(), primary_key=True),
    *_advisory_columns(),
    # Revision 0002: when the advisory was first sent, so a time range can ask "active between".
    Column("first_sent_ms", BigInteger(), nullable=False),
    Index("ix_advisories_event_id", "event_id"),
    Index("ix_advisories_first_sent_ms", "first_sent_ms"),
)

advisory_history = Table(
    "advisory_history",
    metadata,
    _seq(),
    Column("advisory_id", String(), nullable=False),
    *_advisory_columns(),
    Index("ix_advisory_history_advisory_id_seq", "advisory_id", "seq"),
)

# Downsampled track history. No primary key: a replay that writes the same (track, time) twice must not
# make the whole batch fail; the indexes serve the two queries (one track; an area over a time range) and
# retention (delete by time).
track_points = Table(
    "track_points",
    metadata,
    Column("time_ms", BigInteger(), nullable=False),
    Column("track_id", BigInteger(), nullable=False),
    Column("x_m", Double(), nullable=False),
    Column("y_m", Double(), nullable=False),
    Column("speed_mps", Double(), nullable=False),
    Column("heading_deg", Double(), nullable=False),
    Column("kind", SmallInteger(), nullable=False),
    Column("lane_id", String()),
    Column("s_m", Double()),
    Index("ix_track_points_track_id_time_ms", "track_id", "time_ms"),
    Index("ix_track_points_time_ms", "time_ms"),
)

TRACK_COLUMNS = tuple(column.name for column in track_points.columns)
