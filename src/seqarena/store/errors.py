"""The store's one error type: a problem with the results store or an output path, said in one line."""

from __future__ import annotations


class StoreError(RuntimeError):
    """The store cannot be used as asked (not ours, read-only, locked, full, a directory, ...): one line that says
    what and what to do; the CLI prints it and exits with code 2. Nothing already stored is touched."""
