"""Trial isolation: each trial runs in a spawned worker process that the driver can time out, cap and kill.

A worker is reused for many trials (a spawn plus ``import torch`` costs ~2 s here) and replaced after any failure;
risky trials (capped or very large ones) get a fresh worker of their own. Workers die with the driver:
``PR_SET_PDEATHSIG`` makes the kernel SIGKILL them when the driver goes, so a killed sweep leaves no orphan computing,
and only the driver writes to the store, so a killed sweep leaves no half-written rows either. The contenders of one
comparison can run as a co-timed group in one worker (:meth:`Runner.run_group`, :mod:`seqarena.measure.cotimer`);
the worker's own side is :mod:`seqarena.run.child`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing as mp
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from seqarena.bench.duration import training_timeout_s
from seqarena.bench.spec import TrialSpec
from seqarena.measure.load import LoadProbe, load_ignored
from seqarena.run import deaths
from seqarena.run.child import worker_main
from seqarena.store import failures

_STARTUP_TIMEOUT_S = 180.0


_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _main_hidden() -> Iterator[tuple[str, str] | None]:
    """While a worker starts: ``__main__`` without its file and spec, so that multiprocessing's spawn does not make
    the worker run the driver's script (an unguarded script would run its calls again there); yields what the
    worker imports itself instead, with seqarena's entry points stopped (:func:`seqarena.run.child.import_driver_main`):
    ("module", name) for ``python -m``, ("path", script), or None (a REPL, a notebook, seqarena's own CLI)."""
    main_module = sys.modules.get("__main__")
    spec = getattr(main_module, "__spec__", None)
    path = getattr(main_module, "__file__", None)
    main: tuple[str, str] | None = None
    if spec is not None and getattr(spec, "name", None) not in (None, "__main__"):
        main = ("module", spec.name)
    elif path:
        main = ("path", os.path.abspath(path))
    if main is not None and (main[1].startswith(("seqarena", "pytest", "_pytest")) or main[1].endswith("/seqarena")):
        main = None  # seqarena's own command line and the test runner register no models
    with _MAIN_LOCK:
        saved = {k: v for k, v in vars(main_module).items() if k in ("__file__", "__spec__")} if main_module else {}
        try:
            if main_module is not None:
                main_module.__dict__.pop("__file__", None)
                main_module.__spec__ = None
            yield main
        finally:
            if main_module is not None:
                main_module.__dict__.update(saved)


#: The memory scenario's workers start with glibc's mmap threshold fixed at 128 KiB (its initial value). Left dynamic,
#: glibc raises it after a large block is freed, and later large tensors come from the heap, whose freed top is not
#: always returned: the same memory trial's peak then moved by 1-3 MB from one process to the next (s.d. over six
#: fresh workers, LSTM + TBPTT training and transformer inference at 1k-8k tokens); fixed, by ~0.1 MB, and the peak
#: is the live tensors' (bounded for TBPTT, linear for a KV cache). Only the memory workers: each large allocation
#: then costs an mmap and page faults, ~40% on a transformer forward here, which would distort the timing trials.
MEMORY_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}


