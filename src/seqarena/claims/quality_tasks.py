"""Quality claims on synthetic tasks, judged from the ``train`` scenario and the gradient-flow probe: order (3a/b),
long-range dependencies (4), vanishing gradients (5a/b) and learning-rate robustness (8, 8b). The rules every quality
claim follows are in :mod:`seqarena.claims.quality`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from seqarena.analysis.stats import round_interval, t_interval, wilson
from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import Claim, caveats, first_missing, grid, ok_rows
from seqarena.claims.quality import (
    baseline_of,
    by_seed,
    learned,
    metric_of,
    model_rows,
    option_column,
    quality_caveats,
    train_trials,
)
from seqarena.claims.rounds import paired
from seqarena.claims.suites import Suite
from seqarena.claims.verdict import FAILED, Verdict

# -- 3: order ------------------------------------------------------------------------------------------------------

ORDER_MODELS = [("transformer", {"causal": False, "positions": "none"}),
                ("transformer", {"causal": False, "positions": "sinusoidal"}),
                ("transformer", {"causal": True, "positions": "none"})]


def _order_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    return train_trials(s, ORDER_MODELS, "order", {"distance": 2}, seeds=s.order_seeds)


def _order_rows(df: pd.DataFrame, causal: bool, positions: str) -> pd.DataFrame:
    """Rows (any status) of the transformer with the given mask and positions."""
    return df[(option_column(df, "causal") == causal) & (option_column(df, "positions") == positions)]


def _order_accuracy(df: pd.DataFrame, causal: bool, positions: str, *, examples: bool = False
                    ) -> tuple[float, tuple[float, float] | None, int]:
    """(mean test accuracy, t-interval over seeds, seeds). ``examples``: with one seed, the Wilson interval over the
    test examples instead (enough for an implementation check, not for evidence: it ignores seed-to-seed noise)."""
    rows = _order_rows(ok_rows(df), causal, positions)
    acc = [a for a in by_seed(rows).values() if math.isfinite(a)]
    if not acc:
        return math.nan, None, 0
    mean, ci = t_interval(acc)
    n_test = int(rows["task.sizes.test"].iloc[0]) if "task.sizes.test" in rows else 0
    if ci is None and examples and n_test:
        ci = wilson(mean * n_test, n_test)
    return mean, ci, len(acc)


def _judge_order(positions: str) -> Callable[[pd.DataFrame, Claim], Verdict]:
    def judge(df: pd.DataFrame, claim: Claim) -> Verdict:
        """Effect: the bidirectional encoder's test accuracy above chance (0.5) on minimal pairs, t-interval over
        seeds (3a, an implementation check, accepts one seed's Wilson interval over the test examples)."""
        rows = _order_rows(df, False, positions) if "status" in df else df.iloc[0:0]
        why = first_missing(rows, ["transformer"], ns=(), strict=True)
        if why:
            return claim.no_data(df, why)
        acc, ci, _ = _order_accuracy(df, False, positions, examples=claim.check)
        if not math.isfinite(acc):
            return claim.no_data(df, f"{FAILED}: the encoder (positions={positions}) has no finite test accuracy")
        chance = 0.5
        ev = [{"model": f"encoder, positions={p}", "test accuracy": a, "ci": c, "seeds": k}
              for p in ("none", "sinusoidal") for a, c, k in [_order_accuracy(df, False, p)]]
        dec, dec_ci, k = _order_accuracy(df, True, "none")
        ev.append({"model": "causal decoder, positions=none", "test accuracy": dec, "ci": dec_ci, "seeds": k})
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
    # mean pooling over a bidirectional encoder without positions is exactly permutation invariant: the accuracy is
    # chance by construction, so this checks the implementation rather than testing the essay
    conditions="bidirectional encoder", training=True, check=True,
)


