"""What the recommender returns: each candidate's predictions and verdicts (:class:`Ranked`), and the ranking with its
explanation (:class:`Recommendation`)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from seqarena.recommender.compare import Comparison
from seqarena.recommender.data_size import DataEvidence
from seqarena.recommender.estimate import Estimate
from seqarena.recommender.profile import Profile
from seqarena.run.sweep import SweepSummary


@dataclasses.dataclass
class Ranked:
    """One candidate's predictions at the profile's (n, batch), its verdicts against the constraints, and score."""

    model: str
    latency: Estimate  # seconds: one forward at (n, batch), or one generated token at context n when streaming
    train_step: Estimate  # seconds per training step at (n, batch)
    infer_peak: Estimate  # bytes above the baseline: inference forward
    train_peak: Estimate  # bytes above the baseline: training step
    fits_latency: str  # yes | no | uncertain | n/a (no budget)
    fits_memory: str  # yes | no | uncertain | n/a (no cap)
    cost: Estimate  # the priority metric (latency, or training step time)
    score: float  # cost relative to the best candidate, times the data factor; lower ranks first
    favoured: bool  # by the data-size evidence or prior
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def feasible(self) -> str:
        verdicts = {self.fits_latency, self.fits_memory}
        return "no" if "no" in verdicts else "uncertain" if "uncertain" in verdicts else "yes"

    @property
    def rows(self) -> set[int]:
        return {r for e in (self.latency, self.train_step, self.infer_peak, self.train_peak) for r in e.rows}


@dataclasses.dataclass
class Recommendation:
    """The ranking (best first), the top choice, 3-5 lines explaining it and the store rows behind it."""

    profile: Profile
    ranking: list[Ranked]
    top: str
    lines: list[str]
    rows_used: list[int]
    priority: str  # "latency" or "training"
    cost_metric: str  # what the score ranks: "forward latency", "decode per token", "training step"
    data_evidence: str
    probed: SweepSummary | None  # what the probe did (None: no probe ran)
    db: str
    #: what put the top first against its rival: measured | unreplicated | tie | data size | constraints | ...
    decided_by: str = ""
    comparison: Comparison | None = None  # the top against its rival on the cost, paired by round
    data: DataEvidence | None = None  # the data-size evidence, its source and factor

    def table(self) -> pd.DataFrame:
        """The ranking as numbers: predictions (value, low, high) in ms and MB, verdicts and score."""
        rows = []
        for i, r in enumerate(self.ranking, 1):
            row: dict[str, Any] = {"rank": i, "model": r.model}
            for name, est, scale in (("latency_ms", r.latency, 1e3), ("train_step_ms", r.train_step, 1e3),
                                     ("infer_peak_mb", r.infer_peak, 2**-20), ("train_peak_mb", r.train_peak, 2**-20)):
                row[name] = None if est.value is None else est.value * scale
                row[f"{name}_low"] = est.low * scale
                row[f"{name}_high"] = est.high * scale
            row.update(fits_latency=r.fits_latency, fits_memory=r.fits_memory, score=r.score, favoured=r.favoured)
            rows.append(row)
        return pd.DataFrame(rows)
