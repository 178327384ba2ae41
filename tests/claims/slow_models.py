"""An LSTM slowed on purpose (an injected delay per time step), loaded by import path inside spawned workers:
``tests.claims.slow_models:SlowLSTM``. Used to show that latency verdicts follow the measurements."""

from __future__ import annotations

import os
import time

from pydantic import Field

from seqarena.models.rnn import LSTM, RNNSpec


class SlowLSTMSpec(RNNSpec):
    # the default comes from the environment, so spawned workers of a test get the delay the test computed
    delay_ms: float = Field(default_factory=lambda: float(os.environ.get("SLOW_LSTM_DELAY_MS", "2.0")), ge=0,
                            description="sleep per time step (parallel forward: per position)")


class SlowLSTM(LSTM):
    """The LSTM, plus ``delay_ms`` of sleep per position in every forward and every generation step."""

    Spec = SlowLSTMSpec

    def mix(self, h, state):
        time.sleep(self.spec.delay_ms / 1e3 * h.shape[1])
        return super().mix(h, state)

    def step_mixer(self, inp, state):
        time.sleep(self.spec.delay_ms / 1e3)
        return super().step_mixer(inp, state)
