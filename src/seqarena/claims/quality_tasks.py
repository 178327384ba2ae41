"""Quality claims on synthetic tasks, judged from the ``train`` scenario and the gradient-flow probe: order (3a/b),
long-range dependencies (4), vanishing gradients (5a/b) and learning-rate robustness (8, 8b). The rules every quality
claim follows are in :mod:`seqarena.claims.quality`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from seqarena.analysis.stats import t_interval, wilson
from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import Claim, caveats, grid, ok_rows
from seqarena.claims.quality import (
    baseline_of,
    learned,
    metric_of,
    model_rows,
    option_column,
    quality_caveats,
    scores,
    train_trials,
)
from seqarena.claims.suites import Suite
from seqarena.claims.verdict import Verdict

# -- 3: order ------------------------------------------------------------------------------------------------------

ORDER_MODELS = [("transformer", {"causal": False, "positions": "none"}),
                ("transformer", {"causal": False, "positions": "sinusoidal"}),
                ("transformer", {"causal": True, "positions": "none"})]


def _order_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    return train_trials(s, ORDER_MODELS, "order", {"distance": 2})


def _order_accuracy(df: pd.DataFrame, causal: bool, positions: str) -> tuple[float, tuple[float, float] | None, int]:
    ok = ok_rows(df)
    rows = ok[(option_column(ok, "causal") == causal) & (option_column(ok, "positions") == positions)]
    acc = scores(rows)
    if not acc:
        return math.nan, None, 0
    mean, ci = t_interval(acc)
    n_test = int(rows["task.sizes.test"].iloc[0]) if "task.sizes.test" in rows else 0
    if ci is None and n_test:
        ci = wilson(mean * n_test, n_test)
    return mean, ci, len(acc)


def _judge_order(positions: str) -> Callable[[pd.DataFrame, Claim], Verdict]:
    def judge(df: pd.DataFrame, claim: Claim) -> Verdict:
        """Effect: the bidirectional encoder's test accuracy above chance (0.5) on minimal pairs."""
        acc, ci, _ = _order_accuracy(df, False, positions)
        if not math.isfinite(acc):
            return claim.no_data(df)
        chance = 0.5
        ev = [{"model": f"encoder, positions={p}", "test accuracy": a, "ci": c}
              for p in ("none", "sinusoidal") for a, c, _ in [_order_accuracy(df, False, p)]]
        dec, dec_ci, _ = _order_accuracy(df, True, "none")
        ev.append({"model": "causal decoder, positions=none", "test accuracy": dec, "ci": dec_ci})
        shift = (ci[0] - chance, ci[1] - chance) if ci else None
        leak = "the causal decoder's mask leaks order: the claim holds for encoders"
        return claim.verdict(acc - chance, shift, ev, [*quality_caveats(df), leak])

    return judge


CLAIM_3A = Claim(
    id="3a", short="without positions a transformer is order-blind",
    quote="Without explicit position information, transformers can\u2019t distinguish "
          "\u201cThe cat ate the mouse\u201d from \u201cThe mouse ate the cat\u201d",
    threshold=0.05, direction="below",
    effect_name="bidirectional encoder without positions: test accuracy - chance on minimal pairs",
    trials=_order_trials, judge=_judge_order("none"),
    conditions="bidirectional encoder", training=True,
)


CLAIM_3B = Claim(
    id="3b", short="with positional encodings a transformer tells order apart",
    quote="This necessitates adding positional information through sinusoidal encodings, learned embeddings, or "
          "relative position mechanisms.",
    threshold=0.30, direction="above",
    effect_name="bidirectional encoder with sinusoidal positions: test accuracy - chance",
    trials=_order_trials, judge=_judge_order("sinusoidal"),
    conditions="bidirectional encoder", training=True,
)


# -- 4: long-range dependencies ------------------------------------------------------------------------------------

def _distance_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    return [t for d in s.distances for t in train_trials(s, [claim.rnn, claim.attn], "copy", {"distance": d},
                                                      seeds=s.distance_seeds)]


def d90(rows: pd.DataFrame) -> tuple[float, str]:
    """Largest distance up to which test accuracy stays >= 0.9 (mean over seeds): (value, censoring)."""
    if not len(rows):
        return math.nan, "none"
    by = rows.groupby("spec.task_params.distance")["test_metric"].mean().sort_index()
    passing = [int(d) for d, a in by.items() if a >= 0.9]
    if not passing or passing[0] != int(by.index[0]):
        return float(by.index[0]), "below"  # fails already at the smallest distance tried
    best = int(by.index[0])
    for d, a in by.items():
        if a < 0.9:
            break
        best = int(d)
    return float(best), "above" if best == int(by.index[-1]) else "none"


