"""Scaling exponents and crossovers: the two questions every "RNN or Transformer at length n?" answer rests on."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from scipy import stats


@dataclasses.dataclass(frozen=True)
class SlopeFit:
    """A log-log least-squares fit y ~ a * n^slope over ``n_range``, with a t-interval on the slope."""

    slope: float
    ci_low: float
    ci_high: float
    intercept: float  # log(a), natural log
    r2: float
    points: int
    n_range: tuple[float, float]
    confidence: float = 0.95

    def predict(self, n: float) -> float:
        return math.exp(self.intercept) * n**self.slope

    def __str__(self) -> str:
        if math.isfinite(self.ci_low):
            return f"{self.slope:.2f} [{self.ci_low:.2f}, {self.ci_high:.2f}]"
        return f"{self.slope:.2f}"


def fit_loglog(
    n: Sequence[float],
    y: Sequence[float],
    *,
    min_n: float | None = None,
    large_fraction: float = 0.5,
    min_points: int = 4,
    confidence: float = 0.95,
) -> SlopeFit | None:
    """Fit log y = slope * log n + c over the large-n part of the data.

    Small n is dominated by fixed overheads (kernel launches, Python), which bend every curve towards slope 0, so by
    default the fit uses the distinct n values in the upper ``large_fraction`` of the range (at least ``min_points``
    of them when there are that many: with 3 the t-interval has one degree of freedom and is ~13 standard errors
    wide); ``min_n`` overrides the choice. Repeated n values are all used (they narrow
    the interval). None when fewer than two distinct n remain. With two distinct n the interval is infinite.
    """
    pairs = [(float(a), float(b)) for a, b in zip(n, y) if a > 0 and b > 0 and math.isfinite(b)]
    if not pairs:
        return None
    distinct = sorted({a for a, _ in pairs})
    if min_n is None:
        keep = max(min_points, math.ceil(len(distinct) * large_fraction))
        min_n = distinct[max(0, len(distinct) - keep)]
    pairs = [(a, b) for a, b in pairs if a >= min_n]
    if len({a for a, _ in pairs}) < 2:
        return None
    x = np.log([a for a, _ in pairs])
    ly = np.log([b for _, b in pairs])
    res = stats.linregress(x, ly)
    dof = len(pairs) - 2
    finite = dof > 0 and math.isfinite(res.stderr)
    half = stats.t.ppf(0.5 + confidence / 2, dof) * res.stderr if finite else math.inf
    return SlopeFit(
        slope=float(res.slope),
        ci_low=float(res.slope - half),
        ci_high=float(res.slope + half),
        intercept=float(res.intercept),
        r2=float(res.rvalue**2),
        points=len(pairs),
        n_range=(min(a for a, _ in pairs), max(a for a, _ in pairs)),
        confidence=confidence,
    )


@dataclasses.dataclass(frozen=True)
class Crossover:
    """Where the faster (smaller y) of models a and b changes: ``a_below`` says whether a is faster below ``n``."""

    n: float
    a_below: bool
    between: tuple[float, float]  # the two measured n that bracket it


def find_crossovers(
    n: Sequence[float], y_a: Sequence[float], y_b: Sequence[float]
) -> list[Crossover]:
    """Every n where sign(log y_a - log y_b) changes, interpolated linearly in log n and log y.

    Inputs are aligned per n (e.g. median latencies of two models at the same lengths). An empty list means "no
    crossover in the measured range", which is a valid answer. Points where the two are exactly equal count as a
    crossing only if the sign differs on either side.
    """
    rows = sorted((float(a), float(b), float(c)) for a, b, c in zip(n, y_a, y_b) if a > 0 and b > 0 and c > 0)
    out: list[Crossover] = []
    prev = None  # (n, diff) of the last point with a nonzero difference
    for nn, a, b in rows:
        d = math.log(a) - math.log(b)
        if d == 0:
            continue
        if prev is not None and (prev[1] < 0) != (d < 0):
            n0, d0 = prev
            ln0, ln1 = math.log(n0), math.log(nn)
            cross = ln0 + (ln1 - ln0) * d0 / (d0 - d)
            out.append(Crossover(n=math.exp(cross), a_below=d0 < 0, between=(n0, nn)))
        prev = (nn, d)
    return out
