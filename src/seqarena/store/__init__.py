"""The results store (SQLite, one row per trial) and its pandas views."""

from seqarena.store.frames import EXPORT_FORMATS, export, load
from seqarena.store.sqlite import DEFAULT_DB, Store

__all__ = ["DEFAULT_DB", "EXPORT_FORMATS", "Store", "export", "load"]