def judge_4(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: D90(transformer) / D90(RNN) on copy (supported at 2 or more, with the RNN's D90 < 500). A D90 censored
    the uninformative way (the RNN fails everywhere, or passes everywhere) makes the verdict inconclusive."""
    rnn, attn = model_rows(df, claim.rnn), model_rows(df, claim.attn)
    if not len(rnn) or not len(attn) or "spec.task_params.distance" not in df:
        return claim.no_data(df)
    (dr, cr), (da, ca) = d90(rnn), d90(attn)
    ev = [{"model": m, "D90": d, "censored": c,
           "accuracy by distance": {int(k): round(float(v), 3) for k, v in
                                    rows.groupby("spec.task_params.distance")["test_metric"].mean().items()}}
          for m, d, c, rows in ((claim.rnn, dr, cr, rnn), (claim.attn, da, ca, attn))]
    cav = quality_caveats(df)
    if cr == "below":
        return claim.verdict(math.nan, None, ev, [*cav, f"{claim.rnn} stays under 90% already at the smallest "
                                                        "distance: D90 is censored below"])
    if cr == "above":
        return claim.verdict(math.nan, None, ev, [*cav, f"{claim.rnn} passes at every distance tried: D90 censored"])
    if ca == "below":
        return claim.verdict(0.0, None, ev, [*cav, f"{claim.attn} fails at the smallest distance"])
    v = claim.verdict(da / dr, None, ev, cav + ([f"{claim.attn}'s D90 is a lower bound (passes at every distance)"]
                                                if ca == "above" else []))
    if v.status == "supported" and dr >= 500:
        v.status = "refuted"
        v.caveats.append(f"{claim.rnn}'s D90 reaches 500")
    return v


CLAIM_4 = Claim(
    id="4", short="RNNs lose dependencies hundreds of steps away; transformers do not",
    quote="even well-trained RNNs struggle with dependencies spanning hundreds of time steps.",
    threshold=2.0, direction="above",
    effect_name="D90 (largest copy distance with >= 90% test accuracy) of the transformer / the LSTM's",
    trials=_distance_trials, judge=judge_4,
    conditions="equal steps and parameters", training=True,
)


# -- 5: vanishing gradients ----------------------------------------------------------------------------------------

FLOOR = 1e-30  # gradient norms below this count as this (fp64 still underflows through hundreds of steps)


def _gradient_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    train = {"task": "copy", "task_params": {"distance": 8}, "steps": s.grad_steps} if s.grad_steps else {}
    return grid("gradients", [claim.rnn, claim.attn], [{"seq_len": s.grad_len}], params=s.q_params, batch=8,
                **train)


def _judge_gradient(role: str) -> Callable[[pd.DataFrame, Claim], Verdict]:
    def judge(df: pd.DataFrame, claim: Claim) -> Verdict:
        """Effect: |dL_T/dx_t| at distance 8 over distance 256 (not distance 0: a transformer's residual self-term
        dwarfs every other position), floored at 1e-30."""
        model = claim.rnn if role == "rnn" else claim.attn
        rows = model_rows(df, model)
        cells = [c for c in rows.get("grad_norm_by_distance", []) if isinstance(c, dict) and "256" in c]
        if not cells:
            return claim.no_data(df)
        ratios = [max(c["8"], FLOOR) / max(c["256"], FLOOR) for c in cells]
        ev = [{"model": model, "norm at 8": cells[0]["8"], "norm at 256": cells[0]["256"],
               "norms by distance": cells[0]}]
        trained = rows["steps"].dropna() if "steps" in rows else pd.Series(dtype=float)
        when = f"after {int(trained.iloc[0])} training steps on copy" if len(trained) else "at initialisation"
        return claim.verdict(float(np.median(ratios)), None, ev, [*caveats(df), f"probe {when}, float64"])

    return judge


CLAIM_5A = Claim(
    id="5a", short="gradients vanish through time in RNNs",
    quote="RNNs suffer from vanishing and exploding gradient problems during backpropagation through time",
    threshold=10.0, direction="above",
    effect_name="LSTM |dL_T/dx_t| at distance 8 / at distance 256 (float64, floored at 1e-30)",
    trials=_gradient_trials, judge=_judge_gradient("rnn"),
    conditions="gradient probe",
)


CLAIM_5B = Claim(
    id="5b", short="skip connections keep transformer gradients flowing",
    quote="Skip connections in attention blocks provide direct gradient paths",
    threshold=10.0, direction="below",
    effect_name="transformer |dL_T/dx_t| at distance 8 / at distance 256",
    trials=_gradient_trials, judge=_judge_gradient("attn"),
    conditions="gradient probe",
)


# -- 8 / 8b: learning-rate robustness ------------------------------------------------------------------------------

def _lr_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    return [t for lr in s.lr_grid for t in train_trials(s, [claim.rnn, claim.attn], "copy", {"distance": 8},
                                                     steps=s.lr_steps, seeds=(0,), lr=lr)]


def _lr_table(df: pd.DataFrame, model: str) -> pd.Series:
    rows = model_rows(df, model)
    if not len(rows):
        return pd.Series(dtype=float)
    values = rows.groupby("spec.lr")["val_metric"].mean()
    return values


def _working(values: pd.Series, baseline: float, metric: str) -> tuple[int, int, float]:
    """(LRs that close >= 90% of the gap from the baseline to the best value, grid size, best value)."""
    higher = metric == "accuracy"
    best = values.max() if higher else values.min()
    gap = best - baseline
    good = (values - baseline) >= 0.9 * gap if higher else (values - baseline) <= 0.9 * gap
    return int(good.sum()), len(values), float(best)


def judge_8(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: the transformer's fraction of working LRs minus the RNN's (supported above 0 with the Wilson intervals
    not overlapping); inconclusive where a model's best LR does not beat the baseline by the margin."""
    ok = ok_rows(df)
    if not len(ok):
        return claim.no_data(df)
    metric, base = metric_of(ok), baseline_of(ok, metric_of(ok))
    out, ev = {}, []
    for model in (claim.rnn, claim.attn):
        values = _lr_table(df, model)
        if not len(values):
            return claim.no_data(df)
        k, n, best = _working(values, base, metric)
        out[model] = (k, n, best)
        ev.append({"model": model, "working LRs": f"{k}/{n}", "best": best,
                   "val by lr": {f"{lr:g}": round(float(v), 3) for lr, v in values.items()}})
    cav = quality_caveats(df)
    if not all(learned(best, base, metric) for _, _, best in out.values()):
        return claim.verdict(math.nan, None, ev, [*cav, "did not learn: a model's best LR does not beat the baseline"])
    (kr, nr, _), (ka, na, _) = out[claim.rnn], out[claim.attn]
    lo_a, hi_a = wilson(ka, na)
    lo_r, hi_r = wilson(kr, nr)
    return claim.verdict(ka / na - kr / nr, (lo_a - hi_r, hi_a - lo_r), ev, cav)


CLAIM_8 = Claim(
    id="8", short="transformers tolerate a wider range of hyperparameters",
    quote="Transformers are more forgiving\u2014they tolerate a wider range of hyperparameters",
    threshold=0.0, direction="above",
    effect_name="fraction of a 7-point log LR grid that closes >= 90% of the baseline-to-best gap: "
                "transformer - LSTM",
    trials=_lr_trials, judge=judge_8,
    conditions="copy, distance 8", training=True,
)


def judge_8b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: log10(best LR of the transformer / best LR of the RNN) (supported above 0)."""
    ok = ok_rows(df)
    if not len(ok):
        return claim.no_data(df)
    metric = metric_of(ok)
    best = {}
    for model in (claim.rnn, claim.attn):
        values = _lr_table(df, model)
        if not len(values):
            return claim.no_data(df)
        best[model] = float(values.idxmax() if metric == "accuracy" else values.idxmin())
    ev = [{"model": m, "best lr": lr} for m, lr in best.items()]
    return claim.verdict(math.log10(best[claim.attn] / best[claim.rnn]), None, ev,
                         [*quality_caveats(df), "point estimate on a log grid (one seed)"])


CLAIM_8B = Claim(
    id="8b", short="transformers allow more aggressive learning rates",
    quote="This enables more aggressive learning rates",
    threshold=0.0, direction="above",
    effect_name="log10(best LR of the transformer / best LR of the LSTM) on the grid",
    trials=_lr_trials, judge=judge_8b,
    conditions="copy, distance 8", training=True,
)


#: This module's claims (the registry orders every module's claims by id).
CLAIMS: list[Claim] = [CLAIM_3A, CLAIM_3B, CLAIM_4, CLAIM_5A, CLAIM_5B, CLAIM_8, CLAIM_8B]
