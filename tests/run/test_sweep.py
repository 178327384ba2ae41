"""Trials in spawned workers: failures are stored with reasons, the sweep goes on, a killed driver resumes."""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import ClassVar

import pytest

from seqarena.bench.spec import TrialSpec, make_trial
from seqarena.run import Runner, SweepSummary, expand, run_sweep
from seqarena.run import sweep as sweep_module
from seqarena.store import Store, load

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
        mp.setattr(sweep_module, "Runner", CountingRunner)
        summary = run_sweep(trials, store, timeout_s=8,  # ample for a good trial on a busy machine
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
    ok = swept.rows[swept.trials[-1].spec_hash()]  # the good trial after all the failures
    assert ok["metrics"]["latency_s"] > 0 and ok["metrics"]["trial_peak_bytes"] > 0
    for row in swept.rows.values():  # the fingerprint is stored even for trials the driver had to kill
        assert row["env"]["cpu"] and row["env"]["threads"] == 1 and row["env"]["torch"]


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
        assert store.retry_failed() == 5
        assert store.count() == 5  # only the failed rows went
        failing = [_bad("raise")]
        assert run_sweep(failing, store).failed == 1  # ... until asked
        assert store.count() == 6


DRIVER = textwrap.dedent(
    """
    import sys
    from seqarena.bench.spec import make_trial
    from seqarena.run import expand, run_sweep
    from seqarena.store import Store
    if __name__ == "__main__":
        fast = expand("forward_latency", ["lstm:d_model=16", "gru:d_model=16"], seq_lens=[8, 16, 32], batch=2,
                      params=None, vocab_size=32, repeats=3, min_seconds=0.1, warmup=1)
        sleeper = make_trial(scenario="forward_latency", model="tests.run.bad_models:Misbehave",
                             options={"behaviour": "sleep", "d_model": 8}, params=None, vocab_size=32, seq_len=8)
        trials = fast[:6] + [sleeper] + fast[6:]
        with Store(sys.argv[1]) as store:
            run_sweep(trials, store, timeout_s=float(sys.argv[2]))
    """
)


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs /proc")
def test_sigkilled_driver_leaves_no_orphans_and_rerun_has_every_trial_exactly_once(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    db = tmp_path / "r.db"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}  # tests.run.bad_models
    proc = subprocess.Popen([sys.executable, str(script), str(db), "600"], env=env)
    deadline = time.time() + 120
    while time.time() < deadline and not (db.exists() and Store(db).count() >= 6):
        time.sleep(0.1)
    time.sleep(1.0)  # the worker is now inside the sleeping trial: busy, not waiting on its pipe
    workers = [w for w in _children(proc.pid) if _alive(w)]
    assert workers, "the driver should have a worker process"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)
    # a busy worker never reads its pipe, so only PR_SET_PDEATHSIG can end it this fast
    assert not any(_alive(w) for w in workers), "workers must die with the driver"
    with Store(db) as store:
        assert store.count() == 6
    rerun = subprocess.run([sys.executable, str(script), str(db), "3"], env=env, capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    df = load(db, status=None)
    assert len(df) == 13 and df["spec_hash"].is_unique
    assert (df["status"] == "ok").sum() == 12
    assert df.loc[df["status"] == "failed", "reason"].str.startswith("timeout").all()
