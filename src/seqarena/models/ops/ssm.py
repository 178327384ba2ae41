"""The selective state-space recurrence of a Mamba-style block (Mamba-2 form: one scalar decay per head).

    h_t = exp(dt_t * A) * h_{t-1} + dt_t * x_t B_t^T          h (H, P, N) per sequence
    y_t = h_t C_t                                             y (H, P)

with input-dependent step sizes dt_t > 0 (per head), A < 0 (per head), and input-dependent B_t, C_t (N). The fast form
(``ssd_chunked``) is the chunked "state-space duality" computation (Dao & Gu 2024): inside a chunk of C steps the
outputs are a masked, decay-weighted attention-like product (every exponent <= 0, so nothing overflows), and the state
is carried between chunks. ``ssm_naive`` is the recurrence above, one step at a time, written independently.

Shapes: x (b, T, H, P), dt (b, T, H), A (H,), B and C (b, T, N), h0 (b, H, P, N).
"""

from __future__ import annotations

import torch
from torch import Tensor


def ssd_chunked(x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, h0: Tensor | None = None,
                chunk: int = 64) -> tuple[Tensor, Tensor]:
    """(y (b, T, H, P), final state (b, H, P, N))."""
    b, T, H, P = x.shape
    N = B.shape[-1]
    h = x.new_zeros(b, H, P, N) if h0 is None else h0
    ys = []
    for start in range(0, T, chunk):
        sl = slice(start, start + chunk)
        xc, dtc, Bc, Cc = x[:, sl], dt[:, sl], B[:, sl], C[:, sl]
        n = xc.shape[1]
        cum = (dtc * A).cumsum(dim=1)  # (b, n, H), decreasing
        decay = (cum[:, :, None, :] - cum[:, None, :, :]).permute(0, 3, 1, 2)  # (b, H, t, s)
        causal = torch.ones(n, n, dtype=torch.bool, device=x.device).tril()
        L = torch.where(causal, decay, float("-inf")).exp()  # exp(cum_t - cum_s) for s <= t, else 0
        scores = (Cc @ Bc.transpose(1, 2))[:, None] * L  # (b, H, t, s)
        xdt = (xc * dtc[..., None]).permute(0, 2, 1, 3)  # (b, H, n, P)
        y = scores @ xdt  # (b, H, n, P): within the chunk
        y = y + torch.einsum("btn,bhpn->bhtp", Cc, h) * cum.permute(0, 2, 1).exp()[..., None]  # from before it
        ys.append(y.permute(0, 2, 1, 3))
        last = cum[:, -1]  # (b, H)
        weights = (last[:, None] - cum).exp()  # (b, n, H): decay from each step to the chunk's end
        h = h * last.exp()[:, :, None, None] + torch.einsum("bsh,bshp,bsn->bhpn", weights, xc * dtc[..., None], Bc)
    return torch.cat(ys, dim=1), h


def ssm_naive(x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, h0: Tensor | None = None
              ) -> tuple[Tensor, Tensor]:
    """The recurrence one step at a time (vectorised over batch, heads and width)."""
    b, T, H, P = x.shape
    h = x.new_zeros(b, H, P, B.shape[-1]) if h0 is None else h0
    ys = []
    for t in range(T):
        a = torch.exp(dt[:, t] * A)  # (b, H)
        h = a[:, :, None, None] * h + (dt[:, t, :, None] * x[:, t])[..., None] * B[:, t, None, None, :]
        ys.append(torch.einsum("bhpn,bn->bhp", h, C[:, t]))
    return torch.stack(ys, dim=1), h
