"""The case-history store: children, events and loads behind SQLAlchemy, migrated by Alembic."""

from serving.store.db import (
    DEFAULT_DATABASE_URL,
    StoreError,
    make_engine,
    require_current,
    upgrade,
)
from serving.store.load import LoadResult, load_folder, read_frames

__all__ = [
    "DEFAULT_DATABASE_URL",
    "LoadResult",
    "StoreError",
    "load_folder",
    "make_engine",
    "read_frames",
    "require_current",
    "upgrade",
]
