"""The sequential decision rule of adaptive repetition: how much error each look at a claim's rounds may spend.

A timing or memory claim is judged after its first rounds; while the verdict stays open (its interval straddles the
threshold's zone), more rounds are measured and it is judged again. Looking again and stopping as soon as the verdict
is decisive is sequential testing: judged at a plain 95% every time, a claim with no true effect is called decisive
more often than 5% of the time (about 8% over two looks, 11% over three, with zone 0).

The rule here is a Bonferroni split of the error over the possible looks: look k of K reports a (1 - alpha / K)
interval. A decisive verdict needs the interval to exclude the whole zone, hence the true value (when it lies inside
the zone), so by the union bound the chance of a false decisive verdict over every look is at most alpha, whatever
the stopping rule and whichever look a report is judged at. An equal split rather than O'Brien-Fleming's spending
(little error early, most at the cap): simulated on this machine's round noise, both keep the rate, and the equal
split stops clear effects at the first look (a 2x effect: 3.5 rounds on average vs 4.7 of 6), which keeps `make run`
short, for ~5 points of power at a 1.2x effect. ``tests/analysis/test_sequential.py`` checks the false-decisive rate
by simulation through the engine's decision code and measures the power the README quotes.
"""

from __future__ import annotations

import dataclasses

#: The family-wise rate of false decisive verdicts a claim may have over all its looks.
ALPHA = 0.05


def looks(first: int, cap: int) -> tuple[int, ...]:
    """The round counts at which a claim is judged: ``first``, then doubling, then ``cap`` (each look at least doubles
    the rounds, so an added look narrows the interval by ~1/sqrt(2) or more for the error it spends)."""
    if first < 1 or cap < first:
        raise ValueError(f"looks need 1 <= first ({first}) <= cap ({cap})")
    out = [first]
    while out[-1] * 2 <= cap:
        out.append(out[-1] * 2)
    if out[-1] != cap:
        out.append(cap)
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class Schedule:
    """The looks of one claim and the error each spends: ``confidence(rounds)`` is the level of the interval judged
    at the look that ``rounds`` reaches."""

    looks: tuple[int, ...]
    alpha: float = ALPHA

    @classmethod
    def of(cls, first: int, cap: int, alpha: float = ALPHA) -> Schedule:
        """The schedule from a claim's first rounds to the suite's cap (one look when the cap is the first)."""
        return cls(looks(first, max(first, cap)), alpha)

    @property
    def spent(self) -> tuple[float, ...]:
        """alpha_k per look: alpha / K each (they sum to ``alpha``)."""
        return tuple(self.alpha / len(self.looks) for _ in self.looks)

    def look(self, rounds: int) -> int:
        """The index of the last look ``rounds`` reaches (0 below the first)."""
        return max([i for i, n in enumerate(self.looks) if n <= rounds], default=0)

    def confidence(self, rounds: int) -> float:
        """The interval's confidence at the look ``rounds`` reaches: 1 - alpha_k."""
        return 1 - self.spent[self.look(rounds)]

    def next_rounds(self, rounds: int) -> int | None:
        """The round count of the next look after ``rounds`` (None at the cap: stop)."""
        return next((n for n in self.looks if n > rounds), None)

    def describe(self, rounds: int) -> str:
        """Where a claim stopped, in words: the look, its rounds and interval level, and the rule."""
        k = self.look(rounds)
        level = self.confidence(rounds)
        return (f"look {k + 1} of {len(self.looks)} at {self.looks[k]} rounds (possible looks: "
                f"{', '.join(map(str, self.looks))}); its interval is {100 * level:.4g}% so that every look "
                f"together keeps false decisive verdicts at or below {self.alpha:.0%} (Bonferroni over the looks)")
