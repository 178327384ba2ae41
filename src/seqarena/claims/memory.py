"""Memory claims, judged from measured peaks (VmHWM above each trial's baseline; CUDA: max allocated): the KV cache
grows while the RNN state stays constant (13d, 15a), attention scores grow as n^2 x heads (15b), training memory
(16a), Adam's state (16b), truncated BPTT (16c) and Transformer-XL's bounded memory (18a/b); the edge deployment (24)
is in :mod:`~seqarena.claims.edge`. Accounted bytes (state / cache / saved activations) are shown beside.

Rules shared by these judges:
- the round is the unit of replication (:mod:`~seqarena.claims.rounds`): each round gives one estimate (a growth in
  bytes per token, a slope, a paired ratio), and the interval is the t-interval over rounds;
- flat means bounded relative to the KV cache: growth above the smallest n in bytes per token (the slope of a
  straight line through one round's peaks, per sequence of the batch), divided by the bytes per token the
  same-budget transformer's KV cache adds (accounted, from its chunked-prefill trial). A log-log slope of the peak
  would hide linear growth under a large fixed part;
- 13d, 15a, 15c, 16b, 16c, 18a and 18b hold by construction (a preallocated cache fills linearly; a chunked or
  segment loop carries a fixed-size state and does fixed work per segment; attention written out holds the n x n
  scores; AdamW allocates two buffers per parameter): they are checks of the implementation (``check=True``), not
  evidence about the essay;
- a missing row or a failure that is not a cap / out-of-memory failure leaves a verdict inconclusive.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

from seqarena.analysis.labels import MB
from seqarena.analysis.stats import paired_round_ratio, round_interval
from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import Claim, caveats, first_missing, grid, ok_rows
from seqarena.claims.rounds import abs_dev_interval, medians_by_round, round_slopes
from seqarena.claims.suites import Suite
from seqarena.claims.verdict import Verdict

#: Flat = growth under this fraction of the KV cache's bytes per token (15a, 16c, 18a, 13d's RNN part).
FLAT = 0.1


def _rounds(s: Suite) -> int:
    return s.mem_rounds


def _prefill_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    points = [{"seq_len": n} for n in s.prefill_lens]
    return grid("memory", [claim.rnn, claim.attn], points, kind="infer", chunk=s.chunk, batch=4,
                params=s.params, rounds=_rounds(s))


def _kv_reference(s: Suite, claim: Claim) -> list[TrialSpec]:
    """The same-budget transformer's chunked prefill at the smallest prefill n (round 0 of 13d/15a's trials, so a
    suite that runs those measures it once): its accounted KV cache gives the bytes per token flatness is bounded
    against."""
    return grid("memory", [claim.attn], [{"seq_len": s.prefill_lens[0]}], kind="infer", chunk=s.chunk, batch=4,
                params=s.params)


def _kv_per_token(df: pd.DataFrame, attn: str) -> float:
    """Bytes per token (per sequence) of the transformer's KV cache, accounted in its chunked-prefill rows."""
    rows = ok_rows(df, model=attn)
    if not len(rows) or "state_bytes" not in rows:
        return math.nan
    return float((rows["state_bytes"] / (rows["seq_len"] * rows["batch"])).median())


def _growth_per_token(points: dict[int, float]) -> float:
    """The slope of a straight line through one round's peaks vs n: the bytes each further token adds."""
    ns = sorted(points)
    return float(np.polyfit(ns, [points[n] for n in ns], 1)[0]) if len(ns) >= 2 else math.nan


def _flatness(df: pd.DataFrame, model: str, attn: str, **match: Any) -> tuple[float, tuple | None, dict[str, Any]]:
    """``model``'s growth in bytes per token per sequence ÷ the KV cache's, per round; the mean and t-interval over
    rounds, and the evidence."""
    kv = _kv_per_token(df, attn)
    peaks = medians_by_round(df, model, "peak_bytes", **match)
    batch = int(ok_rows(df, model=model, **match)["batch"].iloc[0]) if peaks else 1
    per_round = [_growth_per_token(p) / batch / kv for p in peaks.values() if len(p) >= 2]
    effect, ci = round_interval([x for x in per_round if math.isfinite(x)], log=False)
    ev = {"model": model, "growth / KV bytes per token by round": per_round, "KV cache bytes per token": kv,
          **_by_n(ok_rows(df, model=model, **match))}
    return effect, ci, ev


