"""Is the thread count really used, not just set? CPU seconds per wall second while timing a GEMM with 1 and with 2
threads (~1 on one thread, clearly more on two). A measurement of the machine, so it lives here, not in the tests
(a busy neighbour process makes it read ~1 for both): run it on a quiet machine.

    .venv/bin/python benchmarks/threads_used.py
"""

from __future__ import annotations

import time

import torch

from seqarena.measure.system import usable_cores
from seqarena.measure.timer import time_callable


def busy_ratio(threads: int, size: int = 768) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    time_callable(lambda: a @ b, threads=threads, warmup=2, min_repeats=10, min_seconds=0.3)
    return (time.process_time() - cpu0) / (time.perf_counter() - wall0)


def main() -> None:
    cores = usable_cores()
    for threads in sorted({1, min(2, cores), cores}):
        print(f"threads {threads}: {busy_ratio(threads):.2f} CPU s per wall s ({cores} usable cores, "
              f"torch {torch.__version__})")


if __name__ == "__main__":
    main()
