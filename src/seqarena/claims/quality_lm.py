"""Quality claims on character language modelling (Shakespeare): efficient attentions' quality (19c, 20b), RNN vs
transformer (21), hybrids on the quality / decode-time Pareto front (25) and the essay's conclusion (26). The rules
every quality claim follows are in :mod:`seqarena.claims.quality`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from seqarena.analysis.stats import paired_round_ratio, round_interval, t_interval
from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import Claim, first_missing, grid, ok_rows
from seqarena.claims.quality import (
    baseline_of,
    by_seed,
    diverged,
    learned,
    model_rows,
    quality_caveats,
    train_trials,
)
from seqarena.claims.rounds import paired
from seqarena.claims.suites import Suite
from seqarena.claims.training import judge_6, train_step_trials
from seqarena.claims.verdict import FAILED, Verdict

NOT_LEARNED = "did not learn: a model does not beat the trigram"


# -- 19c, 20b, 21, 25, 26: language modelling ----------------------------------------------------------------------

def _lm_models(s: Suite, claim: Claim) -> list:
    return [claim.rnn, claim.attn, "linear_attention", ("local", {"window": s.lm_seq // 4}),
            ("hybrid", {"stack": f"{claim.rnn}+{claim.attn}"})]


def _lm_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    """The char-LM trainings; none when the suite trains no LM (``lm_steps`` 0: quick, where a few hundred steps
    never beat the trigram baseline, so they could decide nothing)."""
    if not s.lm_steps:
        return []
    return train_trials(s, _lm_models(s, claim), "char_lm", {"length": s.lm_seq}, steps=s.lm_steps,
                        seeds=s.lm_seeds)


def _bpc(df: pd.DataFrame, model: str) -> dict[int, float]:
    """Test bits/char of ``model`` by seed."""
    return by_seed(model_rows(df, model))


def _mean(values: dict[int, float]) -> float:
    return float(np.mean(list(values.values()))) if values else math.nan


def _lm_check(df: pd.DataFrame, claim: Claim, models: list[str]) -> tuple[dict[str, dict[int, float]], float, str]:
    """Each model's bits/char by seed, the trigram baseline, and why they cannot be compared ("" when they can): a
    model missing or failed, a diverged seed, or a model that does not beat the trigram by the margin."""
    why = first_missing(df, models, ns=(), strict=True)
    if why:
        return {}, math.nan, why
    ok = ok_rows(df)
    base = baseline_of(ok, "bits_per_char")
    bpc = {m: _bpc(ok, m) for m in models}
    bad = [m for m, v in bpc.items() if diverged(v)]
    if bad:
        return bpc, base, f"{FAILED}: {bad[0]} diverged (no finite bits/char)"
    if not all(learned(_mean(v), base, "bits_per_char") for v in bpc.values()):
        return bpc, base, f"{NOT_LEARNED} baseline by 5%"
    return bpc, base, ""


def _lm_compare(df: pd.DataFrame, claim: Claim, model: str, relative: bool) -> Verdict:
    """``relative``: (model - softmax) / softmax bits/char, t-interval over seeds of the paired values; else RNN -
    transformer bits/char, paired by seed. One seed: a point estimate, which does not decide."""
    ref_model = claim.attn if relative else claim.rnn
    bpc, base, why = _lm_check(df, claim, [model, ref_model])
    ev = [{"model": m, "test bits/char": _mean(v), "seeds": len(v)} for m, v in bpc.items()]
    ev.append({"baseline": "interpolated trigram", "bits/char": base})
    if why:
        return claim.no_data(df, why, ev)
    m, ref = bpc[model], bpc[ref_model]
    seeds = paired(m, ref)
    per_seed = [(m[s] - ref[s]) / ref[s] if relative else ref[s] - m[s] for s in seeds]
    effect, ci = t_interval(per_seed)
    return claim.verdict(effect, ci, ev, [*quality_caveats(df), f"paired by seed over {len(seeds)} seeds"])


def judge_19c(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: relative bits/char gap of linear attention to softmax attention (reported; supported below 0.10)."""
    return _lm_compare(df, claim, "linear_attention", relative=True)


