"""The data recommender's decision rule on numbers: learned or not, budgets, the margin's tie and who gets it."""

from __future__ import annotations

import pytest

from seqarena.recommender.decide import MARGIN, Entry, judge

BASE = {0: 1.0, 1: 1.1, 2: 0.9}  # the baseline's MSE per fold


def _e(label, mses, latency_ms, memory_mb=10.0):
    return Entry(label, dict(enumerate(mses)), latency_s=latency_ms / 1e3, memory_mb=memory_mb)


def test_within_the_margin_the_cheaper_wins_and_the_reason_says_so():
    best = _e("transformer", [0.500, 0.520, 0.480], latency_ms=3.0)
    close = _e("lstm", [0.510, 0.530, 0.490], latency_ms=1.0)  # 2% worse: inside the 5% margin, 3x cheaper
    d = judge([best, close], BASE, "linear", "mse", higher_is_better=False)
    assert d.pick == "lstm" and [j.status for j in d.ranking] == ["pick", "tied"]
    assert "tied with the best, transformer" in d.lines[0] and "cheaper wins" in d.lines[0]


def test_outside_the_margin_the_better_wins_however_cheap_the_other():
    best = _e("transformer", [0.50, 0.52, 0.48], latency_ms=3.0)
    worse = _e("lstm", [0.60, 0.62, 0.58], latency_ms=0.1)  # 20% worse
    d = judge([best, worse], BASE, "linear", "mse", higher_is_better=False)
    assert d.pick == "transformer"
    assert {j.entry.label: j.status for j in d.ranking} == {"transformer": "pick", "lstm": "worse"}
    assert "excludes 0" in d.lines[1]  # the lead is resolved by the paired runs


def test_the_margin_decides_a_tie_and_flips_when_the_gap_crosses_it():
    for gap, pick in ((MARGIN * 0.8, "cheap"), (MARGIN * 1.5, "good")):
        good = _e("good", [0.5, 0.5, 0.5], latency_ms=2.0)
        cheap = _e("cheap", [0.5 * (1 + gap)] * 3, latency_ms=1.0)
        assert judge([good, cheap], BASE, "linear", "mse", higher_is_better=False).pick == pick


def test_a_tie_in_latency_goes_to_the_lower_memory():
    a = _e("a", [0.5, 0.5, 0.5], latency_ms=1.0, memory_mb=50)
    b = _e("b", [0.5, 0.5, 0.5], latency_ms=1.0, memory_mb=5)
    assert judge([a, b], BASE, "linear", "mse", higher_is_better=False).pick == "b"


def test_over_budget_ranks_below_those_that_meet_it():
    fast = _e("fast", [0.7, 0.75, 0.65], latency_ms=1.0)
    slow = _e("slow", [0.4, 0.42, 0.38], latency_ms=9.0)  # far better but over the 5 ms budget
    d = judge([slow, fast], BASE, "linear", "mse", higher_is_better=False, latency_budget_ms=5)
    assert d.pick == "fast" and d.ranking[-1].entry.label == "slow" and d.ranking[-1].status == "over budget"
    assert "9 ms > 5 ms" in d.lines[-1]


def test_no_model_beats_the_baseline_recommends_the_baseline():
    noise = [_e("lstm", [1.01, 1.12, 0.92], 1.0), _e("transformer", [0.98, 1.15, 0.91], 2.0)]
    d = judge(noise, BASE, "linear on the look-back", "mse", higher_is_better=False)
    assert d.pick == "baseline: linear on the look-back"
    assert all(j.status == "did not learn" for j in d.ranking)
    assert "no candidate beats it" in d.lines[0]


def test_a_model_that_beats_the_baseline_only_over_budget_still_gets_the_baseline():
    good = _e("transformer", [0.5, 0.5, 0.5], latency_ms=50)
    d = judge([good], BASE, "linear", "mse", higher_is_better=False, latency_budget_ms=5)
    assert d.pick == "baseline: linear" and "break the budgets" in d.lines[0]


def test_accuracy_is_higher_is_better_and_one_run_is_no_evidence():
    base = {0: 0.5}
    acc = _e("gru", [0.9], 1.0)
    d = judge([acc], base, "majority class", "accuracy", higher_is_better=True)
    assert d.pick == "baseline: majority class"  # one run: no interval, so "beats the baseline" is not shown
    assert "one run: no interval" in d.ranking[0].why
    acc3 = Entry("gru", {0: 0.9, 1: 0.88, 2: 0.91}, latency_s=1e-3, memory_mb=1)
    d = judge([acc3], {0: 0.5, 1: 0.5, 2: 0.5}, "majority class", "accuracy", higher_is_better=True)
    assert d.pick == "gru"


def test_failed_runs_are_named():
    ok = _e("lstm", [0.5, 0.5, 0.52], 1.0)
    broken = Entry("transformer", {}, failed=["run 1: diverged (lr 0.003)"])
    d = judge([ok, broken], BASE, "linear", "mse", higher_is_better=False)
    assert d.pick == "lstm" and "transformer failed: run 1: diverged (lr 0.003)" in d.lines[-1]


def test_the_accuracy_margin_is_on_the_error_rate():
    """0.944 against 0.921 is 41% more errors (not 2.4% less accuracy): not a tie; 0.950 against 0.949 is."""
    base = {0: 0.80, 1: 0.80, 2: 0.80}
    best = Entry("lstm", {0: 0.944, 1: 0.945, 2: 0.943}, latency_s=3e-3, memory_mb=90)
    cheap = Entry("linear_attention", {0: 0.921, 1: 0.922, 2: 0.920}, latency_s=2e-3, memory_mb=2)
    assert judge([best, cheap], base, "lr", "accuracy", higher_is_better=True).pick == "lstm"
    close = Entry("linear_attention", {0: 0.9435, 1: 0.9445, 2: 0.9425}, latency_s=2e-3, memory_mb=2)
    d = judge([best, close], base, "lr", "accuracy", higher_is_better=True)
    assert d.pick == "linear_attention" and "within the 5% margin" in d.lines[0]


def test_a_loss_over_folds_of_different_scale_has_a_positive_interval_around_its_geometric_mean():
    """Runs of a series test on different folds: MSEs 0.2, 0.9, 1.6 gave the arithmetic t-interval [-0.80, 2.56];
    on the log scale the mean is geometric and the interval stays positive. Accuracy stays arithmetic."""
    folds = {0: 0.25, 1: 1.0, 2: 2.0}
    d = judge([_e("gru", [0.2, 0.9, 1.6], 1.0)], folds, "linear", "mse", higher_is_better=False)
    (j,) = d.ranking
    assert j.mean == pytest.approx((0.2 * 0.9 * 1.6) ** (1 / 3)) and 0 < j.ci[0] < j.mean < j.ci[1]
    assert d.baseline_mean == pytest.approx((0.25 * 1.0 * 2.0) ** (1 / 3))
    acc = judge([_e("gru", [0.90, 0.92, 0.94], 1.0)], {0: 0.8, 1: 0.8, 2: 0.8}, "majority", "accuracy",
                higher_is_better=True)
    assert acc.ranking[0].mean == pytest.approx(0.92)
