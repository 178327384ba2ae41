"""A busy machine is seen, not guessed: the load other processes put on the CPU is sampled with every trial, and a
timing trial measured under load is flagged and measured again on the next run, at most twice more, then kept with
its flag. The rule is driven here with injected readings (and one real busy neighbour for the probe itself), so the
tests do not depend on what else the machine is doing."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from seqarena.measure.load import LoadProbe, LoadSample
from seqarena.run import expand, run_sweep
from seqarena.store import MAX_ATTEMPTS, Store

pytestmark = pytest.mark.real_load

TRIALS = {"params": None, "vocab_size": 32, "repeats": 1, "warmup": 0, "min_seconds": 0.0}


@pytest.mark.parametrize(("others", "threads", "contended"),
                         [(0.0, 2, False), (0.4, 2, False), (0.6, 2, True), (1.0, 1, False), (1.6, 1, True)])
def test_contended_means_others_took_more_than_the_cores_the_trial_left_free(others, threads, contended):
    assert LoadSample(others, 0.0, 2, threads, 1.0).contended is contended


def test_the_probe_sees_a_busy_neighbour():
    probe = LoadProbe([], threads=1)  # nothing of ours excluded: the test's own spinning counts as "others"
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)
        busy = probe.read()
    finally:
        neighbour.kill()
        neighbour.wait()
    assert busy is not None and busy.others_cores > 0.5  # the neighbour alone keeps one core busy


def test_the_trials_own_processes_are_not_counted_as_others(monkeypatch):
    from seqarena.measure import load

    clock = {"busy": 100.0, "mine": 10.0, "t": 0.0}
    monkeypatch.setattr(load, "machine_busy_seconds", lambda: clock["busy"])
    monkeypatch.setattr(load, "process_cpu_seconds", lambda pid: clock["mine"] if pid == 42 else 0.0)
    monkeypatch.setattr(load.time, "monotonic", lambda: clock["t"])
    probe = LoadProbe([42], threads=2)
    clock.update(busy=103.0, mine=12.0, t=2.0)  # 3 busy core-seconds in 2 s, 2 of them ours
    sample = probe.read()
    assert sample.others_cores == pytest.approx(0.5) and sample.seconds == 2.0


def test_a_trial_measured_under_load_is_measured_again_then_kept_with_its_flag(tmp_path, monkeypatch, one_worker):
    trials = expand("forward_latency", ["lstm:d_model=8"], seq_lens=[8], batch=2, **TRIALS)  # batches 1 and 2
    readings = iter([1.9] * 2 * MAX_ATTEMPTS)  # a neighbour holds a core during every attempt

    def busy(probe: LoadProbe) -> LoadSample:
        return LoadSample(next(readings, 0.0), 1.0, 2, probe.threads, 1.0)

    monkeypatch.setattr(LoadProbe, "read", busy)
    with Store(tmp_path / "r.db") as store:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            summary = run_sweep(trials, store)
            assert (summary.ok, summary.skipped, summary.contended) == (2, 0, 2)
            rows = list(store.rows())
            assert len(rows) == 2 and {(r["attempts"], r["contended"]) for r in rows} == {(attempt, 1)}
            assert all(r["env"]["load"]["others_cores"] == 1.9 for r in rows)  # what was seen is stored
        final = run_sweep(trials, store)  # measured three times: kept with its flag, no more re-measuring
        assert (final.ok, final.skipped) == (0, 2)
        assert store.count() == 2


def test_a_quiet_re_measurement_is_final(tmp_path, monkeypatch, one_worker):
    trials = expand("forward_latency", ["lstm:d_model=8"], seq_lens=[8], batch=2, **TRIALS)
    seen = {"others": 1.9}  # a neighbour during the first sweep, none during the second
    monkeypatch.setattr(LoadProbe, "read", lambda probe: LoadSample(seen["others"], 0.0, 2, probe.threads, 1.0))
    with Store(tmp_path / "r.db") as store:
        assert run_sweep(trials, store).contended == 2
        seen["others"] = 0.0
        assert run_sweep(trials, store).contended == 0
        assert {(r["attempts"], r["contended"]) for r in store.rows()} == {(2, 0)}
        assert run_sweep(trials, store).skipped == 2


def test_quality_trials_are_never_flagged(tmp_path, monkeypatch, one_worker):
    from seqarena.bench.spec import make_trial

    monkeypatch.setattr(LoadProbe, "read", lambda probe: LoadSample(1.9, 0.0, 2, probe.threads, 1.0))
    train = make_trial(scenario="train", model="lstm", task="copy", task_params={"n_train": 64, "n_val": 16,
                       "n_test": 16, "distance": 4}, params=20_000, steps=2, batch=8, eval_every=1)
    with Store(tmp_path / "r.db") as store:
        summary = run_sweep([train], store)
        assert summary.contended == 0 and store.finished() == {train.spec_hash()}


def test_ignoring_the_load_records_it_but_flags_nothing(tmp_path, monkeypatch, one_worker):
    monkeypatch.setenv("SEQARENA_IGNORE_LOAD", "1")
    monkeypatch.setattr(LoadProbe, "read", lambda probe: LoadSample(1.9, 0.0, 2, probe.threads, 1.0))
    trials = expand("forward_latency", ["lstm:d_model=8"], seq_lens=[8], batch=2, **TRIALS)
    with Store(tmp_path / "r.db") as store:
        assert run_sweep(trials, store).contended == 0
        assert all(r["env"]["load"]["others_cores"] == 1.9 and r["contended"] == 0 for r in store.rows())


def test_the_cli_warns_before_and_after_measuring_on_a_busy_machine(monkeypatch, capsys):
    from seqarena import cli
    from seqarena.measure import load
    from seqarena.run import SweepSummary

    monkeypatch.setattr(load, "busy_now", lambda seconds=0.5: LoadSample(1.0, 1.2, 2, 2, 0.5))
    cli.warn_if_busy()
    cli.report_contended(SweepSummary(total=4, ok=4, contended=3))
    before, after = capsys.readouterr().err.strip().splitlines()
    assert "the machine is busy" in before and "1.0 of 2 cores" in before
    assert "3 timing trial(s)" in after and f"up to {MAX_ATTEMPTS} times" in after
    monkeypatch.setattr(load, "busy_now", lambda seconds=0.5: LoadSample(0.1, 0.1, 2, 2, 0.5))
    cli.warn_if_busy()
    cli.report_contended(SweepSummary(total=4, ok=4))
    assert capsys.readouterr().err == ""  # a quiet machine: nothing to say


def test_bench_warns_after_storing_flagged_rows(tmp_path, monkeypatch, one_worker):
    from tests.conftest import run_cli

    monkeypatch.setattr(LoadProbe, "read", lambda probe: LoadSample(1.9, 0.0, 2, probe.threads, 1.0))
    monkeypatch.setattr("seqarena.measure.load.busy_now", lambda seconds=0.5: None)  # no look before: after only
    r = run_cli("bench", "forward_latency", "-m", "lstm", "--seq-lens", "8", "--params", "20k", "--vocab-size", "32",
                "--repeats", "1", "--min-seconds", "0", "--rounds", "1", "--threads", "1",
                "--db", str(tmp_path / "r.db"))
    assert r.returncode == 0, r.stderr
    assert "timing trial(s) were measured while other processes kept the CPU busy" in r.stderr  # issue 30 item 4
    assert "under load" in r.stdout  # and the table says which rows carry the flag


def test_a_sweeps_points_count_their_flagged_rounds():
    import pandas as pd

    from seqarena.analysis.summary import pooled_points

    rows = pd.DataFrame({"model": ["lstm"] * 3, "seq_len": [8] * 3, "batch": [1] * 3, "status": ["ok"] * 3,
                         "reason": [None] * 3, "contended": [1, 0, 1], "time.samples": [[1e-3], [1e-3], [1e-3]]})
    assert pooled_points(rows)["contended"].tolist() == [2]


def test_train_on_a_time_budget_warns_when_others_kept_the_cpu_busy(monkeypatch, capsys):
    from seqarena.bench.spec import make_trial
    from seqarena.cli.render import report_training_load

    monkeypatch.delenv("SEQARENA_IGNORE_LOAD", raising=False)
    busy = LoadSample(1.0, 1.0, 2, 2, 30.0).to_dict()
    timed = make_trial(scenario="train", model="gru", task="copy", budget_s=30)
    report_training_load(timed, busy)
    assert "fewer steps than on a quiet machine" in capsys.readouterr().err
    report_training_load(timed, LoadSample(0.0, 0.1, 2, 2, 30.0).to_dict())  # quiet
    report_training_load(make_trial(scenario="train", model="gru", task="copy", steps=100), busy)  # a step budget
    assert capsys.readouterr().err == ""
