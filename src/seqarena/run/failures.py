"""Why a trial failed, in one parseable form: ``"<kind>: <detail>"`` with the kind from a fixed list.

The store keeps the reason as text; :func:`parse` gives the kind back, so nothing matches failure text by ad-hoc
prefixes (the architecture work turns the kind into a typed column). ``oom`` is said only with evidence: our own
memory cap fired, torch raised an out-of-memory error, or the cgroup's ``memory.events`` oom_kill count rose while
the trial ran; any other death is named by its signal or exit code.
"""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path

CAP = "memory cap"  # our cap fired (polled RSS or the trial's exact peak)
OOM = "out of memory"  # torch / the allocator / the kernel's OOM killer (seen in the cgroup's counters)
SIGNAL = "killed by signal"  # the worker died of a signal with no sign of an OOM kill
EXIT = "worker exited"  # the worker process ended by itself, mid-trial
TIMEOUT = "timeout"
NONFINITE = "non-finite"
INVALID = "invalid"  # the spec cannot be built (a SpecError inside the worker)
RAISED = "raised"  # any other exception in the trial: a bug to look at
STARTUP = "worker did not start"
INTERRUPTED = "interrupted"  # Ctrl-C: the trial is not stored (it runs again on resume)

KINDS = (CAP, OOM, SIGNAL, EXIT, TIMEOUT, NONFINITE, INVALID, RAISED, STARTUP, INTERRUPTED)
#: Kinds that mean "too big for this machine or cap": a larger n can only fail too, and memory is bounded below.
SIZE_KINDS = frozenset({CAP, OOM})


def reason(kind: str, detail: str = "") -> str:
    """The stored text for a failure of ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"unknown failure kind {kind!r}")
    return f"{kind}: {detail}" if detail else kind


def parse(text: str | None) -> tuple[str | None, str]:
    """(kind, detail) of a stored reason; kind None for text in no known form (e.g. rows of older versions)."""
    text = text or ""
    for kind in KINDS:
        if text == kind or text.startswith(kind + ":") or text.startswith(kind + " ("):
            return kind, text[len(kind):].lstrip(":").strip()
    if text.startswith("worker died: killed by SIGKILL"):  # stores written before kinds existed
        return SIGNAL, text
    return None, text


def is_size_failure(text: str | None) -> bool:
    """True for failures that say the trial did not fit (cap or OOM), not a bug, a hang or a crash."""
    return parse(text)[0] in SIZE_KINDS


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


def death(exitcode: int | None, oom_before: int | None, oom_after: int | None) -> str:
    """The reason for a worker that died mid-trial: OOM only with the cgroup's word for it."""
    if oom_before is not None and oom_after is not None and oom_after > oom_before:
        return reason(OOM, f"the kernel's OOM killer ended the worker (cgroup oom_kill {oom_before} -> {oom_after})")
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return reason(SIGNAL, name)
    return reason(EXIT, f"exit code {exitcode}")
