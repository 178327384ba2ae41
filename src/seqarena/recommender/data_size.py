"""The data-size step: which candidates the amount of training data favours, from measured quality where the store
has it, else the essay's rule (RNNs with fewer than 10,000 sequences, transformers with plenty) as a stated prior."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from typing import Any

from seqarena.essay import LITTLE_DATA
from seqarena.recommender.candidates import Candidate, family
from seqarena.recommender.observe import cite

#: Score multipliers for the family the data-size evidence favours (lower score ranks first).
FAVOUR = {"training": 0.8, "latency": 0.95}


def data_evidence(rows: list[dict[str, Any]], cands: Sequence[Candidate], k: int) -> tuple[set[str], str, set[int]]:
    """Which candidates the data size favours: measured quality where the store has it, else the essay's prior."""
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
    if wins:
        top = max(wins.values())
        favoured = {label for label, w in wins.items() if w == top}
        return favoured, "data (measured): " + "; ".join(evidence[:2]), used
    cls = {c.label: family(c.name) for c in cands}
    if k < LITTLE_DATA:
        favoured = {label for label, f in cls.items() if f == "rnn"}
        line = (f"data (prior, not a measurement here): {k:,} training sequences < {LITTLE_DATA:,}, where the essay "
                "says RNNs can match or beat transformers")
    else:
        favoured = {label for label, f in cls.items() if f == "attention"}
        line = (f"data (prior, not a measurement here): {k:,} training sequences >= {LITTLE_DATA:,}, where the "
                "essay says transformers win with plenty of data")
    return favoured, line, set()
