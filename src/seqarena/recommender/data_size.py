"""The data-size step: which candidates the amount of training data favours, and how much that is worth.

The evidence, best first:

1. **measured quality** near the profile's data size: ``train`` rows of several candidates trained on a quarter to
   4x the profile's number of sequences; the best validation metric is favoured;
2. **claim 9 as measured on this machine** (the essay's "fewer than 10,000 training sequences" rule, judged from the
   store by the claims engine): supported -> the rule applies, measured here; refuted -> no data-size factor at
   all (the rule the factor stands for did not hold here); inconclusive -> the essay's rule, with that caveat;
3. **the essay's rule** as a stated prior (RNNs below 10,000 sequences, transformers above), not a measurement.

Whatever its source, the factor is worth at most :data:`FAVOUR` (x0.8 on training-priority profiles: 20%; x0.95 on
latency-critical ones: 5%) and only multiplies the favoured candidates' scores, so it reorders contenders within
that effect of each other and never a measured gap larger than it.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seqarena.bench.spec import machine_identity
from seqarena.claims.engine import judge_claims
from seqarena.claims.plan import ClaimsPlan
from seqarena.claims.verdict import Verdict
from seqarena.essay import LITTLE_DATA
from seqarena.recommender.candidates import Candidate, family
from seqarena.recommender.observe import cite

#: Score multipliers for the family the data-size evidence favours (lower score ranks first).
FAVOUR = {"training": 0.8, "latency": 0.95}

#: The suites whose claim-9 trials the store may hold, the more robust first.
_SUITES = ("full", "quick")


@dataclasses.dataclass(frozen=True)
class DataEvidence:
    """What the data size favours, why (one line), how much it is worth, and the store rows behind it."""

    favoured: frozenset[str]  # candidate labels whose score is multiplied by ``factor``
    line: str  # "data (measured): ...", "data (claim 9 supported here, ...)", "data (prior, not a measurement ...)"
    source: str  # quality | claim 9 | essay | none (claim 9 refuted here: no factor)
    factor: float  # the favoured candidates' score multiplier (1.0: none)
    rows: frozenset[int] = frozenset()

    @property
    def effect(self) -> float:
        """The largest relative gap the factor can reorder: 0.2 for x0.8 (a contender 20% faster stays ahead)."""
        return 1.0 - self.factor

    @property
    def what(self) -> str:
        """How the explanation names the factor: 'the essay's data-size prior', 'claim 9 (measured here)', ..."""
        return {"quality": "the measured quality at this data size", "claim 9": "the data-size prior (claim 9, "
                "measured here)", "essay": "the essay's data-size prior (not measured here)"}.get(self.source, "")


def claim_9(db: Path, device: str, rows: list[dict[str, Any]]) -> tuple[Verdict, str] | None:
    """This store's verdict on claim 9 and the suite it was judged in, or None when the store holds none of its
    trials (this machine's rows, ``rows``, have no selective-copy training). A decided verdict of the full suite
    wins over the quick one's; then any verdict that found data."""
    mine = [r for r in rows if r["scenario"] == "train" and r["spec"].get("task") == "selective_copy"]
    if not mine:
        return None
    # judged once per state of these rows: a job recommending for several profiles reuses it (the verdict depends on
    # claim 9's rows and the machine they are judged as, nothing a profile changes)
    state = json.dumps(sorted(([r["id"], r["status"], r.get("spec_hash"), r["metrics"]] for r in mine), key=str),
                       sort_keys=True, default=str)
    key = (str(Path(db).resolve()), device, state, json.dumps(machine_identity(device), sort_keys=True, default=str))
    if key not in _CLAIM_9:
        judged = [(judge_claims(ClaimsPlan.build(s, ["9"], device=device), db=db)[0], s) for s in _SUITES]
        decided = [(v, s) for v, s in judged if v.status in ("supported", "refuted")]
        with_data = [(v, s) for v, s in judged if v.evidence]
        _CLAIM_9.clear()  # one store state at a time: a new row (or another store) judges again
        _CLAIM_9[key] = (decided or with_data or judged)[0]
    return _CLAIM_9[key]


_CLAIM_9: dict[tuple, tuple[Verdict, str]] = {}


