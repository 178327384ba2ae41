"""Co-timing: the contenders of one comparison are timed in interleaved turns in one process (seqarena.measure.cotimer),
and a group never costs a trial its own outcome (a failure stays the failing trial's; a dead worker reruns each alone).
"""

from __future__ import annotations

import threading

import pytest

from seqarena.bench.spec import make_trial
from seqarena.measure.cotimer import MAX_TURNS, CoTimer
from seqarena.run.executors import _groups
from seqarena.run.sweep import run_sweep
from seqarena.run.worker import MAX_GROUP, cotimable
from seqarena.store import Store, failures

FAST = {"params": None, "vocab_size": 32, "seq_len": 8, "batch": 1, "repeats": 3, "min_seconds": 0.0, "warmup": 1,
        "threads": 1}


def _trial(model: str = "lstm", **extra):
    options = {"d_model": 8, **extra.pop("options", {})}
    return make_trial(scenario="forward_latency", model=model, options=options, **{**FAST, **extra})


def _bad(behaviour: str):
    return _trial("tests.run.bad_models:Misbehave", options={"behaviour": behaviour})


def _cotime(durations: dict[int, float], repeats: int = 3, min_seconds: float = 1.0, fail: int | None = None):
    """Run a CoTimer over threads whose calls 'take' the given seconds (a fake clock: nothing is timed)."""
    co = CoTimer(len(durations), seed=0)
    results: dict[int, object] = {}

    def body(i: int) -> None:
        def clock(fn):
            fn()
            return durations[i]

        def call():
            if i == fail:
                raise RuntimeError("boom")

        with co.member(i):
            try:
                results[i] = co.time(call, clock, warmup=2, repeats=repeats, min_seconds=min_seconds)
            except RuntimeError as e:
                results[i] = e

    threads = []
    for i in durations:
        t = threading.Thread(target=body, args=(i,))
        t.start()
        co.wait_parked(i)
        threads.append(t)
    co.run()
    for i, t in enumerate(threads):
        co.release(i)
        t.join(10)
    return co, results


def test_contenders_take_turns_and_each_gets_its_repeats_and_seconds():
    co, results = _cotime({0: 0.001, 1: 0.004}, repeats=3, min_seconds=0.2)
    turns = MAX_TURNS  # 0.2 s / 0.004 s per call leaves room for every turn
    timed = co.order[2:]  # after one warm-up block each
    assert len(timed) == 2 * turns
    assert all(set(timed[2 * k:2 * k + 2]) == {0, 1} for k in range(turns))  # every turn serves both
    for i, d in ((0, 0.001), (1, 0.004)):
        assert len(results[i]) >= 3 and sum(results[i]) >= 0.2 - 1e-9
        assert set(results[i]) == {d}  # warm-up calls are not samples


def test_slow_calls_are_not_repeated_more_often_than_alone():
    _, results = _cotime({0: 0.5, 1: 0.001}, repeats=3, min_seconds=0.1)
    assert len(results[0]) == 3  # one call per turn, as many turns as the trial's repeats


def test_a_contender_whose_call_raises_drops_out_and_the_others_are_timed():
    _, results = _cotime({0: 0.01, 1: 0.01, 2: 0.01}, fail=1, min_seconds=0.1)
    assert isinstance(results[1], RuntimeError)
    assert len(results[0]) >= 3 and len(results[2]) >= 3


def test_neighbours_that_compare_contenders_form_groups():
    a, b = _trial("lstm"), _trial("transformer")
    assert cotimable(a, b) and cotimable(a, _trial("transformer", seq_len=16, batch=2))
    assert not cotimable(a, _trial("transformer", round=1))  # another round: another process
    assert not cotimable(a, _trial("transformer", threads=2))  # other settings
    assert not cotimable(a, make_trial(scenario="memory", model="lstm", options={"d_model": 8}, kind="infer",
                                       **FAST))
    many = [_trial("lstm", seq_len=8 * (k + 1)) for k in range(MAX_GROUP + 2)]
    assert [len(g) for g in _groups([*many, _trial("gru", round=1)])] == [MAX_GROUP, 2, 1]


def test_cotiming_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("SEQARENA_COTIME", "0")
    assert [len(g) for g in _groups([_trial("lstm"), _trial("transformer")])] == [1, 1]


def test_a_group_is_timed_together_and_a_failure_stays_the_failing_trials(tmp_path):
    trials = [_trial("lstm"), _bad("raise"), _trial("transformer")]
    with Store(tmp_path / "r.db") as store:
        summary = run_sweep(trials, store)
        rows = {r["spec_hash"]: r for r in store.rows()}
    assert (summary.ok, summary.failed) == (2, 1)
    bad = rows[trials[1].spec_hash()]
    assert bad["failure"] == failures.RAISED and "boom" in bad["reason"]
    for t in (trials[0], trials[2]):
        time = rows[t.spec_hash()]["metrics"]["time"]
        assert time["cotimed"] == 3 and time["n"] >= 3


@pytest.mark.parametrize("behaviour", ["exit"])
def test_a_group_whose_worker_dies_runs_each_trial_alone(tmp_path, behaviour):
    trials = [_trial("lstm"), _bad(behaviour), _trial("transformer")]
    with Store(tmp_path / "r.db") as store:
        summary = run_sweep(trials, store)
        rows = {r["spec_hash"]: r for r in store.rows()}
    assert (summary.ok, summary.failed) == (2, 1)
    assert failures.parse(rows[trials[1].spec_hash()]["reason"]) == (failures.EXIT, "exit code 3")
    for t in (trials[0], trials[2]):
        assert "cotimed" not in rows[t.spec_hash()]["metrics"]["time"]  # measured alone, after the group died
