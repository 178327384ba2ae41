"""Inference claims: latency scaling (2a, 2b), latency by sequence length (10, 11, 12), generation (13a-c, 13e),
batching (14) and streaming (23). Judged from per-call timing samples, so every ratio has a bootstrap interval."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from seqarena.analysis.scaling import fit_loglog
from seqarena.analysis.stats import geometric_mean_ratio_ci, median_ratio_ci
from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import Claim, caveats, ok_rows, samples
from seqarena.claims.suites import FULL, Suite
from seqarena.claims.verdict import Verdict
from seqarena.run.sweep import expand


def _latency_trials(lengths: Callable[[Suite], Sequence[int]]) -> Callable[[Suite, Claim], list[TrialSpec]]:
    """Batch-1 forward latency of both roles at the suite's ``lengths(suite)``."""

    def trials(s: Suite, claim: Claim) -> list[TrialSpec]:
        return expand("forward_latency", [claim.rnn, claim.attn], seq_lens=lengths(s), batch=1,
                      params=s.params, repeats=s.repeats, min_seconds=s.min_seconds, rounds=s.rounds)

    return trials


def _ratio_over(df: pd.DataFrame, claim: Claim, lengths: list[int]
                ) -> tuple[float, tuple[float, float] | None, list[dict]]:
    pairs, evidence = [], []
    for n in lengths:
        a, b = samples(df, claim.rnn, n), samples(df, claim.attn, n)
        if a and b:
            pairs.append((a, b))
            r, ci = median_ratio_ci(a, b)
            evidence.append({"n": n, f"{claim.rnn} ms": 1e3 * float(np.median(a)),
                             f"{claim.attn} ms": 1e3 * float(np.median(b)), "ratio": r, "ci": ci,
                             "calls": (len(a), len(b))})
    if not pairs:
        return math.nan, None, evidence
    effect, ci = geometric_mean_ratio_ci(pairs)
    return effect, ci, evidence


def _judge_range(band: Sequence[int]) -> Callable[[pd.DataFrame, Claim], Verdict]:
    """Effect: RNN / transformer latency, geometric mean over the measured n inside ``band`` (the full suite's band:
    a quick run's lengths are a subset of it)."""

    def judge(df: pd.DataFrame, claim: Claim) -> Verdict:
        lengths = sorted(set(df["seq_len"]) & set(band)) if len(df) else []
        effect, ci, ev = _ratio_over(df, claim, lengths)
        if not ev:
            return claim.no_data(df)
        return claim.verdict(effect, ci, ev, caveats(df))

    return judge


CLAIM_10 = Claim(
    id="10", short="< 100 tokens: RNN inference latency is lower",
    quote="For short sequences (< 100 tokens), RNN inference can be competitive with or faster than transformers.",
    threshold=1.0, direction="below",
    effect_name="LSTM / transformer batch-1 latency (geometric mean over n = 16, 32, 64)",
    trials=_latency_trials(lambda s: s.short), judge=_judge_range(FULL.short),
    conditions="n < 100, batch 1", adaptive=True,
)


CLAIM_11 = Claim(
    id="11", short="100-1,000 tokens: transformers have lower latency",
    quote="At medium lengths (100-1,000 tokens), transformers typically achieve lower latency.",
    threshold=1.0, direction="above",
    effect_name="LSTM / transformer batch-1 latency (geometric mean over n = 128 ... 1024)",
    trials=_latency_trials(lambda s: s.medium), judge=_judge_range(FULL.medium),
    conditions="100 <= n <= 1000, batch 1", adaptive=True,
)


