"""Statistics every verdict and summary rests on, in one place: intervals over seeds (Student t) and over examples
(Wilson), a least-squares fit with the t-interval of its slope, intervals over rounds (the unit of replication of
timing and memory: per-call samples are never pooled as independent evidence), Welch's interval between two stores'
unpaired rounds, and the equivalence zone a ratio at 1 carries. Pure functions of numbers: no store, no claims;
``tests/analysis/test_stats.py`` checks each against values computed independently.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
from scipy import stats

#: The equivalence zone of a ratio at 1 (relative half-width), the one home of "a tie": claims' timing ratios, the
#: recommender's comparisons and the report's winners. Run-to-run differences of a few percent are common on a shared
#: CPU even with interleaving, so a 2% "win" is not one.
ZONE = 0.05


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


#: The level of round intervals while a claim is judged at one look of its sequential schedule
#: (:mod:`seqarena.analysis.sequential`); 95% outside any look.
_ROUND_LEVEL: ContextVar[float] = ContextVar("round_level", default=0.95)


@contextmanager
def round_confidence(level: float) -> Iterator[None]:
    """Judge at ``level``: every :func:`round_interval` inside (that does not name its own) uses it."""
    token = _ROUND_LEVEL.set(level)
    try:
        yield
    finally:
        _ROUND_LEVEL.reset(token)


def round_level() -> float:
    """The level round intervals use here (see :func:`round_confidence`)."""
    return _ROUND_LEVEL.get()


def round_interval(per_round: Sequence[float], *, log: bool = True, confidence: float | None = None
                   ) -> tuple[float, tuple[float, float] | None]:
    """The estimate and t-interval over per-round values (the round is the unit of replication: per-call samples
    inside one round share its machine state and are not independent evidence). ``log``: the values are positive
    ratios, averaged on the log scale (a geometric mean) and the interval transformed back. One round: no interval.
    A t-interval rather than a bootstrap because rounds are few (t = 12.7 at 2 rounds, 4.30 at 3). ``confidence``:
    None takes the level of the look being judged (:func:`round_confidence`, 95% by default)."""
    confidence = round_level() if confidence is None else confidence
    v = [x for x in per_round if x is not None and math.isfinite(x) and (x > 0 or not log)]
    if not v:
        return math.nan, None
    mean, ci = t_interval([math.log(x) for x in v] if log else v, confidence)
    if not log:
        return mean, ci
    return math.exp(mean), (math.exp(ci[0]), math.exp(ci[1])) if ci is not None else None


def paired_round_ratio(a: dict[int, Sequence[float]], b: dict[int, Sequence[float]], *,
                       confidence: float | None = None
                       ) -> tuple[float, tuple[float, float] | None, list[float]]:
    """median(a) / median(b) per round, over the rounds both have (measured in the same interleaved round), with
    the t-interval over rounds of the log-ratios: (geometric mean, interval, per-round ratios)."""
    rounds = sorted(set(a) & set(b))
    ratios = [float(np.median(a[r]) / np.median(b[r])) for r in rounds if len(a[r]) and len(b[r])]
    effect, ci = round_interval(ratios, confidence=confidence)
    return effect, ci, ratios


def welch_ratio(a: Sequence[float], b: Sequence[float], confidence: float = 0.95
                ) -> tuple[float, tuple[float, float] | None]:
    """geomean(b) / geomean(a) and Welch's t-interval on the log scale, for unpaired rounds (two stores measured
    apart); None with fewer than 2 values in either."""
    la, lb = np.log(np.asarray(a, dtype=float)), np.log(np.asarray(b, dtype=float))
    ratio = float(np.exp(lb.mean() - la.mean()))
    if la.size < 2 or lb.size < 2:
        return ratio, None
    res = stats.ttest_ind(lb, la, equal_var=False)
    lo, hi = res.confidence_interval(confidence)
    if not (math.isfinite(lo) and math.isfinite(hi)):  # identical values in both: a zero-width interval
        return ratio, (ratio, ratio)
    return ratio, (float(np.exp(lo)), float(np.exp(hi)))
