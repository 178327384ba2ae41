"""The FLOP formulas added for ops FlopCounterMode misses equal the counter on the same math written as matmuls."""

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from seqarena.measure.flops import count_flops, gemm_peak_flops, mfu


def _plain_count(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


@pytest.mark.parametrize("tq,tk", [(16, 16), (4, 20)])
def test_cpu_sdpa_forward_and_backward_equal_matmul_form(tq, tk):
    torch.manual_seed(0)
    q = torch.randn(2, 3, tq, 8, requires_grad=True)
    k = torch.randn(2, 3, tk, 8, requires_grad=True)
    v = torch.randn(2, 3, tk, 8, requires_grad=True)

    def fused():
        F.scaled_dot_product_attention(q, k, v).sum().backward()

    def matmuls():
        p = torch.softmax(q @ k.transpose(-1, -2) / 8**0.5, dim=-1)
        (p @ v).sum().backward()

    assert _plain_count(fused) == 0  # the gap this module fills; if torch starts counting it, drop the formula
    expected = _plain_count(matmuls)
    assert expected == 2 * (2 * 2 * 3 * tq * tk * 8) * 3  # fwd: QK^T and PV; bwd: twice the forward
    assert count_flops(fused) == expected


def _lstm_as_matmuls(x, lstm):
    """One-layer LSTM with torch.mm (what the fused kernel computes), for the counter."""
    T, B, _ = x.shape
    H = lstm.hidden_size
    h = x.new_zeros(B, H, requires_grad=True)  # the fused kernel always returns d(initial state)
    c = x.new_zeros(B, H)
    outs = []
    for t in range(T):
        gates = torch.mm(x[t], lstm.weight_ih_l0.t()) + torch.mm(h, lstm.weight_hh_l0.t()) + lstm.bias_ih_l0
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs)


@pytest.mark.parametrize("layers", [1, 2])
def test_fused_lstm_forward_and_backward_equal_matmul_form(layers):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(6, 10, num_layers=layers)
    x = torch.randn(7, 3, 6, requires_grad=True)
    assert _plain_count(lambda: lstm(x)[0].sum().backward()) == 0

    def matmuls(backward: bool):
        h = x
        for layer in range(layers):
            single = torch.nn.LSTM(h.shape[-1], 10)
            with torch.no_grad():
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(single, f"{name}_l0").copy_(getattr(lstm, f"{name}_l{layer}"))
            h = _lstm_as_matmuls(h, single)
        if backward:
            h.sum().backward()

    assert count_flops(lambda: lstm(x)) == _plain_count(lambda: matmuls(False)) == 2 * 7 * 3 * (
        40 * 6 + 40 * 10 + (layers - 1) * (40 * 10 + 40 * 10)
    )
    assert count_flops(lambda: lstm(x)[0].sum().backward()) == _plain_count(lambda: matmuls(True))


def test_causal_attention_counts_only_the_pairs_the_mask_keeps():
    q = k = v = torch.randn(1, 2, 6, 4)
    full = count_flops(lambda: F.scaled_dot_product_attention(q, k, v))
    causal = count_flops(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True))
    assert full == 2 * 2 * 36 * 8 and causal == full * 21 // 36  # 6 * 7 / 2 of 36 pairs
    # a rectangular top-left mask: query i sees keys 0..i
    assert count_flops(lambda: F.scaled_dot_product_attention(q[:, :, :3], k, v, is_causal=True)) == 2 * 2 * 6 * 8
    # an explicit mask may keep anything: counted in full
    mask = torch.ones(6, 6, dtype=torch.bool).tril()
    assert count_flops(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask)) == full


def test_cudnn_rnn_formula_matches_the_onednn_one_on_the_same_shapes():
    # no GPU here: the cuDNN formula is checked on the shapes cuDNN passes (a flat weight list, weight_stride0 per
    # layer) against the oneDNN formula that the test above ties to the matmul form
    from seqarena.measure.flops import EXTRA_FORMULAS

    aten = torch.ops.aten
    T, B, I, H = 7, 3, 6, 10
    weights = [(4 * H, I), (4 * H, H), (4 * H,), (4 * H,), (4 * H, H), (4 * H, H), (4 * H,), (4 * H,)]
    # the counter hands formulas shapes, not tensors
    cudnn = EXTRA_FORMULAS[aten._cudnn_rnn]((T, B, I), weights, 4, None, (2, B, H), None, 2, H)
    layer = EXTRA_FORMULAS[aten.mkldnn_rnn_layer]
    onednn = sum(layer((T, B, i), (4 * H, i), (4 * H, H), None, None, None, None, False, [], 2, H) for i in (I, H))
    assert cudnn == onednn == 2 * T * B * (4 * H * I + 4 * H * H + 2 * 4 * H * H)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_lstm_is_counted_like_the_matmul_form():
    lstm = torch.nn.LSTM(6, 10).cuda()
    x = torch.randn(7, 3, 6, device="cuda")
    assert count_flops(lambda: lstm(x)) == 2 * 7 * 3 * (40 * 6 + 40 * 10)


def test_gru_is_counted_by_torch_itself():
    gru = torch.nn.GRU(6, 10)
    x = torch.randn(5, 2, 6)
    assert _plain_count(lambda: gru(x)) == count_flops(lambda: gru(x)) > 0


def test_gemm_peak_and_mfu():
    peak = gemm_peak_flops(n=128, min_seconds=0.01, threads=1)
    assert peak > 1e6
    assert mfu(2e9, 2.0, 1e9) == pytest.approx(1.0)