def _by_n(rows: pd.DataFrame) -> dict[str, Any]:
    """Median peak (and accounted bytes, where present) by n, in MB."""
    ev = {"peak MB by n": {int(n): round(float(g["peak_bytes"].median()) / MB, 2) for n, g in rows.groupby("seq_len")}}
    for col in ("state_bytes", "saved_bytes"):
        if col in rows and rows[col].notna().any():
            ev[f"accounted {col} MB by n"] = {int(n): round(float(g[col].median()) / MB, 3)
                                              for n, g in rows.groupby("seq_len")}
    return ev


def _flat_verdict(df: pd.DataFrame, claim: Claim, model: str, **match: Any) -> Verdict:
    why = first_missing(df, [model], **match) or first_missing(df, [claim.attn], ns=[])
    if why:
        return claim.no_data(df, why)
    effect, ci, ev = _flatness(df, model, claim.attn, **match)
    return claim.verdict(effect, ci, [ev], caveats(df))


FLAT_ZONE = 0.2  # 0.08-0.12 of the KV cache's bytes per token: an allocator's page-granular slack is ~0.02 of it here


def judge_13d(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: |slope - 1| of the log-log growth of the transformer's measured peak above the smallest n, against
    n - n0, fitted per round while its KV cache fills (chunked prefill = what generation holds at that position;
    supported below 0.1, zone 0.2: 0.08-0.12). The RNN's part: its growth stays under 0.1 of the KV cache's bytes per
    token (the whole interval), or the verdict is inconclusive. A check, not evidence: the preallocated cache fills
    linearly by design, and the RNN's half is 15a's (a fixed-size state)."""
    why = first_missing(df, [claim.attn, claim.rnn])
    if why:
        return claim.no_data(df, why)
    slopes = []
    for points in medians_by_round(df, claim.attn, "peak_bytes").values():
        n0 = min(points)
        growth = {n - n0: points[n] - points[n0] for n in points if n > n0 and points[n] > points[n0]}
        if len(growth) >= 2:
            slopes.append(float(np.polyfit(np.log(list(growth)), np.log(list(growth.values())), 1)[0]))
    slope, ci = round_interval(slopes, log=False)
    attn_ev = {"model": claim.attn, "growth slope": slope, "slope_ci": ci, "slope by round": slopes,
               **_by_n(ok_rows(df, model=claim.attn))}
    v = claim.verdict(abs(slope - 1), abs_dev_interval(*ci, 1.0) if ci else None, [attn_ev], caveats(df))
    _, flat_ci, rnn_ev = _flatness(df, claim.rnn, claim.attn)
    v.evidence.append(rnn_ev)
    if v.status == "supported" and (flat_ci is None or flat_ci[1] >= FLAT):
        v.undecided(f"the {claim.rnn}'s peak is not clearly flat: its growth reaches {FLAT} of the KV cache's bytes "
                    "per token")
    return v


CLAIM_13D = Claim(
    id="13d", short="generation: the KV cache grows in memory, the RNN state does not",
    quote="KV caching trades computation for memory, storing key/value vectors for all previous positions, which grows "
          "linearly with sequence length but can still be large.",
    threshold=0.1, direction="below", zone=FLAT_ZONE, check=True,
    effect_name="|log-log slope of the growth of the transformer's measured peak vs n - n0 - 1| (cache filling)",
    trials=_prefill_trials, judge=judge_13d,
    conditions="chunked prefill, batch 4", adaptive=True,
)


def judge_15a(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: the RNN's growth in bytes per token ÷ the KV cache's, chunked prefill (supported below 0.1, zone 0.2:
    0.08-0.12). A check: a chunked RNN carries a fixed-size state by construction."""
    return _flat_verdict(df, claim, claim.rnn)


CLAIM_15A = Claim(
    id="15a", short="inference memory: an RNN holds parameters plus a small state",
    quote="RNNs require storing model parameters and a small hidden state vector per sequence.",
    threshold=FLAT, direction="below", zone=FLAT_ZONE, check=True,
    effect_name="LSTM peak growth / KV cache bytes per token (chunked prefill)",
    trials=_prefill_trials, judge=judge_15a,
    conditions="chunked prefill, batch 4", adaptive=True,
)


def _attention_trials(impl: str):
    """The transformer's inference peak at ``naive_lens`` over rounds, with SDPA (15b) or attention written out
    (``impl="math"``, 15c)."""

    def trials(s: Suite, claim: Claim) -> list[TrialSpec]:
        model = (claim.attn, {"attn_impl": "math"}) if impl == "math" else claim.attn
        return grid("memory", [model], [{"seq_len": n} for n in s.naive_lens], kind="infer", batch=1,
                    params=s.params, rounds=_rounds(s))

    return trials


def _impl(df: pd.DataFrame, impl: str) -> pd.DataFrame:
    col = "spec.options.attn_impl"
    if col not in df:
        return df if impl == "sdpa" else df.iloc[0:0]
    return df[df[col] == impl] if impl == "math" else df[df[col].isna() | (df[col] == "sdpa")]


def _increment_exponents(df: pd.DataFrame, model: str) -> list[float]:
    """Per round: the log-log slope of the peak's increments between successive n vs n. For c n^k on doubling
    lengths the increments are c (2^k - 1) n^k: the slope is k exactly, and the fixed part of the peak cancels."""
    out = []
    for points in medians_by_round(df, model, "peak_bytes").values():
        ns = sorted(points)
        inc = [(a, points[b] - points[a]) for a, b in itertools.pairwise(ns) if points[b] > points[a]]
        if len(inc) >= 2 and len(inc) == len(ns) - 1:
            out.append(float(np.polyfit(np.log([n for n, _ in inc]), np.log([d for _, d in inc]), 1)[0]))
    return out


def _exponent_verdict(df: pd.DataFrame, claim: Claim, impl: str, label: str, caveat: str) -> Verdict:
    """The exponent of ``impl``'s measured peak growth with n (per round, t-interval), against the claim's 1.8."""
    rows = _impl(df, impl)
    why = first_missing(rows, [claim.attn])
    if why:
        return claim.no_data(df, why)
    if rows["seq_len"].nunique() < 3:
        return claim.untested(df, "three lengths or more are needed to cancel the peak's fixed part")
    exps = _increment_exponents(rows, claim.attn)
    effect, ci = round_interval(exps, log=False)
    ev = [{"model": f"{claim.attn} ({label})", "exponent by round": exps, **_by_n(ok_rows(rows))}]
    return claim.verdict(effect, ci, ev, [*caveats(df), caveat])


def judge_15b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: the exponent of the measured peak's growth with n for the attention the transformer runs (SDPA): per
    round, the slope of the increments between successive lengths (see :func:`_increment_exponents`); supported at
    1.8 or more (zone 0.05, 1.71-1.89). The essay's "O(n^2 h) memory" is about attention as written in 2017; a fused
    kernel that never materialises the n x n scores refutes it for the attention that runs today, and the written-out
    form (15c) stays beside it as the check that the harness sees n^2 memory where it exists."""
    return _exponent_verdict(df, claim, "sdpa", "SDPA", "SDPA, the kernel the transformer runs; attention written "
                                                        "out is check 15c, beside it in the report")


def judge_15c(df: pd.DataFrame, claim: Claim) -> Verdict:
    """15b's exponent for attention written out (softmax(QK^T) V in plain ops, the n^2 x heads scores held): a check
    that the measured peak shows n^2 where it exists by construction (supported at 1.8 or more)."""
    return _exponent_verdict(df, claim, "math", "attention written out", "attention written out: holds the scores "
                                                                          "by construction")


CLAIM_15B = Claim(
    id="15b", short="attention memory grows as n^2 x heads (the attention that runs: SDPA)",
    quote="For a sequence of length n with d-dimensional embeddings and h attention heads, the attention computation "
          "requires O(n²h) memory.",
    threshold=1.8, direction="above", zone=0.05,
    effect_name="exponent of the measured peak's growth vs n (increments), SDPA attention, batch 1",
    trials=_attention_trials("sdpa"), judge=judge_15b,
    conditions="inference, batch 1", adaptive=True,
)

CLAIM_15C = Claim(
    id="15c", short="attention written out holds n^2 x heads scores",
    quote="the attention computation requires O(n²h) memory",
    threshold=1.8, direction="above", zone=0.05, check=True,
    effect_name="exponent of the measured peak's growth vs n (increments), attention written out (math), batch 1",
    trials=_attention_trials("math"), judge=judge_15c,
    conditions="inference, batch 1", adaptive=True,
)


def _train_memory_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    points = [{"seq_len": n} for n in s.train_mem_lens]
    return grid("memory", [claim.rnn, claim.attn], points, kind="train", batch=4, params=s.params,
                rounds=_rounds(s))


def judge_16a(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: transformer / RNN measured training peak at the largest n (supported at 1.5 or more; zone 0.05,
    1.43-1.58: 5% is within a peak's round-to-round spread on a shared machine). Per round: the paired ratio of the
    two peaks; interval over rounds."""
    why = first_missing(df, [claim.rnn, claim.attn])
    if why:
        return claim.no_data(df, why)
    n = int(df["seq_len"].max())
    peaks = {m: {r: [pts[n]] for r, pts in medians_by_round(df, m, "peak_bytes").items() if n in pts}
             for m in (claim.attn, claim.rnn)}
    effect, ci, per_round = paired_round_ratio(peaks[claim.attn], peaks[claim.rnn])
    ev = [{"model": m, **_by_n(ok_rows(df, model=m))} for m in (claim.rnn, claim.attn)]
    ev.append({"n": n, "ratio by round": per_round})
    return claim.verdict(effect, ci, ev, [*caveats(df), "one training step (fwd + bwd + AdamW) at batch 4"])


CLAIM_16A = Claim(
    id="16a", short="training memory: transformers need far more",
    quote="Transformers require enormous memory during training.",
    threshold=1.5, direction="above", zone=0.05,
    effect_name="transformer / LSTM measured training peak at the largest n",
    trials=_train_memory_trials, judge=judge_16a,
    conditions="training, batch 4", adaptive=True,
)


def _optimizer_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    return grid("memory", [claim.rnn, claim.attn], [{"seq_len": 64}], kind="optimizer", batch=1,
                params=s.optimizer_params)


def judge_16b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: |measured resident growth of AdamW's first step / parameter bytes - 2| (supported below 0.2; zone
    0.25, 0.15-0.25). A check: AdamW allocates two buffers per parameter by construction. Interval: t-interval over
    the trials (each model's measurement is its own; the quantity belongs to the optimizer, not the model)."""
    why = first_missing(df, [claim.rnn, claim.attn])
    if why or "rss_growth_over_param_bytes" not in df:
        return claim.no_data(df, why or "missing data: no measured growth")
    ok = ok_rows(df)
    ratio, ci = round_interval(ok["rss_growth_over_param_bytes"].astype(float).tolist(), log=False)
    ev = [{"model": row["model"], "param MB": row["param_bytes"] / MB,
           "measured growth MB": row["rss_growth_bytes"] / MB, "ratio": row["rss_growth_over_param_bytes"],
           "accounted state MB": row["optimizer_state_bytes"] / MB} for _, row in ok.iterrows()]
    return claim.verdict(abs(ratio - 2), abs_dev_interval(*ci, 2.0) if ci else None, ev, caveats(df))


CLAIM_16B = Claim(
    id="16b", short="Adam keeps two extra copies of the parameters",
    quote="Adam requires two additional copies of parameters",
    threshold=0.2, direction="below", zone=0.25, check=True,
    effect_name="|measured growth of AdamW's first step / parameter bytes - 2|",
    trials=_optimizer_trials, judge=judge_16b,
    conditions="training", adaptive=True,
)


def _tbptt_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    points = [{"seq_len": n} for n in s.tbptt_lens]
    return grid("memory", [claim.rnn], points, kind="train", batch=2, tbptt=s.tbptt, params=s.params,
                rounds=_rounds(s)) + _kv_reference(s, claim)


def judge_16c(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: the RNN's training-peak growth with truncated BPTT in bytes per token ÷ the KV cache's (supported
    below 0.1, zone 0.2). A check: TBPTT holds one segment's activations by construction."""
    return _flat_verdict(df, claim, claim.rnn, spec__kind="train")


CLAIM_16C = Claim(
    id="16c", short="truncated BPTT bounds RNN training memory",
    quote="Backpropagation through time can be truncated to fixed-length segments, bounding memory regardless of total "
          "sequence length.",
    threshold=FLAT, direction="below", zone=FLAT_ZONE, check=True,
    effect_name="LSTM training-peak growth with TBPTT / KV cache bytes per token",
    trials=_tbptt_trials, judge=judge_16c,
    conditions="training, TBPTT segment 128", adaptive=True,
)


def _xl_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    points = [{"seq_len": n} for n in s.xl_lens]
    return grid("memory", [("transformer_xl", {"segment": 128, "mem_len": 128})], points, kind="infer", chunk=128,
                batch=1, params=s.params, rounds=_rounds(s)) + _kv_reference(s, claim)


def judge_18a(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: Transformer-XL's evaluation-peak growth in bytes per token ÷ a same-budget transformer's KV cache
    (supported below 0.1, zone 0.2). A check: the segment loop keeps mem_len tokens by construction."""
    return _flat_verdict(df, claim, "transformer_xl")


CLAIM_18A = Claim(
    id="18a", short="Transformer-XL: bounded memory on arbitrarily long sequences",
    quote="This hybrid approach captures transformers’ parallelism within segments while handling indefinitely long "
          "sequences through recurrence.",
    threshold=FLAT, direction="below", zone=FLAT_ZONE, check=True,
    effect_name="Transformer-XL evaluation-peak growth / KV cache bytes per token",
    trials=_xl_trials, judge=judge_18a,
    conditions="segment 128, memory 128", adaptive=True,
)


def judge_18b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: |slope| of Transformer-XL's per-token evaluation time vs the evaluated length, fitted per round (the
    timer around the call alone); interval over rounds (supported below 0.1; zone 0.2, 0.08-0.12: a slope of 0.1 is
    +32% per token over 16x the length). A check, not evidence: the fixed segment loop does the same work per
    segment at every length by construction."""
    why = first_missing(df, ["transformer_xl"])
    if why:
        return claim.no_data(df, why)
    slopes = list(round_slopes(df, "transformer_xl", "per_token_s").values())
    slope, ci = round_interval(slopes, log=False)
    rows = ok_rows(df, model="transformer_xl")
    ev = [{"model": "transformer_xl", "slope": slope, "slope_ci": ci, "slope by round": slopes,
           "us/token by n": {int(n): round(1e6 * float(g["per_token_s"].median()), 1)
                             for n, g in rows.groupby("seq_len")}}]
    return claim.verdict(abs(slope), abs_dev_interval(*ci, 0.0) if ci else None, ev,
                         [*caveats(df), "one timed call per length and round"])


CLAIM_18B = Claim(
    id="18b", short="Transformer-XL: constant cost per token on long sequences",
    quote="This hybrid approach captures transformers’ parallelism within segments while handling indefinitely long "
          "sequences through recurrence.",
    threshold=0.1, direction="below", zone=0.2, check=True,
    effect_name="|log-log slope of Transformer-XL's per-token evaluation time vs evaluated length|",
    trials=_xl_trials, judge=judge_18b,
    conditions="segment 128, memory 128", adaptive=True,
)


#: This module's claims (the registry orders every module's claims by id).
CLAIMS: list[Claim] = [CLAIM_13D, CLAIM_15A, CLAIM_15B, CLAIM_15C, CLAIM_16A, CLAIM_16B, CLAIM_16C, CLAIM_18A,
                       CLAIM_18B]
