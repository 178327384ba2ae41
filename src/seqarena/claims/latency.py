"""Inference claims on forward latency: latency scaling (2a, 2b), latency by sequence length (10, 11, 12) and
batching (14); generation and streaming (13a-c, 13e, 23) are in :mod:`~seqarena.claims.generation`.

Every interval comes from per-round estimates (:mod:`~seqarena.claims.rounds`): both contenders are measured in the
same interleaved, shuffled round, the per-round ratio of their median per-call times is the unit of replication, and
a t-interval over rounds gives the interval. Ratio thresholds at 1 carry a +-5% equivalence zone (``rounds.ZONE``): a
smaller difference is "no meaningful difference".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from seqarena.analysis.scaling import fit_loglog
from seqarena.analysis.stats import round_interval
from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import Claim, caveats, missing, ok_rows
from seqarena.claims.rounds import ZONE, abs_dev_interval, paired, ratio_verdict, round_ratios, round_slopes
from seqarena.claims.suites import FULL, Suite
from seqarena.claims.verdict import MISSING, UNREPLICATED, Verdict
from seqarena.run.sweep import expand


def _latency_trials(lengths: Callable[[Suite], Sequence[int]]) -> Callable[[Suite, Claim], list[TrialSpec]]:
    """Batch-1 forward latency of both roles at the suite's ``lengths(suite)``."""

    def trials(s: Suite, claim: Claim) -> list[TrialSpec]:
        return expand("forward_latency", [claim.rnn, claim.attn], seq_lens=lengths(s), batch=1,
                      params=s.params, repeats=s.repeats, min_seconds=s.min_seconds, rounds=s.rounds)

    return trials


def _timing_evidence(df: pd.DataFrame, claim: Claim, lengths: Sequence[int], batch: int = 1) -> list[dict]:
    ev = []
    for n in lengths:
        a, b = ok_rows(df, model=claim.rnn, seq_len=n, batch=batch), ok_rows(df, model=claim.attn, seq_len=n,
                                                                                batch=batch)
        if len(a) and len(b):
            ev.append({"n": n, f"{claim.rnn} ms": 1e3 * float(a["latency_s"].median()),
                       f"{claim.attn} ms": 1e3 * float(b["latency_s"].median())})
    return ev


def _judge_range(band: Sequence[int]) -> Callable[[pd.DataFrame, Claim], Verdict]:
    """Effect: RNN / transformer latency, geometric mean over the measured n inside ``band`` (the full suite's band:
    a quick run's lengths are a subset of it), per round."""

    def judge(df: pd.DataFrame, claim: Claim) -> Verdict:
        lengths = sorted(set(df["seq_len"].dropna().astype(int)) & set(band)) if len(df) else []
        if not lengths:
            return claim.no_data(df)
        pairs = [((claim.rnn, n, 1), (claim.attn, n, 1)) for n in lengths]
        return ratio_verdict(df, claim, pairs, _timing_evidence(df, claim, lengths))

    return judge


CLAIM_10 = Claim(
    id="10", short="< 100 tokens: RNN inference latency is lower",
    quote="For short sequences (< 100 tokens), RNN inference can be competitive with or faster than transformers.",
    threshold=1.0, direction="below", zone=ZONE, tie_supports=True,
    effect_name="LSTM / transformer batch-1 latency (geometric mean over n = 16, 32, 64)",
    trials=_latency_trials(lambda s: s.short), judge=_judge_range(FULL.short),
    conditions="n < 100, batch 1", adaptive=True,
)


CLAIM_11 = Claim(
    id="11", short="100-1,000 tokens: transformers have lower latency",
    quote="At medium lengths (100-1,000 tokens), transformers typically achieve lower latency.",
    threshold=1.0, direction="above", zone=ZONE,
    effect_name="LSTM / transformer batch-1 latency (geometric mean over n = 128 ... 1024)",
    trials=_latency_trials(lambda s: s.medium), judge=_judge_range(FULL.medium),
    conditions="100 <= n <= 1000, batch 1", adaptive=True,
)


