"""Round-level estimates: the one home of the helpers that turn a claim's rows into one estimate per round.

The round is the unit of replication of the timing and memory claims: both contenders are measured in the same
interleaved, shuffled round (rounds run in different worker processes, minutes apart), each round gives one estimate
(a paired ratio of the contenders' medians, a slope fitted to that round's lengths), and the interval is the
t-interval over rounds (:func:`seqarena.analysis.stats.round_interval`). Per-call samples inside one round share its
machine state: they steady the round's median, they are not independent evidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from seqarena.analysis.stats import round_interval
from seqarena.claims.base import Claim, caveats, missing, ok_rows
from seqarena.claims.verdict import MISSING, UNREPLICATED, Verdict
from seqarena.store.columns import SPEC_ROUND

Timing = tuple[str, int, int]  # (model, n, batch)


def round_of(row: Mapping[str, Any]) -> int:
    """A row's round: 0 when it has none (None or NaN, e.g. a frame mixing rows with and without rounds)."""
    r = row.get(SPEC_ROUND)
    return 0 if r is None or (isinstance(r, float) and math.isnan(r)) else int(r)


def by_round(df: pd.DataFrame, model: str, n: int, batch: int = 1, **match: Any) -> dict[int, list[float]]:
    """The per-call timing samples of ``model`` at (n, batch), per round (the unit of replication)."""
    out: dict[int, list[float]] = {}
    rows = ok_rows(df, model=model, seq_len=n, batch=batch, **match)
    for _, row in rows.iterrows():
        s = row.get("time.samples")
        if isinstance(s, list) and s:
            out.setdefault(round_of(row), []).extend(s)
    return out


def medians_by_round(df: pd.DataFrame, model: str, column: str, **match: Any) -> dict[int, dict[int, float]]:
    """{round: {n: median of ``column``}} of ``model``'s successful rows (one trial per n and round)."""
    rows = ok_rows(df, model=model, **match)
    out: dict[int, dict[int, float]] = {}
    if not len(rows) or column not in rows:
        return out
    rnd = rows[SPEC_ROUND].fillna(0).astype(int) if SPEC_ROUND in rows else pd.Series(0, index=rows.index)
    for (r, n), g in rows.groupby([rnd, rows["seq_len"]]):  # keys, not a new column: the frame is wide
        vals = pd.to_numeric(g[column], errors="coerce").dropna()
        if len(vals):
            out.setdefault(int(r), {})[int(n)] = float(vals.median())
    return out


def paired(a: Mapping[int, Any], b: Mapping[int, Any]) -> list[int]:
    """The replication units (rounds, or seeds) both have, in order: the pairing of a paired ratio or difference."""
    return sorted(set(a) & set(b))


def round_ratios(df: pd.DataFrame, pairs: Sequence[tuple[Timing, Timing]]) -> dict[int, float]:
    """Per round, the geometric mean over ``pairs`` of median(num) / median(den); only rounds that measured every
    pair (a round missing one is not comparable to the others)."""
    logs: dict[int, list[float]] = {}
    for num, den in pairs:
        a, b = by_round(df, *num), by_round(df, *den)
        for r in paired(a, b):
            logs.setdefault(r, []).append(math.log(np.median(a[r]) / np.median(b[r])))
    return {r: math.exp(float(np.mean(v))) for r, v in sorted(logs.items()) if len(v) == len(pairs)}


def round_slopes(df: pd.DataFrame, model: str, column: str, *, lengths: Sequence[int] | None = None,
                 every_n: bool = False, **match: Any) -> dict[int, float]:
    """{round: log-log slope of ``column`` vs n}, fitted within each round that has two positive lengths or more:
    one estimate per round, so the interval over rounds carries the machine's round-to-round drift (a fit pooling
    every round's points would count repeated calls as independent evidence). ``lengths``: only these n (default
    every n measured); ``every_n``: only rounds that measured every n the model has (a round missing the longest n
    would fit a different range)."""
    rounds = medians_by_round(df, model, column, **match)
    if lengths is not None:
        rounds = {r: {n: y for n, y in points.items() if n in lengths} for r, points in rounds.items()}
    measured = {n for points in rounds.values() for n in points}
    out = {}
    for r, points in rounds.items():
        pts = [(n, y) for n, y in sorted(points.items()) if y > 0]
        if len(pts) >= 2 and (not every_n or set(points) == measured):
            out[r] = float(np.polyfit(np.log([n for n, _ in pts]), np.log([y for _, y in pts]), 1)[0])
    return out


def ratio_verdict(df: pd.DataFrame, claim: Claim, pairs: Sequence[tuple[Timing, Timing]], evidence: list[dict],
                  extra: Sequence[str] = ()) -> Verdict:
    """The claim's verdict on the per-round ratios of ``pairs`` (t-interval over rounds), after checking that every
    timing exists: a missing or failed one makes it inconclusive with the reason."""
    why = next((w for m, n, b in (t for pair in pairs for t in pair)
                if (w := missing(df, model=m, seq_len=n, batch=b))), None)
    if why:
        return claim.no_data(df, why, evidence)
    per_round = round_ratios(df, pairs)
    if not per_round:
        return claim.no_data(df, f"{MISSING}: no round measured every contender", evidence)
    effect, ci = round_interval(list(per_round.values()))
    evidence = [*evidence, {"per-round ratios": [round(x, 4) for x in per_round.values()], "rounds": len(per_round)}]
    if ci is None:
        return claim.no_data(df, f"{UNREPLICATED}: {len(per_round)} round; an interval needs >= 2", evidence)
    return claim.verdict(effect, ci, evidence, [*caveats(df), *extra])


def abs_dev_interval(lo: float, hi: float, centre: float) -> tuple[float, float]:
    """The interval of |x - centre| when x lies in [lo, hi]."""
    worst = max(abs(lo - centre), abs(hi - centre))
    best = 0.0 if lo <= centre <= hi else min(abs(lo - centre), abs(hi - centre))
    return best, worst