def judge_long(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: RNN / transformer latency at the longest n (supported below 1), with both slopes as evidence."""
    ok = ok_rows(df, batch=1)
    top = int(ok["seq_len"].max()) if len(ok) else 0
    a, b = samples(ok, claim.rnn, top), samples(ok, claim.attn, top)
    if not a or not b:
        return claim.no_data(df)
    effect, ci = median_ratio_ci(a, b)
    evidence: list[dict] = [{"n": top, "ratio": effect, "ci": ci}]
    for model in (claim.rnn, claim.attn):
        g = ok[ok["model"] == model]
        fit = fit_loglog(g["seq_len"], g["latency_s"], large_fraction=1.0)
        if fit is not None:
            evidence.append({"model": model, "slope": fit.slope, "slope_ci": (fit.ci_low, fit.ci_high)})
    return claim.verdict(effect, ci, evidence, caveats(df))


CLAIM_12 = Claim(
    id="12", short="> 1,000 tokens: attention cost is severe, RNNs scale gracefully",
    quote="For very long sequences (> 1,000 tokens), the quadratic complexity of standard transformers creates severe "
          "inference challenges. ... RNNs handle these gracefully",
    threshold=1.0, direction="below",
    effect_name="LSTM / transformer batch-1 latency at the longest n measured",
    trials=_latency_trials(lambda s: s.long), judge=judge_long,
    conditions="n > 1000, batch 1", adaptive=True,
)


def _slope(df: pd.DataFrame, model: str) -> tuple[float, tuple[float, float], list[dict]]:
    """Log-log slope of batch-1 latency vs n (per-round medians as repeats) over the longest lengths measured."""
    ok = ok_rows(df, batch=1, model=model)
    fit = fit_loglog(ok["seq_len"], ok["latency_s"]) if len(ok) else None
    if fit is None:
        return math.nan, (math.nan, math.nan), []
    return fit.slope, (fit.ci_low, fit.ci_high), [{"model": model, "slope": fit.slope, "n_range": fit.n_range,
                                                   "points": fit.points}]


def judge_2a(df: pd.DataFrame, claim: Claim) -> Verdict:
    slope, ci, ev = _slope(df, claim.attn)
    if not ev:
        return claim.no_data(df)
    return claim.verdict(slope, ci, ev, [*caveats(df), "SDPA's fused CPU kernel; fitted over the larger n"])


CLAIM_2A = Claim(
    id="2a", short="attention time grows as O(n^2)",
    quote="the quadratic complexity of standard transformers creates severe inference challenges",
    threshold=1.6, direction="above",
    effect_name="log-log slope of transformer batch-1 latency vs n (larger half of n = 1k ... 4k)",
    trials=_latency_trials(lambda s: s.long), judge=judge_2a,
    conditions="large n", adaptive=True,
)


def abs_dev_interval(lo: float, hi: float, centre: float) -> tuple[float, float]:
    """The interval of |x - centre| when x lies in [lo, hi]."""
    worst = max(abs(lo - centre), abs(hi - centre))
    best = 0.0 if lo <= centre <= hi else min(abs(lo - centre), abs(hi - centre))
    return best, worst


def judge_2b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: |slope - 1| for the RNN (supported below 0.2); its interval from the slope's."""
    slope, (lo, hi), ev = _slope(df, claim.rnn)
    if not ev:
        return claim.no_data(df)
    return claim.verdict(abs(slope - 1), abs_dev_interval(lo, hi, 1.0), ev, caveats(df))


CLAIM_2B = Claim(
    id="2b", short="recurrence time grows as O(n)",
    quote="RNNs handle these gracefully—each additional token requires the same computational cost",
    threshold=0.2, direction="below",
    effect_name="|log-log slope of LSTM batch-1 latency vs n - 1|",
    trials=_latency_trials(lambda s: s.long), judge=judge_2b,
    conditions="large n", adaptive=True,
)


# -- generation ----------------------------------------------------------------------------------------------------

def _generation_trials(*roles_modes: tuple[str, str]) -> Callable[[Suite, Claim], list[TrialSpec]]:
    """Generation trials of the given (role, mode) pairs only, so adaptive repetition re-runs just what the claim
    reads (recomputing is the expensive mode)."""

    def trials(s: Suite, claim: Claim) -> list[TrialSpec]:
        wanted = {(claim.rnn if role == "rnn" else claim.attn, mode) for role, mode in roles_modes}
        every = expand("generation", [claim.rnn, claim.attn], tokens=s.tokens, params=s.params,
                       repeats=s.gen_repeats, rounds=s.gen_rounds)
        return [t for t in every if (t.model, t.mode) in wanted]

    return trials


def _decode_samples(df: pd.DataFrame, model: str, mode: str) -> dict[int, list[float]]:
    """Single-token decode times (ms) per sampled position, pooled over rounds."""
    out: dict[int, list[float]] = {}
    for cell in ok_rows(df, model=model, mode=mode).get("decode_samples_by_position", []):
        if isinstance(cell, dict):
            for k, v in cell.items():
                out.setdefault(int(k), []).extend(v)
    return out


def _early_late(decode: dict[int, Any]) -> tuple[int, int] | None:
    if len(decode) < 2:
        return None
    positions = sorted(decode)
    late = 1024 if 1024 in decode else positions[-1]
    return positions[0], late


def _ms(x: list[float]) -> float:
    return float(np.median(x))


def judge_13a(df: pd.DataFrame, claim: Claim) -> Verdict:
    """|per-token time at the late position / early position - 1| (supported below 0.10), bootstrap interval."""
    d = _decode_samples(df, claim.rnn, "state")
    pos = _early_late(d)
    if pos is None:
        return claim.no_data(df)
    r, (lo, hi) = median_ratio_ci(d[pos[1]], d[pos[0]])
    return claim.verdict(abs(r - 1), abs_dev_interval(lo, hi, 1.0),
                         [{"model": claim.rnn, "positions": pos, "ms": (_ms(d[pos[0]]), _ms(d[pos[1]])),
                           "ratio": r, "ci": (lo, hi)}], caveats(df))


CLAIM_13A = Claim(
    id="13a", short="generation: RNN per-step cost is constant",
    quote="Each step has constant cost regardless of sequence length.",
    threshold=0.10, direction="below",
    effect_name="|LSTM per-token time at position 1024 / at the first sampled position - 1|",
    trials=_generation_trials(("rnn", "state")), judge=judge_13a,
    conditions="batch 1", adaptive=True,
)


def judge_13b(df: pd.DataFrame, claim: Claim) -> Verdict:
    d = _decode_samples(df, claim.attn, "recompute")
    pos = _early_late(d)
    if pos is None:
        return claim.no_data(df)
    r, ci = median_ratio_ci(d[pos[1]], d[pos[0]])
    return claim.verdict(r, ci, [{"positions": pos, "ms": (_ms(d[pos[0]]), _ms(d[pos[1]]))}], caveats(df))


CLAIM_13B = Claim(
    id="13b", short="generation without a cache: per-step cost grows",
    quote="Transformers must attend to all previously generated tokens at each generation step.",
    threshold=3.0, direction="above",
    effect_name="transformer (recompute) per-token time at 1024 / at the first sampled position",
    trials=_generation_trials(("attn", "recompute")), judge=judge_13b,
    conditions="batch 1", adaptive=True,
)


def _late_ratio(df: pd.DataFrame, claim: Claim, num: tuple[str, str, str], den: tuple[str, str, str]) -> Verdict:
    """Effect: per-token time of ``num`` / ``den`` (each (model, mode, evidence label)) at the late position the
    cached transformer sampled, with a bootstrap interval."""
    top, bottom = _decode_samples(df, num[0], num[1]), _decode_samples(df, den[0], den[1])
    cache = top if num[:2] == (claim.attn, "cache") else bottom
    pos = _early_late(cache)
    if pos is None or pos[1] not in top or pos[1] not in bottom:
        return claim.no_data(df)
    p = pos[1]
    r, ci = median_ratio_ci(top[p], bottom[p])
    return claim.verdict(r, ci, [{"position": p, num[2]: _ms(top[p]), den[2]: _ms(bottom[p])}], caveats(df))


def judge_13c(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: cached / recomputing transformer per-token time at position 1024 (supported below 1)."""
    return _late_ratio(df, claim, (claim.attn, "cache", "cache ms"), (claim.attn, "recompute", "recompute ms"))


CLAIM_13C = Claim(
    id="13c", short="a KV cache helps",
    quote="KV caching partially mitigates this by storing key and value vectors from previous tokens, avoiding "
          "recomputation.",
    threshold=1.0, direction="below",
    effect_name="per-token time with the cache / recomputing, at position 1024",
    trials=_generation_trials(("attn", "cache"), ("attn", "recompute")), judge=judge_13c,
    conditions="batch 1", adaptive=True,
)


def judge_13e(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: RNN / cached transformer per-token time at position 1024 (supported below 1)."""
    return _late_ratio(df, claim, (claim.rnn, "state", f"{claim.rnn} ms"), (claim.attn, "cache", "cache ms"))


CLAIM_13E = Claim(
    id="13e", short="for 1,000+ generated tokens RNNs are attractive",
    quote="For very long generation (1,000+ tokens), RNNs\u2019 constant-per-step cost becomes attractive.",
    threshold=1.0, direction="below",
    effect_name="LSTM / cached transformer per-token time at position 1024",
    trials=_generation_trials(("rnn", "state"), ("attn", "cache")), judge=judge_13e,
    conditions="batch 1, position >= 1000", adaptive=True,
)


def judge_23a(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Log-log slope of the RNN's per-step decode time vs position (supported below 0.1)."""
    d = _decode_samples(df, claim.rnn, "state")
    if len(d) < 4:
        return claim.no_data(df)
    positions = sorted(d)
    fit = fit_loglog(positions, [_ms(d[p]) for p in positions], large_fraction=1.0)
    if fit is None:
        return claim.no_data(df)
    ci = abs_dev_interval(fit.ci_low, fit.ci_high, 0.0)
    return claim.verdict(abs(fit.slope), ci, [{"model": claim.rnn, "slope": fit.slope,
                                               "slope_ci": (fit.ci_low, fit.ci_high), "positions": fit.n_range}],
                         caveats(df))


CLAIM_23A = Claim(
    id="23a", short="streaming: RNN per-step cost stays constant",
    quote="streaming applications requiring constant per-step computation",
    threshold=0.1, direction="below",
    effect_name="|log-log slope of the LSTM's per-step decode time vs position|",
    trials=_generation_trials(("rnn", "state")), judge=judge_23a,
    conditions="batch 1, streaming", adaptive=True,
)


def judge_23b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """RNN p99/p50 of single decode steps over the cached transformer's (supported at most 1); the interval is the
    range over rounds."""
    rnn = ok_rows(df, model=claim.rnn, mode="state").get("step_p99_over_p50", pd.Series(dtype=float)).dropna()
    attn = ok_rows(df, model=claim.attn, mode="cache").get("step_p99_over_p50", pd.Series(dtype=float)).dropna()
    if not len(rnn) or not len(attn):
        return claim.no_data(df)
    effect = float(rnn.median() / attn.median())
    ci = (float(rnn.min() / attn.max()), float(rnn.max() / attn.min())) if min(len(rnn), len(attn)) > 1 else None
    ev = [{"model": claim.rnn, "p99/p50": float(rnn.median())}, {"model": f"{claim.attn} (cache)",
                                                                 "p99/p50": float(attn.median())}]
    return claim.verdict(effect, ci, ev, [*caveats(df), "interval: range over rounds; single steps, batch 1"])


CLAIM_23B = Claim(
    id="23b", short="streaming: RNN steps jitter less",
    quote="However, real-time speech synthesis often uses RNN-based components or hybrid architectures.",
    threshold=1.0, direction="below",
    effect_name="LSTM p99/p50 of single decode steps / the cached transformer's",
    trials=_generation_trials(("rnn", "state"), ("attn", "cache")), judge=judge_23b,
    conditions="batch 1, streaming", adaptive=True,
)


# -- batching ------------------------------------------------------------------------------------------------------

def _throughput_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    return expand("throughput", [claim.rnn, claim.attn], seq_lens=[256], batches=[1, 32], params=s.params,
                  repeats=s.repeats, min_seconds=s.min_seconds, rounds=s.rounds)


def judge_14(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: the transformer's time(B=32) / time(B=1) (supported at most 8, and below the RNN's)."""
    out = {}
    for model in (claim.rnn, claim.attn):
        b1, b32 = samples(df, model, 256, 1), samples(df, model, 256, 32)
        if b1 and b32:
            out[model] = median_ratio_ci(b32, b1)
    if claim.attn not in out:
        return claim.no_data(df)
    effect, ci = out[claim.attn]
    evidence = [{"model": m, "time(32)/time(1)": r, "ci": c} for m, (r, c) in out.items()]
    verdict = claim.verdict(effect, ci, evidence, caveats(df))
    if verdict.status == "supported" and (claim.rnn not in out or out[claim.rnn][1][0] <= ci[1]):
        verdict.status = "inconclusive"  # the second part: clearly below the RNN's ratio
        verdict.caveats.append("the transformer's batching ratio is not clearly below the RNN's")
    return verdict


CLAIM_14 = Claim(
    id="14", short="batching: 32 sequences cost nearly as little as one for transformers",
    quote="Processing 32 sequences of 256 tokens each is nearly as fast as processing one sequence",
    threshold=8.0, direction="below",
    effect_name="transformer time(B=32) / time(B=1) at n = 256 (and below the LSTM's)",
    trials=_throughput_trials, judge=judge_14,
    conditions="n = 256", adaptive=True,
)

#: This module's claims (the registry orders every module's claims by id).
CLAIMS: list[Claim] = [CLAIM_2A, CLAIM_2B, CLAIM_10, CLAIM_11, CLAIM_12, CLAIM_13A, CLAIM_13B, CLAIM_13C, CLAIM_13E,
    CLAIM_14, CLAIM_23A, CLAIM_23B]