def _slope_evidence(df: pd.DataFrame, model: str, lengths: Sequence[int] | None = None) -> dict[str, Any]:
    """The log-log slope of ``model``'s batch-1 latency vs n over ``lengths`` (default: every n measured), fitted
    per round (only rounds that measured every n), and its t-interval over rounds."""
    per_round = round_slopes(df, model, "latency_s", lengths=lengths, every_n=True, batch=1)
    slope, ci = round_interval(list(per_round.values()), log=False)
    return {"model": model, "slope": slope, "slope_ci": ci, "per-round slopes": [round(x, 3) for x in
                                                                                per_round.values()]}


def judge_long(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: RNN / transformer latency at the longest n (supported below 1), per round; both slopes as evidence."""
    ns = sorted(set(df["seq_len"].dropna().astype(int))) if len(df) else []
    if not ns:
        return claim.no_data(df)
    top = ns[-1]
    ev = [_slope_evidence(df, m) for m in (claim.rnn, claim.attn)]
    return ratio_verdict(df, claim, [((claim.rnn, top, 1), (claim.attn, top, 1))],
                         [*_timing_evidence(df, claim, [top]), *ev])


CLAIM_12 = Claim(
    id="12", short="> 1,000 tokens: attention cost is severe, RNNs scale gracefully",
    quote="For very long sequences (> 1,000 tokens), the quadratic complexity of standard transformers creates severe "
          "inference challenges. ... RNNs handle these gracefully",
    threshold=1.0, direction="below", zone=ZONE,
    effect_name="LSTM / transformer batch-1 latency at the longest n measured",
    trials=_latency_trials(lambda s: s.long), judge=judge_long,
    conditions="n > 1000, batch 1", adaptive=True,
)


def quadratic_reach(n1: float, n2: float, d_model: float) -> float:
    """The log-log slope between n1 and n2 of a causal transformer whose time follows its FLOPs: per token, the
    projections and the MLP cost ~12 d^2 and causal attention ~n d (a fused kernel skips the masked half), so
    T(n) ~ n (1 + q) with q = n / (12 d), and the local slope is (1 + 2q) / (1 + q): 1.6 needs n >= 18 d, 1.8 needs
    n ~ 48 d. No kernel that is quadratic in n can show more over that range."""

    def t(n: float) -> float:
        return n * (1 + n / (12 * d_model))

    return math.log(t(n2) / t(n1)) / math.log(n2 / n1)


def _quadratic_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    """A narrow transformer (the suite's ``quadratic_params``) at batch 1 over ``quadratic_lens``."""
    return expand("forward_latency", [claim.attn], seq_lens=s.quadratic_lens, batch=1, params=s.quadratic_params,
                  repeats=s.repeats, min_seconds=s.min_seconds, rounds=s.rounds)


def judge_2a(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: the transformer's log-log latency slope over the larger half of n (per round, t-interval). The suite
    measures a narrow model, where the quadratic term can dominate at the lengths measured; when the FLOP model says
    the slope could not reach the threshold over the lengths fitted, the verdict is "not tested in this range"."""
    ok = ok_rows(df, batch=1, model=claim.attn)
    why = missing(df, batch=1, model=claim.attn)
    if why:
        return claim.no_data(df, why)
    ns = sorted(set(ok["seq_len"].astype(int)))
    fitted = ns[len(ns) // 2 - (1 if len(ns) % 2 == 0 else 0):] if len(ns) > 2 else ns
    ev = _slope_evidence(df, claim.attn, fitted)
    d = ok["model_spec.d_model"].dropna() if "model_spec.d_model" in ok else pd.Series(dtype=float)
    cav = [*caveats(df), "SDPA's fused CPU kernel; fitted over the larger n"]
    if len(d) and len(fitted) > 1:
        reach = quadratic_reach(fitted[0], fitted[-1], float(d.iloc[0]))
        ev["FLOP-model slope"] = round(reach, 3)
        ev["d_model"] = int(d.iloc[0])
        if reach < claim.threshold * (1 + claim.zone):
            return claim.untested(df, f"at d_model {int(d.iloc[0])} over n = {fitted[0]}-{fitted[-1]} an exactly "
                                      f"quadratic kernel shows a slope of {reach:.2f}", [ev])
    if ev["slope_ci"] is None:
        return claim.no_data(df, f"{UNREPLICATED}: fewer than 2 rounds with every n", [ev])
    return claim.verdict(ev["slope"], ev["slope_ci"], [ev], cav)


CLAIM_2A = Claim(
    id="2a", short="attention time grows as O(n^2)",
    quote="the quadratic complexity of standard transformers creates severe inference challenges",
    threshold=1.6, direction="above", zone=0.02,
    effect_name="log-log slope of a narrow transformer's batch-1 latency vs n (larger half of n), per round",
    trials=_quadratic_trials, judge=judge_2a,
    conditions="n >= 18 d_model", adaptive=True,
)


def judge_2b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: |slope - 1| for the RNN (supported below 0.2); its interval from the per-round slopes'."""
    why = missing(df, batch=1, model=claim.rnn)
    if why:
        return claim.no_data(df, why)
    ev = _slope_evidence(df, claim.rnn)
    if ev["slope_ci"] is None:
        return claim.no_data(df, f"{UNREPLICATED}: fewer than 2 rounds with every n", [ev])
    return claim.verdict(abs(ev["slope"] - 1), abs_dev_interval(*ev["slope_ci"], 1.0), [ev], caveats(df))


CLAIM_2B = Claim(
    id="2b", short="recurrence time grows as O(n)",
    quote="RNNs handle these gracefully—each additional token requires the same computational cost",
    threshold=0.2, direction="below",
    effect_name="|log-log slope of LSTM batch-1 latency vs n - 1|, per round",
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


def _decode_by_round(df: pd.DataFrame, model: str, mode: str) -> dict[int, dict[int, list[float]]]:
    """Per round, single-token decode times (ms) per sampled position."""
    out: dict[int, dict[int, list[float]]] = {}
    for _, row in ok_rows(df, model=model, mode=mode).iterrows():
        cell = row.get("decode_samples_by_position")
        if isinstance(cell, dict):
            by_pos = out.setdefault(int(row.get("spec.round", 0) or 0), {})
            for k, v in cell.items():
                by_pos.setdefault(int(k), []).extend(v)
    return out


def _late_position(decode: dict[int, dict[int, list[float]]]) -> tuple[int, int] | None:
    """(first, late) sampled positions every round has: late = 1024 when sampled, else the last."""
    common = set.intersection(*(set(d) for d in decode.values())) if decode else set()
    if len(common) < 2:
        return None
    positions = sorted(common)
    return positions[0], 1024 if 1024 in common else positions[-1]


def _decode_ratio(df: pd.DataFrame, claim: Claim, num: tuple[str, str], den: tuple[str, str], which: str, *,
                  deviation: bool = False) -> Verdict:
    """Per round: median decode time of ``num`` (model, mode) over ``den``'s, at the late position (``which`` =
    "late") or ``num``'s late over its own first position (``which`` = "growth"); t-interval over rounds.
    ``deviation``: the effect is |ratio - 1| (flatness)."""
    for model, mode in {num, den}:
        why = missing(df, model=model, mode=mode)
        if why:
            return claim.no_data(df, why)
    top, bottom = _decode_by_round(df, *num), _decode_by_round(df, *den)
    pos = _late_position({**{("t", r): d for r, d in top.items()}, **{("b", r): d for r, d in bottom.items()}})
    if pos is None:
        return claim.no_data(df, f"{MISSING}: fewer than two decode positions sampled in every round")
    first, late = pos
    per_round = []
    for r in paired(top, bottom):
        ref = top[r][first] if which == "growth" else bottom[r][late]
        per_round.append(float(np.median(top[r][late]) / np.median(ref)))
    effect, ci = round_interval(per_round)
    ev = [{"positions": (first, late), "per-round ratios": [round(x, 4) for x in per_round],
           f"{num[0]} {num[1]} ms": [round(float(np.median(top[r][late])), 4) for r in sorted(top)]}]
    if deviation:
        effect, ci = abs(effect - 1), abs_dev_interval(*ci, 1.0) if ci is not None else None
    if ci is None:
        return claim.no_data(df, f"{UNREPLICATED}: {len(per_round)} round; an interval needs >= 2", ev)
    return claim.verdict(effect, ci, ev, caveats(df))


def judge_13a(df: pd.DataFrame, claim: Claim) -> Verdict:
    """|per-token time at the late position / first position - 1| (supported below 0.10), per round."""
    return _decode_ratio(df, claim, (claim.rnn, "state"), (claim.rnn, "state"), "growth", deviation=True)


CLAIM_13A = Claim(
    id="13a", short="generation: RNN per-step cost is constant",
    quote="Each step has constant cost regardless of sequence length.",
    threshold=0.10, direction="below",
    effect_name="|LSTM per-token time at position 1024 / at the first sampled position - 1|",
    trials=_generation_trials(("rnn", "state")), judge=judge_13a,
    conditions="batch 1", adaptive=True,
)


def judge_13b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """The recomputing transformer's per-token time at 1024 over its first position (supported above 3)."""
    return _decode_ratio(df, claim, (claim.attn, "recompute"), (claim.attn, "recompute"), "growth")


CLAIM_13B = Claim(
    id="13b", short="generation without a cache: per-step cost grows",
    quote="Transformers must attend to all previously generated tokens at each generation step.",
    threshold=3.0, direction="above", check=True,
    effect_name="transformer (recompute) per-token time at 1024 / at the first sampled position",
    trials=_generation_trials(("attn", "recompute")), judge=judge_13b,
    conditions="batch 1", adaptive=True,
)


def judge_13c(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: cached / recomputing transformer per-token time at position 1024 (supported below 1)."""
    return _decode_ratio(df, claim, (claim.attn, "cache"), (claim.attn, "recompute"), "late")


CLAIM_13C = Claim(
    id="13c", short="a KV cache helps",
    quote="KV caching partially mitigates this by storing key and value vectors from previous tokens, avoiding "
          "recomputation.",
    threshold=1.0, direction="below", zone=ZONE, check=True,
    effect_name="per-token time with the cache / recomputing, at position 1024",
    trials=_generation_trials(("attn", "cache"), ("attn", "recompute")), judge=judge_13c,
    conditions="batch 1", adaptive=True,
)


def judge_13e(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: RNN / cached transformer per-token time at position 1024 (supported below 1), per round."""
    return _decode_ratio(df, claim, (claim.rnn, "state"), (claim.attn, "cache"), "late")


CLAIM_13E = Claim(
    id="13e", short="for 1,000+ generated tokens RNNs are attractive",
    quote="For very long generation (1,000+ tokens), RNNs\u2019 constant-per-step cost becomes attractive.",
    threshold=1.0, direction="below", zone=ZONE,
    effect_name="LSTM / cached transformer per-token time at position 1024",
    trials=_generation_trials(("rnn", "state"), ("attn", "cache")), judge=judge_13e,
    conditions="batch 1, position >= 1000", adaptive=True,
)


def judge_23a(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Log-log slope of the RNN's per-step decode time vs position (supported below 0.1), per round."""
    why = missing(df, model=claim.rnn, mode="state")
    if why:
        return claim.no_data(df, why)
    slopes = []
    for d in _decode_by_round(df, claim.rnn, "state").values():
        positions = sorted(d)
        fit = fit_loglog(positions, [float(np.median(d[p])) for p in positions], large_fraction=1.0)
        if fit is not None and len(positions) >= 4:
            slopes.append(fit.slope)
    slope, ci = round_interval(slopes, log=False)
    if ci is None:
        return claim.no_data(df, f"{UNREPLICATED}: {len(slopes)} round(s) with a slope")
    return claim.verdict(abs(slope), abs_dev_interval(*ci, 0.0),
                         [{"model": claim.rnn, "slope": slope, "slope_ci": ci, "per-round slopes": slopes}],
                         caveats(df))


CLAIM_23A = Claim(
    id="23a", short="streaming: RNN per-step cost stays constant",
    quote="streaming applications requiring constant per-step computation",
    threshold=0.1, direction="below", check=True,
    effect_name="|log-log slope of the LSTM's per-step decode time vs position|",
    trials=_generation_trials(("rnn", "state")), judge=judge_23a,
    conditions="batch 1, streaming", adaptive=True,
)


def judge_23b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """RNN jitter over the cached transformer's (supported below 1): per round, p99/p50 of single decode steps
    detrended within windows of positions (each step over its window's median), so the cached transformer's
    growth with position is not counted as jitter; t-interval over rounds of the paired ratio."""
    col = "step_jitter_detrended"
    for model, mode in ((claim.rnn, "state"), (claim.attn, "cache")):
        why = missing(df, model=model, mode=mode)
        if why:
            return claim.no_data(df, why)
    rnn, attn = ok_rows(df, model=claim.rnn, mode="state"), ok_rows(df, model=claim.attn, mode="cache")
    if col not in rnn or col not in attn or rnn[col].isna().all() or attn[col].isna().all():
        return claim.no_data(df, f"{MISSING}: rows without the detrended jitter (measured by an older version)")
    a = {int(r.get("spec.round", 0) or 0): r[col] for _, r in rnn.iterrows()}
    b = {int(r.get("spec.round", 0) or 0): r[col] for _, r in attn.iterrows()}
    per_round = [a[r] / b[r] for r in paired(a, b)]
    effect, ci = round_interval(per_round)
    ev = [{"model": claim.rnn, "p99/p50 detrended": float(np.median(list(a.values())))},
          {"model": f"{claim.attn} (cache)", "p99/p50 detrended": float(np.median(list(b.values())))},
          {"per-round ratios": [round(x, 4) for x in per_round]}]
    if ci is None:
        return claim.no_data(df, f"{UNREPLICATED}: {len(per_round)} round; an interval needs >= 2", ev)
    return claim.verdict(effect, ci, ev, [*caveats(df), "single steps, batch 1, detrended within 64-step windows"])


CLAIM_23B = Claim(
    id="23b", short="streaming: RNN steps jitter less",
    quote="However, real-time speech synthesis often uses RNN-based components or hybrid architectures.",
    threshold=1.0, direction="below", zone=0.10,
    effect_name="LSTM p99/p50 of single decode steps (detrended) / the cached transformer's",
    trials=_generation_trials(("rnn", "state"), ("attn", "cache")), judge=judge_23b,
    conditions="batch 1, streaming", adaptive=True,
)


# -- batching ------------------------------------------------------------------------------------------------------

def _throughput_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    return expand("throughput", [claim.rnn, claim.attn], seq_lens=[256], batches=[1, 32], params=s.params,
                  repeats=s.repeats, min_seconds=s.min_seconds, rounds=s.rounds)


def judge_14(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: the transformer's time(B=32) / time(B=1) (supported at most 8), per round; and, the claim's second
    part, clearly below the RNN's ratio (the per-round ratio of the two ratios, interval below 1 - zone)."""
    attn = [((claim.attn, 256, 32), (claim.attn, 256, 1))]
    v = ratio_verdict(df, claim, attn, [])
    if v.status != "supported":
        return v
    rnn = [((claim.rnn, 256, 32), (claim.rnn, 256, 1))]
    why = missing(df, model=claim.rnn, seq_len=256, batch=32) or missing(df, model=claim.rnn, seq_len=256, batch=1)
    if why:
        return v.undecided(f"the second part (below the RNN's ratio): {why}")
    a, b = round_ratios(df, attn), round_ratios(df, rnn)
    rel, ci = round_interval([a[r] / b[r] for r in paired(a, b)])
    v.evidence.append({"transformer ratio / LSTM ratio": rel, "ci": ci})
    if ci is None or ci[1] >= 1 - ZONE:
        v.undecided("the transformer's batching ratio is not clearly below the RNN's")
    return v


CLAIM_14 = Claim(
    id="14", short="batching: 32 sequences cost nearly as little as one for transformers",
    quote="Processing 32 sequences of 256 tokens each is nearly as fast as processing one sequence",
    threshold=8.0, direction="below", zone=ZONE,
    effect_name="transformer time(B=32) / time(B=1) at n = 256 (and below the LSTM's)",
    trials=_throughput_trials, judge=judge_14,
    conditions="n = 256", adaptive=True,
)

#: This module's claims (the registry orders every module's claims by id).
CLAIMS: list[Claim] = [CLAIM_2A, CLAIM_2B, CLAIM_10, CLAIM_11, CLAIM_12, CLAIM_13A, CLAIM_13B, CLAIM_13C, CLAIM_13E,
    CLAIM_14, CLAIM_23A, CLAIM_23B]
