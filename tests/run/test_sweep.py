"""Trials in spawned workers: failures are stored with reasons, the sweep goes on, a killed driver resumes."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from pathlib import Path
from typing import ClassVar

import pytest

from seqarena.bench.spec import TrialSpec, make_trial
from seqarena.run import Runner, SweepSummary, expand, run_sweep
from seqarena.run import executors as executor_module
from seqarena.store import Store

BAD = "tests.run.bad_models:Misbehave"
FAST = {"params": None, "vocab_size": 32, "seq_len": 8, "batch": 1, "repeats": 2, "min_seconds": 0.0, "warmup": 1,
        "threads": 1}


def _bad(behaviour: str, **extra):
    return make_trial(scenario="forward_latency", model=BAD, options={"behaviour": behaviour, "d_model": 8}, **FAST,
                      **extra)


class CountingRunner(Runner):
    """The sweep's own Runner, remembered so a test can read how many workers it spawned."""

    made: ClassVar[list[CountingRunner]] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        CountingRunner.made.append(self)


@dataclasses.dataclass
class Swept:
    db: Path
    trials: list[TrialSpec]
    summary: SweepSummary
    rows: dict[str, dict]  # by spec hash
    spawned_after: list[int]  # the sweep's Runner.spawned after each trial, in run order


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> Swept:
    """One sweep shared by the tests below (each spawn plus ``import torch`` costs seconds): four good trials that
    one reused worker serves, then a trial that raises, hangs, hogs memory (under a cap, twice) or returns NaN, then
    a good one on a fresh worker."""
    lstm = expand("forward_latency", ["lstm:d_model=8"], seq_lens=[8, 16], batch=2, params=None, vocab_size=32,
                  repeats=2, min_seconds=0.0, warmup=1, threads=1)
    assert len(lstm) == 4  # two lengths at batch 1 and 2
    trials = [
        *lstm,
        _bad("raise"),
        _bad("sleep"),
        _bad("hog", memory_cap_mb=100),
        _bad("hog_sleep", memory_cap_mb=100),
        _bad("nan"),
        make_trial(scenario="forward_latency", model="gru", options={"d_model": 16}, **FAST),
    ]
    db = tmp_path_factory.mktemp("sweep") / "r.db"
    spawned_after: list[int] = []
    with pytest.MonkeyPatch.context() as mp, Store(db) as store:
        CountingRunner.made = []
        mp.setattr(executor_module, "Runner", CountingRunner)
        mp.setenv("SEQARENA_COTIME", "0")  # one trial at a time: this tests the worker's life cycle per trial
        summary = run_sweep(trials, store, timeout_s=4,  # ample for a good trial (tiny, 1 thread) on a busy machine
                            on_done=lambda spec, result: spawned_after.append(CountingRunner.made[-1].spawned))
        rows = {r["spec_hash"]: r for r in store.rows()}
    assert len(CountingRunner.made) == 1
    return Swept(db, trials, summary, rows, spawned_after)


