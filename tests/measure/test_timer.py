"""Timer statistics on fixed inputs, the noise flag, thread control and interleaving."""

from __future__ import annotations

import time

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


@pytest.mark.skipif(len(__import__("os").sched_getaffinity(0)) < 2, reason="needs 2 usable cores")
def test_the_thread_count_is_really_used_not_just_set():
    # CPU seconds per wall second while timing a GEMM: ~1 on one thread, clearly more on two
    a, b = torch.randn(768, 768), torch.randn(768, 768)

    def busy_ratio(threads: int) -> float:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        time_callable(lambda: a @ b, threads=threads, warmup=2, min_repeats=10, min_seconds=0.3)
        return (time.process_time() - cpu0) / (time.perf_counter() - wall0)

    assert busy_ratio(1) < 1.25
    assert busy_ratio(2) > 1.4
