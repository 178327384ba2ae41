"""Statistics every verdict and summary rests on, in one place: intervals over seeds (Student t) and over examples
(Wilson), a least-squares fit with the t-interval of its slope, and seeded bootstraps of timing ratios from per-call
samples. Pure functions of numbers: no store, no claims.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, tuple[float, float] | None]:
    """Mean and Student-t interval over seeds (None with fewer than 2 values: a point estimate)."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if v.size == 0:
        return math.nan, None
    if v.size < 2:
        return float(v.mean()), None
    half = stats.t.ppf(0.5 + confidence / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
    return float(v.mean()), (float(v.mean() - half), float(v.mean() + half))


def wilson(successes: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (one model's test accuracy over ``n`` independent examples)."""
    if n <= 0:
        return (0.0, 1.0)
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def linear_fit(x: Sequence[float], y: Sequence[float], confidence: float = 0.95
               ) -> tuple[float, float, tuple[float, float]] | None:
    """Least squares y = a + b x: (a, b, t-interval of b); None with fewer than 3 distinct x."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(set(x.tolist())) < 3:
        return None
    res = stats.linregress(x, y)
    half = stats.t.ppf(0.5 + confidence / 2, x.size - 2) * res.stderr if math.isfinite(res.stderr) else 0.0
    return float(res.intercept), float(res.slope), (float(res.slope - half), float(res.slope + half))


def median_ratio_ci(a: Sequence[float], b: Sequence[float], *, n_boot: int = 2000, seed: int = 0,
                    confidence: float = 0.95) -> tuple[float, tuple[float, float]]:
    """median(a) / median(b) with a percentile bootstrap interval over the per-call timing samples."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    ra = np.median(rng.choice(a, (n_boot, a.size)), axis=1)
    rb = np.median(rng.choice(b, (n_boot, b.size)), axis=1)
    boot = ra / rb
    tail = (1 - confidence) / 2
    return float(np.median(a) / np.median(b)), (float(np.quantile(boot, tail)), float(np.quantile(boot, 1 - tail)))


def geometric_mean_ratio_ci(pairs: Sequence[tuple[Sequence[float], Sequence[float]]], *, n_boot: int = 2000,
                            seed: int = 0, confidence: float = 0.95) -> tuple[float, tuple[float, float]]:
    """The geometric mean over several points (e.g. lengths) of median(a)/median(b), bootstrapped per point."""
    rng = np.random.default_rng(seed)
    logs, boots = [], []
    for a, b in pairs:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        logs.append(math.log(np.median(a) / np.median(b)))
        boots.append(np.log(np.median(rng.choice(a, (n_boot, a.size)), axis=1)
                            / np.median(rng.choice(b, (n_boot, b.size)), axis=1)))
    boot = np.exp(np.mean(boots, axis=0))
    tail = (1 - confidence) / 2
    return float(math.exp(np.mean(logs))), (float(np.quantile(boot, tail)), float(np.quantile(boot, 1 - tail)))


def ratio_of_ratios_ci(a1: Sequence[float], a0: Sequence[float], b1: Sequence[float], b0: Sequence[float], *,
                       n_boot: int = 2000, seed: int = 0, confidence: float = 0.95
                       ) -> tuple[float, tuple[float, float]]:
    """(median(a1)/median(a0)) / (median(b1)/median(b0)): how much more a grew than b, bootstrapped per sample set."""
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(x, dtype=float) for x in (a1, a0, b1, b0)]
    meds = [np.median(x) for x in arrays]
    boot = [np.median(rng.choice(x, (n_boot, x.size)), axis=1) for x in arrays]
    ratio = (boot[0] / boot[1]) / (boot[2] / boot[3])
    tail = (1 - confidence) / 2
    effect = (meds[0] / meds[1]) / (meds[2] / meds[3])
    return float(effect), (float(np.quantile(ratio, tail)), float(np.quantile(ratio, 1 - tail)))


def round_interval(per_round: Sequence[float], *, log: bool = True, confidence: float = 0.95
                   ) -> tuple[float, tuple[float, float] | None]:
    """The estimate and t-interval over per-round values (the round is the unit of replication: per-call samples
    inside one round share its machine state and are not independent evidence). ``log``: the values are positive
    ratios, averaged on the log scale (a geometric mean) and the interval transformed back. One round: no interval.
    A t-interval rather than a bootstrap because rounds are few (t = 12.7 at 2 rounds, 4.30 at 3)."""
    v = [x for x in per_round if x is not None and math.isfinite(x) and (x > 0 or not log)]
    if not v:
        return math.nan, None
    mean, ci = t_interval([math.log(x) for x in v] if log else v, confidence)
    if not log:
        return mean, ci
    return math.exp(mean), (math.exp(ci[0]), math.exp(ci[1])) if ci is not None else None


def paired_round_ratio(a: dict[int, Sequence[float]], b: dict[int, Sequence[float]], *, confidence: float = 0.95
                       ) -> tuple[float, tuple[float, float] | None, list[float]]:
    """median(a) / median(b) per round, over the rounds both have (measured in the same interleaved round), with
    the t-interval over rounds of the log-ratios: (geometric mean, interval, per-round ratios)."""
    rounds = sorted(set(a) & set(b))
    ratios = [float(np.median(a[r]) / np.median(b[r])) for r in rounds if len(a[r]) and len(b[r])]
    effect, ci = round_interval(ratios, confidence=confidence)
    return effect, ci, ratios
