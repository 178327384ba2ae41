"""A metric at the profile's n from the store's measurements: measured, interpolated or extrapolated, with an interval.

Every metric used here (latency, step time, peak memory, decode time per token) grows with n, so the rules lean on
monotonicity where a fit would claim more than the data hold:

- at a measured n: with two or more rounds of a timing, the geometric mean of the per-round medians and the
  t-interval over rounds (:func:`~seqarena.analysis.stats.round_interval`: the round is the unit of replication, the
  per-call times inside one round are not independent evidence); with one round, its per-call interquartile range
  (a spread, not an interval: said so in ``how``); for single numbers such as peak memory, the median and the
  rounds' spread;
- between two measured n: linear interpolation in log n / log y; the interval runs from the lower point's low to the
  upper point's high (monotone: the truth lies between the neighbours);
- outside the measured range: the log-log slope from :func:`~seqarena.analysis.scaling.fit_loglog` over the nearest
  part of the range, applied from the edge point, with the interval widened twice: the slope's 95% t-interval and
  the edge point's own spread. A fit on two distinct n has no interval: the bound on the far side is then infinite
  (above the range) or zero (below it); a single n bounds one side only;
- more than 16x beyond the measured range: no point estimate, only the monotone bound (a slope from n <= 100 says
  little about n = 20,000, where other terms take over).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence

from seqarena.analysis.scaling import fit_loglog
from seqarena.analysis.stats import round_interval

#: Farthest extrapolation (as a ratio of n to the nearest measured n) that still gets a point estimate.
MAX_EXTRAPOLATION = 16.0


@dataclasses.dataclass(frozen=True)
class Obs:
    """One stored measurement of a metric at length ``n``: value, spread (low..high) and its store row id."""

    n: float
    value: float
    low: float
    high: float
    row: int
    round: int | None = None  # the timing trial's round (spec.round); None for single numbers such as peak memory


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A metric predicted at one n. ``value`` is None where the data bound it without a point (one side only)."""

    value: float | None
    low: float  # 0.0 when unbounded below
    high: float  # inf when unbounded above
    how: str  # "measured at n=50", "interpolated between n=32 and n=64", "extrapolated from n<=4,096 (...)", ...
    rows: tuple[int, ...] = ()
    extrapolated: bool = False

    @property
    def known(self) -> bool:
        return bool(self.rows) or self.value is not None

    def within(self, limit: float) -> str:
        """"yes" when the whole interval is under ``limit``, "no" when all of it is over, else "uncertain"."""
        if not self.known:
            return "uncertain"
        if self.high <= limit:
            return "yes"
        if self.low > limit:
            return "no"
        return "uncertain"


NO_DATA = Estimate(None, 0.0, math.inf, "no data")


def _pooled(obs: Sequence[Obs]) -> dict[float, tuple[float, float, float, tuple[int, ...], str]]:
    """Per distinct n: (value, low, high, row ids, how the interval was made)."""
    out = {}
    for n in sorted({o.n for o in obs}):
        at = [o for o in obs if o.n == n]
        rows = tuple(sorted(o.row for o in at))
        by_round: dict[int, list[float]] = {}
        for o in at:
            if o.round is not None:
                by_round.setdefault(o.round, []).append(o.value)
        if len(by_round) >= 2:
            value, ci = round_interval([statistics.median(v) for v in by_round.values()])
            if ci is not None:
                out[n] = (value, min(ci[0], value), max(ci[1], value), rows,
                          f"{len(by_round)} rounds, t-interval over rounds")
                continue
        # one round (or rows without rounds): the bracket is the timed calls' quartiles, never an interval over rounds
        spread = ("1 round: the bracket is its timed calls' interquartile range, not an interval over rounds"
                  if len(by_round) == 1
                  else f"{len(at)} rows: the bracket spans their timed calls' interquartile ranges")
        out[n] = (statistics.median(o.value for o in at), min(o.low for o in at), max(o.high for o in at), rows,
                  spread if len(at) > 1 or by_round else "")
    return out


