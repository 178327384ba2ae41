"""Memory claims, judged from measured peaks (VmHWM above each trial's baseline; CUDA: max allocated): the KV cache
grows while the RNN state stays constant (13d, 15a), attention scores grow as n^2 x heads (15b), training memory
(16a), Adam's state (16b), truncated BPTT (16c), Transformer-XL's bounded memory (18a/b), and the edge deployment
(24). Accounted bytes (state / cache / saved activations) are shown beside as checks: they hold by construction.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from seqarena.analysis.scaling import fit_loglog
from seqarena.analysis.stats import linear_fit
from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import Claim, caveats, grid, ok_rows
from seqarena.claims.latency import abs_dev_interval
from seqarena.claims.suites import Suite
from seqarena.claims.verdict import Verdict

MB = 2**20


def _rounds(s: Suite) -> int:
    """Rounds of the slope claims (a fitted slope needs repeats for its interval); single-point claims use one."""
    return s.mem_rounds


def _prefill_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    points = [{"seq_len": n} for n in s.prefill_lens]
    return grid("memory", [claim.rnn, claim.attn], points, kind="infer", chunk=s.chunk, batch=4,
                params=s.params, rounds=_rounds(s))


def _peak_slope(df: pd.DataFrame, model: str, **match: Any):
    rows = ok_rows(df, model=model, **match)
    if not len(rows):
        return None, rows
    return fit_loglog(rows["seq_len"], rows["peak_bytes"].clip(lower=1), large_fraction=1.0, min_points=2), rows


def _growth_slope(df: pd.DataFrame, model: str, **match: Any):
    """Log-log slope of the peak's growth above the smallest n measured, against n - n0: the fixed part of a peak
    (weights, one chunk's activations, the allocator's slack) bends a plain log-log fit of the peak towards 0, while
    the growth of a cache that adds b bytes per token is exactly b (n - n0): slope 1; scores of n^2 pairs: ~2."""
    rows = ok_rows(df, model=model, **match)
    if not len(rows) or rows["seq_len"].nunique() < 3:
        return None, rows
    n0 = rows["seq_len"].min()
    base = float(rows.loc[rows["seq_len"] == n0, "peak_bytes"].median())
    later = rows[rows["seq_len"] > n0]
    growth = (later["peak_bytes"] - base).clip(lower=1)
    return fit_loglog(later["seq_len"] - n0, growth, large_fraction=1.0, min_points=2), rows


def _fit_evidence(model: str, fit, rows: pd.DataFrame, accounted: str | None = None) -> dict[str, Any]:
    ev = {"model": model, "slope": fit.slope, "slope_ci": (fit.ci_low, fit.ci_high), "n_range": fit.n_range,
          "peak MB by n": {int(n): round(float(g["peak_bytes"].median()) / MB, 2) for n, g in rows.groupby("seq_len")}}
    if accounted and accounted in rows:
        ev[f"accounted {accounted} MB by n (check)"] = {int(n): round(float(g[accounted].median()) / MB, 2)
                                                       for n, g in rows.groupby("seq_len")}
    return ev


def judge_13d(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: |slope - 1| of the growth of the transformer's measured peak (above the smallest n) vs n - n0 while its
    KV cache fills (chunked prefill = what generation holds at that position); supported below 0.1 when the RNN's
    peak also stays flat (slope < 0.1)."""
    fit, rows = _growth_slope(df, claim.attn)
    if fit is None:
        return claim.no_data(df)
    v = claim.verdict(abs(fit.slope - 1), abs_dev_interval(fit.ci_low, fit.ci_high, 1.0),
                      [_fit_evidence(claim.attn, fit, rows, "state_bytes")], caveats(df))
    rnn, rrows = _peak_slope(df, claim.rnn)
    if rnn is not None:
        v.evidence.append(_fit_evidence(claim.rnn, rnn, rrows, "state_bytes"))
    if v.status == "supported" and (rnn is None or rnn.ci_high >= 0.1):
        v.status = "inconclusive"
        v.caveats.append("the RNN's peak is not clearly flat (slope CI reaches 0.1)")
    return v


CLAIM_13D = Claim(
    id="13d", short="generation: the KV cache grows in memory, the RNN state does not",
    quote="KV caching trades computation for memory, storing key/value vectors for all previous positions, which grows "
          "linearly with sequence length but can still be large.",
    threshold=0.1, direction="below",
    effect_name="|log-log slope of the transformer's measured peak vs position - 1| (cache filling)",
    trials=_prefill_trials, judge=judge_13d,
    conditions="chunked prefill, batch 4", adaptive=True,
)


