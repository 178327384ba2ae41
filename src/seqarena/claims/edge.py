"""The edge deployment claim (24): how long a sequence each contender fits under a memory cap, weights included,
edge-sized and prefilled in chunks. Judged from measured peaks like the other memory claims
(:mod:`~seqarena.claims.memory`): a cap / out-of-memory failure is a result (the max n lies below it), any other
failure or a missing row leaves the verdict inconclusive, and an extrapolated max n rests on per-round fits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from seqarena.analysis.labels import MB
from seqarena.analysis.stats import round_interval
from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import Claim, caveats, first_missing, grid, ok_rows, size_failed_at
from seqarena.claims.rounds import medians_by_round
from seqarena.claims.suites import Suite
from seqarena.claims.verdict import UNTESTED, Verdict
from seqarena.store.columns import SPEC_MEMORY_CAP_MB


def _edge_trials(s: Suite, claim: Claim) -> list[TrialSpec]:
    points = [{"seq_len": n} for n in s.edge_lens]
    return grid("memory", [claim.rnn, claim.attn], points, kind="infer", chunk=s.chunk, batch=1,
                params=s.edge_params, memory_cap_mb=s.edge_cap_mb, rounds=s.edge_rounds)


def max_length(df: pd.DataFrame, model: str, cap_bytes: float) -> dict[str, Any]:
    """The largest n whose peak with the weights stays under the cap: {"n", "ci", "how", evidence...}.

    how = "measured": it failed the cap (or ran out of memory) at some n: between the largest n that fitted below it
    and that n. "extrapolated": per round a straight line peak = a + b n through the measured peaks, n = (cap - a) / b,
    interval over rounds. "beyond": the peak shows no measurable growth (the interval of b reaches 0, or b <= 0): the
    max n is only known to exceed the largest n measured (``ci`` is that n twice). A fitted b <= 0 is not infinity."""
    rows = ok_rows(df, model=model)
    ev: dict[str, Any] = {"model": model, "peak with weights MB by n": {
        int(n): round(float(g["peak_with_weights_bytes"].median()) / MB, 2) for n, g in rows.groupby("seq_len")}}
    n_fail = size_failed_at(df, model)
    if n_fail is not None:
        below = rows[rows["seq_len"] < n_fail]["seq_len"]
        n_ok = float(below.max()) if len(below) else 0.0
        return {**ev, "n": n_ok or float(n_fail), "ci": (n_ok, float(n_fail)), "how": "measured",
                "failed the cap at n": n_fail}
    fits = [np.polyfit(sorted(p), [p[n] for n in sorted(p)], 1)
            for p in medians_by_round(df, model, "peak_with_weights_bytes").values() if len(p) >= 2]
    growth, growth_ci = round_interval([float(b) for b, _ in fits], log=False)
    ev["growth bytes per token by round"] = [float(b) for b, _ in fits]
    if not fits:
        return {**ev, "n": math.nan, "ci": None, "how": "unknown"}
    if growth <= 0 or (growth_ci is not None and growth_ci[0] <= 0):
        top = float(rows["seq_len"].max())
        return {**ev, "n": top, "ci": (top, top), "how": "beyond"}
    n, ci = round_interval([(cap_bytes - a) / b for b, a in fits if b > 0])
    return {**ev, "n": n, "ci": ci, "how": "extrapolated"}


def judge_24(df: pd.DataFrame, claim: Claim) -> Verdict:
    """Effect: the RNN's max n under the cap / the transformer's (supported at 10 or more; zone 0.1, 9-11: "far
    longer" read as an order of magnitude, not to the percent). Both edge-sized, prefilled in chunks (a
    full-sequence LSTM forward holds its whole output: chunking is what bounds it); the peak counts the weights, as
    the cap does. The evidence states the transformer's max n in tokens.

    A chunked LSTM's peak does not grow by construction, so its max n is "beyond the range measured": the verdict
    then rests on the largest n where it was measured fitting (a lower bound). Supported when the transformer's max
    n is measurably under a tenth of it; otherwise not tested in this range (a lower bound cannot refute)."""
    why = first_missing(df, [claim.rnn, claim.attn], size_ok=True)
    caps = df[SPEC_MEMORY_CAP_MB].dropna() if SPEC_MEMORY_CAP_MB in df else pd.Series(dtype=float)
    if why or not len(caps) or "peak_with_weights_bytes" not in df:
        return claim.no_data(df, why or "missing data: no cap, or no peak with the weights (older rows)")
    cap = float(caps.iloc[0]) * MB
    rnn, attn = max_length(df, claim.rnn, cap), max_length(df, claim.attn, cap)
    if attn["how"] in ("beyond", "unknown"):
        return claim.no_data(df, f"the {claim.attn}'s peak shows no measurable growth: its max n cannot be "
                                 "extrapolated", [rnn, attn])
    attn["max n (tokens)"] = f"{attn['n']:,.0f}" + (f" ({attn['ci'][0]:,.0f}-{attn['ci'][1]:,.0f})"
                                                    if attn["ci"] else "")
    if rnn["how"] == "beyond":
        rnn["max n (tokens)"] = f"beyond the range measured (fits at n = {rnn['n']:,.0f})"
    effect = rnn["n"] / attn["n"] if attn["n"] > 0 else math.inf
    ci = None
    if rnn["ci"] and attn["ci"]:
        ci = (rnn["ci"][0] / attn["ci"][1], rnn["ci"][1] / attn["ci"][0] if attn["ci"][0] > 0 else math.inf)
    params = ok_rows(df)["params"].dropna() if "params" in df else pd.Series(dtype=float)
    size = f"{params.median() / 1e6:.1f}M parameters" if len(params) else "edge-sized"
    v = claim.verdict(effect, ci, [rnn, attn],
                      [*caveats(df), f"{size}, cap {cap / MB:.0f} MB above the process before the model was built "
                                     "(weights included)"])
    if rnn["how"] == "beyond" and v.status != "supported" and ci is not None:
        v.because("inconclusive",
                  f"{UNTESTED}: the {claim.rnn} fitted at every n measured (up to {rnn['n']:,.0f}) and the "
                  f"{claim.attn}'s max n is ~{attn['n']:,.0f} tokens; deciding needs the {claim.rnn} measured beyond "
                  "10x that")
    return v


CLAIM_24 = Claim(
    id="24", short="edge deployment: an LSTM fits far longer sequences under a memory cap",
    quote="A smartphone can comfortably run an LSTM for on-device processing but struggles with transformer inference "
          "for anything beyond short sequences.",
    threshold=10.0, direction="above", zone=0.1,
    effect_name="LSTM / transformer max n under the memory cap, weights included (edge-sized, chunked prefill)",
    trials=_edge_trials, judge=judge_24,
    conditions="edge-sized model, memory cap", adaptive=True,
)

#: This module's claims (the registry orders every module's claims by id).
CLAIMS: list[Claim] = [CLAIM_24]
