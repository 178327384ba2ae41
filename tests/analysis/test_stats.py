"""Exact values of the statistics every verdict rests on.

Each function of :mod:`seqarena.analysis.stats`, :mod:`seqarena.analysis.sequential`, :mod:`seqarena.claims.rounds`
and :func:`seqarena.claims.verdict.decide` is checked on small fixed inputs against a value computed independently
here: the arithmetic written out (means, sample standard deviations, Wilson's formula, least squares by the normal
equations, Welch-Satterthwaite degrees of freedom, Phi through ``math.erf``), or another routine (``ttest_1samp``'s
interval, ``binomtest``'s Wilson interval, ``statistics.NormalDist``). Only the t quantile comes from
``scipy.stats.t.ppf``.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from seqarena.analysis.sequential import ALPHA, Schedule, looks
from seqarena.analysis.stats import (
    ZONE,
    linear_fit,
    paired_round_ratio,
    round_confidence,
    round_interval,
    round_level,
    t_interval,
    welch_ratio,
    wilson,
)
from seqarena.claims.rounds import (
    abs_dev_interval,
    by_round,
    medians_by_round,
    paired,
    round_ratios,
    round_slopes,
)
from seqarena.claims.verdict import Verdict, Why, decide, zone_bounds

REL = 1e-9


def approx(x, rel=REL, abs=1e-12):
    return pytest.approx(x, rel=rel, abs=abs)


def t_half(values, confidence):
    """Half-width of the Student t interval of the mean, written out: t_{(1+c)/2, n-1} * s / sqrt(n)."""
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in values) / (n - 1))
    return mean, st.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)


# ---------------------------------------------------------------------------------------------------- t_interval


def test_t_interval_is_mean_plus_minus_t_quantile_times_standard_error():
    mean, ci = t_interval([1.0, 2.0, 4.0, 7.0])
    # mean 3.5; squared deviations 6.25 + 2.25 + 0.25 + 12.25 = 21, s = sqrt(21 / 3) = sqrt(7); n = 4
    half = st.t.ppf(0.975, 3) * math.sqrt(7) / 2
    assert mean == approx(3.5)
    assert ci == approx((3.5 - half, 3.5 + half))


def test_t_interval_matches_ttest_1samp_interval_at_another_level():
    values = [0.31, 0.29, 0.35, 0.33, 0.30]
    ref = st.ttest_1samp(values, 0.0).confidence_interval(0.9)
    mean, ci = t_interval(values, confidence=0.9)
    assert mean == approx(np.mean(values))
    assert ci == approx((ref.low, ref.high))


def test_t_interval_drops_none_nan_and_infinities():
    dirty = t_interval([1.0, None, 2.0, math.nan, 4.0, math.inf, -math.inf, 7.0])
    assert dirty == t_interval([1.0, 2.0, 4.0, 7.0])


def test_t_interval_with_one_value_is_a_point_estimate():
    assert t_interval([3.0, math.nan]) == (3.0, None)


def test_t_interval_with_no_value_is_nan_without_interval():
    mean, ci = t_interval([None, math.inf])
    assert math.isnan(mean) and ci is None


# -------------------------------------------------------------------------------------------------------- wilson


def wilson_by_hand(x, n, confidence=0.95):
    """Wilson's score interval in its textbook form: (x + z^2/2) / (n + z^2) +- z sqrt(n) / (n + z^2) *
    sqrt(p (1 - p) + z^2 / (4 n)), with z from the standard library's normal quantile."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = x / n
    centre = (x + z * z / 2) / (n + z * z)
    half = z * math.sqrt(n) / (n + z * z) * math.sqrt(p * (1 - p) + z * z / (4 * n))
    return centre - half, centre + half


