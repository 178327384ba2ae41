"""The errors a user sees as one line, in one module at the bottom of the package: every layer raises them, and the
command line maps each to its exit code (:func:`seqarena.cli.app.main`) without importing the layers (or torch)."""

from __future__ import annotations

from typing import Any


def first_line(e: BaseException) -> str:
    """An exception's message as one line (errors are reported on one line); its type's name when it has none."""
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


class SpecError(ValueError):
    """An invalid model name or spec, or a bad option value. The message is one line, fit to show a user as is."""


class StoreError(RuntimeError):
    """The store cannot be used as asked (not ours, read-only, locked, full, a directory, ...): one line that says
    what and what to do; the CLI prints it and exits with code 2. Nothing already stored is touched."""


class TrainingFailed(Exception):
    """The training trial ran and failed (stored with its reason); the CLI exits 1 with that line."""


class Interrupted(Exception):
    """Ctrl-C during a sweep: the workers are gone, every finished trial is in the store. An ordinary exception (not
    a KeyboardInterrupt) so that it reaches the caller with its news: the CLI framework would swallow a
    KeyboardInterrupt into a bare exit code 130. ``summary``: the sweep's :class:`~seqarena.run.SweepSummary`."""

    def __init__(self, summary: Any, db: str) -> None:
        super().__init__()
        self.summary, self.db = summary, db

    def __str__(self) -> str:
        done = self.summary.ok + self.summary.failed
        return (f"interrupted: {done} trial(s) of this run and {self.summary.skipped} earlier one(s) are kept in "
                f"{self.db}; run the same command again to resume")
