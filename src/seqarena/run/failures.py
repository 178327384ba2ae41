"""Why a trial failed, as the driver finds out: deaths named by signal or exit code, OOM only with the cgroup's word.

The vocabulary (the kinds, :func:`reason`, :func:`parse`, :func:`is_size_failure`) lives in
:mod:`seqarena.store.failures`, because the store keeps the kind as a typed column; it is re-exported here so that
``seqarena.run.failures`` stays the one import for code that runs trials.
"""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path

from seqarena.store.failures import (
    CAP,
    DIVERGED,
    EXIT,
    INTERRUPTED,
    INVALID,
    KINDS,
    LOST,
    NONFINITE,
    OOM,
    RAISED,
    SIGNAL,
    SIZE_KINDS,
    STARTUP,
    TIMEOUT,
    Failure,
    FailureKind,
    check_kind,
    is_size_failure,
    kind_of,
    parse,
    reason,
)

__all__ = ["CAP", "DIVERGED", "EXIT", "INTERRUPTED", "INVALID", "KINDS", "LOST", "NONFINITE", "OOM", "RAISED", "SIGNAL",
           "SIZE_KINDS", "STARTUP", "TIMEOUT", "Failure", "FailureKind", "check_kind", "death", "death_failure",
           "is_size_failure", "kind_of", "oom_kills", "parse", "reason"]


def oom_kills() -> int | None:
    """The kernel's OOM-kill count for this process's cgroup (v2 ``memory.events``), None where unreadable."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        line = Path("/proc/self/cgroup").read_text().splitlines()[0]
        group = line.split(":", 2)[2]
        for row in (Path("/sys/fs/cgroup") / group.lstrip("/") / "memory.events").read_text().splitlines():
            key, value = row.split()
            if key == "oom_kill":
                return int(value)
    return None


def death_failure(exitcode: int | None, oom_before: int | None, oom_after: int | None) -> Failure:
    """Why a worker died mid-trial: OOM only with the cgroup's word for it, else its signal or exit code."""
    if oom_before is not None and oom_after is not None and oom_after > oom_before:
        return Failure(OOM, f"the kernel's OOM killer ended the worker (cgroup oom_kill {oom_before} -> {oom_after})")
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return Failure(SIGNAL, name)
    return Failure(EXIT, f"exit code {exitcode}")


def death(exitcode: int | None, oom_before: int | None, oom_after: int | None) -> str:
    """The reason text for a worker that died mid-trial (:func:`death_failure` as stored)."""
    return str(death_failure(exitcode, oom_before, oom_after))
