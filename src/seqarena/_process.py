"""Which kind of process this is: the driver, or a spawned worker re-importing the script that started it.

A worker is spawned (``multiprocessing``'s spawn method), so it does not inherit the driver's modules. It imports the
driver's ``__main__`` (the user's script, or ``python -m`` module) itself, for the models the script registers
(``@register``). A script without an ``if __name__ == "__main__":`` guard would then run its own calls again in every
worker (a second sweep on the same store, refused by the writer lock, and the trials failing). While a worker
imports the script, every entry point that measures or opens a store raises :class:`ScriptReimported` instead; the
worker stops importing there and keeps what the script defined up to that call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

_importing_main = False


class ScriptReimported(BaseException):
    """Raised by seqarena's entry points while a worker re-imports the driver's script (a BaseException, so that the
    script's own ``except Exception`` cannot swallow it)."""


@contextlib.contextmanager
def importing_main() -> Iterator[None]:
    """The block re-imports the driver's script in a worker: entry points raise :class:`ScriptReimported`."""
    global _importing_main
    _importing_main = True
    try:
        yield
    finally:
        _importing_main = False


def refuse_in_script_reimport() -> None:
    """Called first by entry points that measure or open a store."""
    if _importing_main:
        raise ScriptReimported
