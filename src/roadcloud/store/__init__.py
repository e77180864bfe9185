"""Storage (#6): the device registry, road events and advisories with their history, and downsampled track
history, in SQLite (the default, one file) or PostgreSQL (by URL).

Data flow: the pipeline hands its publications to ``StoreWriter`` (a thread of its own; the 10 Hz loop
never waits on the database), which writes them through ``Store``; the API reads with ``Store``'s queries.
``Store(url)`` upgrades the schema (Alembic revisions shipped in ``migrations/``) before first use.

    store = Store("sqlite:///.roadcloud/roadcloud.db")          # or postgresql+psycopg://user@host/db
    with StoreWriter(store) as writer:                          # close() stores what is queued
        writer.submit_events(events); writer.submit_snapshot(snapshot)
    store.events(active=True, bbox_m=(0, 0, 500, 500), limit=50)
"""

from roadcloud.store.downsample import TrackDownsampler
from roadcloud.store.engine import DEFAULT_URL, default_url
from roadcloud.store.records import AdvisoryRecord, BoundingBox, EventRecord, StoredDevice, TrackHistory
from roadcloud.store.store import Store, StoreConfig, StoreTransaction
from roadcloud.store.writer import StoreWriter, WriterConfig, WriterCounts

__all__ = [
    "DEFAULT_URL",
    "AdvisoryRecord",
    "BoundingBox",
    "EventRecord",
    "Store",
    "StoreConfig",
    "StoreTransaction",
    "StoreWriter",
    "StoredDevice",
    "TrackDownsampler",
    "TrackHistory",
    "WriterConfig",
    "WriterCounts",
    "default_url",
]
