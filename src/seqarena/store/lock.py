"""One writer per store: an exclusive ``flock`` on ``<store>.lock`` beside it.

Two sweeps writing one store at once would both measure everything, each under the other's load, and one would
silently discard half the work; the second is refused instead, with one line naming the first. The kernel releases
the lock when its holder exits, even on SIGKILL, so a killed run never leaves a stale lock behind. Readers (report,
export) take no lock: SQLite's WAL lets them read while a sweep writes. Within one process the lock is re-entrant
(the main job opens the store in several places while holding it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from seqarena.store.errors import StoreError

_HELD: dict[str, list] = {}  # realpath of the lock file -> [fd, holders] within this process


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


class WriterLock:
    """Held from construction until :meth:`release`; :class:`StoreError` when another process holds it."""

    def __init__(self, db: Path) -> None:
        self.path = lock_path(db)
        self.key = os.path.realpath(self.path)
        self._held = False
        if self.key in _HELD:
            _HELD[self.key][1] += 1
            self._held = True
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise StoreError(f"cannot write beside the results store {db} (lock file {self.path}): "
                             f"{e.strerror or e}; make the folder writable or pick another --db") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise StoreError(f"another seqarena run (pid {holder}) is writing {db}; wait for it to finish or pick "
                             "another --db") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _HELD[self.key] = [fd, 1]
        self._held = True

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        entry = _HELD[self.key]
        entry[1] -= 1
        if entry[1] == 0:
            del _HELD[self.key]
            with contextlib.suppress(OSError):
                os.ftruncate(entry[0], 0)
            os.close(entry[0])  # closing the descriptor releases the flock; the file stays (unlinking would race)
