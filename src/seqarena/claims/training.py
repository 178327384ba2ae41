"""Compute claims about training and parallelism: sequential vs parallel (1), training speed below 1,000 tokens (6),
long-sequence training (7), hardware use (17), and the efficient attentions' scaling (19a/b, 20a).

All from the harness's ``train_step`` / ``throughput`` / ``memory`` trials: per-call timing samples give bootstrap
intervals; the memory scenario's single measured step gives the long-sequence per-token times.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from seqarena.analysis.scaling import fit_loglog
from seqarena.analysis.stats import geometric_mean_ratio_ci, median_ratio_ci, ratio_of_ratios_ci
from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import Claim, caveats, grid, ok_rows, samples
from seqarena.claims.suites import Suite
from seqarena.claims.verdict import Verdict
from seqarena.run.sweep import expand


def _timing(s: Suite) -> dict[str, Any]:
    return {"repeats": s.repeats, "min_seconds": s.min_seconds, "rounds": s.rounds}


# -- 1: recurrence is sequential, attention parallel ---------------------------------------------------------------

def _parallel_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    points = [{"seq_len": n, "batch": max(1, s.parallel_tokens // n)} for n in s.parallel_lens]
    return grid("throughput", [claim.rnn, claim.attn], points, params=s.parallel_params, **_timing(s))


def judge_1(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: how much more the RNN's time grows than the transformer's from the shortest to the longest n at a
    fixed token budget B x n (supported at 2 or more). Below n ~ d_model attention's own FLOPs stay under the
    projections', so a transformer's time stays ~flat while the RNN's n sequential steps each get a smaller batch."""
    ok = ok_rows(df)
    if not len(ok):
        return claim.no_data(df)
    lo, hi = int(ok["seq_len"].min()), int(ok["seq_len"].max())
    per = {(m, n): samples(ok, m, n, int(ok.loc[(ok["model"] == m) & (ok["seq_len"] == n), "batch"].iloc[0]))
           for m in (claim.rnn, claim.attn) for n in (lo, hi) if len(ok[(ok["model"] == m) & (ok["seq_len"] == n)])}
    if len(per) < 4 or lo == hi:
        return claim.no_data(df)
    effect, ci = ratio_of_ratios_ci(per[claim.rnn, hi], per[claim.rnn, lo], per[claim.attn, hi], per[claim.attn, lo])
    ev = [{"model": m, "n": n, "batch": int(ok.loc[(ok["model"] == m) & (ok["seq_len"] == n), "batch"].iloc[0]),
           "ms": 1e3 * float(np.median(per[m, n]))} for m, n in per]
    d_model = ok["model_spec.d_model"].dropna().max() if "model_spec.d_model" in ok else None
    extra = [f"transformer d_model {int(d_model)}: n up to {hi}"] if d_model is not None else []
    return claim.verdict(effect, ci, ev, [*caveats(df), *extra])


CLAIM_1 = Claim(
    id="1", short="recurrence is sequential; attention processes all positions at once",
    quote="While you can batch the matrix operations within each time step, you still process time steps "
          "sequentially. ... Transformers break this sequential constraint through self-attention mechanisms that "
          "process all positions simultaneously.",
    threshold=2.0, direction="above",
    effect_name="(RNN time at the longest / shortest n) / (transformer's), at a fixed token budget B x n",
    trials=_parallel_trials, judge=judge_1,
    conditions="n <= d_model, fixed B x n", adaptive=True,
)


# -- 6: below 1,000 tokens transformers train 10-20x faster --------------------------------------------------------

def train_step_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    return expand("train_step", [claim.rnn, claim.attn], seq_lens=s.train_lens, batch=s.train_batch,
                  params=s.params, **_timing(s))


