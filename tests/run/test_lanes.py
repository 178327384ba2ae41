"""The local executor's two lanes: training trials run beside the timed ones, on the cores those leave free, and the
bookkeeping stays the one-at-a-time kind (every trial stored once, by the driver, failures isolated, resume)."""

from __future__ import annotations

import os

import pytest

from seqarena.bench.spec import make_trial
from seqarena.run import executors as executor_module
from seqarena.run import expand, run_sweep
from seqarena.run.executors import LocalExecutor
from seqarena.store import Store

TIMED = expand("forward_latency", ["lstm:d_model=8"], seq_lens=[8, 16], batch=1, params=None, vocab_size=32,
               repeats=2, min_seconds=0.0, warmup=1, threads=1)
COPY = {"n_train": 64, "n_val": 16, "n_test": 16, "distance": 4}


def _train(seed: int, model: str = "lstm", **options):
    return make_trial(scenario="train", model=model, task="copy", task_params=COPY, params=None, steps=2, batch=8,
                      eval_every=1, seed=seed, options={"d_model": 8, **options})


CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
two_cores = pytest.mark.skipif(len(CORES) < 2, reason="the second lane needs a core the timed trials leave free")


@two_cores
def test_training_trials_run_beside_the_timed_ones_on_the_other_cores(tmp_path):
    bad = make_trial(scenario="train", model="tests.run.bad_models:Misbehave", task="copy", task_params=COPY,
                     params=None, steps=2, batch=8, options={"behaviour": "raise", "d_model": 8})
    trials = [TIMED[0], _train(0), TIMED[1], bad, _train(1), *TIMED[2:]]
    started: list[str] = []
    with Store(tmp_path / "r.db") as store:
        summary = run_sweep(trials, store, on_start=lambda spec: started.append(spec.scenario))
        rows = {r["spec_hash"]: r for r in store.rows()}
        again = run_sweep(trials, store)  # resume: nothing runs twice
    assert (summary.ok, summary.failed, again.skipped) == (len(trials) - 1, 1, len(trials))
    assert set(rows) == {t.spec_hash() for t in trials}
    assert rows[bad.spec_hash()]["failure"] == "raised"  # isolated in its lane; the sweep went on
    for t in TIMED:  # timed: pinned to the last core, as before
        assert rows[t.spec_hash()]["metrics"]["pinned_cores"] == CORES[-1:]
    timed_done = max(rows[t.spec_hash()]["finished_at"] for t in TIMED)
    for t in (trials[1], trials[4]):  # training: off that core, with as many threads as the cores it got ...
        row = rows[t.spec_hash()]
        if row["started_at"] >= timed_done and "pinned_cores" not in row["metrics"]:
            continue  # ... unless it started once the timed lane was done: then it gets every core (a race the
            # timed lane wins when its trials finish first; the stamps are whole seconds, hence >=)
        assert row["metrics"]["pinned_cores"] == CORES[:-1] and row["env"]["threads"] <= len(CORES) - 1
    assert sorted(started) == sorted(t.scenario for t in trials)  # progress heard of every trial once


def test_serial_runs_everything_one_at_a_time_unpinned_training(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQARENA_SERIAL", "1")
    assert LocalExecutor().serial and not LocalExecutor(serial=False).serial
    train = _train(2)
    with Store(tmp_path / "r.db") as store:
        assert run_sweep([TIMED[0], train], store).ok == 2
        row = next(r for r in store.rows() if r["spec_hash"] == train.spec_hash())
    assert "pinned_cores" not in row["metrics"]


@two_cores
def test_an_error_in_the_training_lane_reaches_the_caller_and_stops_both_lanes(tmp_path, monkeypatch):
    class Broken(executor_module.Runner):
        def run(self, spec):
            if not spec.timed:
                raise RuntimeError("harness bug")
            return super().run(spec)

    monkeypatch.setattr(executor_module, "Runner", Broken)
    with Store(tmp_path / "r.db") as store, pytest.raises(RuntimeError, match="harness bug"):
        run_sweep([TIMED[0], _train(3)], store)


@two_cores
def test_a_spare_worker_starts_off_the_timed_core_and_serves_the_next_new_process():
    import torch

    from seqarena.run import Runner

    zeroth = TIMED[1]
    first, second = (t.model_copy(update={"round": r}) for r, t in ((1, TIMED[0]), (2, TIMED[1])))  # new processes
    train = _train(4).model_copy(update={"round": 3})
    with Runner(spare_on=tuple(CORES[:-1])) as runner:
        assert runner.run(zeroth).status == "ok" and not runner._spares  # one process so far: no spare yet
        a = runner.run(first)  # the second process: from now on a spare starts beside each
        spare = runner._spares["timing"].process.pid
        b = runner.run(second)
        assert runner._workers["timing"].process.pid == spare  # started while the first trial ran, not after it
        assert os.sched_getaffinity(spare) == set(CORES)  # its start-up ran off the timed core; then every core
        c = runner.run(train)  # the next spare, untimed: torch's default thread count, not the start-up core count
    assert (a.status, b.status, c.status) == ("ok", "ok", "ok")
    assert b.metrics["pinned_cores"] == CORES[-1:] and b.env["threads"] == 1
    assert c.env["threads"] == torch.get_num_threads()


@two_cores
def test_training_gets_every_core_once_the_timed_trials_are_done(tmp_path, monkeypatch):
    import threading
    import time

    from seqarena.run.worker import TrialResult

    seen: list[tuple[int, int]] = []
    timed_done = threading.Event()

    class Fake:  # records which cores each training trial was told to leave alone
        def __init__(self, timeout_s=None, beside=0, spare_on=None):
            self.beside = beside

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def kill(self):
            pass

        def run(self, spec):
            if spec.timed:
                timed_done.set()
            else:
                seen.append((spec.seed, self.beside))
                if not timed_done.wait(10):
                    raise AssertionError("the timed trial never ran")
                deadline = time.monotonic() + 10  # the driver lifts the reservation right after its last timed trial
                while self.beside and time.monotonic() < deadline:
                    time.sleep(0.01)
            return TrialResult("ok", {}, None, {}, 0.0)

    monkeypatch.setattr(executor_module, "Runner", Fake)
    with Store(tmp_path / "r.db") as store:
        assert run_sweep([_train(5), TIMED[0], _train(6)], store).ok == 3
    assert seen == [(5, 1), (6, 0)]  # the first beside the timed trial (off its core), the next on every core


def test_memory_trials_run_in_workers_started_with_a_fixed_mmap_threshold():
    from seqarena.run import Runner
    from seqarena.run.worker import MEMORY_ENV

    mem = make_trial(scenario="memory", model="lstm", options={"d_model": 8}, kind="infer", seq_len=16, batch=1,
                     params=None, vocab_size=32, round=1)
    capped = mem.model_copy(update={"memory_cap_mb": 500.0})  # risky: a fresh worker of its own, the same start
    with Runner() as runner:
        before = runner.run(TIMED[0].model_copy(update={"round": 1}))
        results = [runner.run(mem), runner.run(capped)]
        after = runner.run(TIMED[1].model_copy(update={"round": 1}))  # back to the round's timing worker
        assert set(runner._workers) == {"timing", "memory"}
    assert all(r.status == "ok" for r in (before, after, *results))
    for r in results:
        assert r.env["malloc_mmap_threshold"] == int(MEMORY_ENV["MALLOC_MMAP_THRESHOLD_"])
    assert "malloc_mmap_threshold" not in before.env and "malloc_mmap_threshold" not in after.env
    assert "MALLOC_MMAP_THRESHOLD_" not in os.environ  # the driver's environment is restored after each start
