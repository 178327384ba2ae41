"""Executors: who runs a sweep's trials. ``local`` (the default) runs them in this machine's isolated worker
processes (timed trials one by one, training trials beside them on the cores the timed ones leave free); ``ray``
(:mod:`seqarena.run.ray_executor`, extra ``.[ray]``) spreads them over a Ray cluster.

Whichever runs them, a trial means the same thing (the same isolated runner: threads fixed, memory cap, timeout),
the driver alone writes the store, and a re-run skips finished trials, so a sweep started on one executor can be
finished on the other. :func:`executing` is the one entry point: it connects, and for Ray identifies every trial by
the machine kind it is routed to (the spec hash includes the machine), so rows are labelled by the node kind that
measured them and resume finds that kind's rows.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Protocol

from seqarena.bench.spec import TrialSpec, judged_as, measured_with_memory
from seqarena.errors import SpecError
from seqarena.measure.system import beside_cores
from seqarena.run.worker import MAX_GROUP, Runner, cotimable

if TYPE_CHECKING:
    from seqarena.run.bookkeeping import SweepRun

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
    """This machine, in reused worker processes (:class:`Runner`): timed trials one at a time, in order, and, while
    they run, the untimed (training) trials in a second lane pinned to the cores the timed ones leave free.

    Why two lanes: a timed CPU trial holds the last ``threads`` cores (half of them: :func:`timing_threads`), and
    by design a neighbour on the other half does not move its numbers; a training trial needs no quiet machine, only
    its own cores. Measured here (2 cores), the quick suite's training trials took ~120 s of ~590 s run one after
    another. Once the timed trials are done, the training trials still to start get every core again (the full
    suite is mostly training). The second lane runs only on a CPU with cores to spare; ``SEQARENA_SERIAL=1`` (or
    ``serial=True``) runs everything one at a time (training then gets every core)."""

    name = "local"

    def __init__(self, serial: bool | None = None) -> None:
        self.serial = os.environ.get("SEQARENA_SERIAL", "").strip() not in ("", "0") if serial is None else serial

    def run(self, sweep: SweepRun, timeout_s: float | None) -> None:
        timed = [t for t in sweep.trials if t.timed]
        untimed = [t for t in sweep.trials if not t.timed]
        reserved = max((t.threads or 0 for t in timed), default=0)
        cpu = all(t.device == "cpu" for t in sweep.trials)
        free = beside_cores(reserved) if cpu else None
        if self.serial or not timed or not untimed or free is None:
            return self._one_at_a_time(sweep, sweep.trials, Runner(timeout_s=timeout_s, spare_on=free))
        lane = _Lane(sweep, untimed, Runner(timeout_s=timeout_s, beside=reserved))
        lane.start()
        try:
            self._one_at_a_time(sweep, timed, Runner(timeout_s=timeout_s, spare_on=free), between=lane.drain)
            lane.runner.beside = 0  # the timed trials are done: the training still to start gets every core
            lane.finish()
        except BaseException:
            lane.kill()
            raise

    @staticmethod
    def _one_at_a_time(sweep: SweepRun, trials: list[TrialSpec], runner: Runner,
                       between: Callable[[], None] | None = None) -> None:
        """Run ``trials`` in order; neighbours that are contenders of one comparison (:func:`cotimable`) run as one
        co-timed group, their calls interleaved in one process (``SEQARENA_COTIME=0``: each alone)."""
        with runner as active:  # a Runner's context may hand out another (tests share one)
            active.on_progress = sweep.on_progress
            try:
                for group in _groups(trials):
                    if between:
                        between()
                    with _LOCK:
                        go = [s for s in group if sweep.admit(s) == sweep.RUN]  # one at a time: nothing to wait for
                        started = [sweep.started(s) for s in go]
                    if go:
                        results = active.run_group(go) if len(go) > 1 else [active.run(go[0])]
                        with _LOCK:
                            for spec, result, when in zip(go, results, started, strict=True):
                                sweep.record(spec, result, when)
            except KeyboardInterrupt:
                active.kill()  # at once: a worker mid-trial would not read a polite request to stop
                raise

    def progress_note(self) -> str:
        return ""


def _groups(trials: list[TrialSpec]) -> list[list[TrialSpec]]:
    """``trials`` in order, neighbours that can be co-timed (:func:`cotimable`) in one group, the rest alone."""
    together = os.environ.get("SEQARENA_COTIME", "1").strip() not in ("", "0")
    out: list[list[TrialSpec]] = []
    for t in trials:
        if out and together and len(out[-1]) < MAX_GROUP and cotimable(out[-1][0], t):
            out[-1].append(t)
        else:
            out.append([t])
    return out


#: Guards the sweep's bookkeeping (admit, started, record) between the two lanes.
_LOCK = threading.RLock()


class _Lane:
    """The untimed trials of a sweep in a thread of their own; their results wait in a queue until the driver's
    thread stores them (the store is written from one thread only), between its timed trials and at the end."""

    def __init__(self, sweep: SweepRun, trials: list[TrialSpec], runner: Runner) -> None:
        self.sweep, self.trials, self.runner = sweep, trials, runner
        self.done: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, name="seqarena-untimed-lane", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _work(self) -> None:
        try:
            with self.runner as runner:
                runner.on_progress = self.sweep.on_progress
                for spec in self.trials:
                    if self.stop.is_set():
                        return
                    with _LOCK:
                        if self.sweep.admit(spec) != self.sweep.RUN:
                            continue
                        started = self.sweep.started(spec)
                    self.done.put((spec, runner.run(spec), started))
        except BaseException as e:  # surfaced in the driver's thread by finish()
            self.error = e

    def drain(self) -> None:
        """Store every result that has arrived (the driver's thread)."""
        while True:
            try:
                spec, result, started = self.done.get_nowait()
            except queue.Empty:
                return
            with _LOCK:
                self.sweep.record(spec, result, started)

    def finish(self) -> None:
        """Wait for the lane, storing its results as they arrive; re-raise what broke it."""
        while self.thread.is_alive():
            self.thread.join(0.1)
            self.drain()
        self.drain()
        if self.error is not None:
            raise self.error

    def kill(self) -> None:
        """Stop at once (Ctrl-C or an error in the other lane); what already finished is stored."""
        self.stop.set()
        self.runner.kill()
        self.thread.join(10)
        self.drain()


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
