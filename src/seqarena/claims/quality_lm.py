"""Quality claims on character language modelling (Shakespeare): efficient attentions' quality (19c, 20b), RNN vs
transformer (21), hybrids on the quality / decode-time Pareto front (25) and the essay's conclusion (26). The rules
every quality claim follows are in :mod:`seqarena.claims.quality`.
"""

from __future__ import annotations

import math

import pandas as pd

from seqarena.analysis.stats import t_interval
from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import Claim, grid, ok_rows
from seqarena.claims.quality import baseline_of, learned, model_rows, quality_caveats, scores, train_trials
from seqarena.claims.suites import Suite
from seqarena.claims.training import judge_6, train_step_trials
from seqarena.claims.verdict import Verdict

NOT_LEARNED = "did not learn: a model does not beat the trigram"


# -- 19c, 20b, 21, 25, 26: language modelling ----------------------------------------------------------------------

def _lm_models(s: Suite, claim: Claim) -> list:
    return [claim.rnn, claim.attn, "linear_attention", ("local", {"window": s.lm_seq // 4}),
            ("hybrid", {"stack": f"{claim.rnn}+{claim.attn}"})]


def _lm_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    return train_trials(s, _lm_models(s, claim), "char_lm", {"length": s.lm_seq}, steps=s.lm_steps)


def _bpc(df: pd.DataFrame, model: str) -> tuple[float, tuple[float, float] | None, int]:
    vals = scores(model_rows(df, model))
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
    cav = quality_caveats(df)
    if not (learned(m, base, "bits_per_char") and learned(ref, base, "bits_per_char")):
        return claim.verdict(math.nan, None, ev, [*cav, "did not learn: a model does not beat the trigram baseline "
                                                        "by 5%"])
    if relative:  # (model - softmax) / softmax
        ci = ((m_ci[0] - ref) / ref, (m_ci[1] - ref) / ref) if m_ci else None
        return claim.verdict((m - ref) / ref, ci, ev, cav)
    rnn_vals = scores(model_rows(ok, claim.rnn))
    attn_vals = scores(model_rows(ok, claim.attn))
    diff, ci = t_interval([r - a for r, a in zip(rnn_vals, attn_vals)])
    return claim.verdict(diff, ci, ev, cav)


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


def judge_20b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: relative bits/char gap of local attention (window = context / 4) to full attention (below 0.05)."""
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
    effect_name="LSTM - transformer test bits/char on Shakespeare (equal steps and parameters)",
    trials=_lm_trials, judge=judge_21,
    conditions="char LM", training=True,
)


def _pareto_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    hybrid = ("hybrid", {"stack": f"{claim.rnn}+{claim.attn}"})
    # the same generation trials as claim 13 for the two pure models (shared, measured once)
    gen = grid("generation", [(claim.rnn, {}), (claim.attn, {}), hybrid], [{"seq_len": 16 + s.tokens}],
               tokens=s.tokens, params=s.params, repeats=s.gen_repeats)
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
        return claim.verdict(math.nan, None, ev, [*quality_caveats(lm), "missing quality or decode measurements"])
    base = baseline_of(ok_rows(lm), "bits_per_char")
    if not all(learned(b, base, "bits_per_char") for b, _ in points.values()):
        return claim.verdict(math.nan, None, ev, [*quality_caveats(lm), NOT_LEARNED])
    hb, hc = points["hybrid"]
    effect = min(max(b / hb - 1, c / hc - 1) for m, (b, c) in points.items() if m != "hybrid")
    return claim.verdict(effect, None, ev, [*quality_caveats(lm), "point estimate"])


CLAIM_25 = Claim(
    id="25", short="hybrids combine the strengths",
    quote="the best overall system often combines multiple architectural paradigms",
    threshold=0.0, direction="above",
    effect_name="min over LSTM / transformer of the hybrid's best relative advantage (bits/char, decode ms)",
    trials=_pareto_trials, judge=judge_25,
    conditions="char LM + generation", training=True,
)


def _conclusion_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    return train_step_trials(s, claim) + train_trials(s, [claim.rnn, claim.attn], "char_lm", {"length": s.lm_seq},
                                                 steps=s.lm_steps)


def judge_26(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: min(RNN / transformer training-step time, RNN / transformer bits/char) over n < 4,000 (supported above
    1: the transformer wins both training time and quality)."""
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
        return claim.verdict(math.nan, None, ev, [*quality_caveats(lm), NOT_LEARNED])
    effect = min(speed.effect, r / a)
    lo = min(speed.ci[0], r / a) if speed.ci else None
    return claim.verdict(effect, (lo, effect) if lo is not None else None, ev,
                         [*quality_caveats(lm), "quality at the suite's largest budget only (point estimate)"])


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
