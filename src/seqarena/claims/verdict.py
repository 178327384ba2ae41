"""Verdicts and the statistics behind them.

A verdict is decided by an interval against a visible threshold: ``supported`` when the whole interval lies on the
claim's side, ``refuted`` when it lies on the other side, ``inconclusive`` when it straddles the threshold. The margin
is how far the effect is from the threshold (in the effect's units), so a reader sees how close the call was.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

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
