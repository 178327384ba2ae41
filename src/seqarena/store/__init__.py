"""The results store (SQLite, one row per trial) and its pandas views; user-facing outputs written whole or not at
all."""

from seqarena.store.errors import StoreError
from seqarena.store.frames import EXPORT_FORMATS, export, load
from seqarena.store.outputs import atomic_dir, atomic_file, check_output_dir, check_output_file
from seqarena.store.sqlite import DEFAULT_DB, MAX_ATTEMPTS, Store

__all__ = ["DEFAULT_DB", "EXPORT_FORMATS", "MAX_ATTEMPTS", "Store", "StoreError", "atomic_dir", "atomic_file",
           "check_output_dir", "check_output_file", "export", "load"]