CLAIM_19C = Claim(
    id="19c", short="linear attention: quality close to softmax attention",
    quote="Models like Performers, Linformers, and others approximate attention efficiently for long sequences.",
    threshold=0.10, direction="below",
    effect_name="(linear - softmax attention) / softmax test bits/char on Shakespeare",
    trials=_lm_trials, judge=judge_19c,
    conditions="char LM, equal steps and parameters", training=True,
)


#: Local attention is a test of sparsity only when the context holds at least this many windows.
WINDOWS = 4


def judge_20b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: relative bits/char gap of local attention (window = context / 4) to full attention (below 0.05); a
    context under 4 windows is not the claim's regime (local attention would see most of it)."""
    local = ok_rows(df, model="local")
    if len(local) and "spec.options.window" in local and "spec.task_params.length" in local:
        window, context = int(local["spec.options.window"].max()), int(local["spec.task_params.length"].min())
        if context < WINDOWS * window:
            return claim.untested(df, f"context {context} < {WINDOWS} x window {window}")
    return _lm_compare(df, claim, "local", relative=True)


CLAIM_20B = Claim(
    id="20b", short="sparse (local) attention: quality close to full attention",
    quote="sequences beyond 2,000-4,000 tokens require specialized techniques (sparse attention, chunking, gradient "
          "checkpointing).",
    threshold=0.05, direction="below",
    effect_name="(local - full attention) / full test bits/char, context = 4 windows",
    trials=_lm_trials, judge=judge_20b,
    conditions="char LM, equal steps and parameters", training=True,
)


