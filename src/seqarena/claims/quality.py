"""Quality claims: what models learn, judged from the ``train`` scenario (test metrics on held-out splits) and the
gradient-flow probe. Order (3a/b), long-range dependencies (4), vanishing gradients (5a/b), learning-rate robustness
(8, 8b), sample efficiency and overfitting (9, 9b), efficient attentions' quality (19c, 20b), language modelling (21),
long time series (22), hybrids (25) and the essay's conclusion (26).

Rules: a comparison of quality counts only where the models beat the task's baseline by a stated margin (otherwise the
verdict is inconclusive: "did not learn"); "match or beat" claims use an equivalence margin (the interval of the
difference must lie above -delta); over seeds the interval is a Student-t one; for one seed, a Wilson interval over
the test examples (accuracy) or a point estimate. The quick suite is smoke-sized (a few hundred steps, lr 1e-3); the
full suite tunes every model's learning rate on the validation split (``tune_lr``) and uses 3 seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from seqarena.analysis.stats import t_interval, wilson
from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import SMOKE_CAVEAT, Claim, caveats, grid, ok_rows
from seqarena.claims.verdict import Verdict
from seqarena.essay import LITTLE_DATA

#: A model "learned" when it beats the task's baseline by this much (accuracy points; relative for losses).
LEARN_MARGIN = {"accuracy": 0.10, "bits_per_char": 0.05, "mse": 0.05}
#: Equivalence margin of "match or beat": the RNN may trail by at most this much (accuracy points).
DELTA = 0.02


def _train(s: dict[str, Any], models: list, task: str, task_params: dict[str, Any], *, steps: int | None = None,
           seeds: tuple[int, ...] | None = None, extra: list[dict] | None = None, **fields: Any) -> list[TrialSpec]:
    points = [{"seed": seed, **(e or {})} for seed in (seeds or s["seeds"]) for e in (extra or [None])]
    tuned = {} if s.get("smoke") or "lr" in fields else {"tune_lr": True}
    steps = steps or s["q_steps"]
    return grid("train", models, points, task=task, task_params=task_params, steps=steps, batch=s["q_batch"],
                params=s["q_params"], eval_every=steps, **tuned, **fields)


def _caveats(df: pd.DataFrame, s_smoke: bool | None = None) -> list[str]:
    smoke = s_smoke if s_smoke is not None else _is_smoke(df)
    return [*caveats(df), *([SMOKE_CAVEAT] if smoke else [])]


def _is_smoke(df: pd.DataFrame) -> bool:
    return "spec.tune_lr" in df and not bool(df["spec.tune_lr"].fillna(False).any())


def metric_of(rows: pd.DataFrame) -> str:
    return str(rows["metric"].dropna().iloc[0]) if "metric" in rows and rows["metric"].notna().any() else "accuracy"


def baseline_of(rows: pd.DataFrame, metric: str) -> float:
    col = f"baseline.{metric}"
    return float(rows[col].dropna().iloc[0]) if col in rows and rows[col].notna().any() else math.nan


def learned(value: float, baseline: float, metric: str) -> bool:
    """Beat the baseline by the margin: accuracy by points, losses by a relative margin."""
    if not math.isfinite(value) or not math.isfinite(baseline):
        return False
    if metric == "accuracy":
        return value >= baseline + LEARN_MARGIN["accuracy"]
    return value <= baseline * (1 - LEARN_MARGIN.get(metric, 0.05))


def _model_rows(df: pd.DataFrame, model: str, **match: Any) -> pd.DataFrame:
    return ok_rows(df, model=model, **match)


def _test(rows: pd.DataFrame) -> list[float]:
    return [float(v) for v in rows["test_metric"].dropna()] if "test_metric" in rows else []


def _options(df: pd.DataFrame, key: str) -> pd.Series:
    col = f"spec.options.{key}"
    return df[col] if col in df else pd.Series([None] * len(df), index=df.index)


# -- 3: order ------------------------------------------------------------------------------------------------------

ORDER_MODELS = [("transformer", {"causal": False, "positions": "none"}),
                ("transformer", {"causal": False, "positions": "sinusoidal"}),
                ("transformer", {"causal": True, "positions": "none"})]


def _order_trials(s: dict[str, Any], claim: Claim) -> list[TrialSpec]:
    return _train(s, ORDER_MODELS, "order", {"distance": 2})


def _order_accuracy(df: pd.DataFrame, causal: bool, positions: str) -> tuple[float, tuple[float, float] | None, int]:
    ok = ok_rows(df)
    rows = ok[(_options(ok, "causal") == causal) & (_options(ok, "positions") == positions)]
    acc = _test(rows)
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
        return claim.verdict(acc - chance, shift, ev,
                             [*_caveats(df), "the causal decoder's mask leaks order: the claim holds for encoders"])

    return judge


# -- 4: long-range dependencies ------------------------------------------------------------------------------------

def _distance_trials(s: dict[str, Any], claim: Claim) -> list[TrialSpec]:
    return [t for d in s["distances"] for t in _train(s, [claim.rnn, claim.attn], "copy", {"distance": d},
                                                      seeds=s["distance_seeds"])]


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
    rnn, attn = _model_rows(df, claim.rnn), _model_rows(df, claim.attn)
    if not len(rnn) or not len(attn) or "spec.task_params.distance" not in df:
        return claim.no_data(df)
    (dr, cr), (da, ca) = d90(rnn), d90(attn)
    ev = [{"model": m, "D90": d, "censored": c,
           "accuracy by distance": {int(k): round(float(v), 3) for k, v in
                                    rows.groupby("spec.task_params.distance")["test_metric"].mean().items()}}
          for m, d, c, rows in ((claim.rnn, dr, cr, rnn), (claim.attn, da, ca, attn))]
    cav = _caveats(df)
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


# -- 5: vanishing gradients ----------------------------------------------------------------------------------------

FLOOR = 1e-30  # gradient norms below this count as this (fp64 still underflows through hundreds of steps)


def _gradient_trials(s: dict[str, Any], claim: Claim) -> list[TrialSpec]:
    train = {"task": "copy", "task_params": {"distance": 8}, "steps": s["grad_steps"]} if s["grad_steps"] else {}
    return grid("gradients", [claim.rnn, claim.attn], [{"seq_len": s["grad_len"]}], params=s["q_params"], batch=8,
                **train)


def _judge_gradient(role: str) -> Callable[[pd.DataFrame, Claim], Verdict]:
    def judge(df: pd.DataFrame, claim: Claim) -> Verdict:
        """Effect: |dL_T/dx_t| at distance 8 over distance 256 (not distance 0: a transformer's residual self-term
        dwarfs every other position), floored at 1e-30."""
        model = claim.rnn if role == "rnn" else claim.attn
        rows = _model_rows(df, model)
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


# -- 8 / 8b: learning-rate robustness ------------------------------------------------------------------------------

def _lr_trials(s: dict[str, Any], claim: Claim) -> list[TrialSpec]:
    return [t for lr in s["lr_grid"] for t in _train(s, [claim.rnn, claim.attn], "copy", {"distance": 8},
                                                     steps=s["lr_steps"], seeds=(0,), lr=lr)]


def _lr_table(df: pd.DataFrame, model: str) -> pd.Series:
    rows = _model_rows(df, model)
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
    cav = _caveats(df)
    if not all(learned(best, base, metric) for _, _, best in out.values()):
        return claim.verdict(math.nan, None, ev, [*cav, "did not learn: a model's best LR does not beat the baseline"])
    (kr, nr, _), (ka, na, _) = out[claim.rnn], out[claim.attn]
    lo_a, hi_a = wilson(ka, na)
    lo_r, hi_r = wilson(kr, nr)
    return claim.verdict(ka / na - kr / nr, (lo_a - hi_r, hi_a - lo_r), ev, cav)


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
                         [*_caveats(df), "point estimate on a log grid (one seed)"])


# -- 9 / 9b: sample efficiency and overfitting ---------------------------------------------------------------------

def _size_trials(s: dict[str, Any], claim: Claim) -> list[TrialSpec]:
    return [t for n in s["sizes"] for t in _train(s, [claim.rnn, claim.attn], "selective_copy",
                                                  {"distance": 32, "n_train": n}, steps=s["size_steps"],
                                                  seeds=s["size_seeds"])]


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
        return claim.verdict(math.nan, None, ev, [*_caveats(df), "no size where both models beat the baseline by "
                                                  f"{LEARN_MARGIN.get(metric, 0.05)} with >= 2 seeds"])
    return claim.verdict(best[0], best[1], ev, [*_caveats(df), f"equivalence margin delta = {DELTA}"])


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
    return claim.verdict(diff, ci, ev, [*_caveats(df), "gap in nats: validation loss minus the train loss averaged "
                                        "since the last evaluation"])


# -- 19c, 20b, 21, 25, 26: language modelling ----------------------------------------------------------------------

def _lm_models(s: dict[str, Any], claim: Claim) -> list:
    return [claim.rnn, claim.attn, "linear_attention", ("local", {"window": s["lm_seq"] // 4}),
            ("hybrid", {"stack": f"{claim.rnn}+{claim.attn}"})]


def _lm_trials(s: dict[str, Any], claim: Claim) -> list[TrialSpec]:
    return _train(s, _lm_models(s, claim), "char_lm", {"length": s["lm_seq"]}, steps=s["lm_steps"])


def _bpc(df: pd.DataFrame, model: str) -> tuple[float, tuple[float, float] | None, int]:
    vals = _test(_model_rows(df, model))
    mean, ci = t_interval(vals)
    return mean, ci, len(vals)


def _lm_compare(df: pd.DataFrame, claim: Claim, model: str, relative: bool) -> Verdict:
    ok = ok_rows(df)
    if not len(ok):
        return claim.no_data(df)
    base = baseline_of(ok, "bits_per_char")
    m, m_ci, _ = _bpc(ok, model)
    ref_model = claim.attn if relative else claim.rnn
    ref = _bpc(ok, ref_model)[0]
    if not (math.isfinite(m) and math.isfinite(ref)):
        return claim.no_data(df)
    ev = [{"model": x, "test bits/char": _bpc(ok, x)[0]} for x in dict.fromkeys([model, ref_model, claim.rnn,
                                                                                  claim.attn])]
    ev.append({"baseline": "interpolated trigram", "bits/char": base})
    cav = _caveats(df)
    if not (learned(m, base, "bits_per_char") and learned(ref, base, "bits_per_char")):
        return claim.verdict(math.nan, None, ev, [*cav, "did not learn: a model does not beat the trigram baseline "
                                                        "by 5%"])
    if relative:  # (model - softmax) / softmax
        ci = ((m_ci[0] - ref) / ref, (m_ci[1] - ref) / ref) if m_ci else None
        return claim.verdict((m - ref) / ref, ci, ev, cav)
    rnn_vals = _test(_model_rows(ok, claim.rnn))
    attn_vals = _test(_model_rows(ok, claim.attn))
    diff, ci = t_interval([r - a for r, a in zip(rnn_vals, attn_vals)])
    return claim.verdict(diff, ci, ev, cav)


def judge_19c(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: relative bits/char gap of linear attention to softmax attention (reported; supported below 0.10)."""
    return _lm_compare(df, claim, "linear_attention", relative=True)


