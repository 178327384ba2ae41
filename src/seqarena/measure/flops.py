"""FLOPs of a region, the machine's measured peak, and MFU.

``torch.utils.flop_counter.FlopCounterMode`` counts matmuls and convolutions. Checked with torch 2.13 on CPU, it
counts **0** for the CPU flash-attention kernel behind ``scaled_dot_product_attention`` and for the oneDNN kernel
behind ``nn.LSTM`` (and would for cuDNN's fused RNNs), so this module adds formulas for those ops; each is tested
against the counter on the same math written as plain matmuls (``tests/measure/test_flops.py``). Conventions follow
the counter (a multiply-add is 2 FLOPs; only matmul work counts: no softmax, gate nonlinearities or bias adds) with
one deliberate difference: causal attention counts only the query-key pairs the mask keeps (about half), for the
CUDA kernels too. Counting the masked half, as torch does for its CUDA kernels, would credit a causal transformer
with work it never does and inflate its MFU at long n (here it read 87% for a 1M-parameter transformer at n = 4096).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from seqarena.measure.timer import time_callable

aten = torch.ops.aten


def _causal_pairs(tq: int, tk: int, causal: bool) -> int:
    """Query-key pairs the attention math needs: all of them, or under SDPA's top-left causal mask (query i sees
    keys 0..i) only those, about half at tq == tk."""
    if not causal:
        return tq * tk
    m = min(tq, tk)
    return m * (m + 1) // 2 + (tq - m) * tk


def attention_flops(query, key, value, causal: bool = False) -> int:
    """Forward FLOPs of softmax attention on (B, H, Tq, D) / (B, H, Tk, D) / (B, H, Tk, Dv) shapes: QK^T and PV."""
    b, h, tq, d = query
    dv = value[-1]
    return 2 * b * h * _causal_pairs(tq, key[-2], causal) * (d + dv)


def _sdpa(qkv_at: int, causal_at: int, backward: bool) -> Callable[..., int]:
    """A counter formula for one fused SDPA kernel, given where q/k/v and is_causal sit in its schema."""

    def formula(*args, out_shape=None, **kwargs) -> int:
        q, k, v = args[qkv_at : qkv_at + 3]
        causal = bool(args[causal_at] if len(args) > causal_at else kwargs.get("is_causal", False))
        # backward of the math form: two matmuls per forward matmul (dQ, dK from dS; dP, dV from dO) = 2x forward.
        # torch's own CUDA formulas also count the QK^T a flash kernel recomputes (2.5x) and ignore causality; we
        # count what the math needs, so CPU and GPU, causal and not, compare like with like.
        return (2 if backward else 1) * attention_flops(q, k, v, causal)

    return formula


def _rnn_tokens(input_shape: Any) -> int:
    # (T, B, I), (B, T, I) or packed (sum of lengths, I): every row is one token through the layer
    return math.prod(input_shape) // input_shape[-1]


def _fused_rnn_flops(input_shape: Any, weights: list[Any], per_layer: int) -> int:
    """2 * tokens * (|W_ih| + |W_hh|) per layer: the input and recurrent matmuls of every gate at every step."""
    tokens = _rnn_tokens(input_shape)
    total = 0
    for layer in range(0, len(weights), per_layer):
        w_ih, w_hh = weights[layer], weights[layer + 1]
        total += 2 * tokens * (math.prod(w_ih) + math.prod(w_hh))
    return total


def _mkldnn_rnn_layer(input, weight0, weight1, weight2, weight3, hx, cx, reverse, batch_sizes, mode, hidden_size,
                      *args, out_shape=None, **kwargs) -> int:
    return _fused_rnn_flops(input, [weight0, weight1], 2)


def _mkldnn_rnn_layer_backward(input, weight1, weight2, weight3, weight4, hx, cx, output, hy, cy, grad_output,
                               grad_hy, grad_cy, reverse, mode, hidden_size, *args, out_shape=None, **kwargs) -> int:
    # gradients w.r.t. the inputs (and the initial state, which the kernel always returns) and w.r.t. the weights:
    # two matmuls of the forward's size for each forward matmul
    return 2 * _fused_rnn_flops(input, [weight1, weight2], 2)


def _cudnn_rnn(input, weight, weight_stride0, weight_buf, hx, cx, mode, hidden_size, *args, out_shape=None,
               **kwargs) -> int:
    return _fused_rnn_flops(input, weight, weight_stride0)


def _cudnn_rnn_backward(input, weight, weight_stride0, weight_buf, hx, cx, output, grad_output, grad_hy, grad_cy,
                        mode, hidden_size, *args, out_shape=None, **kwargs) -> int:
    return 2 * _fused_rnn_flops(input, weight, weight_stride0)


#: Formulas for the ops FlopCounterMode misses (keys are overload packets, as the counter expects).
EXTRA_FORMULAS: dict[Any, Callable[..., int]] = {
    aten._scaled_dot_product_flash_attention_for_cpu: _sdpa(0, 4, backward=False),
    aten._scaled_dot_product_flash_attention_for_cpu_backward: _sdpa(1, 7, backward=True),
    aten._scaled_dot_product_flash_attention: _sdpa(0, 4, backward=False),
    aten._scaled_dot_product_flash_attention_backward: _sdpa(1, 11, backward=True),
    aten._scaled_dot_product_efficient_attention: _sdpa(0, 6, backward=False),
    aten._scaled_dot_product_efficient_attention_backward: _sdpa(1, 11, backward=True),
    aten._scaled_dot_product_cudnn_attention: _sdpa(0, 6, backward=False),
    aten._scaled_dot_product_cudnn_attention_backward: _sdpa(1, 14, backward=True),
    aten.mkldnn_rnn_layer: _mkldnn_rnn_layer,
    aten.mkldnn_rnn_layer_backward: _mkldnn_rnn_layer_backward,
    aten._cudnn_rnn: _cudnn_rnn,
    aten._cudnn_rnn_backward: _cudnn_rnn_backward,
}


def flop_counter() -> FlopCounterMode:
    """A FlopCounterMode that also counts the fused attention and RNN kernels it misses on its own."""
    return FlopCounterMode(display=False, custom_mapping=EXTRA_FORMULAS)


def count_flops(fn: Callable[[], object]) -> int:
    """Total FLOPs of one call of ``fn`` (forward and, if ``fn`` runs it, backward)."""
    with flop_counter() as counter:
        fn()
    return int(counter.get_total_flops())


def gemm_peak_flops(
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    threads: int | None = None,
    n: int | None = None,
    min_seconds: float = 0.3,
) -> float:
    """The machine's attainable matmul rate: FLOP/s of a square n x n GEMM (median of timed calls).

    Measured in the same process and run as the numbers it normalises, with the same thread count and dtype, so MFU
    compares like with like. n defaults to 1024 on CPU (large enough to saturate 2 cores, small enough to take ~10 ms)
    and 4096 on a GPU.
    """
    device = torch.device(device)
    n = n or (4096 if device.type == "cuda" else 1024)
    gen = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(device=device, dtype=dtype)
    b = torch.randn(n, n, generator=gen).to(device=device, dtype=dtype)
    out = torch.empty(n, n, device=device, dtype=dtype)
    stats = time_callable(lambda: torch.mm(a, b, out=out), device=device, threads=threads, warmup=3,
                          min_repeats=10, min_seconds=min_seconds)
    return 2 * n**3 / stats.median


def mfu(flops: float, seconds: float, peak_flops: float) -> float:
    """Model FLOP utilisation: achieved FLOP/s over the measured peak."""
    return flops / seconds / peak_flops