def judge_15a(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: |slope| of the RNN's measured peak vs n in a chunked prefill (supported below 0.1)."""
    fit, rows = _peak_slope(df, claim.rnn)
    if fit is None:
        return claim.no_data(df)
    return claim.verdict(abs(fit.slope), abs_dev_interval(fit.ci_low, fit.ci_high, 0.0),
                         [_fit_evidence(claim.rnn, fit, rows, "state_bytes")], caveats(df))


CLAIM_15A = Claim(
    id="15a", short="inference memory: an RNN holds parameters plus a small state",
    quote="RNNs require storing model parameters and a small hidden state vector per sequence.",
    threshold=0.1, direction="below",
    effect_name="|log-log slope of the LSTM's measured peak vs n| (chunked prefill)",
    trials=_prefill_trials, judge=judge_15a,
    conditions="chunked prefill, batch 4", adaptive=True,
)


def _naive_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    points = [{"seq_len": n} for n in s.naive_lens]
    # the written-out attention carries the slope (repeats for its interval); SDPA beside it once, as a contrast
    return (grid("memory", [(claim.attn, {"attn_impl": "math"})], points, kind="infer", batch=1, params=s.params,
                 rounds=_rounds(s))
            + grid("memory", [claim.attn], points, kind="infer", batch=1, params=s.params))


def _impl(df: pd.DataFrame, impl: str) -> pd.DataFrame:
    col = "spec.options.attn_impl"
    if col not in df:
        return df if impl == "sdpa" else df.iloc[0:0]
    return df[df[col] == impl] if impl == "math" else df[df[col].isna() | (df[col] == "sdpa")]


def judge_15b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: log-log slope of the measured peak vs n between the two largest n, attention written out (the n^2 x
    heads scores dominate there; supported at 1.8 or more); SDPA's fused kernel beside it (it never holds them)."""
    mrows = ok_rows(_impl(df, "math"), model=claim.attn)
    top = sorted(set(mrows["seq_len"]))[-2:] if len(mrows) else []
    math_fit = (fit_loglog(mrows["seq_len"], mrows["peak_bytes"], min_n=top[0], min_points=2)
                if len(top) == 2 else None)
    if math_fit is None:
        return claim.no_data(df)
    ev = [_fit_evidence(f"{claim.attn} (math attention)", math_fit, mrows)]
    srows = ok_rows(_impl(df, "sdpa"), model=claim.attn)
    sdpa_fit = fit_loglog(srows["seq_len"], srows["peak_bytes"], min_n=top[0], min_points=2) if len(srows) else None
    if sdpa_fit is not None:
        ev.append(_fit_evidence(f"{claim.attn} (SDPA)", sdpa_fit, srows))
    return claim.verdict(math_fit.slope, (math_fit.ci_low, math_fit.ci_high), ev,
                         [*caveats(df), "fused attention kernels (SDPA) keep inference memory O(n): the n^2 holds for "
                                        "attention written out"])


CLAIM_15B = Claim(
    id="15b", short="attention matrices grow as n^2 x heads",
    quote="For a sequence of length n with d-dimensional embeddings and h attention heads, the attention computation "
          "requires O(n²h) memory.",
    threshold=1.8, direction="above",
    effect_name="log-log slope of the measured peak vs n, attention written out (math), batch 1",
    trials=_naive_trials, judge=judge_15b,
    conditions="inference, batch 1", adaptive=True,
)


def _train_memory_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    points = [{"seq_len": n} for n in s.train_mem_lens]
    return grid("memory", [claim.rnn, claim.attn], points, kind="train", batch=4, params=s.params)


def judge_16a(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: transformer / RNN measured training peak at the largest n both ran (supported at 1.5 or more); the
    interval is the range over rounds."""
    ok = ok_rows(df)
    common = set(ok[ok["model"] == claim.rnn]["seq_len"]) & set(ok[ok["model"] == claim.attn]["seq_len"])
    if not common:
        return claim.no_data(df)
    n = max(common)
    a = ok[(ok["model"] == claim.attn) & (ok["seq_len"] == n)]["peak_bytes"]
    r = ok[(ok["model"] == claim.rnn) & (ok["seq_len"] == n)]["peak_bytes"]
    effect = float(a.median() / r.median())
    ci = (float(a.min() / r.max()), float(a.max() / r.min())) if min(len(a), len(r)) > 1 else None
    ev = [{"n": int(m), **{f"{mod} peak MB": float(ok[(ok["model"] == mod) & (ok["seq_len"] == m)]["peak_bytes"]
                                                   .median()) / MB for mod in (claim.rnn, claim.attn)},
           **{f"{mod} saved MB (check)": float(ok[(ok["model"] == mod) & (ok["seq_len"] == m)]["saved_bytes"]
                                                .median()) / MB for mod in (claim.rnn, claim.attn)}}
          for m in sorted(common)]
    return claim.verdict(effect, ci, ev, [*caveats(df), "one training step (fwd + bwd + AdamW) at batch 4"])


CLAIM_16A = Claim(
    id="16a", short="training memory: transformers need far more",
    quote="Transformers require enormous memory during training.",
    threshold=1.5, direction="above",
    effect_name="transformer / LSTM measured training peak at the largest common n",
    trials=_train_memory_trials, judge=judge_16a,
    conditions="training, batch 4", adaptive=True,
)


def _optimizer_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    return grid("memory", [claim.rnn, claim.attn], [{"seq_len": 64}], kind="optimizer", batch=1,
                params=s.optimizer_params)


def judge_16b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: |measured resident growth of AdamW's first step / parameter bytes - 2| (supported below 0.2)."""
    ok = ok_rows(df)
    if not len(ok) or "rss_growth_over_param_bytes" not in ok:
        return claim.no_data(df)
    ratios = ok["rss_growth_over_param_bytes"].astype(float)
    effect = abs(float(ratios.median()) - 2)
    ci = abs_dev_interval(float(ratios.min()), float(ratios.max()), 2.0) if len(ratios) > 1 else None
    ev = [{"model": row["model"], "param MB": row["param_bytes"] / MB,
           "measured growth MB": row["rss_growth_bytes"] / MB, "ratio": row["rss_growth_over_param_bytes"],
           "accounted state MB (check)": row["optimizer_state_bytes"] / MB} for _, row in ok.iterrows()]
    return claim.verdict(effect, ci, ev, [*caveats(df), "interval: range over models and rounds"])


CLAIM_16B = Claim(
    id="16b", short="Adam keeps two extra copies of the parameters",
    quote="Adam requires two additional copies of parameters",
    threshold=0.2, direction="below",
    effect_name="|measured growth of AdamW's first step / parameter bytes - 2|",
    trials=_optimizer_trials, judge=judge_16b,
    conditions="training", adaptive=True,
)


def _tbptt_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    points = [{"seq_len": n} for n in s.tbptt_lens]
    return grid("memory", [claim.rnn], points, kind="train", batch=2, tbptt=s.tbptt, params=s.params,
                rounds=_rounds(s))


def judge_16c(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: |slope| of the RNN's measured training peak vs n with truncated BPTT (supported below 0.1)."""
    fit, rows = _peak_slope(df, claim.rnn)
    if fit is None:
        return claim.no_data(df)
    return claim.verdict(abs(fit.slope), abs_dev_interval(fit.ci_low, fit.ci_high, 0.0),
                         [_fit_evidence(f"{claim.rnn} (TBPTT)", fit, rows, "saved_bytes")], caveats(df))


CLAIM_16C = Claim(
    id="16c", short="truncated BPTT bounds RNN training memory",
    quote="Backpropagation through time can be truncated to fixed-length segments, bounding memory regardless of total "
          "sequence length.",
    threshold=0.1, direction="below",
    effect_name="|log-log slope of the LSTM's measured training peak vs n| with TBPTT",
    trials=_tbptt_trials, judge=judge_16c,
    conditions="training, TBPTT segment 128", adaptive=True,
)


def _xl_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    points = [{"seq_len": n} for n in s.xl_lens]
    return grid("memory", [("transformer_xl", {"segment": 128, "mem_len": 128})], points, kind="infer", chunk=128,
                batch=1, params=s.params, rounds=_rounds(s))


def judge_18a(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: |slope| of Transformer-XL's measured evaluation peak vs the evaluated length (supported below 0.1)."""
    fit, rows = _peak_slope(df, "transformer_xl")
    if fit is None:
        return claim.no_data(df)
    return claim.verdict(abs(fit.slope), abs_dev_interval(fit.ci_low, fit.ci_high, 0.0),
                         [_fit_evidence("transformer_xl", fit, rows, "state_bytes")], caveats(df))


CLAIM_18A = Claim(
    id="18a", short="Transformer-XL: bounded memory on arbitrarily long sequences",
    quote="This hybrid approach captures transformers’ parallelism within segments while handling indefinitely long "
          "sequences through recurrence.",
    threshold=0.1, direction="below",
    effect_name="|log-log slope of Transformer-XL's measured evaluation peak vs evaluated length|",
    trials=_xl_trials, judge=judge_18a,
    conditions="segment 128, memory 128", adaptive=True,
)


def judge_18b(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: |slope| of Transformer-XL's per-token evaluation time vs the evaluated length (supported below 0.1)."""
    rows = ok_rows(df, model="transformer_xl")
    fit = fit_loglog(rows["seq_len"], rows["per_token_s"], large_fraction=1.0, min_points=2) if len(rows) else None
    if fit is None:
        return claim.no_data(df)
    ev = [{"model": "transformer_xl", "slope": fit.slope, "slope_ci": (fit.ci_low, fit.ci_high),
           "us/token by n": {int(n): round(1e6 * float(g["per_token_s"].median()), 1)
                             for n, g in rows.groupby("seq_len")}}]
    return claim.verdict(abs(fit.slope), abs_dev_interval(fit.ci_low, fit.ci_high, 0.0), ev,
                         [*caveats(df), "one timed call per length and round"])


CLAIM_18B = Claim(
    id="18b", short="Transformer-XL: constant cost per token on long sequences",
    quote="This hybrid approach captures transformers’ parallelism within segments while handling indefinitely long "
          "sequences through recurrence.",
    threshold=0.1, direction="below",
    effect_name="|log-log slope of Transformer-XL's per-token evaluation time vs evaluated length|",
    trials=_xl_trials, judge=judge_18b,
    conditions="segment 128, memory 128", adaptive=True,
)


def _edge_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    points = [{"seq_len": n} for n in s.edge_lens]
    return grid("memory", [claim.rnn, claim.attn], points, kind="infer", chunk=s.chunk, batch=1,
                params=s.edge_params, memory_cap_mb=s.edge_cap_mb, rounds=s.edge_rounds)


def max_length(df: pd.DataFrame, model: str, cap_bytes: float) -> tuple[float, tuple[float, float], dict]:
    """Largest n whose measured peak stays under the cap: measured where it failed the cap, else extrapolated from a
    linear fit peak = a + b n (interval from the slope's); infinite when the slope is not above zero."""
    rows = ok_rows(df, model=model)
    failed = df[(df["model"] == model) & (df["status"] == "failed")]
    ev: dict[str, Any] = {"model": model, "peak MB by n": {int(n): round(float(g["peak_bytes"].median()) / MB, 2)
                                                           for n, g in rows.groupby("seq_len")}}
    if len(failed):
        n_fail = int(failed["seq_len"].min())
        below = rows[rows["seq_len"] < n_fail]["seq_len"]
        n_ok = float(below.max()) if len(below) else 0.0
        ev["failed at n"] = n_fail
        return n_ok, (n_ok, float(n_fail)), ev
    fit = linear_fit(rows["seq_len"], rows["peak_bytes"]) if len(rows) else None
    if fit is None:
        return math.nan, (math.nan, math.nan), ev
    a, b, (b_lo, b_hi) = fit

    def n_at(slope: float) -> float:
        return math.inf if slope <= 0 else max(0.0, (cap_bytes - a) / slope)

    ev.update({"bytes per token": b, "slope CI": (b_lo, b_hi), "extrapolated": True})
    return n_at(b), (n_at(b_hi), n_at(b_lo)), ev


def judge_24(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: the RNN's max n under the cap / the transformer's (supported at 10 or more); both models edge-sized,
    both prefilled in chunks (a full-sequence LSTM forward holds its whole output: chunking is what bounds it)."""
    caps = df["spec.memory_cap_mb"].dropna() if "spec.memory_cap_mb" in df else pd.Series(dtype=float)
    if not len(caps):
        return claim.no_data(df)
    cap = float(caps.iloc[0]) * MB
    rnn_n, (rnn_lo, rnn_hi), rnn_ev = max_length(df, claim.rnn, cap)
    attn_n, (attn_lo, attn_hi), attn_ev = max_length(df, claim.attn, cap)
    if not (math.isfinite(attn_n) and attn_n > 0) or math.isnan(rnn_n):
        return claim.no_data(df, "the transformer's max length could not be measured or extrapolated")
    effect = rnn_n / attn_n
    lo = rnn_lo / attn_hi if attn_hi > 0 else math.nan
    hi = rnn_hi / attn_lo if attn_lo > 0 else math.inf
    params = ok_rows(df)["params"].dropna()
    size = f"{params.median() / 1e6:.1f}M parameters" if len(params) else "edge-sized"
    return claim.verdict(effect, (lo, hi), [rnn_ev, attn_ev],
                         [*caveats(df), f"{size}, cap {cap / MB:.0f} MB above the process baseline; lengths past the "
                                        "largest measured n are extrapolated from the measured bytes per token"])


CLAIM_24 = Claim(
    id="24", short="edge deployment: an LSTM fits far longer sequences under a memory cap",
    quote="A smartphone can comfortably run an LSTM for on-device processing but struggles with transformer inference "
          "for anything beyond short sequences.",
    threshold=10.0, direction="above",
    effect_name="LSTM / transformer max n under the memory cap (edge-sized, chunked prefill)",
    trials=_edge_trials, judge=judge_24,
    conditions="edge-sized model, memory cap", adaptive=True,
)

#: This module's claims (the registry orders every module's claims by id).
CLAIMS: list[Claim] = [CLAIM_13D, CLAIM_15A, CLAIM_15B, CLAIM_16A, CLAIM_16B, CLAIM_16C, CLAIM_18A, CLAIM_18B, CLAIM_24]