def judge_20b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: relative bits/char gap of local attention (window = context / 4) to full attention (below 0.05)."""
    return _lm_compare(df, claim, "local", relative=True)


def judge_21(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: RNN minus transformer test bits/char at equal steps and parameters (supported above 0)."""
    return _lm_compare(df, claim, claim.attn, relative=False)


def _pareto_trials(s: dict[str, Any], claim: Claim) -> list[TrialSpec]:
    hybrid = ("hybrid", {"stack": f"{claim.rnn}+{claim.attn}"})
    # the same generation trials as claim 13 for the two pure models (shared, measured once)
    gen = grid("generation", [(claim.rnn, {}), (claim.attn, {}), hybrid], [{"seq_len": 16 + s["tokens"]}],
               tokens=s["tokens"], params=s["params"], repeats=s["gen_repeats"])
    gen = [t.model_copy(update={"mode": "cache" if t.model == claim.attn else "state"}) for t in gen]
    return _lm_trials(s, claim) + gen


def judge_25(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: how far the hybrid is from being dominated: min over the two pure models of the hybrid's best relative
    advantage on (test bits/char, per-token decode time); supported above 0 (on the Pareto front)."""
    lm = df[df["scenario"] == "train"] if "scenario" in df else df
    gen = ok_rows(df[df["scenario"] == "generation"]) if "scenario" in df else df.iloc[0:0]
    points = {}
    for model in (claim.rnn, claim.attn, "hybrid"):
        bpc = _bpc(lm, model)[0]
        g = gen[gen["model"] == model]
        cost = float(g["decode_ms_median"].median()) if len(g) else math.nan
        points[model] = (bpc, cost)
    ev = [{"model": m, "test bits/char": b, "decode ms/token": c} for m, (b, c) in points.items()]
    if any(not (math.isfinite(b) and math.isfinite(c)) for b, c in points.values()):
        return claim.verdict(math.nan, None, ev, [*_caveats(lm), "missing quality or decode measurements"])
    base = baseline_of(ok_rows(lm), "bits_per_char")
    if not all(learned(b, base, "bits_per_char") for b, _ in points.values()):
        return claim.verdict(math.nan, None, ev, [*_caveats(lm), "did not learn: a model does not beat the trigram"])
    hb, hc = points["hybrid"]
    effect = min(max(b / hb - 1, c / hc - 1) for m, (b, c) in points.items() if m != "hybrid")
    return claim.verdict(effect, None, ev, [*_caveats(lm), "point estimate"])


def _conclusion_trials(s: dict[str, Any], claim: Claim) -> list[TrialSpec]:
    from seqarena.claims.training import _train_step_trials

    return _train_step_trials(s, claim) + _train(s, [claim.rnn, claim.attn], "char_lm", {"length": s["lm_seq"]},
                                                 steps=s["lm_steps"])


def judge_26(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: min(RNN / transformer training-step time, RNN / transformer bits/char) over n < 4,000 (supported above
    1: the transformer wins both training time and quality)."""
    from seqarena.claims.training import judge_6

    steps = df[df["scenario"] == "train_step"] if "scenario" in df else df.iloc[0:0]
    lm = df[df["scenario"] == "train"] if "scenario" in df else df.iloc[0:0]
    speed = judge_6(steps, claim)
    r, a = _bpc(lm, claim.rnn)[0], _bpc(lm, claim.attn)[0]
    if not math.isfinite(speed.effect) or not (math.isfinite(r) and math.isfinite(a)):
        return claim.no_data(df)
    base = baseline_of(ok_rows(lm), "bits_per_char")
    ev = [{"training time ratio": speed.effect, "ci": speed.ci}, {"bits/char ratio": r / a, claim.rnn: r,
                                                                  claim.attn: a}]
    if not (learned(r, base, "bits_per_char") and learned(a, base, "bits_per_char")):
        return claim.verdict(math.nan, None, ev, [*_caveats(lm), "did not learn: a model does not beat the trigram"])
    effect = min(speed.effect, r / a)
    lo = min(speed.ci[0], r / a) if speed.ci else None
    return claim.verdict(effect, (lo, effect) if lo is not None else None, ev,
                         [*_caveats(lm), "quality at the suite's largest budget only (point estimate)"])


# -- 22: long time series with limited data ------------------------------------------------------------------------

def _forecast_trials(s: dict[str, Any], claim: Claim) -> list[TrialSpec]:
    return [t for lb in s["forecast_lookbacks"]
            for t in _train(s, [claim.rnn, claim.attn], "forecast", {"dataset": "glucose", "lookback": lb,
                                                                     "n_train": 2000},
                            steps=s["forecast_steps"], seeds=s["forecast_seeds"], memory_cap_mb=4096)]


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
    r = float(np.mean(_test(rnn)))
    base = float(rnn["baseline.all.last value.mse"].iloc[0]) if "baseline.all.last value.mse" in rnn else math.nan
    ev = [{"lookback": int(lb), **{m: float(np.mean(_test(ok_rows(g, model=m)))) if len(ok_rows(g, model=m))
                                   else "failed" for m in (claim.rnn, claim.attn)}}
          for lb, g in df.groupby("spec.task_params.lookback")]
    ev.append({"baseline": "last value", "mse": base})
    if not learned(r, base, "mse"):
        return claim.verdict(math.nan, None, ev, [*_caveats(df), f"did not learn: {claim.rnn} does not beat the "
                                                  "last-value baseline at the longest look-back"])
    effect = float(np.mean(_test(attn))) / r if len(attn) else math.inf
    return claim.verdict(effect, None, ev, [*_caveats(df), "glucose series (52k steps), 2,000 training windows"])


CLAIMS: list[Claim] = [
    Claim("3a", "without positions a transformer is order-blind",
          "Without explicit position information, transformers can\u2019t distinguish "
          "\u201cThe cat ate the mouse\u201d from \u201cThe mouse ate the cat\u201d",
          0.05, "below", "bidirectional encoder without positions: test accuracy - chance on minimal pairs",
          _order_trials, _judge_order("none"), "bidirectional encoder", training=True),
    Claim("3b", "with positional encodings a transformer tells order apart",
          "This necessitates adding positional information through sinusoidal encodings, learned embeddings, or "
          "relative position mechanisms.",
          0.30, "above", "bidirectional encoder with sinusoidal positions: test accuracy - chance",
          _order_trials, _judge_order("sinusoidal"), "bidirectional encoder", training=True),
    Claim("4", "RNNs lose dependencies hundreds of steps away; transformers do not",
          "even well-trained RNNs struggle with dependencies spanning hundreds of time steps.",
          2.0, "above", "D90 (largest copy distance with >= 90% test accuracy) of the transformer / the LSTM's",
          _distance_trials, judge_4, "equal steps and parameters", training=True),
    Claim("5a", "gradients vanish through time in RNNs",
          "RNNs suffer from vanishing and exploding gradient problems during backpropagation through time",
          10.0, "above", "LSTM |dL_T/dx_t| at distance 8 / at distance 256 (float64, floored at 1e-30)",
          _gradient_trials, _judge_gradient("rnn"), "gradient probe"),
    Claim("5b", "skip connections keep transformer gradients flowing",
          "Skip connections in attention blocks provide direct gradient paths",
          10.0, "below", "transformer |dL_T/dx_t| at distance 8 / at distance 256",
          _gradient_trials, _judge_gradient("attn"), "gradient probe"),
    Claim("8", "transformers tolerate a wider range of hyperparameters",
          "Transformers are more forgiving\u2014they tolerate a wider range of hyperparameters",
          0.0, "above", "fraction of a 7-point log LR grid that closes >= 90% of the baseline-to-best gap: "
                        "transformer - LSTM",
          _lr_trials, judge_8, "copy, distance 8", training=True),
    Claim("8b", "transformers allow more aggressive learning rates",
          "This enables more aggressive learning rates",
          0.0, "above", "log10(best LR of the transformer / best LR of the LSTM) on the grid",
          _lr_trials, judge_8b, "copy, distance 8", training=True),
    Claim("9", "with < 10,000 sequences RNNs can match or beat transformers",
          "For tasks with fewer than 10,000 training sequences, well-regularized RNNs sometimes match or exceed "
          "transformer performance.",
          -DELTA, "above", "best lower bound over sizes < 10k of (LSTM - transformer) test accuracy, t-interval "
                           "over seeds",
          _size_trials, judge_9, "selective copy, n_train < 10,000", training=True),
    Claim("9b", "transformers overfit small datasets more easily",
          "Transformers\u2019 expressiveness is a double-edged sword",
          0.0, "above", "transformer - LSTM generalisation gap (val - train loss) at the smallest size",
          _size_trials, judge_9b, "selective copy, smallest n_train", training=True),
    Claim("19c", "linear attention: quality close to softmax attention",
          "Models like Performers, Linformers, and others approximate attention efficiently for long sequences.",
          0.10, "below", "(linear - softmax attention) / softmax test bits/char on Shakespeare",
          _lm_trials, judge_19c, "char LM, equal steps and parameters", training=True),
    Claim("20b", "sparse (local) attention: quality close to full attention",
          "sequences beyond 2,000-4,000 tokens require specialized techniques (sparse attention, chunking, gradient "
          "checkpointing).",
          0.05, "below", "(local - full attention) / full test bits/char, context = 4 windows",
          _lm_trials, judge_20b, "char LM, equal steps and parameters", training=True),
    Claim("21", "language modelling: transformers reach better quality",
          "with sufficient data, they find better solutions",
          0.0, "above", "LSTM - transformer test bits/char on Shakespeare (equal steps and parameters)",
          _lm_trials, judge_21, "char LM", training=True),
    Claim("22", "long series with limited data favour RNNs",
          "Transformers struggle with very long time series due to memory constraints",
          1.0, "above", "transformer / LSTM test MSE at the longest look-back (cap failure = inf)",
          _forecast_trials, judge_22, "glucose, look-back 96 ... 2,880", training=True),
    Claim("25", "hybrids combine the strengths",
          "the best overall system often combines multiple architectural paradigms",
          0.0, "above", "min over LSTM / transformer of the hybrid's best relative advantage (bits/char, decode ms)",
          _pareto_trials, judge_25, "char LM + generation", training=True),
    Claim("26", "conclusion: under ~4,000 tokens with enough data and compute, transformers are the clear choice",
          "For applications with sufficient computational resources, training data availability, and sequence lengths "
          "under 4,000 tokens, transformers are the clear choice",
          1.0, "above", "min(LSTM / transformer training-step time, LSTM / transformer bits/char)",
          _conclusion_trials, judge_26, "n < 4000", training=True),
]
