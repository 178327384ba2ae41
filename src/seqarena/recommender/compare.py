"""Two contenders' measured costs compared at the profile's n, with the round as the unit of replication.

The ratio is paired by round (:func:`~seqarena.analysis.stats.paired_round_ratio`: the claims' trials time both
contenders in the same interleaved round, so a round's machine state cancels in its ratio), each round's cost
estimated at n from that round's rows alone. The ratio reads, with the claims' verdict rule
(:func:`~seqarena.claims.verdict.decide`) and their +-5% equivalence zone around "equal":

- ``decisive``: the interval lies wholly outside the zone: one contender is faster;
- ``tie``: the interval does not exclude "equal within +-5%" (or, without an interval, the point ratio lies in the
  zone): too close to call, so the ranking falls to the next criterion and the explanation says which;
- ``unreplicated``: fewer than two rounds measured both contenders at n: no interval, so the point ratio orders
  them but is never presented as a decisive win.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from seqarena.analysis.labels import fmt_ratio
from seqarena.analysis.stats import ZONE, paired_round_ratio
from seqarena.claims.verdict import decide, zone_bounds
from seqarena.recommender.estimate import Estimate, Obs, by_round


@dataclasses.dataclass(frozen=True)
class Comparison:
    """``a``'s cost over ``b``'s at n (below 1: ``a`` is faster), its interval over paired rounds, and the reading."""

    a: str
    b: str
    ratio: float  # geometric mean over paired rounds, or the point estimates' ratio when unreplicated
    ci: tuple[float, float] | None
    rounds: int  # rounds in which both were measured (and estimable at n)
    status: str  # decisive | tie | unreplicated
    reason: str  # the verdict rule's words for a tie ("the interval straddles the zone 0.95-1.05", ...)

    @property
    def faster(self) -> str:
        """The contender with the lower cost (by the ratio's point value)."""
        return self.a if self.ratio <= 1 else self.b

    def gap(self) -> str:
        """'lstm is 1.30x faster (0.77x [0.70, 0.84] over 3 paired rounds)' or the unreplicated / tie wording."""
        speedup = fmt_ratio(max(self.ratio, 1 / self.ratio), "x")
        slower = self.b if self.faster == self.a else self.a
        if self.ci is None:
            detail = ("one paired round or fewer at this n: no interval, not replicated" if self.rounds <= 1
                      else "no interval")
            interval = f"{self.a}/{self.b} = {self.ratio:.2f}x on point estimates ({detail})"
        else:
            interval = (f"{self.a}/{self.b} = {self.ratio:.2f}x [{self.ci[0]:.2f}, {self.ci[1]:.2f}] over "
                        f"{self.rounds} paired rounds")
        if self.status == "tie":
            return f"too close to call: {interval} does not exclude equal within ±{ZONE:.0%}"
        return f"{self.faster} is {speedup} faster than {slower} ({interval})"


def compare(a: str, a_obs: Sequence[Obs], a_est: Estimate, b: str, b_obs: Sequence[Obs], b_est: Estimate,
            n: float) -> Comparison | None:
    """``a`` against ``b`` at ``n`` (None when either has no point estimate there)."""
    if a_est.value is None or b_est.value is None:
        return None
    ra, rb = by_round(a_obs, n), by_round(b_obs, n)
    ratio, ci, ratios = paired_round_ratio({r: [v] for r, v in ra.items()}, {r: [v] for r, v in rb.items()})
    if ci is None or not math.isfinite(ratio):  # under two paired rounds: the pooled estimates' point ratio
        ratio, ci = a_est.value / b_est.value, None
    status, reason = decide(ci, ratio, 1.0, "below", zone=ZONE)
    if status in ("supported", "refuted"):
        reading = "decisive"
    elif ci is None:
        lo, hi = zone_bounds(1.0, ZONE)
        reading = "tie" if lo <= ratio <= hi else "unreplicated"
    else:
        reading = "tie"
    return Comparison(a, b, ratio, ci, len(ratios), reading, reason)
