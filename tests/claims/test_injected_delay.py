"""End to end: the same latency claims, measured twice, once with the LSTM slowed on purpose by a per-step delay of
at least 10x its own measured step time. The verdicts must follow the measurements."""

from __future__ import annotations

import time

import pytest
import torch

from seqarena.claims import run_claims
from seqarena.models import build

SLOW = "tests.claims.slow_models:SlowLSTM"
TINY_SUITE = {"params": 200_000, "repeats": 3, "min_seconds": 0.0, "rounds": 1, "max_rounds": 1, "tokens": 48,
              "short": (16, 32)}


def _lstm_step_ms() -> float:
    model = build("lstm", params=TINY_SUITE["params"]).eval()
    x = torch.randint(0, 256, (1, 32))
    with torch.no_grad():
        model(x)
        start = time.perf_counter()
        for _ in range(5):
            model(x)
    return (time.perf_counter() - start) / 5 / 32 * 1e3  # per position


@pytest.mark.slow
def test_a_slowed_lstm_flips_the_latency_verdicts(tmp_path, monkeypatch):
    delay_ms = max(10 * _lstm_step_ms(), 1.0)  # >= 10x the LSTM's own time per step: not a close call
    monkeypatch.setenv("SLOW_LSTM_DELAY_MS", str(delay_ms))  # inherited by the spawned workers
    normal, _ = run_claims(TINY_SUITE, ["10", "13e"], tmp_path / "normal.db")
    slowed, _ = run_claims(TINY_SUITE, ["10", "13e"], tmp_path / "slow.db", rnn=SLOW)
    assert {v.claim for v in slowed} == {"10", "13e"}
    for fast, slow in zip(normal, slowed):
        assert slow.effect > 2 * fast.effect, (fast, slow)  # the LSTM / transformer ratio rose with the delay
        assert slow.status == "refuted", slow
        assert fast.status != "refuted", fast
