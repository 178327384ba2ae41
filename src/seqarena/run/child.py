"""The worker process's side of trial isolation (:mod:`seqarena.run.worker` is the driver's): the loop that receives
a trial (or a co-timed group of them), runs it and sends back its outcome. It dies with the driver
(``PR_SET_PDEATHSIG``) and offers itself first to the kernel's OOM killer.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from seqarena.bench.spec import TrialSpec
from seqarena.store import failures

PR_SET_PDEATHSIG = 1


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


def worker_main(conn: Connection, parent_pid: int, start_on: tuple[int, ...] | None = None,
                 threads: int | None = None, main: tuple[str, str] | None = None) -> None:
    """Worker loop: receive a spec dict, run it, send back ('ok', metrics, peak) or ('failed', Failure, peak).

    Every trial first reports ('started', baseline RSS, environment fingerprint), so the driver can enforce the cap
    against that baseline and store the fingerprint even for a trial it has to kill. ``start_on``: the cores its
    start-up (``import torch`` ...) runs on, off a timed trial's; then every usable core again, and torch's thread
    count ``threads`` (the driver's default: torch read the narrower set when it loaded). ``main``: the driver's script
    or module, imported for the models it registers (:func:`import_driver_main`)."""
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

    from seqarena.measure.memory import (
        freeze_imports,
        process_peak,
        release_free_memory,
        rss_bytes,
        start_process_peak,
    )
    from seqarena.measure.system import beside_cores, pinned, pinned_beside

    import_driver_main(main)
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
        if "_group" in msg:
            _run_group([TrialSpec(**m) for m in msg["_group"]], conn)
            continue
        spec = TrialSpec(**msg)
        release_free_memory()
        capped = spec.memory_cap_mb is not None
        if spec.device.startswith("cuda") and capped:
            dev = torch.device(spec.device)
            total = torch.cuda.get_device_properties(dev).total_memory
            allowed = torch.cuda.memory_allocated(dev) + spec.memory_cap_mb * 2**20
            torch.cuda.set_per_process_memory_fraction(min(1.0, allowed / total), dev)
        env = _environment(spec)
        if beside and not spec.timed and (free := beside_cores(beside)):
            env["threads"] = min(env["threads"], len(free))
        baseline = rss_bytes()
        conn.send(("started", baseline, env))
        start_process_peak()
        pin = pinned_beside(beside, spec.device) if beside and not spec.timed else \
            pinned(spec.threads if spec.timed else None, spec.device)
        with pin as cores, _progress_to(conn):
            outcome = _outcome(spec, " (memory cap set)" if capped else "")
        if cores is not None and outcome[0] == "ok":
            outcome[1]["pinned_cores"] = list(cores)
        peak = process_peak()
        if spec.device.startswith("cuda"):
            torch.cuda.empty_cache()
        conn.send((*outcome, None if peak is None or baseline is None else max(0, peak - baseline)))


def _environment(spec: TrialSpec) -> dict[str, Any]:
    """The trial's environment fingerprint, with the thread count it runs at (worker side)."""
    import torch

    from seqarena.measure.system import fingerprint

    env = fingerprint(spec.device, spec.dtype, spec.seed)
    env["threads"] = spec.threads or torch.get_num_threads()
    if (threshold := os.environ.get("MALLOC_MMAP_THRESHOLD_")) is not None:
        env["malloc_mmap_threshold"] = int(threshold)  # a memory worker's (seqarena.run.worker.MEMORY_ENV)
    return env


def _outcome(spec: TrialSpec, cap_note: str = "") -> tuple[str, Any]:
    """Run one trial in this thread: ("ok", metrics) or ("failed", Failure) (worker side)."""
    import torch

    from seqarena.bench.scenarios import DivergedError, NonFiniteError, run_trial
    from seqarena.errors import SpecError

    try:
        return "ok", run_trial(spec)
    except DivergedError as e:
        return "failed", failures.Failure(failures.DIVERGED, str(e))
    except NonFiniteError as e:
        return "failed", failures.Failure(failures.NONFINITE, str(e))
    except torch.OutOfMemoryError as e:
        return "failed", failures.Failure(failures.OOM, f"{str(e).splitlines()[0]}{cap_note}")
    except SpecError as e:
        return "failed", failures.Failure(failures.INVALID, str(e))
    except Exception as e:
        text = str(e).splitlines()[0] if str(e) else ""
        if "DefaultCPUAllocator" in text:  # CPU allocation failure: out of memory, not a bug
            return "failed", failures.Failure(failures.OOM, f"{text}{cap_note}")
        where = traceback.extract_tb(e.__traceback__)[-1]
        return "failed", failures.Failure(failures.RAISED, f"{type(e).__name__}: {text} "
                                                           f"({Path(where.filename).name}:{where.lineno})")


def _run_group(specs: list[TrialSpec], conn: Connection) -> None:
    """Run timed trials that compare contenders at one shape as one co-timed group (worker side): each trial sets up
    in turn, their calls are timed in interleaved turns (:mod:`seqarena.measure.cotimer`), then each finishes.
    Sends ("started", baselines, envs), then ("group", [(status, payload, peak), ...]) in ``specs``' order; a
    trial's peak is its own set-up's above the RSS before it (earlier contenders' models are in the baseline)."""
    import threading

    from seqarena.measure.cotimer import CoTimer
    from seqarena.measure.memory import process_peak, release_free_memory, rss_bytes, start_process_peak
    from seqarena.measure.system import pinned

    release_free_memory()
    envs = [_environment(s) for s in specs]
    conn.send(("started", rss_bytes(), envs))
    co = CoTimer(len(specs), seed=specs[0].seed + 1000 * specs[0].round)
    outcomes: list[Any] = [None] * len(specs)
    peaks: list[int | None] = [None] * len(specs)
    threads = []
    with pinned(specs[0].threads, specs[0].device) as cores:  # the trials' threads inherit the pinning
        for i, spec in enumerate(specs):
            before = rss_bytes()
            start_process_peak()

            def body(i: int = i, spec: TrialSpec = spec) -> None:
                with co.member(i):
                    outcomes[i] = _outcome(spec)

            t = threading.Thread(target=body, name=f"seqarena-trial-{i}", daemon=True)
            t.start()
            co.wait_parked(i)
            peak = process_peak()
            peaks[i] = None if peak is None or before is None else max(0, peak - before)
            threads.append(t)
        co.run()
        for i, t in enumerate(threads):
            co.release(i)
            t.join()
    for outcome in outcomes:
        if outcome[0] == "ok" and cores is not None:
            outcome[1]["pinned_cores"] = list(cores)
    conn.send(("group", [(*o, p) for o, p in zip(outcomes, peaks, strict=True)]))


def import_driver_main(main: tuple[str, str] | None) -> None:
    """Import the driver's ``__main__`` (("path", script) or ("module", name)) as ``__mp_main__``, as multiprocessing's
    spawn would, for the models it registers; but a call into seqarena at the script's top level (an unguarded
    script) stops the import there (:mod:`seqarena._process`) instead of starting a second run in the worker. An
    error in the script stops it too: the worker goes on with what was defined before it."""
    if main is None:
        return
    import runpy
    import sys

    from seqarena._process import ScriptReimported, importing_main

    kind, where = main
    with importing_main(), contextlib.suppress(ScriptReimported, Exception):
        if kind == "path":
            runpy.run_path(where, run_name="__mp_main__")
        else:
            runpy.run_module(where, run_name="__mp_main__", alter_sys=False)
    sys.modules.setdefault("__mp_main__", sys.modules["__main__"])


@contextlib.contextmanager
def _progress_to(conn: Connection):
    """While a trial runs: a training's progress goes to the driver as ("progress", note) messages."""
    from seqarena.train import loop

    def send(note: dict) -> None:
        with contextlib.suppress(OSError, ValueError):
            conn.send(("progress", note))

    loop.progress_reporter = send
    try:
        yield
    finally:
        loop.progress_reporter = None
