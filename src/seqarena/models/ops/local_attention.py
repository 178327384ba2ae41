"""Causal sliding-window attention: query i sees keys i-w+1 .. i (its own and the w-1 before).

``local_attention_blockwise`` is O(n w) in time and memory: queries in blocks of w attend only to their own block and
the previous one (2w keys) under a (w, 2w) band mask. (An n x n band mask handed to SDPA is O(n^2) and measured
*slower* than full causal attention here: 0.73 s vs 0.32 s at n = 8k.) ``local_attention_naive`` loops over query
positions (vectorised over batch, heads and width): the reference.

Both take the state as every op here does (fla's convention): ``initial_state`` = (keys, values) (B, H, m, D),
m <= w, of the positions just before the first query (None: none), so a chunked prefill continues exactly; and give
``(output, final_state)``, ``final_state`` = the last w keys and values (what the next call needs) when
``output_final_state``, else None.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from seqarena.models.ops import run_eagerly

State = tuple[Tensor, Tensor]  # (keys, values) of the last <= w positions


def _final_state(k: Tensor, v: Tensor, window: int, initial_state: State | None) -> State:
    """The last ``window`` keys and values, the earlier call's included."""
    if initial_state is not None:
        k, v = torch.cat([initial_state[0], k], dim=2), torch.cat([initial_state[1], v], dim=2)
    return k[:, :, -window:], v[:, :, -window:]


def local_attention_blockwise(q: Tensor, k: Tensor, v: Tensor, window: int, *, initial_state: State | None = None,
                              output_final_state: bool = False) -> tuple[Tensor, State | None]:
    """q, k, v (B, H, T, D) -> (B, H, T, D) with a window of ``window`` keys per query."""
    final = _final_state(k, v, window, initial_state) if output_final_state else None
    return _blockwise(q, k, v, window, *(initial_state or (None, None))), final


def _blockwise(q: Tensor, k: Tensor, v: Tensor, window: int, k_prev: Tensor | None, v_prev: Tensor | None) -> Tensor:
    B, H, T, D = q.shape
    w = window
    if T == 1:  # one new query (generation): its window is the last w - 1 previous keys and itself, no mask needed
        if k_prev is not None:
            k, v = torch.cat([k_prev[:, :, -(w - 1) :] if w > 1 else k_prev[:, :, :0], k], dim=2), \
                torch.cat([v_prev[:, :, -(w - 1) :] if w > 1 else v_prev[:, :, :0], v], dim=2)
        return F.scaled_dot_product_attention(q, k, v)
    m = 0 if k_prev is None else k_prev.shape[2]
    if m > w:
        k_prev, v_prev, m = k_prev[:, :, -w:], v_prev[:, :, -w:], w
    nb = math.ceil(T / w)
    pad_end = nb * w - T
    # keys laid out so that index w + i is query i: front padding (w - m), the previous keys, the new keys, end padding
    front = w - m
    parts_k = [k.new_zeros(B, H, front, D)] + ([k_prev] if m else []) + [k, k.new_zeros(B, H, pad_end, D)]
    parts_v = [v.new_zeros(B, H, front, D)] + ([v_prev] if m else []) + [v, v.new_zeros(B, H, pad_end, D)]
    K, V = torch.cat(parts_k, dim=2), torch.cat(parts_v, dim=2)  # (B, H, (nb + 1) w, D)
    Q = F.pad(q, (0, 0, 0, pad_end)).view(B, H, nb, w, D)
    idx = torch.arange(nb, device=q.device)[:, None] * w + torch.arange(2 * w, device=q.device)  # (nb, 2w)
    Kb, Vb = K[:, :, idx], V[:, :, idx]  # (B, H, nb, 2w, D)
    r = torch.arange(w, device=q.device)[:, None]
    c = torch.arange(2 * w, device=q.device)
    band = (c > r) & (c <= r + w)  # (w, 2w): key slot c is within the query's window
    real = idx >= front  # (nb, 2w): not front padding
    mask = band[None] & real[:, None, :]  # (nb, w, 2w)
    out = F.scaled_dot_product_attention(Q, Kb, Vb, attn_mask=mask)  # (B, H, nb, w, D)
    return out.reshape(B, H, nb * w, D)[:, :, :T]


@run_eagerly
def local_attention_naive(q: Tensor, k: Tensor, v: Tensor, window: int, *, initial_state: State | None = None,
                          output_final_state: bool = False) -> tuple[Tensor, State | None]:
    """One query position at a time against the keys in its window."""
    final = _final_state(k, v, window, initial_state) if output_final_state else None
    if initial_state is not None:
        k, v = torch.cat([initial_state[0], k], dim=2), torch.cat([initial_state[1], v], dim=2)
    m = k.shape[2] - q.shape[2]
    outs = []
    for t in range(q.shape[2]):
        end = m + t + 1
        ks, vs = k[:, :, max(0, end - window) : end], v[:, :, max(0, end - window) : end]
        att = torch.softmax(q[:, :, t : t + 1] @ ks.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
        outs.append(att @ vs)
    return torch.cat(outs, dim=2), final