@contextlib.contextmanager
def environ_with(env: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``env`` set while a worker starts (a spawned process copies it), restored after."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _flavour(spec: TrialSpec) -> str:
    """Which kind of worker runs ``spec``: "memory" (:data:`MEMORY_ENV`) for CPU memory trials, else "timing"."""
    return "memory" if spec.scenario == "memory" and spec.device == "cpu" else "timing"


@dataclasses.dataclass
class TrialResult:
    """What the driver learns about one trial."""

    status: str  # ok | failed
    metrics: dict[str, Any]
    reason: str | None
    env: dict[str, Any]
    duration_s: float
    contended: bool = False  # other processes kept the CPU busy while this timing trial ran (env["load"] says how)
    failure: failures.FailureKind | None = None  # the kind of a failed trial (stored in the ``failure`` column)

    @classmethod
    def failed(cls, failure: failures.Failure, env: dict[str, Any], duration_s: float,
               metrics: dict[str, Any] | None = None, contended: bool = False) -> TrialResult:
        """A failed trial: its reason text and its kind, from one :class:`~seqarena.store.failures.Failure`."""
        return cls("failed", metrics or {}, str(failure), env, duration_s, contended, failure.kind)


def _process_rss(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


class Worker:
    """One spawned worker process and the driver's end of its pipe."""

    def __init__(self, start_on: tuple[int, ...] | None = None, env: dict[str, str] | None = None) -> None:
        """``start_on``: cores for the start-up only (a spare starting while a timed trial runs elsewhere); ``env``:
        variables the process starts with (read once, at start, like glibc's ``MEMORY_ENV``)."""
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        threads = None
        if start_on:
            import torch

            threads = torch.get_num_threads()
        with _main_hidden() as main, environ_with(env or {}):
            self.process = ctx.Process(target=worker_main, args=(child, os.getpid(), start_on, threads, main),
                                       daemon=True)
            self.process.start()
        child.close()
        self.trials = 0
        self.on_progress: Callable[[TrialSpec, dict], None] | None = None  # a running trial's progress notes

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.process.kill()
            self.process.join(timeout=10)
        with contextlib.suppress(OSError):
            self.conn.close()

    def close(self) -> None:
        """Ask the worker to exit; kill it if it does not."""
        with contextlib.suppress(OSError, ValueError, BrokenPipeError):
            self.conn.send(None)
            self.process.join(timeout=10)
        self.kill()

    def _death(self, oom_before: int | None) -> failures.Failure:
        self.process.join(timeout=5)
        return deaths.death_failure(self.process.exitcode, oom_before, deaths.oom_kills())

    def _await(self, spec: TrialSpec | None, timeout_s: float | None, poll_s: float, baseline: int | None,
               oom_before: int | None) -> Any:
        """The worker's answer, or the Failure that ended the wait: its death, the timeout, or (``spec`` with a
        memory cap, on CPU) its RSS over the cap above ``baseline``, polled every ``poll_s`` to stop a runaway
        allocation early (short spikes between polls are caught exactly afterwards, from VmHWM)."""
        cap = None if spec is None or spec.memory_cap_mb is None else spec.memory_cap_mb * 2**20
        deadline = None if timeout_s is None else time.perf_counter() + timeout_s
        while True:
            try:
                if self.conn.poll(poll_s):
                    msg = self.conn.recv()
                    if isinstance(msg, tuple) and msg and msg[0] == "progress":  # a running training's note
                        if self.on_progress is not None and spec is not None:
                            self.on_progress(spec, msg[1])
                        continue
                    return msg
            except (EOFError, OSError):
                return self._death(oom_before)
            if not self.process.is_alive():
                return self._death(oom_before)
            if deadline is not None and time.perf_counter() > deadline:
                self.kill()
                return failures.Failure(failures.TIMEOUT, f"still running after {timeout_s:g} s")
            if cap is not None and spec is not None and spec.device == "cpu" and baseline is not None:
                rss = _process_rss(self.process.pid)
                if rss is not None and rss - baseline > cap:
                    self.kill()
                    return failures.Failure(failures.CAP, f"RSS reached {(rss - baseline) / 2**20:.0f} MB above "
                                                          f"the trial's baseline (cap {spec.memory_cap_mb:g} MB)")

    def run_group(self, specs: list[TrialSpec], timeout_s: float | None, poll_s: float = 0.05
                  ) -> list[TrialResult] | failures.Failure:
        """Run timed trials of one comparison as a co-timed group (:func:`_run_group`): a result per trial, or the
        Failure that took the whole worker (death, timeout): the caller then runs each trial alone, so that a
        failure is the trial's own. One load probe covers the group; no memory cap (risky trials run alone)."""
        self.trials += len(specs)
        oom_before = deaths.oom_kills()
        try:
            self.conn.send({"_group": [s.model_dump(mode="json") for s in specs]})
            if not self.conn.poll(_STARTUP_TIMEOUT_S):
                self.kill()
                return failures.Failure(failures.STARTUP, f"no answer in {_STARTUP_TIMEOUT_S:g} s")
            _, _, envs = self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            return self._death(oom_before)
        probe = LoadProbe([os.getpid(), self.process.pid], threads=int(envs[0].get("threads") or 1))
        t0 = time.perf_counter()
        msg = self._await(None, None if timeout_s is None else timeout_s * len(specs), poll_s, None, oom_before)
        if isinstance(msg, failures.Failure):
            self.kill()
            return msg
        duration = (time.perf_counter() - t0) / len(specs)
        load = probe.read()
        contended = bool(load and load.contended and not load_ignored())
        out = []
        for (status, payload, peak), env in zip(msg[1], envs, strict=True):
            env = {**env, "load": load.to_dict() if load else None}
            if status == "ok":
                payload["trial_peak_bytes"] = peak
                out.append(TrialResult("ok", payload, None, env, duration, contended))
            else:
                out.append(TrialResult.failed(payload, env, duration, {"trial_peak_bytes": peak}, contended))
        return out

    def run(self, spec: TrialSpec, timeout_s: float | None, poll_s: float = 0.05, beside: int = 0) -> TrialResult:
        """Run one trial, enforcing the timeout and the memory cap (``beside``: an untimed trial runs off the last
        ``beside`` cores, where timed trials run at the same time). The cap is bytes above the worker's RSS when the
        trial starts (before the model is built): polled every ``poll_s`` to stop a runaway allocation early, and
        checked exactly afterwards against the trial's peak RSS (VmHWM, kept across the scenario's own resets). On
        any failure the worker is left dead: the caller replaces it."""
        self.trials += 1
        t0 = time.perf_counter()
        oom_before = deaths.oom_kills()

        def failed(failure: failures.Failure, env: dict | None = None) -> TrialResult:
            return TrialResult.failed(failure, env or {}, time.perf_counter() - t0)

        try:
            self.conn.send({**spec.model_dump(mode="json"), **({"_beside": beside} if beside else {})})
            if not self.conn.poll(_STARTUP_TIMEOUT_S):
                self.kill()
                return failed(failures.Failure(failures.STARTUP, f"no answer in {_STARTUP_TIMEOUT_S:g} s"))
            _, baseline, env = self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            return failed(self._death(oom_before))
        probe = LoadProbe([os.getpid(), self.process.pid], threads=int(env.get("threads") or 1))
        t0 = time.perf_counter()
        msg = self._await(spec, timeout_s, poll_s, baseline, oom_before)
        if isinstance(msg, failures.Failure):
            return failed(msg, env)
        duration = time.perf_counter() - t0
        load = probe.read()
        contended = bool(load and load.contended and spec.timed and not load_ignored())
        env = {**env, "load": load.to_dict() if load else None}
        status, payload, peak = msg
        cap = None if spec.memory_cap_mb is None else spec.memory_cap_mb * 2**20
        if status == "ok":
            payload["trial_peak_bytes"] = peak  # whole trial (model, data, measured calls) above the baseline
            if cap is not None and spec.device == "cpu" and peak is not None and peak > cap:
                self.kill()
                return TrialResult.failed(failures.Failure(
                    failures.CAP, f"the trial's peak RSS was {peak / 2**20:.0f} MB above its baseline "
                                  f"(cap {spec.memory_cap_mb:g} MB)"), env, duration, payload, contended)
            return TrialResult("ok", payload, None, env, duration, contended)
        self.kill()
        return TrialResult.failed(payload, env, duration, {"trial_peak_bytes": peak}, contended)


def cotimable(a: TrialSpec, b: TrialSpec) -> bool:
    """Whether ``a`` and ``b`` can be timed together in turns (:mod:`seqarena.measure.cotimer`): timed trials of one
    round and a scenario timed by one ``timing()`` call, with the same settings, that differ only in their model (and
    its options), length or batch: the contenders and points one claim compares. Neither may be risky (a capped or
    very large trial runs in a process of its own)."""
    if a.scenario not in COTIMED or a.risky or b.risky or not (a.timed and b.timed):
        return False
    keep = set(TrialSpec.model_fields) - {"model", "options", "seq_len", "batch"}
    return a.model_dump(include=keep) == b.model_dump(include=keep)


#: Scenarios whose timing is one timing() call (seqarena.bench.scenarios.speed): their trials can be co-timed.
COTIMED = ("forward_latency", "throughput", "train_step")
#: The most trials in one co-timed group: every model of the group stays built until the group's timing is done.
MAX_GROUP = 8


class Runner:
    """Runs trials in workers: one reused worker per kind (:func:`_flavour`) for ordinary trials of one round (a new
    round starts a new one), a fresh one for each risky trial."""

    def __init__(self, timeout_s: float | None = 600.0, beside: int = 0,
                 spare_on: tuple[int, ...] | None = None) -> None:
        self.timeout_s = timeout_s
        self.beside = beside  # untimed trials run off the last ``beside`` cores (timed trials run there meanwhile)
        # a spare worker starts (on these cores) while a trial runs, so the next new one is ready: a new round and
        # every risky trial need a fresh process, ~2-4 s of start-up each (~50 s of a quick suite's 8 minutes)
        self.spare_on = spare_on
        self._spares: dict[str, Worker] = {}  # per kind of worker
        self._workers: dict[str, Worker] = {}  # the reused worker of each kind
        self._rounds: dict[str, int] = {}  # the round each reused worker measured
        self._risky: Worker | None = None  # the fresh worker of a risky trial, while it runs
        self.spawned = 0
        self.on_progress: Callable[[TrialSpec, dict], None] | None = None  # set by the executor (the sweep's)

    def _spawn(self, flavour: str = "timing") -> Worker:
        """A fresh worker of this kind: the spare when one is ready (and a new spare starts), else a new one."""
        self.spawned += 1
        env = MEMORY_ENV if flavour == "memory" else None
        if not self.spare_on:
            worker = Worker(env=env)
        else:
            spare = self._spares.pop(flavour, None)
            worker = spare if spare is not None and spare.alive else Worker(env=env)
            if self.spawned >= 2:  # a sweep that needed a second process will likely need more; a small one never
                self._spares[flavour] = Worker(start_on=self.spare_on, env=env)
        worker.on_progress = self._progress
        return worker

    def _progress(self, spec: TrialSpec, note: dict) -> None:
        if self.on_progress is not None:
            self.on_progress(spec, note)

    def timeout_for(self, spec: TrialSpec) -> float | None:
        """The runner's timeout; a training trial gets at least its own (:func:`training_timeout_s`): a step budget
        with a learning-rate grid takes many minutes at the full suite's lengths (and longer with attention), and
        stopping it at a timing sweep's 600 s is the harness failing, not the model."""
        if self.timeout_s is None or spec.scenario != "train":
            return self.timeout_s
        return max(self.timeout_s, training_timeout_s(spec))

    def run(self, spec: TrialSpec) -> TrialResult:
        flavour = _flavour(spec)
        if spec.risky:
            self._risky = self._spawn(flavour)
            try:
                return self._risky.run(spec, self.timeout_for(spec), beside=self.beside)
            finally:
                self._risky.close()
                self._risky = None
        worker = self._use_round(spec.round, flavour)
        result = worker.run(spec, self.timeout_for(spec), beside=self.beside)
        if result.status != "ok":
            self._drop(flavour)
        return result

    def run_group(self, specs: list[TrialSpec]) -> list[TrialResult]:
        """Run the timed trials of one comparison co-timed in one worker (:func:`cotimable`), a result per trial; if
        the group takes its worker down, each trial runs again alone, so a failure is the trial's own."""
        if len(specs) < 2:
            return [self.run(s) for s in specs]
        worker = self._use_round(specs[0].round, "timing")
        results = worker.run_group(specs, self.timeout_for(specs[0]))
        if isinstance(results, failures.Failure):
            self._drop("timing")
            return [self.run(s) for s in specs]
        if any(r.status != "ok" for r in results):
            self._drop("timing")  # as after any failed trial: the next trial gets a fresh process
        return results

    def _drop(self, flavour: str) -> None:
        worker = self._workers.pop(flavour, None)
        if worker is not None:
            worker.kill()

    def _use_round(self, round_: int, flavour: str) -> Worker:
        """The reused worker of this kind for a trial of ``round_``: a new process when the round changes (or none is
        alive)."""
        worker = self._workers.get(flavour)
        if worker is not None and round_ != self._rounds.get(flavour):
            # a new round gets a new process: whole processes shift (allocator, page placement, frequency), so a
            # round measured in its own process is an independent replication, not a copy of the last one
            worker.close()
            worker = None
        self._rounds[flavour] = round_
        if worker is None or not worker.alive:
            worker = self._workers[flavour] = self._spawn(flavour)
        return worker

    def kill(self) -> None:
        """Kill every worker now (Ctrl-C): no trial is half-stored, since only the driver writes the store."""
        for worker in (*self._workers.values(), self._risky, *self._spares.values()):
            if worker is not None:
                worker.kill()
        self._workers, self._spares, self._risky = {}, {}, None

    def close(self) -> None:
        for worker in (*self._workers.values(), *self._spares.values()):
            worker.close()
        self._workers, self._spares = {}, {}

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
