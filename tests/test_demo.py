"""The demo's Python API: results per model from real runs."""

from __future__ import annotations

import pytest

from seqarena.demo import DemoSettings, run_demo
from seqarena.errors import SpecError
from seqarena.models import available, get_class

TINY = DemoSettings(params=20_000, batch=2, seq_len=32, tokens=70, repeats=1)


def test_demo_rows_for_every_registered_model():
    rows = run_demo(settings=TINY)
    by_name = {r.model: r for r in rows}
    assert set(by_name) == set(available())
    for r in rows:
        assert abs(r.params - 20_000) <= 1_000
        assert r.train_tokens_per_s > 0
        # causal models generate in every mode and agree; bidirectional ones (linformer) do not generate
        assert r.modes_agree is (True if get_class(r.model).causal else None)
    assert set(by_name["transformer"].decode_ms_per_token) == {"recompute", "cache"}
    # after 64 tokens at batch 1: K and V per layer per token; the RNN state does not depend on length
    t = by_name["transformer"]
    assert t.state_bytes_64 == 2 * t.spec["layers"] * 64 * t.spec["d_model"] * 4
    lstm = by_name["lstm"]
    assert lstm.state_bytes_64 == 2 * lstm.spec["layers"] * lstm.spec["d_model"] * 4


def test_bad_settings_fail_before_any_work():
    with pytest.raises(SpecError, match="unknown model"):
        run_demo(["lstm", "nope"], TINY)
    with pytest.raises(SpecError, match="seq_len must be >= 1"):
        run_demo(["lstm"], DemoSettings(seq_len=0))


def test_demo_runs_feature_input_models_without_generation():
    rows = run_demo(["transformer:vocab_size=none,input_dim=3,head=regression"], TINY)
    assert rows[0].train_tokens_per_s > 0 and rows[0].modes_agree is None and rows[0].decode_ms_per_token == {}
