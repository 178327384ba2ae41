"""The diagonal linear recurrence h_t = a_t * h_{t-1} + b_t with a_t in (0, 1) and b_t > 0 (minGRU / minLSTM).

``scan_log`` runs it in parallel in log space (Heinsen 2023; Feng et al. 2024): with A_t = sum_{s<=t} log a_s,
log h_t = A_t + logcumsumexp_s(log b_s - A_s) (plus the h_0 term). A_t drifts towards -inf with t, and float32 loses
precision when the terms reach thousands, so the sequence is processed in chunks (``chunk`` steps in parallel, the
state carried between chunks): T / chunk sequential steps instead of T.

State as every op here (fla's convention): ``initial_state`` h_0 (B, D) in (None: zeros), ``(h, final_state)`` out,
``final_state`` = h_T (B, D) when ``output_final_state``, else None.
"""

from __future__ import annotations

import torch
from torch import Tensor

from seqarena.models.ops import run_eagerly


@run_eagerly
def scan_log(log_a: Tensor, log_b: Tensor, *, initial_state: Tensor | None = None, output_final_state: bool = False,
             chunk: int = 128) -> tuple[Tensor, Tensor | None]:
    """h (B, T, D) for log_a, log_b (B, T, D) from h_0 = ``initial_state`` (B, D). All h are positive."""
    B, T, D = log_a.shape
    h0 = initial_state
    log_h = torch.full((B, D), float("-inf"), dtype=log_a.dtype, device=log_a.device) if h0 is None else h0.log()
    outs = []
    for start in range(0, T, chunk):
        la, lb = log_a[:, start : start + chunk], log_b[:, start : start + chunk]
        A = la.cumsum(dim=1)  # (B, C, D)
        terms = torch.cat([log_h[:, None], lb - A], dim=1)  # h0 enters with A_0 = 0
        out = A + torch.logcumsumexp(terms, dim=1)[:, 1:]
        outs.append(out)
        log_h = out[:, -1]
    h = torch.cat(outs, dim=1).exp()
    return h, h[:, -1] if output_final_state else None


@run_eagerly
def scan_naive(a: Tensor, b: Tensor, *, initial_state: Tensor | None = None, output_final_state: bool = False
               ) -> tuple[Tensor, Tensor | None]:
    """The same recurrence, one step at a time (the reference)."""
    h = torch.zeros_like(a[:, 0]) if initial_state is None else initial_state
    outs = []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        outs.append(h)
    return torch.stack(outs, dim=1), h if output_final_state else None
