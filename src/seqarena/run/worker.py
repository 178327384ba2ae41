"""Trial isolation: each trial runs in a spawned worker process that the driver can time out, cap and kill.

A worker is reused for many trials (a spawn plus ``import torch`` costs ~2 s here) and replaced after any failure;
risky trials (memory sweeps, capped or very large ones) get a fresh worker of their own. Workers die with the driver:
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

from seqarena.bench.spec import TrialSpec

PR_SET_PDEATHSIG = 1
_STARTUP_TIMEOUT_S = 180.0


def _die_with_parent(parent_pid: int) -> None:
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(libc_name, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the prctl took effect
        os._exit(1)


def _worker_main(conn: Connection, parent_pid: int) -> None:
    """Worker loop: receive a spec dict, run it, send back ('ok', metrics, env) or ('failed', reason, env)."""
    _die_with_parent(parent_pid)
    import torch

    from seqarena.bench.scenarios import NonFiniteError, run_trial
    from seqarena.measure.memory import release_free_memory, rss_bytes
    from seqarena.measure.system import fingerprint
    from seqarena.models import SpecError

    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        spec = TrialSpec(**msg)
        release_free_memory()
        if spec.device.startswith("cuda") and spec.memory_cap_mb is not None:
            dev = torch.device(spec.device)
            total = torch.cuda.get_device_properties(dev).total_memory
            allowed = torch.cuda.memory_allocated(dev) + spec.memory_cap_mb * 2**20
            torch.cuda.set_per_process_memory_fraction(min(1.0, allowed / total), dev)
        conn.send(("started", rss_bytes()))
        env = fingerprint(spec.device, spec.dtype, spec.seed)
        try:
            metrics = run_trial(spec)
            env["threads"] = metrics.get("threads", env["threads"])
            conn.send(("ok", metrics, env))
        except NonFiniteError as e:
            conn.send(("failed", f"non-finite: {e}", env))
        except torch.OutOfMemoryError as e:
            conn.send(("failed", f"out of memory: {str(e).splitlines()[0]}", env))
        except SpecError as e:
            conn.send(("failed", f"invalid: {e}", env))
        except Exception as e:
            where = traceback.extract_tb(e.__traceback__)[-1]
            loc = f"{Path(where.filename).name}:{where.lineno}"
            conn.send(("failed", f"raised {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} ({loc})",
                       env))
        finally:
            if spec.device.startswith("cuda"):
                torch.cuda.empty_cache()


@dataclasses.dataclass
class TrialResult:
    """What the driver learns about one trial."""

    status: str  # ok | failed
    metrics: dict[str, Any]
    reason: str | None
    env: dict[str, Any]
    duration_s: float


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

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, os.getpid()), daemon=True)
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

    def _death_reason(self) -> str:
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            hint = " (the kernel's OOM killer?)" if -code == signal.SIGKILL else ""
            return f"worker died: killed by {name}{hint}"
        return f"worker died: exit code {code}"

    def run(self, spec: TrialSpec, timeout_s: float | None, poll_s: float = 0.02) -> TrialResult:
        """Run one trial, enforcing the timeout and the memory cap (RSS above the trial's baseline, polled, plus the
        exact measured peak the scenario reports). On any failure the worker is left dead: the caller replaces it."""
        self.trials += 1
        t0 = time.perf_counter()

        def failed(reason: str, env: dict | None = None) -> TrialResult:
            return TrialResult("failed", {}, reason, env or {}, time.perf_counter() - t0)

        try:
            self.conn.send(spec.model_dump(mode="json"))
            if not self.conn.poll(_STARTUP_TIMEOUT_S):
                self.kill()
                return failed("worker did not start")
            _, baseline = self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            return failed(self._death_reason())
        cap = None if spec.memory_cap_mb is None else spec.memory_cap_mb * 2**20
        t0 = time.perf_counter()
        deadline = None if timeout_s is None else t0 + timeout_s
        while True:
            try:
                if self.conn.poll(poll_s):
                    msg = self.conn.recv()
                    break
            except (EOFError, OSError):
                return failed(self._death_reason())
            if not self.process.is_alive():
                return failed(self._death_reason())
            if deadline is not None and time.perf_counter() > deadline:
                self.kill()
                return failed(f"timeout: still running after {timeout_s:g} s")
            if cap is not None and spec.device == "cpu" and baseline is not None:
                rss = _process_rss(self.process.pid)
                if rss is not None and rss - baseline > cap:
                    self.kill()
                    return failed(f"memory cap: RSS reached {(rss - baseline) / 2**20:.0f} MB above the trial's "
                                  f"baseline (cap {spec.memory_cap_mb:g} MB)")
        duration = time.perf_counter() - t0
        if msg[0] == "ok":
            _, metrics, env = msg
            peak = metrics.get("peak_bytes")
            if cap is not None and peak is not None and peak > cap:
                self.kill()
                return TrialResult("failed", metrics, f"memory cap: measured peak {peak / 2**20:.0f} MB above the "
                                   f"baseline (cap {spec.memory_cap_mb:g} MB)", env, duration)
            return TrialResult("ok", metrics, None, env, duration)
        _, reason, env = msg
        self.kill()
        return TrialResult("failed", {}, reason, env, duration)


class Runner:
    """Runs trials in workers: one reused worker for ordinary trials, a fresh one for each risky trial."""

    def __init__(self, timeout_s: float | None = 600.0) -> None:
        self.timeout_s = timeout_s
        self._worker: Worker | None = None
        self.spawned = 0

    def _spawn(self) -> Worker:
        self.spawned += 1
        return Worker()

    def run(self, spec: TrialSpec) -> TrialResult:
        if spec.risky:
            worker = self._spawn()
            try:
                return worker.run(spec, self.timeout_s)
            finally:
                worker.close()
        if self._worker is None or not self._worker.alive:
            self._worker = self._spawn()
        result = self._worker.run(spec, self.timeout_s)
        if result.status != "ok":
            self._worker.kill()
            self._worker = None
        return result

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
