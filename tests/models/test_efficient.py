"""Efficient and hybrid models: state size vs length, window-bounded caches, O(n w) local attention."""

from __future__ import annotations

import pytest
import torch

from seqarena.measure import SavedTensors
from seqarena.models import available, build


def _state_bytes_after(model, n: int) -> int:
    with torch.no_grad():
        _, state = model(torch.randint(0, 16, (2, n)))
    return model.state_nbytes(state)


@pytest.mark.parametrize("name", ["linear_attention", "performer", "min_gru", "min_lstm", "ssm"])
def test_recurrent_states_are_constant_in_length(name):
    model = build(name, d_model=16, layers=2, vocab_size=16).eval()
    sizes = {_state_bytes_after(model, n) for n in (1, 8, 64, 200)}
    assert len(sizes) == 1 and sizes.pop() > 0


def test_sliding_window_cache_stays_flat_once_the_window_is_full():
    model = build("local", d_model=16, layers=2, vocab_size=16, window=8).eval()
    sizes = [_state_bytes_after(model, n) for n in (4, 8, 64, 200)]
    assert sizes[0] < sizes[1] == sizes[2] == sizes[3]
    assert sizes[1] == 2 * 2 * 2 * 8 * 16 * 4  # K and V, layers, batch, window, width, fp32
    # generation keeps it flat too
    with torch.no_grad():
        state = model.init_state(2)
        _, state = model(torch.randint(0, 16, (2, 3)), state)
        for _ in range(30):
            _, state = model.step(torch.randint(0, 16, (2,)), state)
    assert model.state_nbytes(state) == sizes[1]


def test_local_attention_memory_is_linear_in_n():
    from seqarena.models.ops.local_attention import local_attention_blockwise

    def saved(n: int) -> int:
        q, k, v = (torch.randn(1, 2, n, 8, requires_grad=True) for _ in range(3))
        with SavedTensors(exclude=[q, k, v]) as s:
            local_attention_blockwise(q, k, v, 32)[0].sum()
        return s.nbytes

    small, large = saved(1024), saved(4096)
    assert 3.5 < large / small < 4.5  # 4x the length, 4x the memory (a full n x n mask would be 16x)


@pytest.mark.parametrize("name", ["linear_attention", "performer", "linformer", "local", "min_gru", "min_lstm", "ssm",
                                  "hybrid", "transformer_xl"])
def test_every_efficient_model_is_registered_and_builds_at_a_budget(name):
    assert name in available()
    model = build(name, params=250_000, vocab_size=256)
    assert abs(model.num_params() - 250_000) <= 0.05 * 250_000


def test_hybrid_stacks_the_named_mixers_and_accepts_plus_on_the_command_line():
    from seqarena.models import parse_model_string

    name, fields = parse_model_string("hybrid:stack=lstm+lstm+transformer")
    model = build(name, d_model=16, vocab_size=16, **fields)
    assert [type(m).__name__ for m in model.mixers] == ["LSTM", "LSTM", "Transformer"]
    assert model.spec.layers == 3
    with torch.no_grad():
        _, state = model(torch.randint(0, 16, (1, 5)))
    assert [type(s).__name__ for s in state.states] == ["RNNState", "RNNState", "TransformerState"]


def test_performer_attention_approaches_softmax_attention_as_features_grow():
    import torch.nn.functional as F

    from seqarena.models.ops.linear_attention import linear_attention_parallel
    from seqarena.models.performer import favor_features, orthogonal_gaussian

    g = torch.Generator().manual_seed(0)
    q, k, v = (0.5 * torch.randn(1, 2, 32, 8, generator=g, dtype=torch.float64) for _ in range(3))
    exact = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    errors = []
    for m in (4, 64, 4096):
        w = orthogonal_gaussian(m, 8, torch.Generator().manual_seed(1)).double()
        approx, _ = linear_attention_parallel(favor_features(q, w, True), favor_features(k, w, False), v)
        errors.append(float((approx - exact).abs().mean()))
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.02


def test_transformer_xl_state_is_bounded_by_memory_plus_segment():
    model = build("transformer_xl", d_model=16, layers=2, vocab_size=16, segment=8, mem_len=8).eval()
    sizes = [_state_bytes_after(model, n) for n in (8, 16, 100, 400)]
    assert sizes[1] == sizes[3] == 2 * 2 * 8 * 16 * 4  # memory only: layers, batch, mem_len, width, fp32
    assert max(sizes) <= 2 * 2 * (8 + 7) * 16 * 4  # memory + a partial segment at most


def test_transformer_xl_sees_its_memory_and_nothing_further_back():
    torch.manual_seed(0)
    model = build("transformer_xl", d_model=16, layers=1, vocab_size=16, segment=4, mem_len=4).eval()
    x = torch.randint(0, 16, (1, 12))

    def output_at_9_after_changing(pos: int) -> torch.Tensor:
        y = x.clone()
        y[0, pos] = (y[0, pos] + 1) % 16
        with torch.no_grad():
            return model(y)[0][0, 9]

    with torch.no_grad():
        base = model(x)[0][0, 9]
    assert not torch.allclose(output_at_9_after_changing(5), base)  # in the memory (positions 4..7)
    assert torch.allclose(output_at_9_after_changing(3), base)  # two segments back: beyond one layer's reach
    assert torch.allclose(output_at_9_after_changing(10), base)  # the future


@pytest.mark.parametrize("name", ["min_gru", "min_lstm"])
def test_min_rnn_scan_and_loop_forms_agree_inside_the_model(name):
    torch.manual_seed(0)
    model = build(name, d_model=16, layers=2, vocab_size=16, chunk=4).double()
    h = torch.randn(2, 11, 16, dtype=torch.float64, requires_grad=True)
    scan, s1 = model.mix(h, None, naive=False)
    loop, s2 = model.mix(h, None, naive=True)
    torch.testing.assert_close(scan, loop)
    torch.testing.assert_close(s1.h, s2.h)
    g1 = torch.autograd.grad(scan.sum(), h)[0]
    g2 = torch.autograd.grad(loop.sum(), h)[0]
    torch.testing.assert_close(g1, g2)
    with torch.no_grad():  # inference picks the loop on CPU, training the scan; both give the same outputs
        torch.testing.assert_close(model.mix(h, None)[0], scan)
