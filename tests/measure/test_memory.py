"""Measured peak memory (VmHWM / CUDA) and accounted bytes (saved tensors, KV cache) agree with known sizes."""

from __future__ import annotations

import pytest
import torch

from seqarena.measure.memory import PeakMemory, SavedTensors, cpu_peak_supported
from seqarena.models import build

MiB = 1 << 20
needs_proc = pytest.mark.skipif(not cpu_peak_supported(), reason="needs Linux /proc clear_refs and VmHWM")


def test_saved_activation_bytes_of_a_known_layer_equal_the_analytic_value():
    lin = torch.nn.Linear(64, 32)
    x = torch.randn(8, 10, 64, requires_grad=True)
    with SavedTensors(exclude=list(lin.parameters())) as saved:
        y = torch.tanh(lin(x))
    # the matmul saves its input (for the weight gradient), tanh saves its output; parameters are excluded
    assert saved.nbytes == x.numel() * 4 + y.numel() * 4
    with SavedTensors() as everything:
        torch.tanh(lin(x))
    assert everything.nbytes == saved.nbytes + lin.weight.numel() * 4


@needs_proc
def test_peak_catches_a_freed_spike_above_the_baseline():
    keep = torch.ones(32 * MiB // 4)  # resident before the region: must not count
    with PeakMemory() as peak:
        spike = torch.ones(64 * MiB // 4)
        del spike
    assert 60 * MiB <= peak.peak_bytes < 72 * MiB
    assert keep.sum() > 0


@needs_proc
@torch.no_grad()
def test_accounted_kv_growth_tracks_measured_peak_growth():
    """Where the cache dominates, the growth of VmHWM from n/2 to n tokens matches the accounted KV growth (20%)."""
    # wide and short: KV bytes per token (2 x layers x d_model x 4) dwarf the per-chunk transients (mask, scores),
    # which grow with n x chunk and would otherwise show up as extra "growth". Many layers with a narrow MLP (d_ff)
    # reach a large cache in few tokens and little compute: attention costs ~n^2 x d_model x layers, the cache
    # n x d_model x layers.
    model = build("transformer", vocab_size=64, d_model=1024, n_heads=4, layers=8, d_ff=64).eval()
    n, chunk = 2048, 64
    x = torch.randint(0, 64, (1, n))

    def fill(length: int) -> tuple[int, int]:
        with PeakMemory() as peak:
            state = model.init_state(1, max_len=length)  # torch.empty: committed only as it fills
            for lo in range(0, length, chunk):
                _, state = model(x[:, lo : min(lo + chunk, length)], state)
        return peak.peak_bytes, model.state_nbytes(state)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: per-thread scratch buffers depend on scheduling, i.e. on a neighbour's load
    try:
        fill(n // 4)  # warm-up: first-call allocations (thread pools, kernel caches) must not count as growth
        measured_half, accounted_half = fill(n // 2)
        measured, accounted = fill(n)
    finally:
        torch.set_num_threads(threads)
    assert accounted == 2 * 8 * n * 1024 * 4 == 2 * accounted_half  # 128 MiB: K and V, 8 layers
    growth, expected = measured - measured_half, accounted - accounted_half
    assert abs(growth - expected) <= 0.2 * expected, (growth, expected)
