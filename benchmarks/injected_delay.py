"""The latency verdicts follow real measurements: claims 10 and 13e measured twice, once with the LSTM as it is and
once slowed on purpose by a per-step sleep of at least 10x its own measured step time
(``tests.claims.slow_models:SlowLSTM``). Prints both verdicts; the second must read refuted. A measurement of the
machine, so it lives here and not in the tests (a busy neighbour moves the first verdict):

    .venv/bin/python benchmarks/injected_delay.py [--db-dir /tmp]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from seqarena.claims import run_claims
from seqarena.models import build

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.claims.slow_models, for the spawned workers
SLOW = "tests.claims.slow_models:SlowLSTM"
TINY_SUITE = {"params": 200_000, "repeats": 3, "min_seconds": 0.0, "rounds": 1, "max_rounds": 1, "tokens": 48,
              "short": (16, 32)}


def lstm_step_ms() -> float:
    """The LSTM's own time per position at batch 1, n = 32."""
    model = build("lstm", params=TINY_SUITE["params"]).eval()
    x = torch.randint(0, 256, (1, 32))
    with torch.no_grad():
        model(x)
        start = time.perf_counter()
        for _ in range(5):
            model(x)
    return (time.perf_counter() - start) / 5 / 32 * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db-dir", type=Path, default=None)
    args = parser.parse_args()
    where = args.db_dir or Path(tempfile.mkdtemp(prefix="seqarena-delay-"))
    delay_ms = max(10 * lstm_step_ms(), 1.0)
    os.environ["SLOW_LSTM_DELAY_MS"] = str(delay_ms)  # inherited by the spawned workers
    os.environ["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                os.environ.get("PYTHONPATH", "")])
    normal, _ = run_claims(TINY_SUITE, ["10", "13e"], where / "normal.db")
    slowed, _ = run_claims(TINY_SUITE, ["10", "13e"], where / "slow.db", rnn=SLOW)
    print(f"injected delay {delay_ms:.3f} ms per step (torch {torch.__version__}, {torch.get_num_threads()} threads)")
    for fast, slow in zip(normal, slowed):
        print(f"claim {fast.claim}: lstm {fast.status} {fast.effect:.3g} -> slowed {slow.status} {slow.effect:.3g}")


if __name__ == "__main__":
    main()
