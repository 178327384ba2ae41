"""Wall-time measurement that holds up on a noisy 2-core CPU and is correct on a GPU.

Rules (DESIGN.md): warm up; repeat until both a minimum count and a minimum duration are met; keep every per-call
time (jitter claims need p99/p50 of single calls, not of block means); report median, IQR, p10/p90/p99 and a noise
flag (IQR/median > 10%); fix the thread count and record it; on CUDA time with events after synchronising; time
contenders interleaved in a shuffled order so that machine drift hits all of them alike.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch

#: IQR / median above which a measurement is flagged noisy.
NOISE_THRESHOLD = 0.10


@dataclasses.dataclass(frozen=True)
class TimingStats:
    """Summary of per-call times in seconds. Percentiles use linear interpolation (numpy's default)."""

    n: int
    median: float
    mean: float
    p10: float
    p25: float
    p75: float
    p90: float
    p99: float
    min: float
    max: float
    threads: int
    samples: tuple[float, ...] = dataclasses.field(repr=False)

    @property
    def iqr(self) -> float:
        return self.p75 - self.p25

    @property
    def noisy(self) -> bool:
        """True when IQR / median exceeds :data:`NOISE_THRESHOLD`."""
        return self.median > 0 and self.iqr / self.median > NOISE_THRESHOLD

    @classmethod
    def from_samples(cls, samples: list[float] | tuple[float, ...], threads: int | None = None) -> TimingStats:
        """Statistics of the given per-call times (seconds)."""
        if len(samples) == 0:
            raise ValueError("no timing samples")
        a = np.asarray(samples, dtype=np.float64)
        p10, p25, p50, p75, p90, p99 = np.percentile(a, [10, 25, 50, 75, 90, 99])
        return cls(
            n=len(a),
            median=float(p50),
            mean=float(a.mean()),
            p10=float(p10),
            p25=float(p25),
            p75=float(p75),
            p90=float(p90),
            p99=float(p99),
            min=float(a.min()),
            max=float(a.max()),
            threads=threads if threads is not None else torch.get_num_threads(),
            samples=tuple(float(s) for s in a),
        )

    def to_dict(self) -> dict:
        """Flat record for the store (per-call samples included)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d.update(iqr=self.iqr, noisy=self.noisy, samples=list(self.samples))
        return d


@contextlib.contextmanager
def num_threads(n: int | None) -> Iterator[int]:
    """Run the block with ``n`` intra-op threads (None: leave as is); yields the count in force."""
    previous = torch.get_num_threads()
    if n is not None:
        if n < 1:
            raise ValueError(f"threads must be >= 1, got {n}")
        torch.set_num_threads(n)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)


class _Clock:
    """perf_counter on CPU; CUDA events on a GPU (after a synchronise, so no queued work leaks in)."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.device = device

    def time_call(self, fn: Callable[[], object]) -> float:
        if self.cuda:
            torch.cuda.synchronize(self.device)
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1e3
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0


def call_timer(device: torch.device | str = "cpu") -> Callable[[Callable[[], object]], float]:
    """``time(fn) -> seconds`` of one call of ``fn`` on ``device`` (perf_counter; CUDA events after a synchronise)."""
    return _Clock(torch.device(device)).time_call


def time_callable(
    fn: Callable[[], object],
    *,
    device: torch.device | str = "cpu",
    threads: int | None = None,
    warmup: int = 2,
    min_repeats: int = 5,
    min_seconds: float = 0.5,
    max_repeats: int = 10_000,
) -> TimingStats:
    """Time single calls of ``fn`` until both ``min_repeats`` calls and ``min_seconds`` of timed work are done."""
    device = torch.device(device)
    clock = _Clock(device)
    with num_threads(threads) as used:
        for _ in range(warmup):
            clock.time_call(fn)
        samples: list[float] = []
        while len(samples) < max_repeats and (len(samples) < min_repeats or sum(samples) < min_seconds):
            samples.append(clock.time_call(fn))
    return TimingStats.from_samples(samples, threads=used)


def time_interleaved(
    contenders: dict[str, Callable[[], object]],
    *,
    device: torch.device | str = "cpu",
    threads: int | None = None,
    warmup: int = 2,
    rounds: int = 5,
    min_seconds: float = 0.5,
    seed: int = 0,
) -> dict[str, TimingStats]:
    """Time several contenders fairly: in each round every contender runs for ``min_seconds / rounds`` (at least
    one call), in a freshly shuffled order; per-call samples are pooled over rounds."""
    device = torch.device(device)
    clock = _Clock(device)
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    with num_threads(threads) as used:
        for fn in contenders.values():
            for _ in range(warmup):
                clock.time_call(fn)
        budget = min_seconds / rounds
        for _ in range(rounds):
            order = list(contenders)
            rng.shuffle(order)
            for name in order:
                spent = 0.0
                while spent < budget or spent == 0.0:
                    t = clock.time_call(contenders[name])
                    samples[name].append(t)
                    spent += t
    return {name: TimingStats.from_samples(s, threads=used) for name, s in samples.items()}