@pytest.mark.parametrize(("x", "n"), [(7, 10), (1, 3), (450, 512), (64, 512)])
def test_wilson_matches_the_formula_and_binomtest(x, n):
    lo, hi = wilson(x, n)
    assert (lo, hi) == approx(wilson_by_hand(x, n))
    ref = st.binomtest(x, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert (lo, hi) == approx((ref.low, ref.high))


def test_wilson_at_another_confidence_level():
    assert wilson(30, 40, confidence=0.8) == approx(wilson_by_hand(30, 40, 0.8))


def test_wilson_with_no_success_starts_at_zero():
    lo, hi = wilson(0, 10)
    z = NormalDist().inv_cdf(0.975)
    assert lo == 0.0
    assert hi == approx(z * z / (10 + z * z))  # p = 0: centre = half = (z^2 / 2) / (n + z^2)


def test_wilson_with_every_success_ends_at_one():
    lo, hi = wilson(10, 10)
    z = NormalDist().inv_cdf(0.975)
    assert lo == approx(10 / (10 + z * z))  # p = 1: centre - half = n / (n + z^2)
    assert hi == approx(1.0)


def test_wilson_with_no_example_is_the_whole_unit_interval():
    assert wilson(0, 0) == (0.0, 1.0)


# ---------------------------------------------------------------------------------------------------- linear_fit


def fit_by_normal_equations(x, y, confidence=0.95):
    """(a, b, interval of b) of y = a + b x solved from X'X beta = X'y, with s^2 = RSS / (n - 2)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    design = np.column_stack([np.ones_like(x), x])
    xtx = design.T @ design
    a, b = np.linalg.solve(xtx, design.T @ y)
    rss = float(np.sum((y - design @ np.array([a, b])) ** 2))
    se_b = math.sqrt(rss / (x.size - 2) * np.linalg.inv(xtx)[1, 1])
    half = st.t.ppf(0.5 + confidence / 2, x.size - 2) * se_b
    return a, b, (b - half, b + half)


def test_linear_fit_matches_least_squares_by_the_normal_equations():
    x, y = [1, 2, 3, 4, 5], [2.1, 3.9, 6.2, 7.8, 10.1]
    a, b, ci = linear_fit(x, y)
    ea, eb, eci = fit_by_normal_equations(x, y)
    assert (a, b) == approx((ea, eb))
    assert ci == approx(eci)


def test_linear_fit_with_repeated_x_and_another_level():
    x, y = [1, 1, 2, 3, 3, 4], [1.0, 1.4, 2.1, 2.8, 3.3, 4.2]
    a, b, ci = linear_fit(x, y, confidence=0.9)
    ea, eb, eci = fit_by_normal_equations(x, y, confidence=0.9)
    assert (a, b) == approx((ea, eb))
    assert ci == approx(eci)


def test_linear_fit_of_an_exact_line_has_a_zero_width_interval():
    a, b, (lo, hi) = linear_fit([0, 1, 2, 3], [1.0, 3.0, 5.0, 7.0])  # y = 1 + 2x, no rounding in the residuals
    assert (a, b) == approx((1.0, 2.0))
    assert (lo, hi) == (2.0, 2.0)
    # in general rounding leaves a residual of ~1e-16 whose square root (the slope's standard error) is ~1e-8
    a, b, (lo, hi) = linear_fit([1, 2, 4], [5.0, 8.0, 14.0])  # y = 2 + 3x
    assert (a, b) == approx((2.0, 3.0))
    assert (lo, hi) == pytest.approx((3.0, 3.0), abs=1e-5)


@pytest.mark.parametrize("x", [[1, 2], [1, 1, 2, 2], [3, 3, 3], []])
def test_linear_fit_needs_three_distinct_x(x):
    assert linear_fit(x, [float(i) for i in range(len(x))]) is None


# ------------------------------------------------------------------------------------------------ round_interval


def test_round_interval_on_the_log_scale_is_the_geometric_mean_and_back_transformed_interval():
    ratios = [0.9, 1.1, 1.2, 1.05]
    logs = [math.log(r) for r in ratios]
    mean, half = t_half(logs, 0.95)
    effect, ci = round_interval(ratios)
    assert effect == approx(math.prod(ratios) ** (1 / 4))
    assert ci == approx((math.exp(mean - half), math.exp(mean + half)))


def test_round_interval_on_the_log_scale_drops_non_positive_and_non_finite_values():
    assert round_interval([0.9, 0.0, 1.1, -1.0, None, math.nan, math.inf, 1.2]) == round_interval([0.9, 1.1, 1.2])


def test_round_interval_on_the_linear_scale_keeps_zero_and_negatives():
    values = [-0.2, 0.0, 0.5, 0.3]
    mean, half = t_half(values, 0.95)
    effect, ci = round_interval([*values, None, math.nan], log=False)
    assert effect == approx(0.15)
    assert ci == approx((mean - half, mean + half))


def test_round_interval_of_one_round_is_a_point_estimate():
    for values in ([1.3], [1.3, -2.0]):
        effect, ci = round_interval(values)
        assert effect == approx(1.3) and ci is None


def test_round_interval_of_nothing_usable_is_nan():
    effect, ci = round_interval([0.0, -1.0, None])
    assert math.isnan(effect) and ci is None


def test_round_interval_default_level_is_95_percent():
    assert round_level() == 0.95
    assert round_interval([0.9, 1.1, 1.3]) == round_interval([0.9, 1.1, 1.3], confidence=0.95)


def test_round_confidence_sets_the_level_round_interval_uses_and_restores_it():
    ratios = [0.9, 1.1, 1.3]
    logs = [math.log(r) for r in ratios]
    mean, half = t_half(logs, 0.8)
    with round_confidence(0.8):
        assert round_level() == 0.8
        _, ci = round_interval(ratios)
        assert ci == approx((math.exp(mean - half), math.exp(mean + half)))
        # an explicit level still wins inside the block
        ref = st.ttest_1samp(logs, 0.0).confidence_interval(0.95)
        assert round_interval(ratios, confidence=0.95)[1] == approx((math.exp(ref.low), math.exp(ref.high)))
    assert round_level() == 0.95
    assert round_interval(ratios) == round_interval(ratios, confidence=0.95)


def test_round_confidence_nests_and_each_exit_restores_the_outer_level():
    with round_confidence(0.99):
        with round_confidence(0.9):
            assert round_level() == 0.9
        assert round_level() == 0.99
    assert round_level() == 0.95


def test_round_confidence_restores_the_level_after_an_exception():
    with pytest.raises(RuntimeError), round_confidence(0.7):
        assert round_level() == 0.7
        raise RuntimeError("a judge failed mid-look")
    assert round_level() == 0.95


# -------------------------------------------------------------------------------------------- paired_round_ratio


def test_paired_round_ratio_pairs_only_rounds_both_have():
    a = {0: [1.0, 2.0, 3.0], 1: [2.0, 4.0], 2: [5.0]}
    b = {0: [2.0, 2.0, 2.0], 1: [1.0, 3.0], 3: [7.0]}
    effect, ci, ratios = paired_round_ratio(a, b)
    # round 0: median 2 / median 2 = 1; round 1: median 3 / median 2 = 1.5; rounds 2 and 3 are unpaired
    assert ratios == approx([1.0, 1.5])
    assert effect == approx(math.sqrt(1.5))
    ref = st.ttest_1samp([0.0, math.log(1.5)], 0.0).confidence_interval(0.95)
    assert ci == approx((math.exp(ref.low), math.exp(ref.high)))


def test_paired_round_ratio_skips_a_round_with_no_sample_and_honours_the_level():
    a = {0: [2.0], 1: [3.0], 2: [], 3: [4.4]}
    b = {0: [1.0], 1: [2.0], 2: [1.0], 3: [4.0]}
    effect, ci, ratios = paired_round_ratio(a, b, confidence=0.9)
    assert ratios == approx([2.0, 1.5, 1.1])
    logs = [math.log(2.0), math.log(1.5), math.log(1.1)]
    ref = st.ttest_1samp(logs, 0.0).confidence_interval(0.9)
    assert effect == approx((2.0 * 1.5 * 1.1) ** (1 / 3))
    assert ci == approx((math.exp(ref.low), math.exp(ref.high)))


def test_paired_round_ratio_with_one_shared_round_has_no_interval():
    effect, ci, ratios = paired_round_ratio({0: [2.0], 1: [1.0]}, {1: [4.0], 2: [1.0]})
    assert effect == approx(0.25) and ci is None and ratios == approx([0.25])


# --------------------------------------------------------------------------------------------------- welch_ratio


def test_welch_ratio_is_the_geomean_ratio_with_welchs_interval_on_logs():
    a, b = [1.0, 1.2, 0.9, 1.1], [2.0, 2.5, 1.8]
    la, lb = [math.log(x) for x in a], [math.log(x) for x in b]
    ma, mb = sum(la) / len(la), sum(lb) / len(lb)
    va = sum((x - ma) ** 2 for x in la) / (len(la) - 1) / len(la)  # squared standard errors
    vb = sum((x - mb) ** 2 for x in lb) / (len(lb) - 1) / len(lb)
    df = (va + vb) ** 2 / (va**2 / (len(la) - 1) + vb**2 / (len(lb) - 1))  # Welch-Satterthwaite
    half = st.t.ppf(0.975, df) * math.sqrt(va + vb)
    ratio, ci = welch_ratio(a, b)
    assert ratio == approx((2.0 * 2.5 * 1.8) ** (1 / 3) / (1.0 * 1.2 * 0.9 * 1.1) ** (1 / 4))
    assert ci == approx((math.exp(mb - ma - half), math.exp(mb - ma + half)))


def test_welch_ratio_at_another_level_matches_ttest_ind_unequal_variances():
    a, b = [3.0, 3.3, 2.9], [1.4, 1.6, 1.5, 1.7, 1.3]
    ref = st.ttest_ind(np.log(b), np.log(a), equal_var=False).confidence_interval(0.8)
    _, ci = welch_ratio(a, b, confidence=0.8)
    assert ci == approx((math.exp(ref.low), math.exp(ref.high)))


def test_welch_ratio_with_one_value_on_either_side_has_no_interval():
    ratio, ci = welch_ratio([2.0], [3.0, 6.0])
    assert ratio == approx(math.sqrt(18.0) / 2.0) and ci is None
    ratio, ci = welch_ratio([2.0, 8.0], [3.0])
    assert ratio == approx(3.0 / 4.0) and ci is None


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy warns of zero variance, which is the point
def test_welch_ratio_of_identical_constant_values_is_a_zero_width_interval():
    ratio, ci = welch_ratio([1.5, 1.5, 1.5], [1.5, 1.5])
    assert ratio == approx(1.0)
    assert ci == approx((1.0, 1.0))


def test_zone_is_five_percent():
    assert ZONE == 0.05


# --------------------------------------------------------------------------------------------------- sequential


@pytest.mark.parametrize(("first", "cap", "expected"), [
    (3, 6, (3, 6)), (4, 9, (4, 8, 9)), (3, 3, (3,)), (1, 1, (1,)), (3, 20, (3, 6, 12, 20)), (2, 16, (2, 4, 8, 16)),
    (5, 9, (5, 9)),
])
def test_looks_double_from_the_first_and_end_at_the_cap(first, cap, expected):
    assert looks(first, cap) == expected


@pytest.mark.parametrize(("first", "cap"), [(0, 5), (-1, 5), (4, 3)])
def test_looks_reject_a_first_below_one_or_a_cap_below_the_first(first, cap):
    with pytest.raises(ValueError):
        looks(first, cap)


@pytest.mark.parametrize("spaced", [(3,), (3, 6), (4, 8, 9), (1, 2, 3, 4), (2, 4, 6, 8, 10, 12)])
def test_the_schedule_splits_alpha_equally_over_the_possible_looks(spaced):
    sched = Schedule(spaced)
    assert sched.spent == approx([ALPHA / len(spaced)] * len(spaced))
    assert sum(sched.spent) == pytest.approx(ALPHA, rel=1e-12)
    assert sched.confidence(spaced[0]) == approx(1 - ALPHA / len(spaced))


def test_schedule_of_a_single_look_spends_alpha_there():
    assert Schedule.of(3, 3).spent == (ALPHA,)
    assert Schedule.of(5, 2).looks == (5,)  # a cap below the first is the first
    assert Schedule.of(4, 4, alpha=0.1).confidence(4) == approx(0.9)


@pytest.mark.parametrize(("rounds", "look"), [(0, 0), (2, 0), (3, 0), (5, 0), (6, 1), (11, 1), (12, 2), (19, 2),
                                              (20, 3), (40, 3)])
def test_schedule_confidence_is_that_of_the_last_look_reached(rounds, look):
    sched = Schedule.of(3, 20)
    assert sched.look(rounds) == look
    assert sched.confidence(rounds) == approx(1 - sched.spent[look])


@pytest.mark.parametrize(("rounds", "expected"), [(0, 3), (3, 6), (5, 6), (6, 12), (12, 20), (19, 20), (20, None),
                                                  (25, None)])
def test_schedule_next_rounds_is_the_next_look_or_none_at_the_cap(rounds, expected):
    assert Schedule.of(3, 20).next_rounds(rounds) == expected


# ------------------------------------------------------------------------------------------------------ rounds.py


def timing_row(model, n, rnd, samples, *, batch=1, status="ok", **extra):
    return {"model": model, "seq_len": n, "batch": batch, "status": status, "spec.round": rnd,
            "time.samples": samples, **extra}


def test_by_round_collects_each_rounds_samples_of_ok_rows_at_the_point():
    df = pd.DataFrame([
        timing_row("a", 8, 0, [1.0, 2.0]),
        timing_row("a", 8, 0, [3.0]),  # a second trial of the same round: its samples join the round
        timing_row("a", 8, 1, [4.0]),
        timing_row("a", 8, 2, [9.0], status="failed"),
        timing_row("a", 16, 0, [5.0]),
        timing_row("a", 8, 0, [6.0], batch=2),
        timing_row("b", 8, 0, [7.0]),
        timing_row("a", 8, 3, []),  # no sample: no round
        timing_row("a", 8, 4, None),
    ])
    assert by_round(df, "a", 8) == {0: [1.0, 2.0, 3.0], 1: [4.0]}
    assert by_round(df, "a", 8, 2) == {0: [6.0]}
    assert by_round(df, "c", 8) == {}


def test_by_round_filters_on_extra_columns():
    df = pd.DataFrame([timing_row("a", 8, 0, [1.0], **{"spec.scenario": "x"}),
                       timing_row("a", 8, 0, [2.0], **{"spec.scenario": "y"})])
    assert by_round(df, "a", 8, **{"spec.scenario": "y"}) == {0: [2.0]}
    assert by_round(df, "a", 8, spec__scenario="x") == {0: [1.0]}


def test_by_round_reads_a_missing_round_as_round_zero_like_medians_by_round():
    df = pd.DataFrame([timing_row("a", 8, 1, [1.0]),
                       {k: v for k, v in timing_row("a", 8, None, [2.0]).items() if k != "spec.round"}])
    assert by_round(df, "a", 8) == {0: [2.0], 1: [1.0]}


def test_medians_by_round_takes_the_median_per_round_and_length():
    df = pd.DataFrame([
        {"model": "a", "status": "ok", "seq_len": 8, "spec.round": 0, "v": 1.0},
        {"model": "a", "status": "ok", "seq_len": 8, "spec.round": 0, "v": 3.0},
        {"model": "a", "status": "ok", "seq_len": 8, "spec.round": 0, "v": 10.0},
        {"model": "a", "status": "ok", "seq_len": 16, "spec.round": 0, "v": "4.5"},  # numeric text is read
        {"model": "a", "status": "ok", "seq_len": 16, "spec.round": 1, "v": math.nan},  # no value: no entry
        {"model": "a", "status": "ok", "seq_len": 8, "spec.round": 1, "v": 2.0},
        {"model": "a", "status": "ok", "seq_len": 8, "spec.round": 1, "v": 5.0},
        {"model": "a", "status": "failed", "seq_len": 8, "spec.round": 1, "v": 100.0},
        {"model": "b", "status": "ok", "seq_len": 8, "spec.round": 0, "v": 7.0},
    ])
    assert medians_by_round(df, "a", "v") == {0: {8: 3.0, 16: 4.5}, 1: {8: 3.5}}
    assert medians_by_round(df, "a", "absent") == {}
    assert medians_by_round(df, "c", "v") == {}


def test_medians_by_round_reads_a_missing_round_as_round_zero():
    df = pd.DataFrame([{"model": "a", "status": "ok", "seq_len": 8, "v": 2.0},
                       {"model": "a", "status": "ok", "seq_len": 8, "v": 4.0}])
    assert medians_by_round(df, "a", "v") == {0: {8: 3.0}}
    df["spec.round"] = [1, None]
    assert medians_by_round(df, "a", "v") == {0: {8: 4.0}, 1: {8: 2.0}}


def test_paired_is_the_sorted_shared_keys():
    assert paired({3: 0, 1: 0, 2: 0}, {2: 0, 5: 0, 1: 0}) == [1, 2]
    assert paired({0: 0}, {1: 0}) == []


def test_round_ratios_is_the_geometric_mean_over_pairs_and_leaves_out_a_round_missing_a_pair():
    df = pd.DataFrame([
        timing_row("a", 8, 0, [2.0, 4.0, 3.0]), timing_row("b", 8, 0, [1.0, 1.0]),
        timing_row("a", 16, 0, [8.0]), timing_row("b", 16, 0, [2.0, 6.0]),
        timing_row("a", 8, 1, [1.0]), timing_row("b", 8, 1, [2.0]),
        timing_row("a", 16, 1, [5.0, 5.0]), timing_row("b", 16, 1, [4.0]),
        timing_row("a", 8, 2, [1.0]), timing_row("b", 8, 2, [1.0]),
        timing_row("a", 16, 2, [3.0]),  # b at 16 missing in round 2
    ])
    pairs = [(("a", 8, 1), ("b", 8, 1)), (("a", 16, 1), ("b", 16, 1))]
    got = round_ratios(df, pairs)
    # round 0: 3 / 1 and 8 / 4 -> sqrt(6); round 1: 1 / 2 and 5 / 4 -> sqrt(0.625)
    assert list(got) == [0, 1]
    assert got[0] == approx(math.sqrt(3.0 * 2.0))
    assert got[1] == approx(math.sqrt(0.5 * 1.25))
    assert round_ratios(df, pairs[:1]) == approx({0: 3.0, 1: 0.5, 2: 1.0})


def slope_by_hand(points):
    """The least-squares slope of log y on log n: Sxy / Sxx."""
    lx = [math.log(n) for n, _ in points]
    ly = [math.log(y) for _, y in points]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((x - mx) * (y - my) for x, y in zip(lx, ly)) / sum((x - mx) ** 2 for x in lx)


def slope_table():
    points = {0: {8: 1.0, 16: 2.2, 32: 3.9}, 1: {8: 1.1, 16: 2.0, 32: 4.6}, 2: {8: 0.9, 16: 2.1},
              3: {8: 1.0, 16: 0.0, 32: 4.0}, 4: {8: 1.0, 16: -1.0}}
    rows = [{"model": "a", "status": "ok", "seq_len": n, "spec.round": r, "mem": y}
            for r, pts in points.items() for n, y in pts.items()]
    rows.append({"model": "b", "status": "ok", "seq_len": 8, "spec.round": 0, "mem": 100.0})
    return pd.DataFrame(rows), points


def test_round_slopes_is_the_log_log_least_squares_slope_within_each_round():
    df, points = slope_table()
    got = round_slopes(df, "a", "mem")
    # round 3 drops its non-positive point (two remain); round 4 keeps one positive point: no slope
    assert sorted(got) == [0, 1, 2, 3]
    for r in (0, 1, 2):
        assert got[r] == approx(slope_by_hand(sorted(points[r].items())))
    assert got[3] == approx(math.log(4.0) / math.log(4.0))  # (8, 1) to (32, 4): slope 1


def test_round_slopes_every_n_keeps_only_rounds_that_measured_every_length():
    df, points = slope_table()
    got = round_slopes(df, "a", "mem", every_n=True)
    assert sorted(got) == [0, 1, 3]
    assert got[1] == approx(slope_by_hand(sorted(points[1].items())))


def test_round_slopes_lengths_restrict_the_fit():
    df, points = slope_table()
    got = round_slopes(df, "a", "mem", lengths=[8, 16])
    assert sorted(got) == [0, 1, 2]
    for r in (0, 1, 2):
        assert got[r] == approx(math.log(points[r][16] / points[r][8]) / math.log(2.0))


@pytest.mark.parametrize(("lo", "hi", "centre", "expected"), [
    (1.0, 3.0, 2.0, (0.0, 1.0)), (3.0, 5.0, 2.0, (1.0, 3.0)), (-1.0, 0.5, 1.0, (0.5, 2.0)),
    (2.0, 4.0, 2.0, (0.0, 2.0)), (-3.0, -1.0, 0.0, (1.0, 3.0)),
])
def test_abs_dev_interval_is_the_range_of_the_distance_to_the_centre(lo, hi, centre, expected):
    assert abs_dev_interval(lo, hi, centre) == approx(expected)


# ------------------------------------------------------------------------------------------------------ verdict


@pytest.mark.parametrize(("threshold", "zone", "expected"), [
    (1.0, 0.05, (0.95, 1.05)), (2.0, 0.1, (1.8, 2.2)), (-2.0, 0.1, (-2.2, -1.8)), (0.0, 0.1, (-0.1, 0.1)),
    (0.0, 0.0, (0.0, 0.0)), (3.0, 0.0, (3.0, 3.0)),
])
def test_zone_bounds_are_relative_except_at_zero(threshold, zone, expected):
    assert zone_bounds(threshold, zone) == approx(expected)


Z_LO, Z_HI = zone_bounds(1.0, 0.05)
UP, DOWN = math.inf, -math.inf

DECISIONS = [
    # (ci, effect, threshold, direction, zone, tie_supports) -> (status, why)
    ((1.1, 1.3), 1.2, 1.0, "above", 0.05, False, "supported", None),
    ((0.7, 0.9), 0.8, 1.0, "above", 0.05, False, "refuted", None),
    ((0.9, 1.2), 1.05, 1.0, "above", 0.05, False, "inconclusive", Why.STRADDLES),
    ((0.97, 1.03), 1.0, 1.0, "above", 0.05, False, "inconclusive", Why.TIE),
    ((0.97, 1.03), 1.0, 1.0, "above", 0.05, True, "supported", Why.TIE),
    ((0.97, 1.2), 1.1, 1.0, "above", 0.05, True, "supported", None),
    ((0.9, 1.03), 1.0, 1.0, "above", 0.05, True, "inconclusive", Why.STRADDLES),
    ((0.7, 0.9), 0.8, 1.0, "below", 0.05, False, "supported", None),
    ((1.1, 1.3), 1.2, 1.0, "below", 0.05, False, "refuted", None),
    ((0.97, 1.03), 1.0, 1.0, "below", 0.05, False, "inconclusive", Why.TIE),
    ((0.97, 1.03), 1.0, 1.0, "below", 0.05, True, "supported", Why.TIE),
    ((0.9, 1.03), 1.0, 1.0, "below", 0.05, True, "supported", None),
    ((0.97, 1.2), 1.1, 1.0, "below", 0.05, True, "inconclusive", Why.STRADDLES),
    # the zone's edges: a decision needs the interval strictly beyond them; inside includes them
    ((Z_HI, 2.0), 1.5, 1.0, "above", 0.05, False, "inconclusive", Why.STRADDLES),
    ((math.nextafter(Z_HI, UP), 2.0), 1.5, 1.0, "above", 0.05, False, "supported", None),
    ((0.5, Z_LO), 0.7, 1.0, "above", 0.05, False, "inconclusive", Why.STRADDLES),
    ((0.5, math.nextafter(Z_LO, DOWN)), 0.7, 1.0, "above", 0.05, False, "refuted", None),
    ((0.5, Z_LO), 0.7, 1.0, "below", 0.05, False, "inconclusive", Why.STRADDLES),
    ((0.5, math.nextafter(Z_LO, DOWN)), 0.7, 1.0, "below", 0.05, False, "supported", None),
    ((Z_HI, 2.0), 1.5, 1.0, "below", 0.05, False, "inconclusive", Why.STRADDLES),
    ((math.nextafter(Z_HI, UP), 2.0), 1.5, 1.0, "below", 0.05, False, "refuted", None),
    ((Z_LO, Z_HI), 1.0, 1.0, "above", 0.05, False, "inconclusive", Why.TIE),
    ((math.nextafter(Z_LO, DOWN), Z_HI), 1.0, 1.0, "above", 0.05, False, "inconclusive", Why.STRADDLES),
    ((Z_LO, math.nextafter(Z_HI, UP)), 1.0, 1.0, "above", 0.05, False, "inconclusive", Why.STRADDLES),
    ((Z_LO, Z_HI), 1.0, 1.0, "above", 0.05, True, "supported", Why.TIE),
    ((Z_LO, 2.0), 1.3, 1.0, "above", 0.05, True, "supported", None),
    ((math.nextafter(Z_LO, DOWN), 2.0), 1.3, 1.0, "above", 0.05, True, "inconclusive", Why.STRADDLES),
    ((0.5, Z_HI), 0.8, 1.0, "below", 0.05, True, "supported", None),
    ((0.5, math.nextafter(Z_HI, UP)), 0.8, 1.0, "below", 0.05, True, "inconclusive", Why.STRADDLES),
    # no zone: the threshold itself; an absolute zone at threshold 0
    ((0.9, 1.1), 1.0, 1.0, "above", 0.0, False, "inconclusive", Why.STRADDLES),
    ((1.0, 1.2), 1.1, 1.0, "above", 0.0, False, "inconclusive", Why.STRADDLES),
    ((1.01, 1.2), 1.1, 1.0, "above", 0.0, False, "supported", None),
    ((0.2, 0.5), 0.3, 0.0, "above", 0.1, False, "supported", None),
    ((0.05, 0.5), 0.3, 0.0, "above", 0.1, False, "inconclusive", Why.STRADDLES),
    ((-0.05, 0.05), 0.0, 0.0, "above", 0.1, False, "inconclusive", Why.TIE),
    ((-0.5, -0.2), -0.3, 0.0, "below", 0.1, False, "supported", None),
    # a negative threshold: the zone is ordered (-2.2, -1.8)
    ((-1.7, -1.5), -1.6, -2.0, "above", 0.1, False, "supported", None),
    ((-2.1, -1.9), -2.0, -2.0, "above", 0.1, False, "inconclusive", Why.TIE),
]


@pytest.mark.parametrize(("ci", "effect", "threshold", "direction", "zone", "tie_supports", "status", "why"),
                         DECISIONS)
def test_decide_table(ci, effect, threshold, direction, zone, tie_supports, status, why):
    got, reason = decide(ci, effect, threshold, direction, zone=zone, tie_supports=tie_supports)
    assert got == status
    assert Why.of(reason) == why
    if why is None:
        assert reason == ""


def test_decide_reasons_name_the_zone_or_the_threshold():
    assert decide((0.97, 1.03), 1.0, 1.0, "above", zone=0.05)[1] == \
        "no meaningful difference here (the interval lies inside the zone 0.95-1.05)"
    assert decide((0.9, 1.2), 1.0, 1.0, "above", zone=0.05)[1] == "the interval straddles the zone 0.95-1.05"
    assert decide((0.9, 1.2), 1.0, 1.0, "above")[1] == "the interval straddles the threshold 1"


def test_decide_a_point_estimate_without_a_floor_is_unreplicated():
    status, reason = decide(None, 2.0, 1.0, "above", zone=0.05)
    assert status == "inconclusive" and Why.of(reason) is Why.UNREPLICATED


@pytest.mark.parametrize(("effect", "status", "why"), [
    (1.2, "supported", None),  # 1.2 - 0.1 = 1.1 > 1.05
    (1.1, "inconclusive", Why.STRADDLES),  # 1.0 .. 1.2
    (0.8, "refuted", None),  # 0.7 .. 0.9 < 0.95
    (1.0, "inconclusive", Why.STRADDLES),  # 0.9 .. 1.1
])
def test_decide_a_point_estimate_decides_only_beyond_the_noise_floor(effect, status, why):
    got, reason = decide(None, effect, 1.0, "above", zone=0.05, floor=0.1)
    assert got == status and Why.of(reason) == why


def test_decide_a_point_estimate_inside_the_zone_by_more_than_the_floor_is_a_tie():
    got, reason = decide(None, 1.0, 1.0, "above", zone=0.05, floor=0.01)
    assert got == "inconclusive" and Why.of(reason) is Why.TIE


def test_decide_missing_effect_and_uncomputable_interval():
    assert decide((0.9, 1.1), math.nan, 1.0, "above") == ("inconclusive", Why.MISSING)
    assert decide((0.9, 1.1), None, 1.0, "above") == ("inconclusive", Why.MISSING)
    status, reason = decide((math.nan, 1.1), 1.0, 1.0, "above", zone=0.05)
    assert status == "inconclusive" and Why.of(reason) is Why.UNREPLICATED


def test_decide_an_infinite_effect_is_valid():
    assert decide(None, math.inf, 1.0, "above", zone=0.05, floor=0.0) == ("supported", "")
    assert decide((2.0, math.inf), math.inf, 1.0, "above", zone=0.05) == ("supported", "")


def test_verdict_reads_its_why_from_the_reason_words():
    _, reason = decide((0.9, 1.2), 1.0, 1.0, "above", zone=0.05)
    v = Verdict("1a", "inconclusive", 1.0, (0.9, 1.2), 1.0, "above", "ratio", reason=reason)
    assert v.why is Why.STRADDLES and not v.why.final
    assert Why.of("missing data: no row") is Why.MISSING and Why.MISSING.final
    assert Why.of("a second condition failed") is None
