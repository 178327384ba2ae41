"""Executors: who runs a sweep's trials. ``local`` (the default) runs them one by one in this machine's isolated
worker processes; ``ray`` (:mod:`seqarena.run.ray_executor`, extra ``.[ray]``) spreads them over a Ray cluster.

Whichever runs them, a trial means the same thing (the same isolated runner: threads fixed, memory cap, timeout),
the driver alone writes the store, and a re-run skips finished trials, so a sweep started on one executor can be
finished on the other. :func:`executing` is the one entry point: it connects, and for Ray identifies every trial by
the machine kind it is routed to (the spec hash includes the machine), so rows are labelled by the node kind that
measured them and resume finds that kind's rows.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from seqarena.bench.spec import judged_as, measured_with_memory
from seqarena.models import SpecError
from seqarena.run.worker import Runner

if TYPE_CHECKING:
    from seqarena.run.sweep import SweepRun

EXECUTORS = ("local", "ray")


class Executor(Protocol):
    """Runs a sweep: asks :meth:`SweepRun.admit` for each trial, calls ``started`` then ``record`` for those it
    runs; on KeyboardInterrupt it stops its running trials at once and re-raises."""

    name: str

    def run(self, sweep: SweepRun, timeout_s: float | None) -> None: ...

    def progress_note(self) -> str:
        """A few words for the progress bar (e.g. nodes busy / idle); empty when there is nothing to say."""
        ...


class LocalExecutor:
    """This machine: trials one at a time, in order, in reused worker processes (:class:`Runner`)."""

    name = "local"

    def run(self, sweep: SweepRun, timeout_s: float | None) -> None:
        with Runner(timeout_s=timeout_s) as runner:
            try:
                for spec in sweep.trials:
                    if sweep.admit(spec) == sweep.RUN:  # one at a time: nothing is ever running to wait for
                        started = sweep.started(spec)
                        sweep.record(spec, runner.run(spec), started)
            except KeyboardInterrupt:
                runner.kill()  # at once: a worker mid-trial would not read a polite request to stop
                raise

    def progress_note(self) -> str:
        return ""


_CURRENT: contextvars.ContextVar[Executor | None] = contextvars.ContextVar("executor", default=None)


def current_executor() -> Executor:
    """The executor in force (:func:`use_executor`); the local one by default."""
    return _CURRENT.get() or LocalExecutor()


@contextlib.contextmanager
def use_executor(executor: Executor) -> Iterator[Executor]:
    """Run every sweep inside the block (bench, claims, train, the recommender's probes) on ``executor``."""
    token = _CURRENT.set(executor)
    try:
        yield executor
    finally:
        _CURRENT.reset(token)


@contextlib.contextmanager
def executing(name: str = "local", address: str | None = None, *, device: str = "cpu",
              retries: int = 2) -> Iterator[Executor]:
    """The executor ``name`` in force inside the block. For ``ray``: connect to ``address`` (None: the cluster in
    ``RAY_ADDRESS`` or the local one), probe the nodes, route every trial to one machine kind and identify trials
    as that kind; a node lost under a trial is retried elsewhere up to ``retries`` times. One-line SpecError for an
    unknown executor, a missing Ray, or a cluster that cannot be reached or has no node for ``device``."""
    if name not in EXECUTORS:
        raise SpecError(f"unknown executor {name!r}; available: {', '.join(EXECUTORS)}")
    if name == "local":
        if address is not None:
            raise SpecError("--address is for --executor ray")
        with use_executor(LocalExecutor()) as ex:
            yield ex
        return
    from seqarena.run.ray_executor import RayExecutor

    ex = RayExecutor(address, device=device, retries=retries)
    try:
        with use_executor(ex), judged_as(ex.machine), measured_with_memory(ex.memory):
            yield ex
    finally:
        ex.close()