CLAIM_3B = Claim(
    id="3b", short="with positional encodings a transformer tells order apart",
    quote="This necessitates adding positional information through sinusoidal encodings, learned embeddings, or "
          "relative position mechanisms.",
    threshold=0.30, direction="above",
    effect_name="bidirectional encoder with sinusoidal positions: test accuracy - chance, t-interval over seeds",
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


#: "Dependencies spanning hundreds of time steps": the distance grid must reach this far to test the claim.
HUNDREDS = 256
#: The claim also says the LSTM's D90 stays below this (it struggles with "hundreds").
RNN_D90_LIMIT = 500


def _accuracy_by_distance(rows: pd.DataFrame) -> dict[int, float]:
    return {int(k): round(float(v), 3) for k, v in rows.groupby("spec.task_params.distance")["test_metric"].mean()
            .items()}


def judge_4(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: D90(transformer) / D90(RNN) on copy, per seed (supported at 2 or more with the RNN's D90 < 500).

    D90 lives on the distance grid, so the interval is the range of the per-seed ratios (every seed must agree),
    not a t-interval; one seed does not decide. The grid must reach the claim's regime (>= 256: "hundreds of
    steps"), else the verdict is "not tested in this range". A D90 censored the uninformative way (the RNN fails
    already at the smallest distance, or passes at every one below 500) makes the verdict inconclusive; a
    transformer that passes everywhere gives a lower bound of the ratio, which can support but not refute."""
    why = first_missing(df, [claim.rnn, claim.attn], ns=(), strict=True)
    if why:
        return claim.no_data(df, why)
    ok = ok_rows(df)
    if "spec.task_params.distance" not in ok:
        return claim.no_data(df)
    rnn, attn = model_rows(ok, claim.rnn), model_rows(ok, claim.attn)
    seeds = paired(by_seed(rnn), by_seed(attn))
    per_seed = {seed: (d90(rnn[rnn["spec.seed"] == seed] if "spec.seed" in rnn else rnn),
                       d90(attn[attn["spec.seed"] == seed] if "spec.seed" in attn else attn)) for seed in seeds}
    ev = [{"model": m, "accuracy by distance (mean over seeds)": _accuracy_by_distance(rows),
           "D90 by seed": {seed: {"D90": d[i][0], "censored": d[i][1]} for seed, d in per_seed.items()}}
          for i, (m, rows) in enumerate(((claim.rnn, rnn), (claim.attn, attn)))]
    top = int(ok["spec.task_params.distance"].max())
    if top < HUNDREDS:
        return claim.untested(df, f"copy distances stop at {top}; the claim speaks of hundreds of steps "
                                  f"(the grid must reach {HUNDREDS})", ev)
    cav = [*quality_caveats(df), "interval: the range of the per-seed D90 ratios (D90 lives on the distance grid)"]
    for seed, ((dr, cr), _) in per_seed.items():
        if cr == "below":
            return claim.no_data(df, f"{claim.rnn} stays under 90% already at the smallest distance (seed {seed}): "
                                     "D90 censored below", ev)
        if cr == "above" and dr < RNN_D90_LIMIT:
            return claim.no_data(df, f"{claim.rnn} passes at every distance tried (seed {seed}): D90 censored above",
                                 ev)
    ratios = [0.0 if ca == "below" else da / dr for (dr, _), (da, ca) in per_seed.values()]
    ci = (min(ratios), max(ratios)) if len(ratios) >= 2 else None
    v = claim.verdict(float(np.median(ratios)), ci, ev, cav)
    if ci is None:
        return v
    reaches = [dr >= RNN_D90_LIMIT for (dr, _), _ in per_seed.values()]
    if all(reaches):
        v.because("refuted", f"{claim.rnn}'s D90 reaches {RNN_D90_LIMIT} in every seed")
    elif any(reaches):
        v.undecided(f"{claim.rnn}'s D90 reaches {RNN_D90_LIMIT} in some seeds only")
    elif v.status == "refuted" and any(ca == "above" for _, (_, ca) in per_seed.values()):
        v.undecided(f"{claim.attn} passes at every distance: its D90 and the ratio are lower bounds")
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
    points = [{"seq_len": s.grad_len, "seed": seed} for seed in s.grad_seeds]
    return grid("gradients", [claim.rnn, claim.attn], points, params=s.q_params, batch=8, **train)


def _judge_gradient(role: str) -> Callable[[pd.DataFrame, Claim], Verdict]:
    def judge(df: pd.DataFrame, claim: Claim) -> Verdict:
        """Effect: |dL_T/dx_t| at distance 8 over distance 256 (not distance 0: a transformer's residual self-term
        dwarfs every other position), floored at 1e-30, on models trained first: the geometric mean over seeds with
        the t-interval of the log-ratios. At initialisation the claim is not tested: an LSTM's forget gates start
        near 0.5, so its ratio is astronomically large by construction, whatever training would make of it."""
        model = claim.rnn if role == "rnn" else claim.attn
        why = first_missing(df, [model], ns=(), strict=True)
        if why:
            return claim.no_data(df, why)
        rows = model_rows(df, model)
        ratios, ev = [], []
        for _, row in rows.iterrows():
            c = row.get("grad_norm_by_distance")
            if not isinstance(c, dict) or "256" not in c or "8" not in c:
                return claim.no_data(df, f"{FAILED}: {model}'s probe has no norm at distance 256 (sequence too short)")
            ratios.append(max(c["8"], FLOOR) / max(c["256"], FLOOR))
            ev.append({"model": model, "seed": row.get("spec.seed"), "norm at 8": c["8"], "norm at 256": c["256"],
                       "ratio": ratios[-1], "steps trained": row.get("steps"), "val": row.get("val.accuracy")})
        steps = pd.to_numeric(rows["steps"], errors="coerce").fillna(0) if "steps" in rows else pd.Series([0])
        if (steps <= 0).any():
            return claim.untested(df, "probed at initialisation; the claim is about trained models (an LSTM's "
                                      "forget gates make the ratio astronomically large by construction at init)", ev)
        status = rows["train_status"] if "train_status" in rows else pd.Series(dtype=object)
        if (status == "diverged").any():
            return claim.no_data(df, f"{FAILED}: {model}'s training before the probe diverged", ev)
        # the seed is the unit: a geometric mean and the t-interval of the log-ratios over seeds
        effect, ci = round_interval(ratios, log=True)
        when = f"probe after {int(steps.min())} training steps on copy (distance 8), float64"
        return claim.verdict(effect, ci, ev, [*caveats(df), when, f"t-interval over {len(ratios)} seeds of the "
                                              "log-ratio"])

    return judge


CLAIM_5A = Claim(
    id="5a", short="gradients vanish through time in RNNs",
    quote="RNNs suffer from vanishing and exploding gradient problems during backpropagation through time",
    threshold=10.0, direction="above",
    effect_name="trained LSTM |dL_T/dx_t| at distance 8 / at distance 256 (float64, floored at 1e-30), geometric "
                "mean over seeds",
    trials=_gradient_trials, judge=_judge_gradient("rnn"),
    conditions="gradient probe",
)


CLAIM_5B = Claim(
    id="5b", short="skip connections keep transformer gradients flowing",
    quote="Skip connections in attention blocks provide direct gradient paths",
    threshold=10.0, direction="below",
    effect_name="trained transformer |dL_T/dx_t| at distance 8 / at distance 256, geometric mean over seeds",
    trials=_gradient_trials, judge=_judge_gradient("attn"),
    conditions="gradient probe",
)


# -- 8 / 8b: learning-rate robustness ------------------------------------------------------------------------------

def _lr_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    return [t for lr in s.lr_grid for t in train_trials(s, [claim.rnn, claim.attn], "copy", {"distance": 8},
                                                     steps=s.lr_steps, seeds=s.lr_seeds, lr=lr)]


# The grid is a design, not a random sample of learning rates: no binomial interval over its points. Claim 8 reads a
# difference in working grid points, claim 8b a distance in grid steps; each decides only when every seed's value
# lies beyond the claim's ``zone`` (in points / steps) on the same side, and never from one seed.


def _lr_tables(df: pd.DataFrame, claim: Claim) -> tuple[dict[int, dict[str, pd.Series]], str, float, str | None]:
    """Per seed, each model's validation metric by grid LR; the metric, its baseline, and why the grid cannot be read
    (a contender missing, or a trial that failed: a diverged LR is a result, NaN; a crashed one is not)."""
    why = first_missing(df, [claim.rnn, claim.attn], ns=(), strict=True)
    ok = ok_rows(df)
    if why or not len(ok) or "spec.lr" not in ok:
        return {}, "accuracy", math.nan, why or "missing data: no learning-rate grid"
    metric = metric_of(ok)
    seeds = ok["spec.seed"] if "spec.seed" in ok else pd.Series([0] * len(ok), index=ok.index)
    tables: dict[int, dict[str, pd.Series]] = {}
    for seed in sorted(set(seeds)):
        rows = ok[seeds == seed]
        tables[int(seed)] = {m: rows[rows["model"] == m].groupby("spec.lr")["val_metric"].mean().sort_index()
                             for m in (claim.rnn, claim.attn)}
    return tables, metric, baseline_of(ok, metric), None


def _best(values: pd.Series, metric: str) -> float:
    """The grid's best value (a diverged LR, NaN, never is)."""
    v = values.dropna()
    return float(v.max() if metric == "accuracy" else v.min()) if len(v) else math.nan


def _working(values: pd.Series, baseline: float, metric: str) -> int:
    """Grid LRs that close >= 90% of the gap from the baseline to this model's best value (a descriptive count)."""
    best = _best(values, metric)
    good = (values - baseline) >= 0.9 * (best - baseline) if metric == "accuracy" else \
        (values - baseline) <= 0.9 * (best - baseline)
    return int(good.sum())


def _judge_lr(df: pd.DataFrame, claim: Claim, per_seed: Callable[[dict[str, pd.Series], str, float], float],
              what: str) -> Verdict:
    """The per-seed value ``per_seed(tables, metric, baseline)``; decided when every seed lies beyond the zone."""
    tables, metric, base, why = _lr_tables(df, claim)
    if why:
        return claim.no_data(df, why)
    ev = [{"seed": seed, "model": m, "working LRs": f"{_working(v, base, metric)}/{len(v)}", "best": _best(v, metric),
           "val by lr": {f"{lr:g}": round(float(x), 3) for lr, x in v.items()}}
          for seed, t in tables.items() for m, v in t.items()]
    cav = quality_caveats(df)
    if any(not len(v) for t in tables.values() for v in t.values()):
        return claim.no_data(df, "missing data: a model has no grid in some seed", ev)
    if not all(learned(_best(v, metric), base, metric) for t in tables.values() for v in t.values()):
        return claim.no_data(df, "did not learn: a model's best LR does not beat the baseline by the margin", ev)
    values = [per_seed(t, metric, base) for t in tables.values()]
    if len(values) < 2:  # a point estimate: inconclusive (no replication)
        return claim.verdict(values[0], None, ev, cav)
    rule = f"decided only when every seed's {what} lies beyond +-{claim.zone:g} (the range over seeds)"
    return claim.verdict(float(np.median(values)), (min(values), max(values)), ev, [*cav, rule])


def judge_8(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: the transformer's count of working grid LRs minus the RNN's (an LR works when it closes >= 90% of the
    gap from the baseline to the model's best value), per seed; supported when every seed's difference exceeds 1.5
    grid points, refuted when every seed's is below -1.5, a tie inside. Inconclusive where a model's best LR does
    not beat the baseline by the margin."""
    def per_seed(t: dict[str, pd.Series], metric: str, base: float) -> float:
        return float(_working(t[claim.attn], base, metric) - _working(t[claim.rnn], base, metric))

    return _judge_lr(df, claim, per_seed, "difference in working LRs")


CLAIM_8 = Claim(
    id="8", short="transformers tolerate a wider range of hyperparameters",
    quote="Transformers are more forgiving\u2014they tolerate a wider range of hyperparameters",
    threshold=0.0, direction="above", zone=1.5,  # more than one grid point of difference
    effect_name="working LRs on a 7-point log grid (closing >= 90% of the baseline-to-best gap): transformer - LSTM, "
                "grid points, median over seeds",
    trials=_lr_trials, judge=judge_8,
    conditions="copy, distance 8", training=True,
)


def judge_8b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: grid steps from the RNN's best LR to the transformer's, per seed; supported when every seed's best
    transformer LR is more than one grid step above the RNN's (a neighbouring grid point is within noise)."""
    def per_seed(t: dict[str, pd.Series], metric: str, base: float) -> float:
        grid_lrs = sorted(set(t[claim.rnn].index) | set(t[claim.attn].index))
        best = {m: (v.idxmax() if metric == "accuracy" else v.idxmin()) for m, v in t.items()}
        return float(grid_lrs.index(best[claim.attn]) - grid_lrs.index(best[claim.rnn]))

    return _judge_lr(df, claim, per_seed, "distance between the best LRs")


CLAIM_8B = Claim(
    id="8b", short="transformers allow more aggressive learning rates",
    quote="This enables more aggressive learning rates",
    threshold=0.0, direction="above", zone=1.0,  # a neighbouring grid point is within noise
    effect_name="grid steps from the LSTM's best LR up to the transformer's (7-point log grid), median over seeds",
    trials=_lr_trials, judge=judge_8b,
    conditions="copy, distance 8", training=True,
)


#: This module's claims (the registry orders every module's claims by id).
CLAIMS: list[Claim] = [CLAIM_3A, CLAIM_3B, CLAIM_4, CLAIM_5A, CLAIM_5B, CLAIM_8, CLAIM_8B]
