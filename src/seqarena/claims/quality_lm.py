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
from seqarena.claims.training import ratios_by_n, train_step_trials
from seqarena.claims.verdict import FAILED, Verdict
from seqarena.store.columns import SPEC_BATCH, SPEC_ROUND, SPEC_SEED

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


#: 19c and 20b speak of "long sequences", "beyond 2,000-4,000 tokens": a shorter LM context is not their regime.
LONG_CONTEXT = 2048


def _short_context(df: pd.DataFrame) -> int | None:
    """The LM's context when it is shorter than :data:`LONG_CONTEXT` (the claim is then untested), else None."""
    rows = ok_rows(df)
    if not len(rows) or "spec.task_params.length" not in rows:
        return None
    context = int(pd.to_numeric(rows["spec.task_params.length"], errors="coerce").max())
    return context if context < LONG_CONTEXT else None


def judge_19c(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: relative bits/char gap of linear attention to softmax attention (supported below 0.10), at a context
    of at least :data:`LONG_CONTEXT` tokens (shorter: untested)."""
    if (context := _short_context(df)) is not None:
        return claim.untested(df, f"the LM's context is {context} tokens; the claim speaks of long sequences "
                                  f"(beyond 2,000-4,000 tokens: a context of {LONG_CONTEXT} or more)")
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
    context under 4 windows (local attention would see most of it) or under :data:`LONG_CONTEXT` tokens is not the
    claim's regime."""
    if (context := _short_context(df)) is not None:
        return claim.untested(df, f"the LM's context is {context} tokens; the claim speaks of sequences beyond "
                                  f"2,000-4,000 tokens (a context of {LONG_CONTEXT} or more)")
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


def _val_at(curve: object, wall_s: float, key: str) -> float:
    """The validation ``key`` of a training curve at its last evaluation no later than ``wall_s`` seconds; NaN with
    no curve or no evaluation by then."""
    points = [p for p in curve if p.get("wall_s", math.inf) <= wall_s + 1e-9] if isinstance(curve, list) else []
    return float(points[-1].get(key, math.nan)) if points else math.nan


def _equal_wall_clock(df: pd.DataFrame, rnn: str, attn: str) -> dict[int, float]:
    """Per seed: RNN minus transformer validation bits/char at the wall-clock time the faster of the two finished."""
    rows = {m: {int(r[SPEC_SEED]): r for _, r in model_rows(df, m).iterrows()} for m in (rnn, attn)}
    out = {}
    for seed in sorted(set(rows[rnn]) & set(rows[attn])):
        a, b = rows[rnn][seed], rows[attn][seed]
        t = min(float(a.get("wall_s", math.nan)), float(b.get("wall_s", math.nan)))
        out[seed] = _val_at(a.get("curve"), t, "val_bits_per_char") - _val_at(b.get("curve"), t, "val_bits_per_char")
    return out


def _data_seen(df: pd.DataFrame) -> str:
    """What "sufficient data" means in this run: characters seen in training, from the rows' own settings."""
    rows = ok_rows(df)
    if not len(rows) or not {"steps", SPEC_BATCH, "spec.task_params.length"} <= set(rows):
        return "sufficient data: not recorded"
    seen = int(rows["steps"].max() * rows[SPEC_BATCH].max() * rows["spec.task_params.length"].max())
    split = f" of a {int(rows['task.sizes.train'].max()):,}-sequence training split" if "task.sizes.train" in rows \
        else ""
    return f"'sufficient data' here: {seen:,} training characters seen (steps x batch x context){split}"


def judge_21(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: RNN minus transformer bits/char, the smaller of two comparisons: test bits/char at equal steps and
    parameters, and validation bits/char at equal wall-clock time (when the faster of the two finished; the curves'
    evaluations). Each is a t-interval over seeds, paired; the min's interval is the min of the bounds (supported
    above 0 by more than the zone: the transformer better both ways; refuted when either clearly says otherwise)."""
    steps = _lm_compare(df, claim, claim.attn, relative=False)
    if steps.status == "inconclusive" and not steps.ci:
        return steps
    wall = _equal_wall_clock(ok_rows(df), claim.rnn, claim.attn)
    finite = [v for v in wall.values() if math.isfinite(v)]
    if len(finite) < len(wall) or not finite:
        return claim.no_data(df, "missing data: no training curve at equal wall-clock time for every seed",
                             steps.evidence)
    w, w_ci = t_interval(finite)
    ev = [*steps.evidence, {"comparison": "equal wall-clock (validation bits/char)", "difference": w, "ci": w_ci}]
    effect = min(steps.effect, w)
    ci = (min(steps.ci[0], w_ci[0]), min(steps.ci[1], w_ci[1])) if steps.ci and w_ci else None
    return claim.verdict(effect, ci, ev, [*steps.caveats, _data_seen(df)])


CLAIM_21 = Claim(
    id="21", short="language modelling: transformers reach better quality",
    quote="with sufficient data, they find better solutions",
    threshold=0.0, direction="above",
    effect_name="LSTM - transformer bits/char on Shakespeare: min of equal steps (test) and equal wall-clock "
                "(validation), paired by seed",
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
    rounds = rows[SPEC_ROUND] if SPEC_ROUND in rows else pd.Series([0] * len(rows), index=rows.index)
    ms = pd.to_numeric(rows.get("decode_ms_median", pd.Series(dtype=float)), errors="coerce")
    return {int(r): [float(v)] for r, v in zip(rounds, ms) if math.isfinite(v)}


def _advantage(ratio: float, ci: tuple[float, float] | None) -> tuple[float, float, float]:
    """(advantage, low, high) of a ratio other / hybrid (> 0: the hybrid is better); no interval: -inf .. inf."""
    lo, hi = (ci[0] - 1, ci[1] - 1) if ci else (-math.inf, math.inf)
    return ratio - 1, lo, hi


def judge_25(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: how far the hybrid is from being dominated: min over the two pure models of the hybrid's best relative
    advantage on (test bits/char, per-token decode time); supported above 0.05 (on the Pareto front by more than
    the zone: a 0.1% decode advantage is no strength), and only when the hybrid lies between the pure models (or
    beats both) on each axis: one worse than both on an axis is an extreme of the front, not a combination.

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
    v = claim.verdict(effect, ci, ev, [*quality_caveats(lm), "bits/char over seeds, decode time over rounds"])
    outside = [axis for axis in ("test bits/char", "decode ms/token")
               if ev[2][axis] > (1 + claim.zone) * max(ev[0][axis], ev[1][axis])]
    if v.status == "supported" and outside:  # an extreme of the front, not a combination of strengths
        return claim.no_data(df, f"the hybrid is on the front but worse than both pure models on {outside[0]}: "
                                 "it does not combine their strengths", ev)
    return v


CLAIM_25 = Claim(
    id="25", short="hybrids combine the strengths",
    quote="the best overall system often combines multiple architectural paradigms",
    threshold=0.0, direction="above",
    effect_name="min over LSTM / transformer of the hybrid's best relative advantage (bits/char, decode ms)",
    zone=0.05,  # a relative advantage under 5% is no meaningful difference
    trials=_pareto_trials, judge=judge_25,
    conditions="char LM + generation", training=True,
)


#: 26 speaks of "sequence lengths under 4,000 tokens": its training times must reach half of that at least.
CONCLUSION_N = 4000


def _conclusion_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    if not s.lm_steps:
        return []
    return (train_step_trials(s, claim, s.conclusion_lens)
            + train_trials(s, [claim.rnn, claim.attn], "char_lm", {"length": s.lm_seq}, steps=s.lm_steps,
                           seeds=s.lm_seeds))


def judge_26(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: min(RNN / transformer training-step time at each n up to ~4,000, RNN / transformer bits/char)
    (supported above 1.05: the transformer wins both training time at every length and quality; zone 5%).

    Each n's time ratio is paired per round (t-interval over rounds); the bits/char ratio's interval is the
    t-interval of the per-seed log-ratios (paired); the min's interval is the min of the bounds (it covers the min
    whenever every interval covers its own). Times that stop short of 2,000 tokens: "not tested up to 4,000"."""
    steps = df[df["scenario"] == "train_step"] if "scenario" in df else df.iloc[0:0]
    lm = df[df["scenario"] == "train"] if "scenario" in df else df.iloc[0:0]
    ns = sorted({int(n) for n in steps["seq_len"] if n <= CONCLUSION_N}) if len(steps) and "seq_len" in steps else []
    bpc, _, why = _lm_check(lm, claim, [claim.rnn, claim.attn])
    why = why or (first_missing(steps, [claim.rnn, claim.attn], ns) if ns else "missing data: no training-step "
                                                                                "times")
    speed = ratios_by_n(steps, claim.rnn, claim.attn, ns) if not why else []
    r, a = bpc.get(claim.rnn, {}), bpc.get(claim.attn, {})
    q, q_ci = round_interval([r[s] / a[s] for s in paired(r, a)], log=True) if r and a else (math.nan, None)
    ev = [*({"n": p["n"], "training time ratio": p["ratio"], "ci": p["ci"]} for p in speed),
          {"bits/char ratio": q, "ci": q_ci, claim.rnn: _mean(r), claim.attn: _mean(a), "seeds": len(paired(r, a))}]
    if why:
        return claim.no_data(df, why, ev)
    if ns[-1] < CONCLUSION_N // 2:
        return claim.untested(df, f"training times measured up to n = {ns[-1]}; the claim speaks of sequence "
                                  f"lengths under {CONCLUSION_N:,} (not tested up to {CONCLUSION_N:,})", ev)
    cis = [p["ci"] for p in speed] + [q_ci]
    effect = min([p["ratio"] for p in speed] + [q])
    ci = (min(c[0] for c in cis), min(c[1] for c in cis)) if all(cis) else None
    return claim.verdict(effect, ci, ev, [*quality_caveats(lm), f"training time at n = {', '.join(map(str, ns))} "
                                          "(batch and parameters equal); quality at the suite's largest budget"])


CLAIM_26 = Claim(
    id="26", short="conclusion: under ~4,000 tokens with enough data and compute, transformers are the clear choice",
    quote="For applications with sufficient computational resources, training data availability, and sequence lengths "
          "under 4,000 tokens, transformers are the clear choice",
    threshold=1.0, direction="above",
    effect_name="min(LSTM / transformer training-step time at each n up to ~4,000, LSTM / transformer bits/char)",
    zone=0.05,  # +-5% of a time or bits/char ratio: no meaningful difference
    trials=_conclusion_trials, judge=judge_26,
    conditions="n < 4000", training=True,
)


#: This module's claims (the registry orders every module's claims by id).
CLAIMS: list[Claim] = [CLAIM_19C, CLAIM_20B, CLAIM_21, CLAIM_25, CLAIM_26]
