"""The sweep defaults the CLI and the job API share: which lengths and how many rounds a scenario measures when the
user names none."""

from __future__ import annotations

#: Sequence lengths per scenario (generation measures positions of one generated sequence instead).
DEFAULT_SEQ_LENS: dict[str, tuple[int, ...]] = {
    "forward_latency": (64, 128, 256, 512, 1024),
    "train_step": (64, 128, 256, 512, 1024),
    "throughput": (256,),
    "memory": (256, 512, 1024, 2048, 4096, 8192, 16384),
    "generation": (),
    "gradients": (64, 256),
}

#: Rounds per point: timing contenders are interleaved over two shuffled rounds; a memory peak is exact in one, and
#: so is the gradient probe (seeded, float64: a second round would repeat the same numbers).
DEFAULT_ROUNDS: dict[str, int] = {"forward_latency": 2, "train_step": 2, "throughput": 2, "memory": 1,
                                  "generation": 2, "gradients": 1}
