"""recommend --data end to end on a small generated series (a random walk: noise no model can beat "last value"
on): the baseline is recommended, every trial is stored and a rerun measures nothing, the page and the report lead
with it. Budgets are seconds of wall clock, so nothing here depends on how many steps fit in them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import seqarena
from seqarena.recommender import on_data
from seqarena.store import Store
from tests.conftest import run_cli


@pytest.fixture
def tiny_plan(monkeypatch):
    """Two learning rates, no planned overhead: the whole recommendation in ~20 s."""
    monkeypatch.setattr(on_data, "LR_GRID", (1e-3, 3e-3))
    monkeypatch.setattr(on_data, "TRIAL_OVERHEAD_S", 0.0)
    monkeypatch.setattr(on_data, "PROBE_RESERVE_S", 0.0)


def test_noise_gets_the_baseline_and_a_rerun_measures_nothing(tmp_path, tiny_plan):
    walk = np.cumsum(np.random.default_rng(0).normal(size=900))
    pd.DataFrame({"v": walk}).to_csv(tmp_path / "walk.csv", index=False)
    db = tmp_path / "r.db"
    kw = {"db": db, "candidates": ["gru"], "params": 5_000, "budget_s": 12, "lookback": 16, "period": 1}
    rec = seqarena.recommend(data=tmp_path / "walk.csv", **kw)
    assert rec.pick.startswith("baseline: ") and "no candidate beats it" in rec.lines[0]
    (gru,) = rec.candidates
    assert gru["status"] == "did not learn" and len(gru["runs"]) == 3 and gru["latency_ms"] > 0
    assert gru["memory_mb"] > 0 and gru["lr"] in (1e-3, 3e-3) and not rec.failures
    assert rec.settings["threads"] >= 1 and rec.budget["runs"] == 3 and rec.model_path is None
    # the cost is the model as deployed: one feature in, a regression head out, at the look-back
    with Store(db, readonly=True) as store:
        timed = [r for r in store.rows(scenario="forward_latency")]
    assert {r["seq_len"] for r in timed} == {16} and all(r["spec"]["options"]["head"] == "regression" for r in timed)
    assert all(r["spec"]["threads"] == rec.settings["threads"] for r in timed)
    page = (tmp_path / "recommend" / "recommend.html").read_text()
    assert rec.page and 'id="fig-data-pareto"' in page and "no candidate beats it" in page
    assert json.loads(json.dumps(rec.to_dict()))["pick"] == rec.pick  # --json's content is plain JSON

    again = seqarena.recommend(data=tmp_path / "walk.csv", **kw)  # resume: every trial is in the store
    assert again.pick == rec.pick and again.candidates[0]["runs"] == gru["runs"]

    # the report leads with the user's question
    r = run_cli("report", "--db", str(db), "--out", str(tmp_path / "report"))
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "report" / "index.html").read_text()
    assert html.index('id="your-data"') < html.index('id="settings"')
    assert (tmp_path / "report" / "report.md").read_text().split("## ")[1].startswith("Your data: ")


def test_a_budget_too_small_is_one_line_before_anything_runs(tmp_path):
    pd.DataFrame({"v": np.arange(300.0)}).to_csv(tmp_path / "s.csv", index=False)
    r = run_cli("recommend", "--data", str(tmp_path / "s.csv"), "--budget", "20s", "--db", str(tmp_path / "r.db"))
    assert r.returncode == 2 and "too small for 4 candidates" in r.stderr and not (tmp_path / "r.db").exists()


def test_ctrl_c_says_what_the_whole_recommendation_keeps(tmp_path, monkeypatch, tiny_plan):
    """An interrupt in the last phase counts the earlier phases' stored trials too (they are kept and resumed). The
    fake sweep stores nothing, so tuning finds no learning rate and the runs phase is empty."""
    from seqarena.errors import Interrupted
    from seqarena.run.sweep import SweepSummary

    pd.DataFrame({"v": np.cumsum(np.random.default_rng(0).normal(size=600))}).to_csv(tmp_path / "w.csv", index=False)
    calls = []

    def fake_sweep(trials, store, **kw):
        calls.append(len(trials))
        if len(calls) == 3:
            raise Interrupted(SweepSummary(total=len(trials), ok=1), str(store.path))
        return SweepSummary(total=len(trials), ok=len(trials))

    monkeypatch.setattr(on_data, "run_sweep", fake_sweep)
    with pytest.raises(Interrupted) as e:
        on_data.recommend_data(tmp_path / "w.csv", db=tmp_path / "r.db", candidates=["gru"], params=5_000,
                               budget_s=12, lookback=16)
    assert calls == [2, 0, 5] and str(e.value).startswith("interrupted: 3 trial(s) of this run")
