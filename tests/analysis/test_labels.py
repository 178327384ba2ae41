"""The shared vocabulary: contender labels and number formats."""

from __future__ import annotations

import math

import pandas as pd

from seqarena.analysis.labels import (
    fmt_compact,
    fmt_count,
    fmt_estimate,
    fmt_mb,
    fmt_mb_cell,
    fmt_ms,
    fmt_number,
    fmt_range,
    fmt_ratio,
    model_label,
    row_label,
)
from seqarena.recommender import Estimate


def test_a_label_is_the_model_with_its_options_sorted():
    assert model_label("lstm", {}) == "lstm"
    assert model_label("transformer", {"positions": "alibi", "attn_impl": "math"}) == \
        "transformer:attn_impl=math,positions=alibi"
    assert model_label("local", {"window": 128.0}) == "local:window=128"
    assert model_label("local", {"window": 128.0}, whole_numbers=False) == "local:window=128.0"


def test_a_row_label_reads_the_flattened_options_and_skips_missing_ones():
    row = pd.Series({"model": "local", "spec.options.window": 64.0, "spec.options.causal": math.nan, "seq_len": 16})
    assert row_label(row) == "local:window=64"
    assert row_label(row, whole_numbers=False) == "local:window=64.0"


def test_number_formats():
    assert [fmt_count(v) for v in (200_000, 1_000_000, 1_500_000, 12)] == ["200k", "1M", "1.5M", "12"]
    assert [fmt_compact(v) for v in (16, 1024, 60_000, 3e6, 0.003)] == ["16", "1,024", "60k", "3M", "0.003"]
    assert [fmt_number(v) for v in (None, math.inf, 1 / 3, (1, 2.5))] == ["—", "—", "0.3333", "(1, 2.5)"]
    assert fmt_range(1024, 4096.0) == "1,024–4,096" and fmt_ratio(2.9) == "2.90×" and fmt_ratio(2.9, "x") == "2.90x"
    assert [fmt_ms(1.62e-3), fmt_ms(2.5), fmt_ms(None)] == ["1.62 ms", "2,500 ms", "?"]
    assert [fmt_mb(512 * 2**20), fmt_mb(3.1 * 2**20)] == ["512 MB", "3.1 MB"]
    assert [fmt_mb_cell(3_250_000), fmt_mb_cell(None), fmt_mb_cell(math.nan)] == ["3.1", "—", "—"]


def test_an_estimate_shows_its_interval_or_its_one_sided_bound():
    assert fmt_estimate(Estimate(1.62e-3, 1.55e-3, 1.70e-3, "", (1,)), fmt_ms) == "1.62 ms [1.55, 1.7]"
    assert fmt_estimate(Estimate(None, 512 * 2**20, math.inf, "", (1,)), fmt_mb) == "> 512 MB"
    assert fmt_estimate(Estimate(2e-3, 0.0, 1.0, "", (1,)), fmt_ms) == "2 ms [0, unbounded]"
    assert fmt_estimate(Estimate(None, 0.0, math.inf, ""), fmt_ms) == "—"
