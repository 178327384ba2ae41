"""Quality claims about limited data: sample efficiency and overfitting on selective copy (9, 9b) and long time
series with 2,000 training windows (22). The rules every quality claim follows are in :mod:`seqarena.claims.quality`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from seqarena.analysis.stats import t_interval
from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import Claim, ok_rows
from seqarena.claims.quality import (
    DELTA,
    LEARN_MARGIN,
    baseline_of,
    learned,
    metric_of,
    quality_caveats,
    scores,
    train_trials,
)
from seqarena.claims.suites import Suite
from seqarena.claims.verdict import Verdict
from seqarena.essay import LITTLE_DATA

# -- 9 / 9b: sample efficiency and overfitting ---------------------------------------------------------------------

def _size_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    return [t for n in s.sizes for t in train_trials(s, [claim.rnn, claim.attn], "selective_copy",
                                                  {"distance": 32, "n_train": n}, steps=s.size_steps,
                                                  seeds=s.size_seeds)]


def judge_9(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: the largest lower bound over sizes < 10,000 of the t-interval of (RNN - transformer) test accuracy
    (paired by seed); supported above -delta (the RNN matches or beats within the equivalence margin). Sizes where
    either model did not beat the baseline by the margin do not count."""
    ok = ok_rows(df)
    if not len(ok) or "spec.task_params.n_train" not in ok:
        return claim.no_data(df)
    metric, base = metric_of(ok), baseline_of(ok, metric_of(ok))
    best: tuple[float, tuple[float, float] | None] | None = None
    ev = []
    for n, rows in ok.groupby("spec.task_params.n_train"):
        if n >= LITTLE_DATA:
            continue
        r = rows[rows["model"] == claim.rnn].set_index("spec.seed")["test_metric"]
        a = rows[rows["model"] == claim.attn].set_index("spec.seed")["test_metric"]
        seeds = sorted(set(r.index) & set(a.index))
        if not seeds:
            continue
        diff, ci = t_interval([r[s] - a[s] for s in seeds])
        both = learned(float(r.mean()), base, metric) and learned(float(a.mean()), base, metric)
        ev.append({"n_train": int(n), f"{claim.rnn}": float(r.mean()), f"{claim.attn}": float(a.mean()),
                   "difference": diff, "ci": ci, "seeds": len(seeds), "both learned": both})
        if both and ci is not None and (best is None or ci[0] > best[1][0]):
            best = (diff, ci)
    if best is None:
        why = f"no size where both models beat the baseline by {LEARN_MARGIN.get(metric, 0.05)} with >= 2 seeds"
        return claim.verdict(math.nan, None, ev, [*quality_caveats(df), why])
    return claim.verdict(best[0], best[1], ev, [*quality_caveats(df), f"equivalence margin delta = {DELTA}"])


CLAIM_9 = Claim(
    id="9", short="with < 10,000 sequences RNNs can match or beat transformers",
    quote="For tasks with fewer than 10,000 training sequences, well-regularized RNNs sometimes match or exceed "
          "transformer performance.",
    threshold=-DELTA, direction="above",
    effect_name="best lower bound over sizes < 10k of (LSTM - transformer) test accuracy, t-interval "
                "over seeds",
    trials=_size_trials, judge=judge_9,
    conditions="selective copy, n_train < 10,000", training=True,
)


def judge_9b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: transformer minus RNN generalisation gap (val loss - final train loss) at the smallest size, t-interval
    over seeds (supported above 0: the transformer overfits more)."""
    ok = ok_rows(df)
    if not len(ok) or "spec.task_params.n_train" not in ok:
        return claim.no_data(df)
    n = ok["spec.task_params.n_train"].min()
    rows = ok[ok["spec.task_params.n_train"] == n]

    def gaps(model: str) -> pd.Series:
        g = rows[rows["model"] == model]
        return pd.Series({seed: c[-1]["val_loss"] - c[-1]["train_loss"] for seed, c in zip(g["spec.seed"], g["curve"])
                          if isinstance(c, list) and c and "val_loss" in c[-1]})

    r, a = gaps(claim.rnn), gaps(claim.attn)
    seeds = sorted(set(r.index) & set(a.index))
    if not seeds:
        return claim.no_data(df)
    diff, ci = t_interval([a[s] - r[s] for s in seeds])
    ev = [{"n_train": int(n), f"{claim.rnn} gap": float(r.mean()), f"{claim.attn} gap": float(a.mean()),
           "seeds": len(seeds)}]
    return claim.verdict(diff, ci, ev, [*quality_caveats(df), "gap in nats: validation loss minus the train loss "
                                        "averaged since the last evaluation"])


CLAIM_9B = Claim(
    id="9b", short="transformers overfit small datasets more easily",
    quote="Transformers\u2019 expressiveness is a double-edged sword",
    threshold=0.0, direction="above",
    effect_name="transformer - LSTM generalisation gap (val - train loss) at the smallest size",
    trials=_size_trials, judge=judge_9b,
    conditions="selective copy, smallest n_train", training=True,
)



# -- 22: long time series with limited data ------------------------------------------------------------------------

def _forecast_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    return [t for lb in s.forecast_lookbacks
            for t in train_trials(s, [claim.rnn, claim.attn], "forecast", {"dataset": "glucose", "lookback": lb,
                                                                     "n_train": 2000},
                            steps=s.forecast_steps, seeds=s.forecast_seeds, memory_cap_mb=4096)]


def judge_22(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: transformer / RNN test MSE at the longest look-back (supported above 1; a transformer that fails the
    memory cap there counts as infinite); the RNN must beat the last-value baseline there."""
    if not len(df) or "spec.task_params.lookback" not in df:
        return claim.no_data(df)
    top = df["spec.task_params.lookback"].max()
    at = df[df["spec.task_params.lookback"] == top]
    rnn = ok_rows(at, model=claim.rnn)
    attn_all = at[at["model"] == claim.attn]
    attn = attn_all[attn_all["status"] == "ok"]
    if not len(rnn):
        return claim.no_data(df)
    r = float(np.mean(scores(rnn)))
    base = float(rnn["baseline.all.last value.mse"].iloc[0]) if "baseline.all.last value.mse" in rnn else math.nan
    ev = [{"lookback": int(lb), **{m: float(np.mean(scores(ok_rows(g, model=m)))) if len(ok_rows(g, model=m))
                                   else "failed" for m in (claim.rnn, claim.attn)}}
          for lb, g in df.groupby("spec.task_params.lookback")]
    ev.append({"baseline": "last value", "mse": base})
    if not learned(r, base, "mse"):
        return claim.verdict(math.nan, None, ev, [*quality_caveats(df), f"did not learn: {claim.rnn} does not beat the "
                                                  "last-value baseline at the longest look-back"])
    effect = float(np.mean(scores(attn))) / r if len(attn) else math.inf
    return claim.verdict(effect, None, ev, [*quality_caveats(df), "glucose series (52k steps), 2,000 training windows"])


CLAIM_22 = Claim(
    id="22", short="long series with limited data favour RNNs",
    quote="Transformers struggle with very long time series due to memory constraints",
    threshold=1.0, direction="above",
    effect_name="transformer / LSTM test MSE at the longest look-back (cap failure = inf)",
    trials=_forecast_trials, judge=judge_22,
    conditions="glucose, look-back 96 ... 2,880", training=True,
)

#: This module's claims (the registry orders every module's claims by id).


#: This module's claims (the registry orders every module's claims by id).
CLAIMS: list[Claim] = [CLAIM_9, CLAIM_9B, CLAIM_22]