def by_round(obs: Sequence[Obs], n: float) -> dict[int, float]:
    """The metric at ``n`` estimated from each round's observations alone (round -> value; rounds without a point
    estimate at n left out): what :func:`~seqarena.analysis.stats.paired_round_ratio` pairs across contenders."""
    out = {}
    for r in sorted({o.round for o in obs if o.round is not None}):
        est = estimate([o for o in obs if o.round == r], n)
        if est.value is not None:
            out[r] = est.value
    return out


def estimate(obs: Sequence[Obs], n: float) -> Estimate:
    """The metric at ``n`` from ``obs`` (see the module docstring for the rules)."""
    obs = [o for o in obs if o.n > 0 and o.value > 0 and math.isfinite(o.value)]
    if not obs:
        return NO_DATA
    points = _pooled(obs)
    ns = sorted(points)
    if n in points:
        value, low, high, rows, spread = points[n]
        return Estimate(value, low, high, f"measured at n={n:,.0f}" + (f", {spread}" if spread else ""), rows)
    if ns[0] < n < ns[-1]:
        lo = max(m for m in ns if m < n)
        hi = min(m for m in ns if m > n)
        (y0, low0, high0, rows0, _), (y1, low1, high1, rows1, _) = points[lo], points[hi]
        t = (math.log(n) - math.log(lo)) / (math.log(hi) - math.log(lo))
        value = math.exp(math.log(y0) + t * (math.log(y1) - math.log(y0)))
        return Estimate(value, min(low0, low1), max(high0, high1),
                        f"interpolated between n={lo:,.0f} and n={hi:,.0f}", rows0 + rows1)
    above = n > ns[-1]
    edge = ns[-1] if above else ns[0]
    y_edge, low_edge, high_edge, edge_rows, _ = points[edge]
    if above:
        fit = fit_loglog([o.n for o in obs], [o.value for o in obs])
    else:  # the lower part of the range: fixed overheads flatten small n, so fit where we extrapolate
        keep = set(ns[: max(4, math.ceil(len(ns) / 2))])
        low_obs = [o for o in obs if o.n in keep]
        fit = fit_loglog([o.n for o in low_obs], [o.value for o in low_obs], min_n=ns[0])
    side = f"n<={edge:,.0f}" if above else f"n>={edge:,.0f}"
    ratio = n / edge if above else edge / n
    if ratio > MAX_EXTRAPOLATION:  # too far for a slope: the monotone bound only
        bound = "a lower bound" if above else "an upper bound"
        return Estimate(None, low_edge if above else 0.0, math.inf if above else high_edge,
                        f"{ratio:,.0f}x beyond the measured {side}: {bound} only", edge_rows, extrapolated=True)
    if fit is None:  # one distinct n: monotonicity bounds one side only
        if above:
            return Estimate(None, low_edge, math.inf, f"only n={edge:,.0f} measured (a lower bound)", edge_rows,
                            extrapolated=True)
        return Estimate(None, 0.0, high_edge, f"only n={edge:,.0f} measured (an upper bound)", edge_rows,
                        extrapolated=True)
    fit_rows = tuple(sorted({o.row for o in obs if fit.n_range[0] <= o.n <= fit.n_range[1]} | set(edge_rows)))
    r = n / edge
    value = y_edge * r**fit.slope
    finite = math.isfinite(fit.ci_low) and math.isfinite(fit.ci_high)
    # never below the slope 0 a monotone metric allows: a negative slope at the edge is noise
    if above:
        low = low_edge * r ** max(fit.ci_low, 0.0) if finite else low_edge
        high = high_edge * r**fit.ci_high if finite else math.inf
    else:
        low = low_edge * r**fit.ci_high if finite else 0.0
        high = high_edge * r ** max(fit.ci_low, 0.0) if finite else high_edge
    interval = f"slope {fit}" if finite else f"slope {fit.slope:.2f} from 2 lengths, no interval"
    return Estimate(value, min(low, value), max(high, value), f"extrapolated from {side} ({interval})", fit_rows,
                    extrapolated=True)
