"""Verdicts and the statistics behind them.

A verdict is decided by an interval against a visible threshold: ``supported`` when the whole interval lies on the
claim's side, ``refuted`` when it lies on the other side, ``inconclusive`` when it straddles the threshold. The margin
is how far the effect is from the threshold (in the effect's units), so a reader sees how close the call was.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

Status = Literal["supported", "refuted", "inconclusive", "not-applicable-here"]


@dataclasses.dataclass
class Verdict:
    """What a claim's predicate concluded from the measurements."""

    claim: str  # id, e.g. "13a"
    status: Status
    effect: float  # the measured quantity the threshold applies to
    ci: tuple[float, float] | None  # its interval (None: a point estimate)
    threshold: float
    direction: Literal["above", "below"]  # supported when the effect is above / below the threshold
    effect_name: str
    evidence: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    caveats: list[str] = dataclasses.field(default_factory=list)
    sizes: str = ""  # the sizes and seeds the verdict rests on (filled by the engine)

    @property
    def margin(self) -> float:
        """Signed distance of the effect from the threshold, positive on the claim's side."""
        return self.effect - self.threshold if self.direction == "above" else self.threshold - self.effect

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["margin"] = self.margin
        return d


def decide(ci: tuple[float, float] | None, effect: float, threshold: float, direction: str) -> Status:
    """supported / refuted / inconclusive from an interval (or a point estimate when ``ci`` is None)."""
    if effect is None or math.isnan(effect):  # +-inf is a valid effect (e.g. a model that never hits the cap)
        return "inconclusive"
    lo, hi = ci if ci is not None else (effect, effect)
    if direction == "above":
        return "supported" if lo > threshold else "refuted" if hi < threshold else "inconclusive"
    return "supported" if hi < threshold else "refuted" if lo > threshold else "inconclusive"
