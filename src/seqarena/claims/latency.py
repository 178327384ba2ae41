"""Inference claims of the essay: latency by sequence length (10, 11, 12), generation (13a-c, 13e) and batching (14).

Each claim lists the harness trials it needs (``trials``) and judges a DataFrame of their stored results (``judge``),
so a claim can be re-judged from the store and tested on synthetic tables. "RNN" is the LSTM, "transformer" the
decoder-only transformer, both at the same parameter budget, dtype, threads and batch.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from seqarena.analysis.scaling import fit_loglog
from seqarena.bench.spec import TrialSpec
from seqarena.claims.verdict import Verdict, decide, geometric_mean_ratio_ci, median_ratio_ci
from seqarena.run.sweep import expand

RNN, ATTN = "lstm", "transformer"

#: Sizes of each suite: quick fits `make run`; full gives the robust verdicts.
SUITES: dict[str, dict[str, Any]] = {
    "quick": {"params": 1_000_000, "repeats": 10, "min_seconds": 0.3, "rounds": 2, "tokens": 1024,
              "short": (16, 32, 64), "medium": (128, 256, 512, 1024), "long": (1024, 2048, 4096)},
    "full": {"params": 1_000_000, "repeats": 30, "min_seconds": 1.0, "rounds": 3, "tokens": 2048,
             "short": (16, 32, 64), "medium": (128, 256, 512, 1024), "long": (1024, 2048, 4096, 8192, 16384)},
}

GPU_CAVEAT = "the essay speaks of GPUs; measured here on {device}"


@dataclasses.dataclass
class Claim:
    """One claim: the essay's words, what it needs measured, and the predicate that judges the measurements."""

    id: str
    short: str
    quote: str
    threshold: float
    direction: str  # the effect must be "above" / "below" the threshold
    effect_name: str
    trials: Callable[[str], list[TrialSpec]]
    judge: Callable[[pd.DataFrame, Claim], Verdict]
    conditions: str = ""

    def verdict(self, effect: float, ci: tuple[float, float] | None, evidence: list[dict], caveats: list[str]
                ) -> Verdict:
        return Verdict(self.id, decide(ci, effect, self.threshold, self.direction), effect, ci, self.threshold,
                       self.direction, self.effect_name, evidence, caveats)


def _latency_trials(lengths_key: str, batch: int = 1) -> Callable[[str], list[TrialSpec]]:
    def trials(suite: str) -> list[TrialSpec]:
        s = SUITES[suite]
        return expand("forward_latency", [RNN, ATTN], seq_lens=s[lengths_key], batch=batch, params=s["params"],
                      repeats=s["repeats"], min_seconds=s["min_seconds"], rounds=s["rounds"])

    return trials


def _samples(df: pd.DataFrame, model: str, n: int, batch: int = 1) -> list[float]:
    rows = df[(df["model"] == model) & (df["seq_len"] == n) & (df["batch"] == batch) & (df["status"] == "ok")]
    return [x for s in rows["time.samples"] for x in s]


def _ratio_over(df: pd.DataFrame, lengths: list[int]) -> tuple[float, tuple[float, float], list[dict]]:
    pairs, evidence = [], []
    for n in lengths:
        a, b = _samples(df, RNN, n), _samples(df, ATTN, n)
        if a and b:
            pairs.append((a, b))
            r, ci = median_ratio_ci(a, b)
            evidence.append({"n": n, f"{RNN} ms": 1e3 * float(np.median(a)), f"{ATTN} ms": 1e3 * float(np.median(b)),
                             "ratio": r, "ci": ci, "calls": (len(a), len(b))})
    if not pairs:
        return math.nan, (math.nan, math.nan), evidence
    effect, ci = geometric_mean_ratio_ci(pairs)
    return effect, ci, evidence


def _caveats(df: pd.DataFrame) -> list[str]:
    devices = sorted(set(df.get("spec.device", pd.Series(["cpu"])).dropna()))
    cpu = df["env.cpu"].dropna().iloc[0] if "env.cpu" in df and df["env.cpu"].notna().any() else "this CPU"
    where = ", ".join(devices) if devices else "cpu"
    return [GPU_CAVEAT.format(device=f"{where} ({cpu})")] if "cuda" not in where else []


