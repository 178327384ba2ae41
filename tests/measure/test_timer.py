"""Timer statistics on fixed inputs, the noise flag, thread control and interleaving."""

from __future__ import annotations

import re

import pytest
import torch

from seqarena.measure.timer import TimingStats, num_threads, time_callable, time_interleaved


def test_statistics_of_fixed_samples_are_exact():
    s = TimingStats.from_samples([5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 6.0, 8.0, 7.0, 9.0], threads=1)
    # sorted 1..10; linear interpolation at rank q * (n - 1)
    assert s.n == 10
    assert s.median == 5.5
    assert s.mean == 5.5
    assert s.p10 == pytest.approx(1.9)
    assert s.p25 == pytest.approx(3.25)
    assert s.p75 == pytest.approx(7.75)
    assert s.p90 == pytest.approx(9.1)
    assert s.p99 == pytest.approx(9.91)
    assert s.iqr == pytest.approx(4.5)
    assert (s.min, s.max) == (1.0, 10.0)
    assert s.samples[:2] == (5.0, 1.0), "per-call samples are kept in call order"


def test_noise_flag():
    quiet = TimingStats.from_samples([1.00, 1.01, 0.99, 1.00, 1.02, 0.98, 1.00])
    noisy = TimingStats.from_samples([1.0, 1.3, 0.8, 1.0, 1.4, 0.7, 1.1])
    assert not quiet.noisy
    assert noisy.noisy


def test_timer_meets_count_and_duration_and_runs_on_the_requested_threads():
    seen = []
    stats = time_callable(lambda: seen.append(torch.get_num_threads()), threads=1, warmup=1, min_repeats=7,
                          min_seconds=0.0)
    assert stats.n == 7 and len(seen) == 8 and set(seen) == {1} and stats.threads == 1
    slow = time_callable(lambda: torch.randn(64, 64) @ torch.randn(64, 64), min_repeats=3, min_seconds=0.05)
    assert sum(slow.samples) >= 0.05


def test_thread_setting_is_restored():
    before = torch.get_num_threads()
    with num_threads(1) as used:
        assert used == 1 == torch.get_num_threads()
    assert torch.get_num_threads() == before


def test_interleaved_runs_every_contender_in_every_round():
    calls = []
    out = time_interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, warmup=0, rounds=4,
                           min_seconds=0.0)
    assert set(out) == {"a", "b"} and out["a"].n == out["b"].n == 4
    # interleaved: neither contender runs all its calls in one block
    assert calls != ["a"] * 4 + ["b"] * 4 and calls != ["b"] * 4 + ["a"] * 4


def _pools() -> dict[str, int]:
    """The intra-op thread counts torch, OpenMP and MKL report from inside the process (no clock involved)."""
    info = torch.__config__.parallel_info()
    return {k: int(v) for k, v in re.findall(r"(get_num_threads|omp_get_max_threads|mkl_get_max_threads)\(\) : (\d+)",
                                             info)}


@pytest.mark.parametrize("threads", [1, 2])
def test_the_thread_count_reaches_every_pool_the_timed_call_runs_on(threads):
    # read back, not timed: the setting is in force in ATen, OpenMP and MKL while the calls run (the speed-up it
    # buys is shown by benchmarks/threads_used.py, which compares CPU seconds to wall seconds)
    seen = []
    time_callable(lambda: seen.append(_pools()), threads=threads, warmup=1, min_repeats=2, min_seconds=0.0)
    assert seen and all(s.get("get_num_threads") == threads for s in seen)
    assert all(s.get("omp_get_max_threads", threads) == threads for s in seen)
    assert all(s.get("mkl_get_max_threads", threads) == threads for s in seen)
