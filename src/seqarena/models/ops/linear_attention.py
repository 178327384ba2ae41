"""Causal linear attention (Katharopoulos et al. 2020) in three forms that compute the same thing:

    out_t = phi(q_t) S_t / (phi(q_t) . z_t),   S_t = sum_{s<=t} phi(k_s) v_s^T,   z_t = sum_{s<=t} phi(k_s)

- ``parallel``: (phi(Q) phi(K)^T masked causally) V, O(n^2) like softmax attention but without the softmax;
- ``chunked``: quadratic inside chunks of C positions, the running (S, z) across them: O(n C d + n d^2);
- ``recurrent`` (``linear_attention_naive``): one position at a time, the reference and the generation path.

Shapes: q, k (B, H, T, Dk) already passed through the feature map; v (B, H, T, Dv); state S (B, H, Dk, Dv) and
z (B, H, Dk).
"""

from __future__ import annotations

import torch
from torch import Tensor

from seqarena.models.ops import run_eagerly

EPS = 1e-6


def linear_attention_parallel(q: Tensor, k: Tensor, v: Tensor, S: Tensor | None = None, z: Tensor | None = None):
    """Whole-sequence form; returns (out, S, z) with the state after the last position."""
    scores = (q @ k.transpose(-1, -2)).tril()  # (B, H, T, T)
    num = scores @ v
    den = scores.sum(-1)
    if S is not None:
        num = num + q @ S
        den = den + (q * z[:, :, None]).sum(-1)
    S_new = (S if S is not None else 0) + k.transpose(-1, -2) @ v
    z_new = (z if z is not None else 0) + k.sum(2)
    return num / (den[..., None] + EPS), S_new, z_new


@run_eagerly
def linear_attention_chunked(q: Tensor, k: Tensor, v: Tensor, S: Tensor | None = None, z: Tensor | None = None,
                             chunk: int = 64):
    """Chunkwise form: linear in T for a fixed chunk size."""
    B, H, T, Dk = q.shape
    Dv = v.shape[-1]
    S = S if S is not None else q.new_zeros(B, H, Dk, Dv)
    z = z if z is not None else q.new_zeros(B, H, Dk)
    outs = []
    for start in range(0, T, chunk):
        qc, kc, vc = q[:, :, start : start + chunk], k[:, :, start : start + chunk], v[:, :, start : start + chunk]
        scores = (qc @ kc.transpose(-1, -2)).tril()  # (B, H, C, C)
        num = scores @ vc + qc @ S
        den = scores.sum(-1) + (qc * z[:, :, None]).sum(-1)
        outs.append(num / (den[..., None] + EPS))
        S = S + kc.transpose(-1, -2) @ vc
        z = z + kc.sum(2)
    return torch.cat(outs, dim=2), S, z


@run_eagerly
def linear_attention_naive(q: Tensor, k: Tensor, v: Tensor, S: Tensor | None = None, z: Tensor | None = None):
    """The recurrence, one position at a time (vectorised over batch, heads and width)."""
    B, H, T, Dk = q.shape
    S = S if S is not None else q.new_zeros(B, H, Dk, v.shape[-1])
    z = z if z is not None else q.new_zeros(B, H, Dk)
    outs = []
    for t in range(T):
        S = S + k[:, :, t, :, None] * v[:, :, t, None, :]
        z = z + k[:, :, t]
        num = (q[:, :, t, :, None] * S).sum(-2)  # (B, H, Dv)
        den = (q[:, :, t] * z).sum(-1)
        outs.append(num / (den[..., None] + EPS))
    return torch.stack(outs, dim=2), S, z
