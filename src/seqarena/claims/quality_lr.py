"""Quality claims on learning-rate robustness (8, 8b): the same copy task trained at every learning rate of a log
grid, per seed, judged from the final training loss. The rules every quality claim follows are in
:mod:`seqarena.claims.quality`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import Claim, first_missing, ok_rows
from seqarena.claims.quality import LEARN_MARGIN, baseline_of, learned, quality_caveats, train_trials
from seqarena.claims.suites import Suite
from seqarena.claims.verdict import MISSING, Verdict
from seqarena.store.columns import SPEC_LR, SPEC_SEED
from seqarena.store.failures import DIVERGED

# -- 8 / 8b: learning-rate robustness ------------------------------------------------------------------------------

def _lr_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    return [t for lr in s.lr_grid for t in train_trials(s, [claim.rnn, claim.attn], "copy", {"distance": 8},
                                                     steps=s.lr_steps, seeds=s.lr_seeds, lr=lr)]


# The grid is a design, not a random sample of learning rates: no binomial interval over its points. Claim 8 reads a
# difference in working grid points, claim 8b a distance in grid steps; each decides only when every seed's value
# lies beyond the claim's ``zone`` (in points / steps) on the same side, and never from one seed.

#: An LR "works" when its final training loss closes this share of the gap from the task's baseline loss to the best
#: loss any contender reached on the grid (the same seed): one criterion for both models, so a model that barely
#: learns anywhere does not get many "working" LRs relative to its own poor best.
WORKS_GAP = 0.9


def _lr_tables(df: pd.DataFrame, claim: Claim) -> tuple[dict[int, dict[str, pd.Series]], float, str | None]:
    """Per seed, each model's final training loss by grid LR (NaN where the run diverged: a result, that LR does not
    work; any other failure is not); the task's baseline loss; and why the grid cannot be read. The final training
    loss is the final model's loss on the training split in eval mode (``train_eval``): the spec's "final training
    loss", without the noise of the last minibatches."""
    why = first_missing(df, [claim.rnn, claim.attn], ns=(), strict=True, results=(DIVERGED,))
    ok = ok_rows(df)
    if why or not len(ok) or SPEC_LR not in ok:
        return {}, math.nan, why or "missing data: no learning-rate grid"
    if "train_eval.loss" not in ok:
        return {}, math.nan, f"{MISSING}: rows without the final training loss (measured by an older version)"
    rows = df[df["status"].isin(["ok", "failed"])]  # the failed ones all diverged (checked above)
    seeds = rows[SPEC_SEED] if SPEC_SEED in rows else pd.Series([0] * len(rows), index=rows.index)
    tables: dict[int, dict[str, pd.Series]] = {}
    for seed in sorted(set(seeds)):
        mine = rows[seeds == seed]
        tables[int(seed)] = {m: mine[mine["model"] == m].groupby(SPEC_LR)["train_eval.loss"]
                             .agg(lambda v: v.mean() if v.notna().all() else math.nan).sort_index()
                             for m in (claim.rnn, claim.attn)}
    return tables, baseline_of(ok, "loss"), None


def _works(t: dict[str, pd.Series], base: float) -> dict[str, pd.Series]:
    """Each model's grid LRs that work: final training loss within ``WORKS_GAP`` of the way from the baseline to the
    best loss any model reached in this seed (a diverged LR never works)."""
    best = min(float(v.min()) for v in t.values() if v.notna().any())
    bar = base - WORKS_GAP * (base - best)
    return {m: v.fillna(math.inf) <= bar for m, v in t.items()}


