"""Trial isolation: each trial runs in a spawned worker process that the driver can time out, cap and kill.

A worker is reused for many trials (a spawn plus ``import torch`` costs ~2 s here) and replaced after any failure;
risky trials (capped or very large ones) get a fresh worker of their own. Workers die with the driver:
``PR_SET_PDEATHSIG`` makes the kernel SIGKILL them when the driver goes, so a killed sweep leaves no orphan computing,
and only the driver writes to the store, so a killed sweep leaves no half-written rows either.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import multiprocessing as mp
import os
import signal
import time
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from seqarena.bench.duration import training_timeout_s
from seqarena.bench.spec import TrialSpec
from seqarena.measure.load import LoadProbe, load_ignored
from seqarena.run import failures

PR_SET_PDEATHSIG = 1
_STARTUP_TIMEOUT_S = 180.0


def _die_with_parent(parent_pid: int) -> None:
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(libc_name, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the prctl took effect
        os._exit(1)


def _prefer_me_for_oom_kill() -> None:
    # if the machine runs out of memory, the kernel should kill the trial, not the driver holding the sweep
    with contextlib.suppress(OSError):
        Path("/proc/self/oom_score_adj").write_text("1000")


def _worker_main(conn: Connection, parent_pid: int, start_on: tuple[int, ...] | None = None,
                 threads: int | None = None) -> None:
    """Worker loop: receive a spec dict, run it, send back ('ok', metrics, peak) or ('failed', Failure, peak).

    Every trial first reports ('started', baseline RSS, environment fingerprint), so the driver can enforce the cap
    against that baseline and store the fingerprint even for a trial it has to kill. ``start_on``: the cores its
    start-up (``import torch`` ...) runs on, off a timed trial's; then every usable core again, and torch's thread
    count ``threads`` (the driver's default: torch read the narrower set when it loaded)."""
    _die_with_parent(parent_pid)
    _prefer_me_for_oom_kill()
    # Ctrl-C reaches the whole foreground process group: the driver handles it (stops, kills us, says how to
    # resume); a worker that also raised KeyboardInterrupt would print a traceback per worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    everywhere = None
    if start_on:
        with contextlib.suppress(AttributeError, OSError):
            everywhere = os.sched_getaffinity(0)
            os.sched_setaffinity(0, start_on)
    import torch

    from seqarena.bench.scenarios import DivergedError, NonFiniteError, run_trial
    from seqarena.measure.memory import (
        freeze_imports,
        process_peak,
        release_free_memory,
        rss_bytes,
        start_process_peak,
    )
    from seqarena.measure.system import beside_cores, fingerprint, pinned, pinned_beside
    from seqarena.models import SpecError

    freeze_imports()
    if everywhere:
        os.sched_setaffinity(0, everywhere)
        if threads:
            torch.set_num_threads(threads)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        beside = int(msg.pop("_beside", 0))  # cores the driver's timed trials hold: stay off them
        spec = TrialSpec(**msg)
        release_free_memory()
        capped = spec.memory_cap_mb is not None
        if spec.device.startswith("cuda") and capped:
            dev = torch.device(spec.device)
            total = torch.cuda.get_device_properties(dev).total_memory
            allowed = torch.cuda.memory_allocated(dev) + spec.memory_cap_mb * 2**20
            torch.cuda.set_per_process_memory_fraction(min(1.0, allowed / total), dev)
        env = fingerprint(spec.device, spec.dtype, spec.seed)
        env["threads"] = spec.threads or torch.get_num_threads()
        if beside and not spec.timed and (free := beside_cores(beside)):
            env["threads"] = min(env["threads"], len(free))
        baseline = rss_bytes()
        conn.send(("started", baseline, env))
        start_process_peak()
        cap_note = " (memory cap set)" if capped else ""
        try:
            pin = pinned_beside(beside, spec.device) if beside and not spec.timed else \
                pinned(spec.threads if spec.timed else None, spec.device)
            with pin as cores:
                metrics = run_trial(spec)
            if cores is not None:
                metrics["pinned_cores"] = list(cores)
            outcome: tuple[str, Any] = ("ok", metrics)
        except DivergedError as e:
            outcome = ("failed", failures.Failure(failures.DIVERGED, str(e)))
        except NonFiniteError as e:
            outcome = ("failed", failures.Failure(failures.NONFINITE, str(e)))
        except torch.OutOfMemoryError as e:
            outcome = ("failed", failures.Failure(failures.OOM, f"{str(e).splitlines()[0]}{cap_note}"))
        except SpecError as e:
            outcome = ("failed", failures.Failure(failures.INVALID, str(e)))
        except Exception as e:
            text = str(e).splitlines()[0] if str(e) else ""
            if "DefaultCPUAllocator" in text:  # CPU allocation failure: out of memory, not a bug
                outcome = ("failed", failures.Failure(failures.OOM, f"{text}{cap_note}"))
            else:
                where = traceback.extract_tb(e.__traceback__)[-1]
                outcome = ("failed", failures.Failure(failures.RAISED, f"{type(e).__name__}: {text} "
                                                                        f"({Path(where.filename).name}:{where.lineno})"))
        peak = process_peak()
        if spec.device.startswith("cuda"):
            torch.cuda.empty_cache()
        conn.send((*outcome, None if peak is None or baseline is None else max(0, peak - baseline)))


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
        """A failed trial: its reason text and its kind, from one :class:`~seqarena.run.failures.Failure`."""
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

    def __init__(self, start_on: tuple[int, ...] | None = None) -> None:
        """``start_on``: cores for the start-up only (a spare starting while a timed trial runs elsewhere)."""
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        threads = None
        if start_on:
            import torch

            threads = torch.get_num_threads()
        self.process = ctx.Process(target=_worker_main, args=(child, os.getpid(), start_on, threads), daemon=True)
        self.process.start()
        child.close()
        self.trials = 0

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
        return failures.death_failure(self.process.exitcode, oom_before, failures.oom_kills())

    def run(self, spec: TrialSpec, timeout_s: float | None, poll_s: float = 0.05, beside: int = 0) -> TrialResult:
        """Run one trial, enforcing the timeout and the memory cap (``beside``: an untimed trial runs off the last
        ``beside`` cores, where timed trials run at the same time). The cap is bytes above the worker's RSS when the
        trial starts (before the model is built): polled every ``poll_s`` to stop a runaway allocation early, and
        checked exactly afterwards against the trial's peak RSS (VmHWM, kept across the scenario's own resets). On
        any failure the worker is left dead: the caller replaces it."""
        self.trials += 1
        t0 = time.perf_counter()
        oom_before = failures.oom_kills()

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
        cap = None if spec.memory_cap_mb is None else spec.memory_cap_mb * 2**20
        t0 = time.perf_counter()
        deadline = None if timeout_s is None else t0 + timeout_s
        while True:
            try:
                if self.conn.poll(poll_s):
                    msg = self.conn.recv()
                    break
            except (EOFError, OSError):
                return failed(self._death(oom_before), env)
            if not self.process.is_alive():
                return failed(self._death(oom_before), env)
            if deadline is not None and time.perf_counter() > deadline:
                self.kill()
                return failed(failures.Failure(failures.TIMEOUT, f"still running after {timeout_s:g} s"), env)
            if cap is not None and spec.device == "cpu" and baseline is not None:
                # early stop for a runaway allocation; short spikes between polls are caught exactly below (VmHWM)
                rss = _process_rss(self.process.pid)
                if rss is not None and rss - baseline > cap:
                    self.kill()
                    return failed(failures.Failure(failures.CAP, f"RSS reached {(rss - baseline) / 2**20:.0f} MB "
                                                   f"above the trial's baseline (cap {spec.memory_cap_mb:g} MB)"), env)
        duration = time.perf_counter() - t0
        load = probe.read()
        contended = bool(load and load.contended and spec.timed and not load_ignored())
        env = {**env, "load": load.to_dict() if load else None}
        status, payload, peak = msg
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


class Runner:
    """Runs trials in workers: one reused worker for ordinary trials of one round (a new round starts a new one), a
    fresh one for each risky trial."""

    def __init__(self, timeout_s: float | None = 600.0, beside: int = 0,
                 spare_on: tuple[int, ...] | None = None) -> None:
        self.timeout_s = timeout_s
        self.beside = beside  # untimed trials run off the last ``beside`` cores (timed trials run there meanwhile)
        # a spare worker starts (on these cores) while a trial runs, so the next new one is ready: a new round and
        # every risky trial need a fresh process, ~2-4 s of start-up each (~50 s of a quick suite's 8 minutes)
        self.spare_on = spare_on
        self._spare: Worker | None = None
        self._worker: Worker | None = None
        self._risky: Worker | None = None  # the fresh worker of a risky trial, while it runs
        self._round: int | None = None  # the round the reused worker measured
        self.spawned = 0

    def _spawn(self) -> Worker:
        """A fresh worker: the spare when one is ready (and a new spare starts), else a new one."""
        self.spawned += 1
        if not self.spare_on:
            return Worker()
        worker = self._spare if self._spare is not None and self._spare.alive else Worker()
        self._spare = None
        if self.spawned >= 2:  # a sweep that needed a second process will likely need more; a small one never does
            self._spare = Worker(start_on=self.spare_on)
        return worker

    def timeout_for(self, spec: TrialSpec) -> float | None:
        """The runner's timeout; a training trial gets at least its own (:func:`training_timeout_s`): a step budget
        with a learning-rate grid takes many minutes at the full suite's lengths (and longer with attention), and
        stopping it at a timing sweep's 600 s is the harness failing, not the model."""
        if self.timeout_s is None or spec.scenario != "train":
            return self.timeout_s
        return max(self.timeout_s, training_timeout_s(spec))

    def run(self, spec: TrialSpec) -> TrialResult:
        if spec.risky:
            self._risky = self._spawn()
            try:
                return self._risky.run(spec, self.timeout_for(spec), beside=self.beside)
            finally:
                self._risky.close()
                self._risky = None
        if self._worker is not None and spec.round != self._round:
            # a new round gets a new process: whole processes shift (allocator, page placement, frequency), so a
            # round measured in its own process is an independent replication, not a copy of the last one
            self._worker.close()
            self._worker = None
        self._round = spec.round
        if self._worker is None or not self._worker.alive:
            self._worker = self._spawn()
        result = self._worker.run(spec, self.timeout_for(spec), beside=self.beside)
        if result.status != "ok":
            self._worker.kill()
            self._worker = None
        return result

    def kill(self) -> None:
        """Kill every worker now (Ctrl-C): no trial is half-stored, since only the driver writes the store."""
        for worker in (self._worker, self._risky, self._spare):
            if worker is not None:
                worker.kill()
        self._worker = self._risky = self._spare = None

    def close(self) -> None:
        for worker in (self._worker, self._spare):
            if worker is not None:
                worker.close()
        self._worker = self._spare = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
