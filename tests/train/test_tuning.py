"""Tuning on validation beyond the LR: the clip at the tuned LR, then weight decay x dropout (issue 29: clipping
recorded and tuned in full; claim 9's "well-regularized" contenders)."""

from __future__ import annotations

import pytest

from seqarena.bench import make_trial, run_trial
from seqarena.models import build
from seqarena.tasks import make_task
from seqarena.train import TrainConfig, tune

SMALL = {"n_train": 128, "n_val": 32, "n_test": 32}


def test_a_coordinate_search_with_one_budget_for_every_setting():
    task = make_task("adding", distance=8, **SMALL)
    built = []

    def model(dropout):
        built.append(dropout)
        return build("gru", d_model=8, dropout=dropout, **task.model_fields())

    best, tried = tune(model, task, TrainConfig(steps=60, eval_every=10, clip=1.0), lrs=(1e-4, 1e-2, 1e4),
                       clips=(0.25, 1.0), regs=((0.01, 0.0), (0.1, 0.2)), fraction=0.5)
    # 3 LRs + 1 new clip + 1 new regularisation: the default of each later stage is the point already tried
    assert [t["stage"] for t in tried] == ["lr", "lr", "lr", "clip", "regularisation"]
    assert {t["steps"] for t in tried if t["status"] != "diverged"} == {6}  # 60 x 0.5 / 5 points each
    assert tried[2]["status"] == "diverged" and best["lr"] != 1e4
    assert built == [0.0, 0.0, 0.0, 0.0, 0.2]  # dropout reaches the model; only the last point asked for it
    for stage in ("lr", "clip", "regularisation"):  # each stage keeps the best of its own points and the winner so far
        seen = [t for t in tried if t["stage"] == stage or (t["stage"] == "lr" and t["lr"] == best["lr"])]
        ok = [t for t in seen if t["status"] != "diverged"]
        assert min(t["val"] for t in ok) >= min(t["val"] for t in tried if t["status"] != "diverged")
    winner = min((t for t in tried if t["status"] != "diverged"), key=lambda t: t["val"])
    assert {k: winner[k] for k in best} == best


def test_tuning_more_needs_the_lr_tuned_and_the_trial_records_what_it_used():
    common = {"scenario": "train", "model": "lstm", "task": "copy", "params": None, "steps": 10, "batch": 8,
              "eval_every": 5, "options": {"d_model": 8},
              "task_params": {"distance": 4, "n_train": 64, "n_val": 16, "n_test": 16}}
    with pytest.raises(ValueError, match="set tune_lr too"):
        make_trial(**common, tune_more=("clip",))
    m = run_trial(make_trial(**common, tune_lr=True, tune_more=("clip", "regularisation")))
    stages = [g["stage"] for g in m["lr_grid"]]
    assert stages.count("clip") == 2 and stages.count("regularisation") == 3
    assert m["clip"] in (0.25, 1.0, 4.0) and m["weight_decay"] in (0.01, 0.1) and m["dropout"] in (0.0, 0.1)
    plain = run_trial(make_trial(**common))
    assert (plain["clip"], plain["weight_decay"], plain["dropout"], plain["lr_grid"]) == (1.0, 0.01, 0.0, None)
