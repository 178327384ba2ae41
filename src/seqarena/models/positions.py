"""Position schemes for attention models: none | sinusoidal | learned | rope | alibi.

Every scheme takes an absolute ``offset`` (tokens already in the state) so that a cached decode step or a chunked
prefill sees the same positions as one pass over the whole sequence.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from seqarena.errors import SpecError

PositionScheme = Literal["none", "sinusoidal", "learned", "rope", "alibi"]
POSITION_SCHEMES: tuple[str, ...] = ("none", "sinusoidal", "learned", "rope", "alibi")


def sinusoidal_table(positions: Tensor, d_model: int) -> Tensor:
    """Vaswani et al. 2017, sec. 3.5: PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(...). -> (T, D)."""
    inv = torch.exp(torch.arange(0, d_model, 2, device=positions.device) * (-math.log(10000.0) / d_model))
    angles = positions.float()[:, None] * inv[None, :]  # (T, D/2)
    table = torch.stack((angles.sin(), angles.cos()), dim=-1)  # (T, D/2, 2): interleaves sin and cos
    return table.flatten(1)  # (T, D)


class AbsolutePositions(nn.Module):
    """Added to the input embeddings: a fixed sinusoidal table or a learned one with ``max_len`` rows."""

    def __init__(self, kind: str, d_model: int, max_len: int) -> None:
        super().__init__()
        self.kind, self.d_model, self.max_len = kind, d_model, max_len
        self.table = nn.Embedding(max_len, d_model) if kind == "learned" else None

    def forward(self, h: Tensor, offset: int) -> Tensor:
        T = h.shape[1]
        if self.table is not None and offset + T > self.max_len:
            raise SpecError(f"position {offset + T - 1} is past max_len={self.max_len} of the learned positions")
        pos = torch.arange(offset, offset + T, device=h.device)
        pe = self.table(pos) if self.table is not None else sinusoidal_table(pos, self.d_model).to(h.dtype)
        return h + pe  # (B, T, D) + (T, D)


class Rotary(nn.Module):
    """Rotary position embedding (Su et al. 2021), rotate-half form, applied to queries and keys per head."""

    def __init__(self, head_dim: int, base: float = 10000.0) -> None:
        super().__init__()
        self.head_dim, self.base = head_dim, base

    def forward(self, x: Tensor, offset: int) -> Tensor:
        """x (B, H, T, Dh) at absolute positions offset..offset+T-1 -> rotated (B, H, T, Dh)."""
        T = x.shape[2]
        # angles in fp32 whatever the model dtype: a bf16 frequency table is off by ~0.7 rad at position 4000
        inv_freq = 1.0 / self.base ** (torch.arange(0, self.head_dim, 2, device=x.device) / self.head_dim)
        pos = torch.arange(offset, offset + T, device=x.device, dtype=torch.float32)
        freqs = torch.outer(pos, inv_freq.float())  # (T, Dh/2)
        cos, sin = freqs.cos().to(x.dtype), freqs.sin().to(x.dtype)
        x1, x2 = x.chunk(2, dim=-1)  # (B, H, T, Dh/2) each
        return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


def alibi_slopes(n_heads: int) -> Tensor:
    """Head slopes of ALiBi (Press et al. 2022): a geometric sequence 2^(-8/n), 2^(-16/n), ... (n a power of 2),
    with the paper's interleaving rule for other head counts."""

    def powers(n: int) -> list[float]:
        start = 2 ** (-8 / n)
        return [start ** (i + 1) for i in range(n)]

    if math.log2(n_heads).is_integer():
        return torch.tensor(powers(n_heads))
    closest = 2 ** math.floor(math.log2(n_heads))
    extra = powers(2 * closest)[0::2][: n_heads - closest]
    return torch.tensor(powers(closest) + extra)


def alibi_bias(slopes: Tensor, n_queries: int, n_keys: int, causal: bool, dtype: torch.dtype) -> Tensor:
    """Float attention bias (H, Tq, Tk) for the *last* ``n_queries`` of ``n_keys`` positions.

    Query i sits at absolute position i + Tk - Tq (lower-right alignment, as in a cached decode step or a chunked
    prefill). Causal: key j is visible when j <= i + Tk - Tq and gets bias -slope * distance; invisible keys get -inf.
    Bidirectional: -slope * |distance| everywhere.
    """
    q_pos = torch.arange(n_keys - n_queries, n_keys, device=slopes.device)
    k_pos = torch.arange(n_keys, device=slopes.device)
    dist = (k_pos[None, :] - q_pos[:, None]).float()  # (Tq, Tk): j - i, <= 0 for visible keys (fp32: exact)
    bias = -slopes.float()[:, None, None] * dist.abs()  # (H, Tq, Tk)
    if causal:
        bias = bias.masked_fill(dist > 0, float("-inf"))
    return bias.to(dtype)