def _measured_quality(rows: list[dict[str, Any]], cands: Sequence[Candidate], k: int
                      ) -> tuple[set[str], str, set[int]] | None:
    """The best validation metric among the candidates trained on k/4 ... 4k sequences (None: no such rows)."""
    labels = {c.label for c in cands}
    by_task: dict[str, dict[str, list[tuple[float, int, bool, str, int]]]] = {}
    for r in rows:
        m = r["metrics"]
        if r["scenario"] != "train" or r["status"] != "ok" or r["label"] not in labels:
            continue
        task = m.get("task") or {}
        size = (task.get("sizes") or {}).get("train")
        if m.get("val_metric") is None or not size or not k / 4 <= size <= 4 * k:
            continue
        key = json.dumps([task.get("task"), task.get("params")], sort_keys=True, default=str)
        by_task.setdefault(key, {}).setdefault(r["label"], []).append(
            (m["val_metric"], r["id"], task.get("higher_is_better", True), m.get("metric", "metric"), size))
    wins: dict[str, int] = {}
    evidence = []
    used: set[int] = set()
    for key, per in by_task.items():
        if len(per) < 2:
            continue
        higher = next(iter(per.values()))[0][2]
        med = {label: statistics.median(v[0] for v in vals) for label, vals in per.items()}
        best = (max if higher else min)(med, key=med.get)
        wins[best] = wins.get(best, 0) + 1
        used |= {v[1] for vals in per.values() for v in vals}
        metric, size = next(iter(per.values()))[0][3], next(iter(per.values()))[0][4]
        others = ", ".join(f"{label} {med[label]:.3f}" for label in sorted(med) if label != best)
        rows_cited = cite(sorted({v[1] for vals in per.values() for v in vals}))
        evidence.append(f"{json.loads(key)[0]} with {size:,} training sequences: {best} val {metric} "
                        f"{med[best]:.3f} vs {others} ({rows_cited})")
    if not wins:
        return None
    top = max(wins.values())
    return {label for label, w in wins.items() if w == top}, "data (measured): " + "; ".join(evidence[:2]), used


def _verdict_words(verdict: Verdict, suite: str) -> str:
    ci = f", 95% CI [{verdict.ci[0]:+.3f}, {verdict.ci[1]:+.3f}]" if verdict.ci else ""
    effect = f"LSTM - transformer accuracy {verdict.effect:+.3f}{ci} vs threshold {verdict.threshold:+g}"
    return f"claim 9 {verdict.status} on this machine, {suite} suite: {effect}"


def data_evidence(rows: list[dict[str, Any]], cands: Sequence[Candidate], k: int, priority: str, *,
                  db: Path | None = None, device: str = "cpu") -> DataEvidence:
    """Which candidates the data size favours and by what factor (see the module docstring for the order)."""
    factor = FAVOUR[priority]
    quality = _measured_quality(rows, cands, k)
    if quality is not None:
        favoured, line, used = quality
        return DataEvidence(frozenset(favoured), line, "quality", factor, frozenset(used))
    little = k < LITTLE_DATA
    cls = {c.label: family(c.name) for c in cands}
    favoured = frozenset(label for label, f in cls.items() if f == ("rnn" if little else "attention"))
    side = (f"{k:,} training sequences < {LITTLE_DATA:,}, where the essay says RNNs can match or beat transformers"
            if little else f"{k:,} training sequences >= {LITTLE_DATA:,}, where the essay says transformers win "
                           "with plenty of data")
    judged = claim_9(db, device, rows) if db is not None else None
    if judged is None:
        return DataEvidence(favoured, f"data (prior, not a measurement here: the essay's rule; the store holds no "
                                      f"claim 9 verdict): {side}", "essay", factor)
    verdict, suite = judged
    words = _verdict_words(verdict, suite)
    if verdict.status == "refuted":
        return DataEvidence(frozenset(), f"data: no data-size prior for {k:,} training sequences: {words}; the "
                                         f"essay's {LITTLE_DATA:,}-sequence rule did not hold here, so it is not "
                                         "applied", "none", 1.0)
    if verdict.status == "supported" and little:
        return DataEvidence(favoured, f"data (prior measured here: {words}): {side}", "claim 9", factor)
    # inconclusive, or supported on the < 10,000 side only while the profile has plenty of data
    why = (f"{words}, which speaks of fewer than {LITTLE_DATA:,} sequences only" if verdict.status == "supported"
           else f"{words}: {verdict.reason or 'undecided'}")
    return DataEvidence(favoured, f"data (prior, not a measurement here: the essay's rule; {why}): {side}", "essay",
                        factor)