def judge_21(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: RNN minus transformer test bits/char at equal steps and parameters (supported above 0)."""
    return _lm_compare(df, claim, claim.attn, relative=False)


CLAIM_21 = Claim(
    id="21", short="language modelling: transformers reach better quality",
    quote="with sufficient data, they find better solutions",
    threshold=0.0, direction="above",
    effect_name="LSTM - transformer test bits/char on Shakespeare (equal steps and parameters), t-interval over seeds",
    zone=0.02,  # bits/char: a smaller difference is no meaningful difference here
    trials=_lm_trials, judge=judge_21,
    conditions="char LM", training=True,
)


def _pareto_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    hybrid = ("hybrid", {"stack": f"{claim.rnn}+{claim.attn}"})
    # the same generation trials as claim 13 for the two pure models (shared, measured once, in the same rounds)
    gen = grid("generation", [(claim.rnn, {}), (claim.attn, {}), hybrid], [{"seq_len": 16 + s.tokens}],
               tokens=s.tokens, params=s.params, repeats=s.gen_repeats, rounds=s.gen_rounds)
    gen = [t.model_copy(update={"mode": "cache" if t.model == claim.attn else "state"}) for t in gen]
    lm = _lm_trials(s, claim)
    return lm + gen if lm else []


def _decode_by_round(gen: pd.DataFrame, model: str) -> dict[int, list[float]]:
    """Median decode ms per token of ``model``'s generation trials, per round (the unit of replication)."""
    rows = gen[gen["model"] == model] if "decode_ms_median" in gen else gen.iloc[0:0]
    rounds = rows["spec.round"] if "spec.round" in rows else pd.Series([0] * len(rows), index=rows.index)
    ms = pd.to_numeric(rows.get("decode_ms_median", pd.Series(dtype=float)), errors="coerce")
    return {int(r): [float(v)] for r, v in zip(rounds, ms) if math.isfinite(v)}


def _advantage(ratio: float, ci: tuple[float, float] | None) -> tuple[float, float, float]:
    """(advantage, low, high) of a ratio other / hybrid (> 0: the hybrid is better); no interval: -inf .. inf."""
    lo, hi = (ci[0] - 1, ci[1] - 1) if ci else (-math.inf, math.inf)
    return ratio - 1, lo, hi


def judge_25(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: how far the hybrid is from being dominated: min over the two pure models of the hybrid's best relative
    advantage on (test bits/char, per-token decode time); supported above 0 (on the Pareto front).

    Each advantage has an interval: bits/char ratios over seeds (paired), decode-time ratios over rounds (paired);
    an axis without one (one seed, one round) can neither place the hybrid on the front nor push it off. By
    monotonicity the effect's interval is the same min / max of the axes' bounds: supported when, against each pure
    model, some axis is better beyond doubt; refuted when one pure model is better on both axes beyond doubt."""
    lm = df[df["scenario"] == "train"] if "scenario" in df else df
    gen = df[df["scenario"] == "generation"] if "scenario" in df else df.iloc[0:0]
    models = [claim.rnn, claim.attn, "hybrid"]
    bpc, _, why = _lm_check(lm, claim, models)
    why = why or first_missing(gen, models, ns=(), strict=True)
    ev = [{"model": m, "test bits/char": _mean(bpc.get(m, {})),
           "decode ms/token": float(np.median([x for v in _decode_by_round(ok_rows(gen), m).values() for x in v]
                                              or [math.nan]))} for m in models]
    if why:
        return claim.no_data(df, why, ev)
    gen, h = ok_rows(gen), bpc["hybrid"]
    per_model = []
    for m in (claim.rnn, claim.attn):
        q, q_ci = round_interval([bpc[m][s] / h[s] for s in paired(bpc[m], h)], log=True)
        c, c_ci, _ = paired_round_ratio(_decode_by_round(gen, m), _decode_by_round(gen, "hybrid"))
        axes = [_advantage(q, q_ci), _advantage(c, c_ci)]
        per_model.append((max(a[0] for a in axes), max(a[1] for a in axes), max(a[2] for a in axes)))
    effect, lo, hi = (min(p[i] for p in per_model) for i in range(3))
    ci = (lo, hi) if math.isfinite(lo) or math.isfinite(hi) else None
    return claim.verdict(effect, ci, ev, [*quality_caveats(lm), "bits/char over seeds, decode time over rounds"])


CLAIM_25 = Claim(
    id="25", short="hybrids combine the strengths",
    quote="the best overall system often combines multiple architectural paradigms",
    threshold=0.0, direction="above",
    effect_name="min over LSTM / transformer of the hybrid's best relative advantage (bits/char, decode ms)",
    trials=_pareto_trials, judge=judge_25,
    conditions="char LM + generation", training=True,
)


def _conclusion_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    if not s.lm_steps:
        return []
    return train_step_trials(s, claim) + train_trials(s, [claim.rnn, claim.attn], "char_lm", {"length": s.lm_seq},
                                                 steps=s.lm_steps, seeds=s.lm_seeds)


def judge_26(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: min(RNN / transformer training-step time, RNN / transformer bits/char) over n < 4,000 (supported above
    1: the transformer wins both training time and quality). The time ratio's interval is claim 6's; the bits/char
    ratio's is the t-interval of the per-seed log-ratios (paired); the min's interval is the min of the bounds."""
    steps = df[df["scenario"] == "train_step"] if "scenario" in df else df.iloc[0:0]
    lm = df[df["scenario"] == "train"] if "scenario" in df else df.iloc[0:0]
    speed = judge_6(steps, claim)
    bpc, _, why = _lm_check(lm, claim, [claim.rnn, claim.attn])
    if not why and not math.isfinite(speed.effect):
        why = speed.reason or "missing data: no training-step times"
    r, a = bpc.get(claim.rnn, {}), bpc.get(claim.attn, {})
    q, q_ci = round_interval([r[s] / a[s] for s in paired(r, a)], log=True) if r and a else (math.nan, None)
    ev = [{"training time ratio": speed.effect, "ci": speed.ci},
          {"bits/char ratio": q, "ci": q_ci, claim.rnn: _mean(r), claim.attn: _mean(a), "seeds": len(paired(r, a))}]
    if why:
        return claim.no_data(df, why, ev)
    ci = (min(speed.ci[0], q_ci[0]), min(speed.ci[1], q_ci[1])) if speed.ci and q_ci else None
    return claim.verdict(min(speed.effect, q), ci, ev, [*quality_caveats(lm), "quality at the suite's largest "
                                                        "budget; training time at n = the suite's train lengths"])


CLAIM_26 = Claim(
    id="26", short="conclusion: under ~4,000 tokens with enough data and compute, transformers are the clear choice",
    quote="For applications with sufficient computational resources, training data availability, and sequence lengths "
          "under 4,000 tokens, transformers are the clear choice",
    threshold=1.0, direction="above",
    effect_name="min(LSTM / transformer training-step time, LSTM / transformer bits/char)",
    trials=_conclusion_trials, judge=judge_26,
    conditions="n < 4000", training=True,
)


#: This module's claims (the registry orders every module's claims by id).
CLAIMS: list[Claim] = [CLAIM_19C, CLAIM_20B, CLAIM_21, CLAIM_25, CLAIM_26]
