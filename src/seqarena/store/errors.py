"""The store's one error type: a problem with the results store or an output path, said in one line (its home is
:mod:`seqarena.errors`, with the other errors a user sees)."""

from __future__ import annotations

from seqarena.errors import StoreError

__all__ = ["StoreError"]
