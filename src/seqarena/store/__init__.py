"""The results store (SQLite, one row per trial) and its pandas views; user-facing outputs written whole or not at
all. The pandas views load on first use: the command line and the workers open stores without pandas."""

from seqarena.lazy import lazy_exports
from seqarena.store.errors import StoreError
from seqarena.store.outputs import EXPORT_FORMATS, atomic_dir, atomic_file, check_output_dir, check_output_file
from seqarena.store.sqlite import DEFAULT_DB, MAX_ATTEMPTS, Store

_LAZY = {"export": "seqarena.store.frames", "load": "seqarena.store.frames"}
__getattr__, __dir__ = lazy_exports("seqarena.store", _LAZY, globals())

__all__ = ["DEFAULT_DB", "EXPORT_FORMATS", "MAX_ATTEMPTS", "Store", "StoreError", "atomic_dir", "atomic_file",
           "check_output_dir", "check_output_file", "export", "load"]
