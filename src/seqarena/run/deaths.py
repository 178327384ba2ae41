"""Why a worker died mid-trial, as the driver finds out: by signal or exit code, OOM only with the cgroup's word.
The failure kinds themselves have one home, :mod:`seqarena.store.failures` (the store keeps the kind as a typed
column)."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path

from seqarena.store.failures import EXIT, OOM, SIGNAL, Failure


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