def judge_6(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: RNN / transformer training-step time, geometric mean over n < 1,000 (supported at 10 or more)."""
    ok = ok_rows(df)
    pairs, ev = [], []
    for n in sorted(set(ok["seq_len"])) if len(ok) else []:
        b = int(ok.loc[ok["seq_len"] == n, "batch"].iloc[0])
        a, t = samples(ok, claim.rnn, n, b), samples(ok, claim.attn, n, b)
        if a and t:
            pairs.append((a, t))
            r, ci = median_ratio_ci(a, t)
            ev.append({"n": n, "batch": b, f"{claim.rnn} ms": 1e3 * float(np.median(a)),
                       f"{claim.attn} ms": 1e3 * float(np.median(t)), "ratio": r, "ci": ci})
    if not pairs:
        return claim.no_data(df)
    effect, ci = geometric_mean_ratio_ci(pairs)
    return claim.verdict(effect, ci, ev, [*caveats(df), "time per training step at equal batch and parameters; "
                                          "time-to-target is in the quality claims' curves"])


CLAIM_6 = Claim(
    id="6", short="< 1,000 tokens: transformers train 10-20x faster",
    quote="For sequences under 1,000 tokens, transformers train dramatically faster than RNNs on modern GPUs. ... an "
          "RNN requires processing each token sequentially, often taking 10-20x longer.",
    threshold=10.0, direction="above",
    effect_name="LSTM / transformer training-step time (geometric mean over n = 128, 256, 512; batch 8)",
    trials=train_step_trials, judge=judge_6,
    conditions="n < 1000, training", adaptive=True,
)


# -- 7: at 2-4k+ tokens transformers need special techniques; at 10k+ RNN training is more practical ---------------

def _long_train_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    common = {"kind": "train", "params": s.params, "memory_cap_mb": s.long_train_cap_mb}
    points = [{"seq_len": n} for n in s.long_train_lens]
    return (grid("memory", [claim.attn], points, **common)
            + grid("memory", [claim.rnn], points, tbptt=s.tbptt, **common))


def judge_7(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: the largest (transformer / RNN-with-TBPTT) training time per token over n (supported above 1); a
    transformer that fails the memory cap where the RNN trains counts as infinitely slow there."""
    if not len(df):
        return claim.no_data(df)
    ratios, ev = [], []
    for n in sorted(set(df["seq_len"])):
        rnn = ok_rows(df, model=claim.rnn, seq_len=n)
        attn_all = df[(df["model"] == claim.attn) & (df["seq_len"] == n)]
        attn = attn_all[attn_all["status"] == "ok"]
        if not len(rnn):
            continue
        r_tok = float(rnn["per_token_s"].median())
        if len(attn):
            ratio = float(attn["per_token_s"].median()) / r_tok
            ev.append({"n": n, f"{claim.attn} us/token": 1e6 * float(attn["per_token_s"].median()),
                       f"{claim.rnn} (TBPTT) us/token": 1e6 * r_tok, "ratio": ratio,
                       f"{claim.attn} peak MB": float(attn["peak_bytes"].median()) / 2**20,
                       f"{claim.rnn} peak MB": float(rnn["peak_bytes"].median()) / 2**20})
        elif len(attn_all):
            ratio = math.inf
            ev.append({"n": n, f"{claim.attn}": f"failed: {attn_all['reason'].iloc[0]}", "ratio": math.inf})
        else:
            continue
        ratios.append(ratio)
    if not ratios:
        return claim.no_data(df)
    effect = max(ratios)
    return claim.verdict(effect, None, ev, [*caveats(df), "point estimate: one measured training step per n and "
                                            "round; a failed memory cap counts as infinitely slow"])


CLAIM_7 = Claim(
    id="7", short="at 2-4k+ tokens transformers need special techniques; at 10k+ RNN training is more practical",
    quote="sequences beyond 2,000-4,000 tokens require specialized techniques (sparse attention, chunking, gradient "
          "checkpointing). ... For sequences of 10,000+ tokens, RNNs’ linear complexity can make training more "
          "practical despite slower per-step computation.",
    threshold=1.0, direction="above",
    effect_name="max over n of transformer / LSTM-with-TBPTT training time per token (cap failure = inf)",
    trials=_long_train_trials, judge=judge_7,
    conditions="n = 2k ... 16k, training, memory cap", adaptive=True,
)


# -- 17: hardware use ----------------------------------------------------------------------------------------------

def _mfu_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    return expand("train_step", [claim.rnn, claim.attn], seq_lens=[256], batch=8, params=s.params, **_timing(s))


def judge_17(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: transformer MFU / RNN MFU in a training step (supported above 1); MFU against the GEMM peak measured
    in the same worker."""
    ok = ok_rows(df)
    if not len(ok) or "mfu" not in ok:
        return claim.no_data(df)
    mfu = {m: pd.to_numeric(ok.loc[ok["model"] == m, "mfu"], errors="coerce").dropna() for m in (claim.rnn,
                                                                                               claim.attn)}
    if any(len(v) == 0 for v in mfu.values()):
        return claim.no_data(df)
    a, r = float(mfu[claim.attn].median()), float(mfu[claim.rnn].median())
    spread = (float(mfu[claim.attn].min() / mfu[claim.rnn].max()), float(mfu[claim.attn].max() / mfu[claim.rnn].min()))
    return claim.verdict(a / r, spread, [{"model": m, "mfu": float(v.median()), "rounds": len(v)}
                                         for m, v in mfu.items()],
                         [*caveats(df), "interval: the range over rounds (min/max), not a bootstrap"])


CLAIM_17 = Claim(
    id="17", short="RNN kernels use the hardware poorly; attention maps well onto it",
    quote="transformers can leverage hundreds of GPU cores simultaneously",
    threshold=1.0, direction="above",
    effect_name="transformer MFU / LSTM MFU in a training step (n = 256, batch 8)",
    trials=_mfu_trials, judge=judge_17,
    conditions="training", adaptive=True,
)


# -- 19a/b, 20a: linear and local attention scale linearly in training --------------------------------------------

def _efficient_trials(model: str, options: dict[str, Any] | None = None):
    def trials(s: Suite, claim: Claim) -> list[TrialSpec]:
        opts = dict(options or {})
        if model == "local":
            opts["window"] = s.local_window
        return grid("train_step", [(model, opts), claim.attn], [{"seq_len": n, "batch": 1} for n in s.linear_lens],
                    params=s.params, **_timing(s))

    return trials


def _efficient_slope(df: pd.DataFrame, claim: Claim, model: str) -> Verdict:
    ok = ok_rows(df, model=model)
    fit = fit_loglog(ok["seq_len"], ok["step_s"], large_fraction=1.0) if len(ok) else None
    if fit is None:
        return claim.no_data(df)
    attn = ok_rows(df, model=claim.attn)
    ref = fit_loglog(attn["seq_len"], attn["step_s"], large_fraction=1.0) if len(attn) else None
    ev = [{"model": model, "slope": fit.slope, "slope_ci": (fit.ci_low, fit.ci_high), "n_range": fit.n_range}]
    if ref is not None:
        ev.append({"model": f"{claim.attn} (softmax)", "slope": ref.slope, "slope_ci": (ref.ci_low, ref.ci_high)})
    return claim.verdict(fit.slope, (fit.ci_low, fit.ci_high), ev, caveats(df))


def judge_19a(df: pd.DataFrame, claim: Claim) -> Verdict:
    return _efficient_slope(df, claim, "linear_attention")


CLAIM_19A = Claim(
    id="19a", short="linear attention: O(n) scaling",
    quote="Recent research develops “linear attention” mechanisms that reduce complexity from O(n²) to O(n), "
          "matching RNNs’ scaling.",
    threshold=1.2, direction="below",
    effect_name="log-log slope of linear attention's training-step time vs n (batch 1)",
    trials=_efficient_trials("linear_attention"), judge=judge_19a,
    conditions="training, n = 512 ... 4096", adaptive=True,
)


def judge_20a(df: pd.DataFrame, claim: Claim) -> Verdict:
    return _efficient_slope(df, claim, "local")


CLAIM_20A = Claim(
    id="20a", short="sparse (local) attention scales linearly",
    quote="sequences beyond 2,000-4,000 tokens require specialized techniques (sparse attention, chunking, gradient "
          "checkpointing).",
    threshold=1.2, direction="below",
    effect_name="log-log slope of local attention's training-step time vs n (n >= 4 windows, batch 1)",
    trials=_efficient_trials("local"), judge=judge_20a,
    conditions="training, n >= 4w", adaptive=True,
)


def judge_19b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: linear attention / softmax attention training-step time at the longest n (supported below 1)."""
    ok = ok_rows(df)
    if not len(ok):
        return claim.no_data(df)
    top = int(ok["seq_len"].max())
    a, b = samples(ok, "linear_attention", top), samples(ok, claim.attn, top)
    if not a or not b:
        return claim.no_data(df)
    r, ci = median_ratio_ci(a, b)
    return claim.verdict(r, ci, [{"n": top, "linear ms": 1e3 * float(np.median(a)),
                                  "softmax ms": 1e3 * float(np.median(b)), "ratio": r, "ci": ci}], caveats(df))


CLAIM_19B = Claim(
    id="19b", short="linear attention: faster than softmax attention on long sequences",
    quote="Models like Performers, Linformers, and others approximate attention efficiently for long sequences.",
    threshold=1.0, direction="below",
    effect_name="linear / softmax attention training-step time at the longest n",
    trials=_efficient_trials("linear_attention"), judge=judge_19b,
    conditions="training, longest n", adaptive=True,
)

#: This module's claims (the registry orders every module's claims by id).
CLAIMS: list[Claim] = [CLAIM_1, CLAIM_6, CLAIM_7, CLAIM_17, CLAIM_19A, CLAIM_19B, CLAIM_20A]
