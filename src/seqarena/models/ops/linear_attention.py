"""Causal linear attention (Katharopoulos et al. 2020) in three forms that compute the same thing:

    out_t = phi(q_t) S_t / (phi(q_t) . z_t),   S_t = sum_{s<=t} phi(k_s) v_s^T,   z_t = sum_{s<=t} phi(k_s)

- ``parallel``: (phi(Q) phi(K)^T masked causally) V, O(n^2) like softmax attention but without the softmax;
- ``chunked``: quadratic inside chunks of C positions, the running (S, z) across them: O(n C d + n d^2);
- ``recurrent`` (``linear_attention_naive``): one position at a time, the reference and the generation path.

Shapes: q, k (B, H, T, Dk) already passed through the feature map; v (B, H, T, Dv); the state is (S, z), S
(B, H, Dk, Dv) and z (B, H, Dk). Every op in ``models/ops`` takes and returns state as fla does:
``initial_state`` in (None: zeros), ``(output, final_state)`` out, ``final_state`` None unless
``output_final_state``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from seqarena.models.ops import run_eagerly

EPS = 1e-6

State = tuple[Tensor, Tensor]  # (S, z)


def linear_attention_parallel(q: Tensor, k: Tensor, v: Tensor, *, initial_state: State | None = None,
                              output_final_state: bool = False) -> tuple[Tensor, State | None]:
    """Whole-sequence form; (out, the state after the last position when asked)."""
    S, z = initial_state if initial_state is not None else (None, None)
    scores = (q @ k.transpose(-1, -2)).tril()  # (B, H, T, T)
    num = scores @ v
    den = scores.sum(-1)
    if S is not None:
        num = num + q @ S
        den = den + (q * z[:, :, None]).sum(-1)
    out = num / (den[..., None] + EPS)
    if not output_final_state:
        return out, None
    S_new = (S if S is not None else 0) + k.transpose(-1, -2) @ v
    z_new = (z if z is not None else 0) + k.sum(2)
    return out, (S_new, z_new)


@run_eagerly
def linear_attention_chunked(q: Tensor, k: Tensor, v: Tensor, *, initial_state: State | None = None,
                             output_final_state: bool = False, chunk: int = 64) -> tuple[Tensor, State | None]:
    """Chunkwise form: linear in T for a fixed chunk size."""
    B, H, T, Dk = q.shape
    S, z = initial_state if initial_state is not None else (q.new_zeros(B, H, Dk, v.shape[-1]), q.new_zeros(B, H, Dk))
    outs = []
    for start in range(0, T, chunk):
        qc, kc, vc = q[:, :, start : start + chunk], k[:, :, start : start + chunk], v[:, :, start : start + chunk]
        scores = (qc @ kc.transpose(-1, -2)).tril()  # (B, H, C, C)
        num = scores @ vc + qc @ S
        den = scores.sum(-1) + (qc * z[:, :, None]).sum(-1)
        outs.append(num / (den[..., None] + EPS))
        S = S + kc.transpose(-1, -2) @ vc
        z = z + kc.sum(2)
    return torch.cat(outs, dim=2), (S, z) if output_final_state else None


@run_eagerly
def linear_attention_naive(q: Tensor, k: Tensor, v: Tensor, *, initial_state: State | None = None,
                           output_final_state: bool = False) -> tuple[Tensor, State | None]:
    """The recurrence, one position at a time (vectorised over batch, heads and width)."""
    B, H, T, Dk = q.shape
    S, z = initial_state if initial_state is not None else (q.new_zeros(B, H, Dk, v.shape[-1]), q.new_zeros(B, H, Dk))
    outs = []
    for t in range(T):
        S = S + k[:, :, t, :, None] * v[:, :, t, None, :]
        z = z + k[:, :, t]
        num = (q[:, :, t, :, None] * S).sum(-2)  # (B, H, Dv)
        den = (q[:, :, t] * z).sum(-1)
        outs.append(num / (den[..., None] + EPS))
    return torch.stack(outs, dim=2), (S, z) if output_final_state else None