def test_failures_are_stored_with_reasons_and_the_sweep_goes_on(swept):
    assert swept.summary.ok == 5 and swept.summary.failed == 5 and len(swept.rows) == 10
    reasons = {t.options.get("behaviour", t.model): swept.rows[t.spec_hash()]["reason"] for t in swept.trials}
    statuses = {t.spec_hash(): swept.rows[t.spec_hash()]["status"] for t in swept.trials}
    assert [statuses[t.spec_hash()] for t in swept.trials] == ["ok"] * 4 + ["failed"] * 5 + ["ok"]
    assert "RuntimeError: boom" in reasons["raise"]
    assert reasons["sleep"].startswith("timeout")
    assert reasons["hog"].startswith("memory cap")  # caught by the exact peak after the trial, if not by polling
    assert reasons["hog_sleep"].startswith("memory cap: RSS reached")  # stopped by polling, long before the timeout
    assert reasons["nan"].startswith("non-finite")
    kinds = {t.options.get("behaviour", t.model): swept.rows[t.spec_hash()]["failure"] for t in swept.trials}
    assert kinds == {"lstm": None, "raise": "raised", "sleep": "timeout", "hog": "memory cap",
                     "hog_sleep": "memory cap", "nan": "non-finite", "gru": None}  # typed, from the worker itself
    ok = swept.rows[swept.trials[-1].spec_hash()]  # the good trial after all the failures
    assert ok["metrics"]["latency_s"] > 0 and ok["metrics"]["trial_peak_bytes"] > 0
    for row in swept.rows.values():  # the fingerprint is stored even for trials the driver had to kill
        assert row["env"]["cpu"] and row["env"]["threads"] == 1 and row["env"]["torch"]
    if len(os.sched_getaffinity(0)) >= 2:  # a timed 1-thread trial runs pinned to the last usable core
        assert all(swept.rows[t.spec_hash()]["metrics"]["pinned_cores"] == [max(os.sched_getaffinity(0))]
                   for t in swept.trials[:4])


def test_a_reused_worker_serves_many_trials_and_is_replaced_after_a_failure(swept):
    # four good trials and the one that raises share the first worker; a fresh one follows each failure (sleep, nan),
    # and each capped (risky) trial gets one of its own (hog, hog_sleep); the good trial after NaN runs on worker 6
    assert swept.spawned_after == [1, 1, 1, 1, 1, 2, 3, 4, 5, 6]


def test_resume_skips_finished_trials_and_retry_failed_reruns(swept, tmp_path):
    db = tmp_path / "r.db"
    with sqlite3.connect(swept.db) as src, sqlite3.connect(db) as dst:  # a copy: the shared store stays as it was
        src.backup(dst)
    with Store(db) as store:
        again = run_sweep(swept.trials, store)  # stored failures are not retried by default ...
        assert (again.ok, again.failed, again.skipped) == (0, 0, 10)
        assert store.count() == 10
        assert [r["failure"] for r in store.rows(failure="timeout")] == ["timeout"]
        assert {r["failure"] for r in store.rows(failure=["memory cap", "raised"], status="failed")} == \
            {"memory cap", "raised"}
        assert store.retry_failed() == 5
        assert store.count() == 5  # only the failed rows went
        failing = [_bad("raise")]
        assert run_sweep(failing, store).failed == 1  # ... until asked
        assert store.count() == 6




def test_a_training_trial_gets_at_least_its_training_timeout_and_timing_trials_the_sweeps():
    from seqarena.bench.duration import estimate_seconds, training_timeout_s

    runner = Runner(timeout_s=600)
    train = make_trial(scenario="train", model="lstm", task="copy", steps=1000, tune_lr=True, params=None)
    timed = make_trial(scenario="forward_latency", model="lstm", params=None)
    assert runner.timeout_for(train) == training_timeout_s(train) == 2100  # a short step budget: the floor
    forecast = {"scenario": "train", "task": "forecast", "steps": 400, "tune_lr": True, "params": 300_000, "batch": 32,
                "task_params": {"dataset": "glucose", "lookback": 720, "n_train": 2000}}
    lstm, attn = (make_trial(model=m, **forecast) for m in ("lstm", "transformer"))
    # the full suite's claim 22 at look-back 720: the transformer takes ~25 min here, the LSTM ~10
    assert estimate_seconds(attn) > 2 * estimate_seconds(lstm)
    assert training_timeout_s(attn) > 2 * 25 * 60 and training_timeout_s(attn) > training_timeout_s(lstm) >= 2100
    timed_budget = make_trial(scenario="train", model="lstm", task="copy", budget_s=100, params=None)
    assert training_timeout_s(timed_budget) == 3 * 100 + 300  # a time budget: three times it, plus five minutes
    assert runner.timeout_for(timed) == 600
    assert Runner(timeout_s=None).timeout_for(train) is None
    assert Runner(timeout_s=5000).timeout_for(train) == 5000
