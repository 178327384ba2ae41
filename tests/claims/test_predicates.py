"""Verdicts come from data: each predicate, fed a synthetic table that supports it and one that refutes it, flips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqarena.claims import claim_by_id, decide, median_ratio_ci, select
from seqarena.essay import ATTN, RNN
from seqarena.models import SpecError


def _timing_rows(ms: dict[tuple[str, int, int], float], noise: float = 0.02, calls: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for (model, n, batch), median in ms.items():
        samples = list(median / 1e3 * np.exp(rng.normal(0, noise, calls)))
        rows.append({"model": model, "seq_len": n, "batch": batch, "status": "ok", "time.samples": samples,
                     "latency_s": float(np.median(samples)), "spec.device": "cpu", "env.cpu": "test CPU"})
    return pd.DataFrame(rows)


def _latency(rnn: dict[int, float], attn: dict[int, float]) -> pd.DataFrame:
    return _timing_rows({**{(RNN, n, 1): v for n, v in rnn.items()}, **{(ATTN, n, 1): v for n, v in attn.items()}})


@pytest.mark.parametrize("claim_id, lengths", [("10", (16, 32, 64)), ("11", (128, 256, 512, 1024))])
def test_latency_claims_flip_when_the_timings_swap(claim_id, lengths):
    claim = claim_by_id(claim_id)
    fast, slow = {n: 1.0 + n / 1000 for n in lengths}, {n: 2.0 + n / 500 for n in lengths}
    rnn_wins = claim.judge(_latency(fast, slow), claim)
    attn_wins = claim.judge(_latency(slow, fast), claim)
    expected = ("supported", "refuted") if claim.direction == "below" else ("refuted", "supported")
    assert (rnn_wins.status, attn_wins.status) == expected
    assert rnn_wins.effect < 1 < attn_wins.effect and len(rnn_wins.evidence) == len(lengths)
    assert rnn_wins.caveats and "GPUs" in rnn_wins.caveats[0]


def test_equal_latencies_are_inconclusive_not_a_win():
    claim = claim_by_id("10")
    same = {n: 1.0 for n in (16, 32, 64)}
    v = claim.judge(_latency(same, same), claim)
    assert v.status == "inconclusive" and v.ci[0] < 1 < v.ci[1]


def test_long_sequence_claim_uses_the_longest_length_and_reports_slopes():
    claim = claim_by_id("12")
    ns = (1024, 2048, 4096)
    linear, quadratic = {n: n / 1000 for n in ns}, {n: (n / 1000) ** 2 for n in ns}
    supported = claim.judge(_latency(linear, quadratic), claim)
    refuted = claim.judge(_latency(quadratic, linear), claim)
    assert supported.status == "supported" and refuted.status == "refuted"
    slopes = {e["model"]: e["slope"] for e in supported.evidence if "slope" in e}
    assert slopes[RNN] == pytest.approx(1.0, abs=0.05) and slopes[ATTN] == pytest.approx(2.0, abs=0.05)


def _generation(rnn: dict[int, float], cache: dict[int, float], recompute: dict[int, float]) -> pd.DataFrame:
    rows = []
    for model, mode, d in ((RNN, "state", rnn), (ATTN, "cache", cache), (ATTN, "recompute", recompute)):
        rng = np.random.default_rng(0)
        rows.append({"model": model, "mode": mode, "status": "ok", "spec.device": "cpu", "env.cpu": "x",
                     "decode_ms_by_position": {str(k): v for k, v in d.items()},
                     "decode_samples_by_position": {str(k): list(v * np.exp(rng.normal(0, 0.01, 15)))
                                                    for k, v in d.items()}})
    return pd.DataFrame(rows)


def test_generation_claims_flip():
    flat, growing = {32: 0.2, 1024: 0.2}, {32: 0.2, 1024: 2.0}
    cheap_cache, slow_cache = {32: 0.5, 1024: 0.6}, {32: 0.5, 1024: 1.8}
    recompute_grows, recompute_flat = {32: 1.0, 1024: 9.0}, {32: 1.0, 1024: 1.5}
    yes = _generation(flat, cheap_cache, recompute_grows)
    no = _generation(growing, slow_cache, recompute_flat)
    for cid in ("13a", "13b", "13c", "13e"):
        claim = claim_by_id(cid)
        assert claim.judge(yes, claim).status == "supported", cid
        assert claim.judge(no, claim).status == "refuted", cid


def test_batching_claim_needs_both_parts():
    claim = claim_by_id("14")

    def table(attn_32: float, rnn_32: float) -> pd.DataFrame:
        return _timing_rows({(ATTN, 256, 1): 10.0, (ATTN, 256, 32): attn_32, (RNN, 256, 1): 10.0,
                             (RNN, 256, 32): rnn_32})

    assert claim.judge(table(40.0, 200.0), claim).status == "supported"
    assert claim.judge(table(200.0, 300.0), claim).status == "refuted"  # 20x: not "nearly as fast"
    assert claim.judge(table(40.0, 40.0), claim).status == "inconclusive"  # not below the LSTM's ratio


def test_decide_and_ratio_intervals():
    assert decide((1.1, 1.3), 1.2, 1.0, "above") == "supported"
    assert decide((0.7, 0.9), 0.8, 1.0, "above") == "refuted"
    assert decide((0.9, 1.1), 1.0, 1.0, "above") == "inconclusive"
    assert decide(None, 0.05, 0.1, "below") == "supported"
    r, (lo, hi) = median_ratio_ci([2.0] * 20, [1.0] * 20)
    assert r == lo == hi == 2.0


def test_claim_selection():
    assert [c.id for c in select(["13"])] == ["13a", "13b", "13c", "13d", "13e"]
    assert [c.id for c in select(["10", "14"])] == ["10", "14"]
    with pytest.raises(SpecError, match="unknown claim"):
        select(["99"])


def test_scaling_claims_flip_with_the_exponents():
    ns = (1024, 2048, 4096, 8192)
    rows = []
    for model, exponent in ((ATTN, 2.0), (RNN, 1.0)):
        for n in ns:
            for r in range(2):  # two rounds as repeats
                rows.append({"model": model, "seq_len": n, "batch": 1, "status": "ok", "spec.device": "cpu",
                             "env.cpu": "x", "latency_s": 1e-6 * n**exponent * (1 + 0.01 * r)})
    good = pd.DataFrame(rows)
    swapped = good.assign(model=good["model"].map({ATTN: RNN, RNN: ATTN}))
    a, b = claim_by_id("2a"), claim_by_id("2b")
    assert a.judge(good, a).status == "supported" and b.judge(good, b).status == "supported"
    assert a.judge(swapped, a).status == "refuted" and b.judge(swapped, b).status == "refuted"


def test_mfu_claim_flips():
    claim = claim_by_id("17")

    def table(attn: float, rnn: float) -> pd.DataFrame:
        return pd.DataFrame([{"model": m, "seq_len": 256, "batch": 8, "mfu": v * (1 + 0.01 * r), "status": "ok",
                              "spec.round": r, "spec.device": "cpu", "env.cpu": "x"}
                             for m, v in ((ATTN, attn), (RNN, rnn)) for r in range(3)])

    assert claim.judge(table(0.5, 0.2), claim).status == "supported"
    assert claim.judge(table(0.2, 0.5), claim).status == "refuted"
