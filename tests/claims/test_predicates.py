"""Verdicts come from data: each predicate, fed a synthetic table that supports it and one that refutes it, flips."""

from __future__ import annotations

import pandas as pd
import pytest

from seqarena.claims import claim_by_id, select
from seqarena.errors import SpecError
from seqarena.essay import ATTN, RNN


def test_claim_selection():
    assert [c.id for c in select(["13"])] == ["13a", "13b", "13c", "13d", "13e"]
    assert [c.id for c in select(["10", "14"])] == ["10", "14"]
    with pytest.raises(SpecError, match="unknown claim"):
        select(["99"])


def test_mfu_claim_flips():
    claim = claim_by_id("17")

    def table(attn: float, rnn: float) -> pd.DataFrame:
        return pd.DataFrame([{"model": m, "seq_len": 256, "batch": 8, "mfu": v * (1 + 0.01 * r), "status": "ok",
                              "spec.round": r, "spec.device": "cpu", "env.cpu": "x"}
                             for m, v in ((ATTN, attn), (RNN, rnn)) for r in range(3)])

    assert claim.judge(table(0.5, 0.2), claim).status == "supported"
    assert claim.judge(table(0.2, 0.5), claim).status == "refuted"
