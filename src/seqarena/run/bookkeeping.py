"""One sweep's bookkeeping, the same whichever executor runs it (:class:`SweepRun`), and what a sweep did
(:class:`SweepSummary`). Its own module so that the executors (local and Ray) use it without importing the sweep
that calls them: ``run.sweep`` -> ``run.executors`` -> ``run.ray_executor`` -> here, no circle."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Sequence

from seqarena.bench.spec import TrialSpec
from seqarena.run.worker import TrialResult
from seqarena.store import failures
from seqarena.store.sqlite import Store, now


@dataclasses.dataclass
class SweepSummary:
    """What a sweep did: counts by outcome."""

    total: int
    skipped: int = 0  # already in the store (resume)
    ok: int = 0
    failed: int = 0
    pruned: int = 0  # memory sweep: a smaller n already failed
    contended: int = 0  # timing trials measured while other processes kept the CPU busy (re-measured next run)
    failures: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (label, reason)


def _prune_key(spec: TrialSpec) -> str:
    d = spec.model_dump(mode="json")
    d.pop("seq_len")
    d.pop("round")
    return json.dumps(d, sort_keys=True)


class SweepRun:
    """One sweep's bookkeeping, the same whichever executor runs it: what to skip (finished: resume), to prune
    (a memory trial larger than a size failure of the same model) or to hold back (a memory trial while a smaller n
    of the same model runs elsewhere, so pruning still applies on a cluster), and storing each result as it comes."""

    SKIP, RUN, WAIT = "skip", "run", "wait"

    def __init__(self, trials: Sequence[TrialSpec], store: Store, sweep: str | None,
                 on_start: Callable[[TrialSpec], None] | None,
                 on_done: Callable[[TrialSpec, TrialResult | None], None] | None) -> None:
        self.trials, self.store, self.sweep = list(trials), store, sweep
        self.on_start, self.on_done = on_start, on_done
        self.on_progress: Callable[[TrialSpec, dict], None] | None = None
        self.summary = SweepSummary(total=len(self.trials))
        self.finished = store.finished()
        self.failed_at: dict[str, int] = {}  # memory sweeps: smallest n that failed for size, per model/setting
        self._running: dict[str, list[int]] = {}  # memory sweeps: n of the trials in flight, per model/setting
        self._hashes: dict[int, str] = {}  # id(spec) -> spec hash (the trials list keeps every spec alive)
        for row in store.rows(scenario="memory", status="failed"):
            spec = TrialSpec(**row["spec"])
            # only size failures, and only this machine's (the hash includes the machine identity)
            if failures.is_size_failure(row["failure"]) and spec.spec_hash() == row["spec_hash"]:
                key = _prune_key(spec)
                self.failed_at[key] = min(self.failed_at.get(key, spec.seq_len), spec.seq_len)

    def admit(self, spec: TrialSpec) -> str:
        """SKIP (finished or pruned: counted and reported done), WAIT (try again after a running trial returns) or
        RUN (the caller runs it now and calls :meth:`started`, then :meth:`record`)."""
        if self.hash_of(spec) in self.finished:
            self.summary.skipped += 1
            return self._skip(spec)
        if spec.scenario == "memory":
            key = _prune_key(spec)
            if key in self.failed_at and spec.seq_len > self.failed_at[key]:
                self.summary.pruned += 1
                return self._skip(spec)
            if any(n < spec.seq_len for n in self._running.get(key, ())):
                return self.WAIT
        return self.RUN

    def hash_of(self, spec: TrialSpec) -> str:
        """The trial's spec hash, computed once."""
        if id(spec) not in self._hashes:
            self._hashes[id(spec)] = spec.spec_hash()
        return self._hashes[id(spec)]

    def _skip(self, spec: TrialSpec) -> str:
        if self.on_done:
            self.on_done(spec, None)
        return self.SKIP

    def started(self, spec: TrialSpec) -> str:
        """The trial starts now: progress hears of it; returns the start time to store with its row."""
        if spec.scenario == "memory":
            self._running.setdefault(_prune_key(spec), []).append(spec.seq_len)
        if self.on_start:
            self.on_start(spec)
        return now()

    def abandoned(self, spec: TrialSpec) -> None:
        """A started trial will run again later (its cluster node was lost): nothing is stored for it now."""
        if spec.scenario == "memory":
            with contextlib.suppress(KeyError, ValueError):
                self._running[_prune_key(spec)].remove(spec.seq_len)

    def record(self, spec: TrialSpec, result: TrialResult, started: str) -> None:
        """Store one trial's result at once, and count it."""
        h = self.hash_of(spec)
        key = _prune_key(spec)
        self.abandoned(spec)
        self.store.add(spec_hash=h, spec=spec.model_dump(mode="json"), status=result.status, metrics=result.metrics,
                       reason=result.reason, env=result.env, sweep=self.sweep, started_at=started,
                       duration_s=result.duration_s, contended=result.contended, failure=result.failure)
        self.finished.add(h)
        self.summary.contended += result.contended
        if result.status == "ok":
            self.summary.ok += 1
        else:
            self.summary.failed += 1
            self.summary.failures.append((spec.label(), result.reason or ""))
            if spec.scenario == "memory" and failures.is_size_failure(result.failure):
                self.failed_at[key] = min(self.failed_at.get(key, spec.seq_len), spec.seq_len)
        if self.on_done:
            self.on_done(spec, result)