def _judge_lr(df: pd.DataFrame, claim: Claim, per_seed: Callable[[dict[str, pd.Series], float], float | None],
              what: str) -> Verdict:
    """The per-seed value ``per_seed(tables, baseline)``; decided when every seed lies beyond the zone."""
    tables, base, why = _lr_tables(df, claim)
    if why:
        return claim.no_data(df, why)
    ev = [{"seed": seed, "model": m, "working LRs": f"{int(_works(t, base)[m].sum())}/{len(v)}",
           "best final training loss": float(v.min()) if v.notna().any() else None,
           "final training loss by lr": {f"{lr:g}": None if math.isnan(x) else round(float(x), 4)
                                         for lr, x in v.items()}}
          for seed, t in tables.items() for m, v in t.items()]
    cav = [*quality_caveats(df), f"an LR works when its final training loss closes >= {WORKS_GAP:.0%} of the gap "
           "from the baseline loss to the best loss any contender reached (same seed); a diverged LR does not work"]
    if any(not len(v) for t in tables.values() for v in t.values()):
        return claim.no_data(df, "missing data: a model has no grid in some seed", ev)
    lost = [f"{m}, seed {seed}" for seed, t in tables.items() for m, v in t.items()
            if not learned(float(v.min()) if v.notna().any() else math.nan, base, "loss")]
    if lost:
        return claim.no_data(df, f"did not learn: {'; '.join(lost)} (no LR beats the baseline loss by "
                                 f"{LEARN_MARGIN['loss']:.0%})", ev)
    values = [per_seed(t, base) for t in tables.values()]
    if any(v is None for v in values):
        return claim.no_data(df, f"{what}: undefined in some seed (a model works at no grid LR)", ev)
    if len(values) < 2:  # a point estimate: inconclusive (no replication)
        return claim.verdict(values[0], None, ev, cav)
    rule = f"decided only when every seed's {what} lies beyond +-{claim.zone:g} (the range over seeds)"
    return claim.verdict(float(np.median(values)), (min(values), max(values)), ev, [*cav, rule])


def judge_8(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: the transformer's count of working grid LRs minus the RNN's (one criterion for both: see
    :data:`WORKS_GAP`), per seed; supported when every seed's difference exceeds 1.5 grid points, refuted when every
    seed's is below -1.5, a tie inside. Inconclusive where a model's best LR does not beat the baseline loss."""
    def per_seed(t: dict[str, pd.Series], base: float) -> float:
        works = _works(t, base)
        return float(works[claim.attn].sum() - works[claim.rnn].sum())

    return _judge_lr(df, claim, per_seed, "difference in working LRs")


CLAIM_8 = Claim(
    id="8", short="transformers tolerate a wider range of hyperparameters",
    quote="Transformers are more forgiving\u2014they tolerate a wider range of hyperparameters",
    threshold=0.0, direction="above", zone=1.5,  # more than one grid point of difference
    effect_name="working LRs on a 7-point log grid (final training loss closing >= 90% of the gap from the baseline "
                "to the best any model reached): transformer - LSTM, grid points, median over seeds",
    trials=_lr_trials, judge=judge_8,
    conditions="copy, distance 8", training=True,
)


def judge_8b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: grid steps from the RNN's most aggressive working LR up to the transformer's (the largest LR that
    works, by :data:`WORKS_GAP`), per seed; supported when every seed's is more than one grid step (a neighbouring
    grid point is within noise). Undefined, so inconclusive, where a model works at no grid LR."""
    def per_seed(t: dict[str, pd.Series], base: float) -> float | None:
        grid_lrs = sorted(set(t[claim.rnn].index) | set(t[claim.attn].index))
        works = _works(t, base)
        top = {m: max((lr for lr, ok in w.items() if ok), default=None) for m, w in works.items()}
        if top[claim.rnn] is None or top[claim.attn] is None:
            return None
        return float(grid_lrs.index(top[claim.attn]) - grid_lrs.index(top[claim.rnn]))

    return _judge_lr(df, claim, per_seed, "distance between the largest working LRs")


CLAIM_8B = Claim(
    id="8b", short="transformers allow more aggressive learning rates",
    quote="This enables more aggressive learning rates",
    threshold=0.0, direction="above", zone=1.0,  # a neighbouring grid point is within noise
    effect_name="grid steps from the LSTM's largest working LR up to the transformer's (7-point log grid), median "
                "over seeds",
    trials=_lr_trials, judge=judge_8b,
    conditions="copy, distance 8", training=True,
)


#: This module's claims (the registry orders every module's claims by id).
CLAIMS: list[Claim] = [CLAIM_8, CLAIM_8B]
