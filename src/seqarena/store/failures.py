"""Why a trial failed: the fixed vocabulary of failure kinds, and the reason text ``"<kind>: <detail>"``.

The kind lives here, in the store's layer, because the store keeps it as a typed column (``failure``, schema
version 3) beside the reason text and back-fills it for older stores with :func:`parse`; :mod:`seqarena.run.deaths`
(which names deaths by signal and reads the cgroup's OOM counter) builds on it. ``oom`` is said only with evidence:
our own memory cap fired, torch raised an out-of-memory error, or the kernel's OOM killer was seen ending the worker.
"""

from __future__ import annotations

import dataclasses
from typing import Literal, get_args

FailureKind = Literal["memory cap", "out of memory", "killed by signal", "worker exited", "timeout", "non-finite",
                      "diverged", "invalid", "raised", "worker did not start", "interrupted", "node lost"]

CAP: FailureKind = "memory cap"  # our cap fired (polled RSS or the trial's exact peak)
OOM: FailureKind = "out of memory"  # torch / the allocator / the kernel's OOM killer (seen in the cgroup's counters)
SIGNAL: FailureKind = "killed by signal"  # the worker died of a signal with no sign of an OOM kill
EXIT: FailureKind = "worker exited"  # the worker process ended by itself, mid-trial
TIMEOUT: FailureKind = "timeout"
NONFINITE: FailureKind = "non-finite"
# a training run's loss or gradient norm went non-finite or exploded, or its final validation loss is not finite; the
# detail names the step. Never a chance-level score: a claim reads it as a failure (or, on a learning-rate grid, as
# an LR that does not work)
DIVERGED: FailureKind = "diverged"
INVALID: FailureKind = "invalid"  # the spec cannot be built (a SpecError inside the worker)
RAISED: FailureKind = "raised"  # any other exception in the trial: a bug to look at
STARTUP: FailureKind = "worker did not start"
INTERRUPTED: FailureKind = "interrupted"  # Ctrl-C: the trial is not stored (it runs again on resume)
LOST: FailureKind = "node lost"  # a cluster node died under the trial, on every allowed try (the Ray executor)

KINDS: tuple[FailureKind, ...] = get_args(FailureKind)
#: Kinds that mean "too big for this machine or cap": a larger n can only fail too, and memory is bounded below.
SIZE_KINDS: frozenset[FailureKind] = frozenset({CAP, OOM})


def check_kind(kind: str) -> FailureKind:
    """``kind`` itself when it is one of :data:`KINDS`; ValueError otherwise (a typo must not reach the store)."""
    if kind not in KINDS:
        raise ValueError(f"unknown failure kind {kind!r}; known: {', '.join(KINDS)}")
    return kind  # type: ignore[return-value]


def reason(kind: str, detail: str = "") -> str:
    """The stored text for a failure of ``kind``."""
    check_kind(kind)
    return f"{kind}: {detail}" if detail else kind


@dataclasses.dataclass(frozen=True)
class Failure:
    """A failed trial's kind and detail, as the worker reports it; ``str()`` is the stored reason text."""

    kind: FailureKind
    detail: str = ""

    def __post_init__(self) -> None:
        check_kind(self.kind)

    def __str__(self) -> str:
        return reason(self.kind, self.detail)


def parse(text: str | None) -> tuple[FailureKind | None, str]:
    """(kind, detail) of a stored reason; kind None for text in no known form (e.g. rows of older versions)."""
    text = text or ""
    for kind in KINDS:
        if text == kind or text.startswith(kind + ":") or text.startswith(kind + " ("):
            return kind, text[len(kind):].lstrip(":").strip()
    if text.startswith("worker died: killed by SIGKILL"):  # stores written before kinds existed
        return SIGNAL, text
    return None, text


def kind_of(failure: str | None) -> FailureKind | None:
    """The kind of a stored ``failure`` column or of a reason text (a kind is its own shortest reason text)."""
    return parse(failure)[0]


def is_size_failure(failure: str | None) -> bool:
    """True for failures that say the trial did not fit (cap or OOM), not a bug, a hang or a crash. Takes the
    stored kind (``row["failure"]``) or, as before the column existed, the reason text."""
    return kind_of(failure) in SIZE_KINDS
