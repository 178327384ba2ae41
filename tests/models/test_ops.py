"""Every fast op equals its naive twin (a loop over time) on outputs and gradients over a small grid."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from seqarena.models.ops.linear_attention import (
    linear_attention_chunked,
    linear_attention_naive,
    linear_attention_parallel,
)
from seqarena.models.ops.scan import scan_log, scan_naive


def _grads(out, inputs, seed=0):
    w = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed), dtype=out.dtype)
    return torch.autograd.grad((out * w).sum(), inputs, retain_graph=True)


@pytest.mark.parametrize("B, T, D, chunk", [(1, 1, 1, 4), (2, 7, 3, 4), (3, 33, 5, 8), (2, 300, 4, 128)])
@pytest.mark.parametrize("with_h0", [False, True])
def test_log_space_scan_equals_the_loop(B, T, D, chunk, with_h0):
    g = torch.Generator().manual_seed(T)
    log_a = (-F.softplus(torch.randn(B, T, D, generator=g, dtype=torch.float64))).requires_grad_()
    log_b = torch.randn(B, T, D, generator=g, dtype=torch.float64).requires_grad_()
    h0 = torch.rand(B, D, generator=g, dtype=torch.float64) + 0.1 if with_h0 else None
    fast, final = scan_log(log_a, log_b, initial_state=h0, output_final_state=True, chunk=chunk)
    naive, final_ref = scan_naive(log_a.exp(), log_b.exp(), initial_state=h0, output_final_state=True)
    torch.testing.assert_close(fast, naive, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(final, final_ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(final, naive[:, -1])
    for a, b in zip(_grads(fast, [log_a, log_b]), _grads(naive, [log_a, log_b])):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


def test_log_space_scan_stays_accurate_on_long_float32_sequences():
    g = torch.Generator().manual_seed(0)
    log_a = -F.softplus(torch.randn(1, 4096, 8, generator=g))
    log_b = torch.randn(1, 4096, 8, generator=g)
    torch.testing.assert_close(scan_log(log_a, log_b)[0], scan_naive(log_a.exp(), log_b.exp())[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("B, H, T, D, chunk", [(1, 1, 1, 2, 4), (2, 2, 9, 3, 4), (1, 3, 40, 4, 16), (2, 1, 17, 8, 64)])
@pytest.mark.parametrize("with_state", [False, True])
def test_linear_attention_forms_agree(B, H, T, D, chunk, with_state):
    g = torch.Generator().manual_seed(T)
    q, k = (F.elu(torch.randn(B, H, T, D, generator=g, dtype=torch.float64)) + 1 for _ in range(2))
    v = torch.randn(B, H, T, D + 1, generator=g, dtype=torch.float64)
    q, k, v = (t.requires_grad_() for t in (q, k, v))
    S = torch.rand(B, H, D, D + 1, generator=g, dtype=torch.float64) if with_state else None
    z = torch.rand(B, H, D, generator=g, dtype=torch.float64) + 1 if with_state else None
    state = (S, z) if with_state else None
    ref, (S_ref, z_ref) = linear_attention_naive(q, k, v, initial_state=state, output_final_state=True)
    for form in (linear_attention_parallel, lambda *a, **kw: linear_attention_chunked(*a, **kw, chunk=chunk)):
        assert form(q, k, v, initial_state=state)[1] is None  # the final state only when asked
        out, (S_out, z_out) = form(q, k, v, initial_state=state, output_final_state=True)
        torch.testing.assert_close(out, ref)
        torch.testing.assert_close(S_out, S_ref)
        torch.testing.assert_close(z_out, z_ref)
        for a, b in zip(_grads(out, [q, k, v]), _grads(ref, [q, k, v])):
            torch.testing.assert_close(a, b)


@pytest.mark.parametrize("B, H, T, D, w, m", [(1, 1, 1, 2, 4, 0), (2, 2, 9, 3, 4, 0), (1, 2, 13, 4, 5, 3),
                                              (2, 1, 16, 2, 16, 16), (1, 1, 7, 2, 3, 5)])
def test_blockwise_local_attention_equals_the_loop(B, H, T, D, w, m):
    from seqarena.models.ops.local_attention import local_attention_blockwise, local_attention_naive

    g = torch.Generator().manual_seed(T + w)
    q, k, v = (torch.randn(B, H, T, D, generator=g, dtype=torch.float64).requires_grad_() for _ in range(3))
    kp = torch.randn(B, H, m, D, generator=g, dtype=torch.float64) if m else None
    vp = torch.randn(B, H, m, D, generator=g, dtype=torch.float64) if m else None
    state = (kp, vp) if m else None
    fast, (fk, fv) = local_attention_blockwise(q, k, v, w, initial_state=state, output_final_state=True)
    ref, (rk, rv) = local_attention_naive(q, k, v, w, initial_state=state, output_final_state=True)
    torch.testing.assert_close(fast, ref)
    all_k = k if kp is None else torch.cat([kp, k], dim=2)
    assert fk.shape[2] == min(w, all_k.shape[2]) and torch.equal(fk, all_k[:, :, -w:]) and torch.equal(fk, rk)
    assert torch.equal(fv, rv)
    for a, b in zip(_grads(fast, [q, k, v]), _grads(ref, [q, k, v])):
        torch.testing.assert_close(a, b)


def test_local_attention_with_a_window_covering_everything_is_causal_attention():
    from seqarena.models.ops.local_attention import local_attention_blockwise

    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 2, 10, 4, generator=g, dtype=torch.float64) for _ in range(3))
    full = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(local_attention_blockwise(q, k, v, 10)[0], full)


@pytest.mark.parametrize("b, T, H, P, N, chunk", [(1, 1, 1, 1, 1, 4), (2, 9, 2, 3, 4, 4), (1, 40, 3, 2, 5, 16),
                                                  (2, 17, 1, 4, 3, 64)])
@pytest.mark.parametrize("with_state", [False, True])
def test_chunked_ssm_scan_equals_the_sequential_recurrence(b, T, H, P, N, chunk, with_state):
    from seqarena.models.ops.ssm import ssd_chunked, ssm_naive

    g = torch.Generator().manual_seed(T)
    x = torch.randn(b, T, H, P, generator=g, dtype=torch.float64).requires_grad_()
    dt = F.softplus(torch.randn(b, T, H, generator=g, dtype=torch.float64)).requires_grad_()
    A = (-torch.rand(H, generator=g, dtype=torch.float64) * 4).requires_grad_()
    B_, C_ = (torch.randn(b, T, N, generator=g, dtype=torch.float64).requires_grad_() for _ in range(2))
    h0 = torch.randn(b, H, P, N, generator=g, dtype=torch.float64) if with_state else None
    inputs = [x, dt, A, B_, C_]
    y, h = ssd_chunked(x, dt, A, B_, C_, initial_state=h0, output_final_state=True, chunk=chunk)
    y_ref, h_ref = ssm_naive(x, dt, A, B_, C_, initial_state=h0, output_final_state=True)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(h, h_ref)
    for a, b_ in zip(_grads(y, inputs), _grads(y_ref, inputs)):
        torch.testing.assert_close(a, b_)


@pytest.mark.parametrize("dtype, scale", [(torch.float32, 30.0), (torch.float32, 400.0), (torch.float64, 30.0)])
def test_chunked_ssm_scan_stays_finite_and_exact_where_a_chunk_decays_past_the_dtypes_range(dtype, scale):
    """The fast form factors each chunk's decay into exp(+-m) pairs: with steps decaying by e^-30 (a 64-step chunk
    spans e^-1920) or e^-400 per step, a naive factorisation overflows to inf * 0 = nan; the chunk must shrink."""
    from seqarena.models.ops.ssm import ssd_chunked, ssm_naive

    g = torch.Generator().manual_seed(1)
    b, T, H, P, N = 2, 70, 3, 2, 4
    x = torch.randn(b, T, H, P, generator=g, dtype=dtype).requires_grad_()
    dt = (torch.rand(b, T, H, generator=g, dtype=dtype) * scale).requires_grad_()
    A = -torch.ones(H, dtype=dtype)
    B_, C_ = (torch.randn(b, T, N, generator=g, dtype=dtype).requires_grad_() for _ in range(2))
    y, h = ssd_chunked(x, dt, A, B_, C_, output_final_state=True, chunk=64)
    y_ref, h_ref = ssm_naive(x, dt, A, B_, C_, output_final_state=True)
    # float32: exponents of ~80 carry ~5e-6 absolute rounding each, in either form
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == torch.float32 else {}
    torch.testing.assert_close(y, y_ref, **tol)
    torch.testing.assert_close(h, h_ref, **tol)
    grads = _grads(y, [x, dt, B_, C_])
    assert all(torch.isfinite(gr).all() for gr in grads)
    for a, b_ in zip(grads, _grads(y_ref, [x, dt, B_, C_])):
        torch.testing.assert_close(a, b_, **tol)


def test_ssm_reference_matches_the_papers_recurrence_written_out_for_one_step():
    from seqarena.models.ops.ssm import ssm_naive

    # one step from h0: h1 = exp(dt A) h0 + dt x B^T, y1 = h1 C (scalars per head/channel/state written by hand)
    x = torch.tensor([[[[2.0]]]])
    dt = torch.tensor([[[0.5]]])
    A = torch.tensor([-1.0])
    B_ = torch.tensor([[[3.0]]])
    C_ = torch.tensor([[[4.0]]])
    h0 = torch.tensor([[[[1.0]]]])
    y, h = ssm_naive(x, dt, A, B_, C_, initial_state=h0, output_final_state=True)
    expected_h = math.exp(-0.5) * 1.0 + 0.5 * 2.0 * 3.0
    assert h.item() == pytest.approx(expected_h) and y.item() == pytest.approx(4.0 * expected_h)
