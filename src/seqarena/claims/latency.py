"""Inference claims: latency scaling (2a, 2b), latency by sequence length (10, 11, 12), generation (13a-c, 13e),
batching (14) and streaming (23). Judged from per-call timing samples, so every ratio has a bootstrap interval."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from seqarena.analysis.scaling import fit_loglog
from seqarena.analysis.stats import geometric_mean_ratio_ci, median_ratio_ci
from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import SUITES, Claim, caveats, ok_rows, samples
from seqarena.claims.verdict import Verdict
from seqarena.run.sweep import expand


def _latency_trials(lengths_key: str) -> Callable[[dict[str, Any], Claim], list[TrialSpec]]:
    def trials(s: dict[str, Any], claim: Claim) -> list[TrialSpec]:
        return expand("forward_latency", [claim.rnn, claim.attn], seq_lens=s[lengths_key], batch=1,
                      params=s["params"], repeats=s["repeats"], min_seconds=s["min_seconds"], rounds=s["rounds"])

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


def _judge_range(range_key: str) -> Callable[[pd.DataFrame, Claim], Verdict]:
    def judge(df: pd.DataFrame, claim: Claim) -> Verdict:
        lengths = sorted(set(df["seq_len"]) & set(SUITES["full"][range_key])) if len(df) else []
        effect, ci, ev = _ratio_over(df, claim, lengths)
        if not ev:
            return claim.no_data(df)
        return claim.verdict(effect, ci, ev, caveats(df))

    return judge


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


# -- generation ----------------------------------------------------------------------------------------------------

def _generation_trials(*roles_modes: tuple[str, str]) -> Callable[[dict[str, Any], Claim], list[TrialSpec]]:
    """Generation trials of the given (role, mode) pairs only, so adaptive repetition re-runs just what the claim
    reads (recomputing is the expensive mode)."""

    def trials(s: dict[str, Any], claim: Claim) -> list[TrialSpec]:
        wanted = {(claim.rnn if role == "rnn" else claim.attn, mode) for role, mode in roles_modes}
        every = expand("generation", [claim.rnn, claim.attn], tokens=s["tokens"], params=s["params"],
                       repeats=s["gen_repeats"], rounds=s["gen_rounds"])
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


def judge_13b(df: pd.DataFrame, claim: Claim) -> Verdict:
    d = _decode_samples(df, claim.attn, "recompute")
    pos = _early_late(d)
    if pos is None:
        return claim.no_data(df)
    r, ci = median_ratio_ci(d[pos[1]], d[pos[0]])
    return claim.verdict(r, ci, [{"positions": pos, "ms": (_ms(d[pos[0]]), _ms(d[pos[1]]))}], caveats(df))


def judge_13c(df: pd.DataFrame, claim: Claim) -> Verdict:
    cache, recompute = _decode_samples(df, claim.attn, "cache"), _decode_samples(df, claim.attn, "recompute")
    pos = _early_late(cache)
    if pos is None or pos[1] not in recompute:
        return claim.no_data(df)
    p = pos[1]
    r, ci = median_ratio_ci(cache[p], recompute[p])
    return claim.verdict(r, ci, [{"position": p, "cache ms": _ms(cache[p]), "recompute ms": _ms(recompute[p])}],
                         caveats(df))


def judge_13e(df: pd.DataFrame, claim: Claim) -> Verdict:
    rnn, cache = _decode_samples(df, claim.rnn, "state"), _decode_samples(df, claim.attn, "cache")
    pos = _early_late(cache)
    if pos is None or pos[1] not in rnn:
        return claim.no_data(df)
    p = pos[1]
    r, ci = median_ratio_ci(rnn[p], cache[p])
    return claim.verdict(r, ci, [{"position": p, f"{claim.rnn} ms": _ms(rnn[p]), "cache ms": _ms(cache[p])}],
                         caveats(df))


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


# -- batching ------------------------------------------------------------------------------------------------------

def _throughput_trials(s: dict[str, Any], claim: Claim) -> list[TrialSpec]:
    return expand("throughput", [claim.rnn, claim.attn], seq_lens=[256], batches=[1, 32], params=s["params"],
                  repeats=s["repeats"], min_seconds=s["min_seconds"], rounds=s["rounds"])


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


CLAIMS: list[Claim] = [
    Claim("2a", "attention time grows as O(n^2)",
          "the quadratic complexity of standard transformers creates severe inference challenges",
          1.6, "above", "log-log slope of transformer batch-1 latency vs n (larger half of n = 1k ... 4k)",
          _latency_trials("long"), judge_2a, "large n", adaptive=True),
    Claim("2b", "recurrence time grows as O(n)",
          "RNNs handle these gracefully—each additional token requires the same computational cost",
          0.2, "below", "|log-log slope of LSTM batch-1 latency vs n - 1|",
          _latency_trials("long"), judge_2b, "large n", adaptive=True),
    Claim("10", "< 100 tokens: RNN inference latency is lower",
          "For short sequences (< 100 tokens), RNN inference can be competitive with or faster than transformers.",
          1.0, "below", "LSTM / transformer batch-1 latency (geometric mean over n = 16, 32, 64)",
          _latency_trials("short"), _judge_range("short"), "n < 100, batch 1", adaptive=True),
    Claim("11", "100-1,000 tokens: transformers have lower latency",
          "At medium lengths (100-1,000 tokens), transformers typically achieve lower latency.",
          1.0, "above", "LSTM / transformer batch-1 latency (geometric mean over n = 128 ... 1024)",
          _latency_trials("medium"), _judge_range("medium"), "100 <= n <= 1000, batch 1", adaptive=True),
    Claim("12", "> 1,000 tokens: attention cost is severe, RNNs scale gracefully",
          "For very long sequences (> 1,000 tokens), the quadratic complexity of standard transformers creates severe "
          "inference challenges. ... RNNs handle these gracefully",
          1.0, "below", "LSTM / transformer batch-1 latency at the longest n measured",
          _latency_trials("long"), judge_long, "n > 1000, batch 1", adaptive=True),
    Claim("13a", "generation: RNN per-step cost is constant",
          "Each step has constant cost regardless of sequence length.",
          0.10, "below", "|LSTM per-token time at position 1024 / at the first sampled position - 1|",
          _generation_trials(("rnn", "state")), judge_13a, "batch 1", adaptive=True),
    Claim("13b", "generation without a cache: per-step cost grows",
          "Transformers must attend to all previously generated tokens at each generation step.",
          3.0, "above", "transformer (recompute) per-token time at 1024 / at the first sampled position",
          _generation_trials(("attn", "recompute")), judge_13b, "batch 1", adaptive=True),
    Claim("13c", "a KV cache helps",
          "KV caching partially mitigates this by storing key and value vectors from previous tokens, avoiding "
          "recomputation.",
          1.0, "below", "per-token time with the cache / recomputing, at position 1024",
          _generation_trials(("attn", "cache"), ("attn", "recompute")), judge_13c, "batch 1", adaptive=True),
    Claim("13e", "for 1,000+ generated tokens RNNs are attractive",
          "For very long generation (1,000+ tokens), RNNs\u2019 constant-per-step cost becomes attractive.",
          1.0, "below", "LSTM / cached transformer per-token time at position 1024",
          _generation_trials(("rnn", "state"), ("attn", "cache")), judge_13e, "batch 1, position >= 1000",
          adaptive=True),
    Claim("14", "batching: 32 sequences cost nearly as little as one for transformers",
          "Processing 32 sequences of 256 tokens each is nearly as fast as processing one sequence",
          8.0, "below", "transformer time(B=32) / time(B=1) at n = 256 (and below the LSTM's)",
          _throughput_trials, judge_14, "n = 256", adaptive=True),
    Claim("23a", "streaming: RNN per-step cost stays constant",
          "streaming applications requiring constant per-step computation",
          0.1, "below", "|log-log slope of the LSTM's per-step decode time vs position|",
          _generation_trials(("rnn", "state")), judge_23a, "batch 1, streaming", adaptive=True),
    Claim("23b", "streaming: RNN steps jitter less",
          "However, real-time speech synthesis often uses RNN-based components or hybrid architectures.",
          1.0, "below", "LSTM p99/p50 of single decode steps / the cached transformer's",
          _generation_trials(("rnn", "state"), ("attn", "cache")), judge_23b, "batch 1, streaming", adaptive=True),
]
