"""Trials in spawned workers: failures are stored with reasons, the sweep goes on, a killed driver resumes."""

from __future__ import annotations

from seqarena.bench.spec import make_trial
from seqarena.run import Runner, expand, run_sweep
from seqarena.store import Store

BAD = "tests.run.bad_models:Misbehave"
FAST = {"params": None, "vocab_size": 32, "seq_len": 8, "batch": 1, "repeats": 2, "min_seconds": 0.0, "warmup": 1,
        "threads": 1}


def _bad(behaviour: str, **extra):
    return make_trial(scenario="forward_latency", model=BAD, options={"behaviour": behaviour, "d_model": 8}, **FAST,
                      **extra)


def test_failures_are_stored_with_reasons_and_the_sweep_goes_on(tmp_path):
    good = [make_trial(scenario="forward_latency", model=m, options={"d_model": 16}, **FAST) for m in ("lstm", "gru")]
    trials = [
        good[0],
        _bad("raise"),
        _bad("sleep"),
        _bad("hog", memory_cap_mb=100),
        _bad("hog_sleep", memory_cap_mb=100),
        _bad("nan"),
        good[1],
    ]
    with Store(tmp_path / "r.db") as store:
        summary = run_sweep(trials, store, timeout_s=8)
        rows = {r["spec_hash"]: r for r in store.rows()}
    assert summary.ok == 2 and summary.failed == 5
    reasons = {t.options.get("behaviour", t.model): rows[t.spec_hash()]["reason"] for t in trials}
    statuses = {t.options.get("behaviour", t.model): rows[t.spec_hash()]["status"] for t in trials}
    assert statuses == {"lstm": "ok", "gru": "ok", "raise": "failed", "sleep": "failed", "hog": "failed",
                        "hog_sleep": "failed", "nan": "failed"}
    assert "RuntimeError: boom" in reasons["raise"]
    assert reasons["sleep"].startswith("timeout")
    assert reasons["hog"].startswith("memory cap")  # caught by the exact peak after the trial, if not by polling
    assert reasons["hog_sleep"].startswith("memory cap: RSS reached")  # stopped by polling, long before the timeout
    assert reasons["nan"].startswith("non-finite")
    ok = rows[good[1].spec_hash()]
    assert ok["metrics"]["latency_s"] > 0 and ok["metrics"]["trial_peak_bytes"] > 0
    for row in rows.values():  # the fingerprint is stored even for trials the driver had to kill
        assert row["env"]["cpu"] and row["env"]["threads"] == 1 and row["env"]["torch"]


def test_a_reused_worker_serves_many_trials_and_is_replaced_after_a_failure():
    runner = Runner(timeout_s=30)
    try:
        specs = [make_trial(scenario="forward_latency", model="lstm", options={"d_model": 8}, seed=s, **FAST)
                 for s in range(3)]
        assert all(runner.run(s).status == "ok" for s in specs)
        assert runner.spawned == 1
        assert runner.run(_bad("raise")).status == "failed"
        assert runner.run(specs[0]).status == "ok"
        assert runner.spawned == 2
    finally:
        runner.close()


def test_resume_skips_finished_trials_and_retry_failed_reruns(tmp_path):
    trials = expand("forward_latency", ["lstm:d_model=8"], seq_lens=[8, 16], batch=2, params=None, vocab_size=32,
                    repeats=2, min_seconds=0.0, warmup=1)
    with Store(tmp_path / "r.db") as store:
        first = run_sweep(trials, store)
        again = run_sweep(trials, store)
        assert (first.ok, again.ok, again.skipped) == (4, 0, 4)
        assert store.count() == 4
        failing = [_bad("raise")]
        assert run_sweep(failing, store).failed == 1
        assert run_sweep(failing, store).skipped == 1  # a stored failure is not retried by default ...
        assert store.retry_failed() == 1
        assert run_sweep(failing, store).failed == 1  # ... until asked
        assert store.count() == 5


