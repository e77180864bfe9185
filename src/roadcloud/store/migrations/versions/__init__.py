"""One module per schema revision, oldest first (``r0001_…``); Alembic reads them by path."""