def judge_short(df: pd.DataFrame, claim: Claim) -> Verdict:
    lengths = sorted(set(df["seq_len"]) & set(SUITES["full"]["short"]))
    effect, ci, ev = _ratio_over(df, lengths)
    return claim.verdict(effect, ci, ev, _caveats(df))


def judge_medium(df: pd.DataFrame, claim: Claim) -> Verdict:
    lengths = sorted(set(df["seq_len"]) & set(SUITES["full"]["medium"]))
    effect, ci, ev = _ratio_over(df, lengths)
    return claim.verdict(effect, ci, ev, _caveats(df))


def judge_long(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: LSTM / transformer latency at the longest n (supported below 1), with both slopes as evidence."""
    ok = df[(df["status"] == "ok") & (df["batch"] == 1)]
    top = int(ok["seq_len"].max()) if len(ok) else 0
    a, b = _samples(ok, RNN, top), _samples(ok, ATTN, top)
    if not a or not b:
        return claim.verdict(math.nan, None, [], _caveats(df))
    effect, ci = median_ratio_ci(a, b)
    evidence = [{"n": top, "ratio": effect, "ci": ci}]
    for model in (RNN, ATTN):
        g = ok[ok["model"] == model]
        fit = fit_loglog(g["seq_len"], g["latency_s"], large_fraction=1.0)
        if fit is not None:
            evidence.append({"model": model, "slope": fit.slope, "slope_ci": (fit.ci_low, fit.ci_high)})
    return claim.verdict(effect, ci, evidence, _caveats(df))


def _generation_trials(suite: str) -> list[TrialSpec]:
    s = SUITES[suite]
    return expand("generation", [RNN, ATTN], tokens=s["tokens"], params=s["params"], repeats=3, rounds=1)


def _decode(df: pd.DataFrame, model: str, mode: str) -> dict[int, float]:
    rows = df[(df["model"] == model) & (df["mode"] == mode) & (df["status"] == "ok")]
    if not len(rows):
        return {}
    # several rounds: median per position
    table = pd.DataFrame(list(rows["decode_ms_by_position"]))
    return {int(k): float(v) for k, v in table.median().items()}


def _early_late(decode: dict[int, float]) -> tuple[int, int] | None:
    if not decode:
        return None
    positions = sorted(decode)
    late = 1024 if 1024 in decode else positions[-1]
    return positions[0], late


def judge_13a(df: pd.DataFrame, claim: Claim) -> Verdict:
    """|per-token time at the late position / early position - 1| (supported below 0.10)."""
    d = _decode(df, RNN, "state")
    pos = _early_late(d)
    if pos is None:
        return claim.verdict(math.nan, None, [], _caveats(df))
    effect = abs(d[pos[1]] / d[pos[0]] - 1)
    return claim.verdict(effect, None, [{"model": RNN, "positions": pos, "ms": (d[pos[0]], d[pos[1]])}],
                         [*_caveats(df), "point estimate: per-position medians over runs and a 5-token window"])


def judge_13b(df: pd.DataFrame, claim: Claim) -> Verdict:
    d = _decode(df, ATTN, "recompute")
    pos = _early_late(d)
    if pos is None:
        return claim.verdict(math.nan, None, [], _caveats(df))
    return claim.verdict(d[pos[1]] / d[pos[0]], None, [{"positions": pos, "ms": (d[pos[0]], d[pos[1]])}],
                         _caveats(df))


def judge_13c(df: pd.DataFrame, claim: Claim) -> Verdict:
    cache, recompute = _decode(df, ATTN, "cache"), _decode(df, ATTN, "recompute")
    pos = _early_late(cache)
    if pos is None or pos[1] not in recompute:
        return claim.verdict(math.nan, None, [], _caveats(df))
    p = pos[1]
    return claim.verdict(cache[p] / recompute[p], None, [{"position": p, "cache ms": cache[p],
                                                          "recompute ms": recompute[p]}], _caveats(df))


def judge_13e(df: pd.DataFrame, claim: Claim) -> Verdict:
    rnn, cache = _decode(df, RNN, "state"), _decode(df, ATTN, "cache")
    pos = _early_late(cache)
    if pos is None or pos[1] not in rnn:
        return claim.verdict(math.nan, None, [], _caveats(df))
    p = pos[1]
    return claim.verdict(rnn[p] / cache[p], None, [{"position": p, f"{RNN} ms": rnn[p], "cache ms": cache[p]}],
                         _caveats(df))


def _slope(df: pd.DataFrame, model: str) -> tuple[float, tuple[float, float], list[dict]]:
    """Log-log slope of batch-1 latency vs n (per-round medians as repeats) over the longest lengths measured."""
    ok = df[(df["status"] == "ok") & (df["batch"] == 1) & (df["model"] == model)]
    fit = fit_loglog(ok["seq_len"], ok["latency_s"]) if len(ok) else None
    if fit is None:
        return math.nan, (math.nan, math.nan), []
    return fit.slope, (fit.ci_low, fit.ci_high), [{"model": model, "slope": fit.slope, "n_range": fit.n_range,
                                                   "points": fit.points}]


def judge_2a(df: pd.DataFrame, claim: Claim) -> Verdict:
    slope, ci, ev = _slope(df, ATTN)
    return claim.verdict(slope, ci, ev, [*_caveats(df), "SDPA's fused CPU kernel; fitted over the larger n"])


def judge_2b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: |slope - 1| for the LSTM (supported below 0.2); its interval from the slope's."""
    slope, (lo, hi), ev = _slope(df, RNN)
    if not math.isfinite(slope):
        return claim.verdict(math.nan, None, ev, _caveats(df))
    worst = max(abs(lo - 1), abs(hi - 1))
    best = 0.0 if lo <= 1 <= hi else min(abs(lo - 1), abs(hi - 1))
    return claim.verdict(abs(slope - 1), (best, worst), ev, _caveats(df))


def _train_trials(suite: str) -> list[TrialSpec]:
    s = SUITES[suite]
    return expand("train_step", [RNN, ATTN], seq_lens=[256], batch=8, params=s["params"], repeats=s["repeats"],
                  min_seconds=s["min_seconds"], rounds=s["rounds"])


def judge_17(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: transformer MFU / LSTM MFU in a training step (supported above 1); MFU against the GEMM peak
    measured in the same worker."""
    ok = df[df["status"] == "ok"]
    mfu = {m: pd.to_numeric(ok.loc[ok["model"] == m, "mfu"], errors="coerce").dropna() for m in (RNN, ATTN)}
    if any(len(v) == 0 for v in mfu.values()):
        return claim.verdict(math.nan, None, [], _caveats(df))
    a, r = float(mfu[ATTN].median()), float(mfu[RNN].median())
    spread = (float(mfu[ATTN].min() / mfu[RNN].max()), float(mfu[ATTN].max() / mfu[RNN].min()))
    return claim.verdict(a / r, spread, [{"model": m, "mfu": float(v.median()), "rounds": len(v)}
                                         for m, v in mfu.items()],
                         [*_caveats(df), "interval: the range over rounds (min/max), not a bootstrap"])


def _throughput_trials(suite: str) -> list[TrialSpec]:
    s = SUITES[suite]
    return expand("throughput", [RNN, ATTN], seq_lens=[256], batches=[1, 32], params=s["params"],
                  repeats=s["repeats"], min_seconds=s["min_seconds"], rounds=s["rounds"])


def judge_14(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: the transformer's time(B=32) / time(B=1) (supported at most 8, and below the LSTM's)."""
    out = {}
    for model in (RNN, ATTN):
        b1, b32 = _samples(df, model, 256, 1), _samples(df, model, 256, 32)
        if b1 and b32:
            out[model] = median_ratio_ci(b32, b1)
    if ATTN not in out:
        return claim.verdict(math.nan, None, [], _caveats(df))
    effect, ci = out[ATTN]
    evidence = [{"model": m, "time(32)/time(1)": r, "ci": c} for m, (r, c) in out.items()]
    verdict = claim.verdict(effect, ci, evidence, _caveats(df))
    if verdict.status == "supported" and RNN in out and out[RNN][1][0] <= ci[1]:
        verdict.status = "inconclusive"  # the second part: clearly below the LSTM's ratio
        verdict.caveats.append("the transformer's batching ratio is not clearly below the LSTM's")
    elif verdict.status == "supported" and RNN not in out:
        verdict.status = "inconclusive"
    return verdict


CLAIMS: list[Claim] = [
    Claim("2a", "attention time grows as O(n^2)",
          "the quadratic complexity of standard transformers creates severe inference challenges",
          1.6, "above", "log-log slope of transformer batch-1 latency vs n (larger half of n = 1k ... 4k)",
          _latency_trials("long"), judge_2a, "large n"),
    Claim("2b", "recurrence time grows as O(n)",
          "RNNs handle these gracefully—each additional token requires the same computational cost",
          0.2, "below", "|log-log slope of LSTM batch-1 latency vs n - 1|",
          _latency_trials("long"), judge_2b, "large n"),
    Claim("10", "< 100 tokens: RNN inference latency is lower",
          "For short sequences (< 100 tokens), RNN inference can be competitive with or faster than transformers.",
          1.0, "below", "LSTM / transformer batch-1 latency (geometric mean over n = 16, 32, 64)",
          _latency_trials("short"), judge_short, "n < 100, batch 1"),
    Claim("11", "100-1,000 tokens: transformers have lower latency",
          "At medium lengths (100-1,000 tokens), transformers typically achieve lower latency.",
          1.0, "above", "LSTM / transformer batch-1 latency (geometric mean over n = 128 ... 1024)",
          _latency_trials("medium"), judge_medium, "100 <= n <= 1000, batch 1"),
    Claim("12", "> 1,000 tokens: attention cost is severe, RNNs scale gracefully",
          "For very long sequences (> 1,000 tokens), the quadratic complexity of standard transformers creates severe "
          "inference challenges. RNNs handle these gracefully.",
          1.0, "below", "LSTM / transformer batch-1 latency at the longest n measured",
          _latency_trials("long"), judge_long, "n > 1000, batch 1"),
    Claim("13a", "generation: RNN per-step cost is constant",
          "For RNNs ... each step has constant cost regardless of sequence length.",
          0.10, "below", "|LSTM per-token time at position 1024 / at the first sampled position - 1|",
          _generation_trials, judge_13a, "batch 1"),
    Claim("13b", "generation without a cache: per-step cost grows",
          "Transformers must attend to all previously generated tokens at each generation step.",
          3.0, "above", "transformer (recompute) per-token time at 1024 / at the first sampled position",
          _generation_trials, judge_13b, "batch 1"),
    Claim("13c", "a KV cache helps",
          "KV caching partially mitigates this by storing key and value vectors from previous tokens.",
          1.0, "below", "per-token time with the cache / recomputing, at position 1024",
          _generation_trials, judge_13c, "batch 1"),
    Claim("13e", "for 1,000+ generated tokens RNNs are attractive",
          "For very long generation (1,000+ tokens), RNNs' constant-per-step cost becomes attractive.",
          1.0, "below", "LSTM / cached transformer per-token time at position 1024",
          _generation_trials, judge_13e, "batch 1, position >= 1000"),
    Claim("17", "RNN kernels use the hardware poorly; attention maps well onto it",
          "transformers can leverage hundreds of GPU cores simultaneously",
          1.0, "above", "transformer MFU / LSTM MFU in a training step (n = 256, batch 8)",
          _train_trials, judge_17, "training"),
    Claim("14", "batching: 32 sequences cost nearly as little as one for transformers",
          "Processing 32 sequences of 256 tokens each is nearly as fast as processing one sequence.",
          8.0, "below", "transformer time(B=32) / time(B=1) at n = 256 (and below the LSTM's)",
          _throughput_trials, judge_14, "n = 256"),
]

CLAIMS.sort(key=lambda c: (int(c.id.rstrip("abcdefgh")), c.id))  # essay order: 2a, 2b, 10, ..., 13e, 14, 17


def claim_by_id(claim_id: str) -> Claim:
    for c in CLAIMS:
        if c.id == claim_id:
            return c
    raise KeyError(claim_id)
