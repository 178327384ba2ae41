import math

import numpy as np
import pytest

from seqarena.analysis import find_crossovers, fit_loglog

NS = [64, 128, 256, 512, 1024, 2048, 4096]


@pytest.mark.parametrize("exponent", [1.0, 2.0])
def test_slope_fit_recovers_the_exponent_from_noisy_data(exponent):
    rng = np.random.default_rng(0)
    n = np.repeat(NS, 5)
    y = 3e-6 * n**exponent * np.exp(rng.normal(0, 0.05, n.size))  # 5% multiplicative noise, 5 repeats per n
    fit = fit_loglog(n, y)
    assert abs(fit.slope - exponent) < 0.1
    assert fit.ci_low < exponent < fit.ci_high
    assert fit.n_range == (512, 4096)  # the upper half of the distinct n values


def test_fit_uses_the_large_n_part_where_fixed_overhead_fades():
    n = np.array(NS, dtype=float)
    y = 1e-3 + 1e-7 * n**2  # a 1 ms overhead dominates small n
    assert fit_loglog(n, y, large_fraction=1.0).slope < 1.8  # fitted over everything: bent towards 0
    assert abs(fit_loglog(n, y).slope - 2.0) < 0.1


def test_fit_edge_cases():
    assert fit_loglog([8], [1.0]) is None
    two = fit_loglog([8, 16], [1.0, 2.0])
    assert two.slope == pytest.approx(1.0) and math.isinf(two.ci_high)
    assert fit_loglog([8, 16, 32], [1.0, float("nan"), 4.0]).points == 2


def test_crossover_is_found_where_a_known_crossing_is():
    n = [16, 32, 64, 128, 256, 512, 1024]
    linear = [1.0 * x for x in n]  # faster above 100
    quadratic = [0.01 * x * x for x in n]  # faster below 100
    (c,) = find_crossovers(n, quadratic, linear)
    assert c.n == pytest.approx(100.0, rel=1e-9)
    assert c.a_below and c.between == (64, 128)
    (c,) = find_crossovers(n, linear, quadratic)
    assert not c.a_below


def test_no_crossover_in_range_is_an_answer():
    n = [16, 32, 64]
    assert find_crossovers(n, [1, 2, 3], [2, 4, 6]) == []


def test_a_tie_at_a_measured_point_counts_once():
    found = find_crossovers([1, 2, 3], [1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    assert len(found) == 1 and found[0].n == pytest.approx(2.0)
