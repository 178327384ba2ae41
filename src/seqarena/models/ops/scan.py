"""The diagonal linear recurrence h_t = a_t * h_{t-1} + b_t with a_t in (0, 1) and b_t > 0 (minGRU / minLSTM).

``scan_log`` runs it in parallel in log space (Heinsen 2023; Feng et al. 2024): with A_t = sum_{s<=t} log a_s,
log h_t = A_t + logcumsumexp_s(log b_s - A_s) (plus the h_0 term). A_t drifts towards -inf with t, and float32 loses
precision when the terms reach thousands, so the sequence is processed in chunks (``chunk`` steps in parallel, the
state carried between chunks): T / chunk sequential steps instead of T.
"""

from __future__ import annotations

import torch
from torch import Tensor

from seqarena.models.ops import run_eagerly


@run_eagerly
def scan_log(log_a: Tensor, log_b: Tensor, h0: Tensor | None = None, chunk: int = 128) -> Tensor:
    """h (B, T, D) for log_a, log_b (B, T, D) and h0 (B, D) (None: zeros). All h are positive."""
    B, T, D = log_a.shape
    log_h = torch.full((B, D), float("-inf"), dtype=log_a.dtype, device=log_a.device) if h0 is None else h0.log()
    outs = []
    for start in range(0, T, chunk):
        la, lb = log_a[:, start : start + chunk], log_b[:, start : start + chunk]
        A = la.cumsum(dim=1)  # (B, C, D)
        terms = torch.cat([log_h[:, None], lb - A], dim=1)  # h0 enters with A_0 = 0
        out = A + torch.logcumsumexp(terms, dim=1)[:, 1:]
        outs.append(out)
        log_h = out[:, -1]
    return torch.cat(outs, dim=1).exp()


@run_eagerly
def scan_naive(a: Tensor, b: Tensor, h0: Tensor | None = None) -> Tensor:
    """The same recurrence, one step at a time (the reference)."""
    h = torch.zeros_like(a[:, 0]) if h0 is None else h0
    outs = []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        outs.append(h)
    return torch.stack(outs, dim=1)
