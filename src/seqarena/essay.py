"""The essay's constants in one place (the spec: ``transformer-vs-rnn.txt``).

What the essay fixes and several layers read: its two contenders, the sequence-length bands of its "Performance by
Sequence Length" section and the winners it names there, its "fewer than 10,000 training sequences" rule, the
recommender's default candidates, and the two profiles every report answers. This module imports nothing from
seqarena, so every layer may read it.
"""

from __future__ import annotations

from collections.abc import Callable

#: The essay's contenders: "RNN" is the LSTM, "Transformer" the decoder-only transformer (plain: no spec options).
RNN, ATTN = "lstm", "transformer"
ESSAY_CONTENDERS = (RNN, ATTN)

#: The length bands of "Performance by Sequence Length": short n < 100, medium 100 <= n <= 1,000, long n > 1,000.
SHORT_BELOW, LONG_ABOVE = 100, 1000
BANDS: tuple[tuple[str, str, Callable[[float], bool]], ...] = (
    ("short", "short (n < 100)", lambda n: n < SHORT_BELOW),
    ("medium", "medium (100 ≤ n ≤ 1,000)", lambda n: SHORT_BELOW <= n <= LONG_ABOVE),
    ("long", "long (n > 1,000)", lambda n: n > LONG_ABOVE),
)

#: The essay's verdicts per band, shown beside the measured ones.
ESSAY_WINNERS = {
    "short": "RNN for latency-critical single-sequence tasks",
    "medium": "Transformer for most tasks",
    "long": "RNN for very long sequences, sparse transformers competitive",
}

#: "For tasks with fewer than 10,000 training sequences, well-regularized RNNs sometimes match or exceed transformers."
LITTLE_DATA = 10_000

#: The architectures the recommender ranks when the user names none.
DEFAULT_CANDIDATES = (RNN, "gru", ATTN)

#: The two profiles every report answers: a latency-critical short one and a long one under a memory cap.
STANDARD_PROFILES: tuple[tuple[str, dict[str, float | int]], ...] = (
    ("n = 50, latency-critical (10 ms budget), batch 1, 5,000 training sequences",
     {"seq_len": 50, "train_sequences": 5000, "latency_budget_ms": 10.0, "batch": 1}),
    ("n = 20,000, inference memory cap 512 MB above the process baseline, 5,000 training sequences",
     {"seq_len": 20_000, "train_sequences": 5000, "memory_cap_mb": 512.0, "batch": 1}),
)
