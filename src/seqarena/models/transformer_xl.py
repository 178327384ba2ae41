"""``transformer_xl`` (Dai et al. 2019): segment-level recurrence with a memory of earlier hidden states and relative
positional encoding.

Semantics (what one forward over a whole sequence computes): the sequence is cut into segments of ``segment``
positions, counted from position 0. A token attends, in every layer, to the earlier tokens of its own segment and to
a memory of the ``mem_len`` positions before its segment (their inputs to that layer, from the previous segments).
The memory carries no gradient (detached when it is rolled forward). The state holds the memory *and* the part of the
current segment seen so far, so continuing from a state at any split gives exactly what one pass over the whole
sequence gives, and generation is the same computation one token at a time. Memory and work per token are bounded
by (mem_len + segment) whatever the length.

Attention scores follow the paper: (q + u).k_j + (q + v).W_r R(i - j), with R the sinusoidal encoding of the distance
and u, v learned per head.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from seqarena.models.base import HeadsSpec, SequenceModel, State
from seqarena.models.blocks import HeadsProjection, PreNormBlock, gpt2_init
from seqarena.models.positions import sinusoidal_table
from seqarena.models.registry import register


@dataclasses.dataclass
class XLState(State):
    """mem (L, B, m, D): each layer's inputs at the m <= mem_len positions before the current segment;
    cur (L, B, c, D): its inputs at the c < segment positions of the current segment so far; length: tokens seen."""

    mem: Tensor
    cur: Tensor
    length: int = 0


class XLSpec(HeadsSpec):
    """Pre-norm Transformer-XL blocks (relative attention + GELU MLP)."""

    segment: int = Field(64, ge=1, description="segment length")
    mem_len: int = Field(64, ge=0, description="positions of memory kept from earlier segments")

    def width_multiple(self) -> int:
        return math.lcm(self.n_heads, 2)  # sinusoidal distance encoding: sin/cos pairs


class RelativeAttention(HeadsProjection):
    """Attention of the n newest positions to the whole context, scored with relative positions (Dai et al. 2019)."""

    def __init__(self, spec: XLSpec) -> None:
        super().__init__(spec.d_model, spec.n_heads)
        self.r = nn.Linear(spec.d_model, spec.d_model, bias=False)  # W_r: projects the distance encoding per head
        self.u = nn.Parameter(torch.zeros(spec.n_heads, self.head_dim))
        self.v = nn.Parameter(torch.zeros(spec.n_heads, self.head_dim))

    def forward(self, full: Tensor, n: int) -> Tensor:
        """full (B, K, D): the normed memory, earlier positions of the segment and the n new positions, in that
        order; returns the outputs of the n new positions (B, n, D)."""
        B, K, D = full.shape
        H, Dh = self.n_heads, self.head_dim
        q, k, v = self.heads(full)  # (B, H, K, Dh) each
        q = q[:, :, K - n :]  # only the new positions ask
        # distance of query i (key index K - n + i) to key j: (K - n + i) - j, from 0 to K - 1
        dist = (torch.arange(K - n, K, device=full.device)[:, None] - torch.arange(K, device=full.device)).clamp(min=-1)
        R = sinusoidal_table(torch.arange(K, device=full.device), D).to(full.dtype)  # (K, D): distances 0..K-1
        r = self.r(R).view(K, H, Dh).transpose(0, 1)  # (H, K, Dh)
        bd = (q + self.v[:, None]) @ r.transpose(-1, -2)  # (B, H, n, K): query i against every distance
        bias = bd.gather(-1, dist.clamp(min=0).expand(B, H, n, K)) / math.sqrt(Dh)
        bias = bias.masked_fill(dist < 0, float("-inf"))  # keys after the query
        y = F.scaled_dot_product_attention(q + self.u[:, None], k, v, attn_mask=bias)  # (B, H, n, Dh)
        return self.merge(y)


class XLBlock(PreNormBlock):
    """The pre-norm block whose attention also reads the context (memory and earlier positions of the segment)."""

    def __init__(self, spec: XLSpec) -> None:
        super().__init__(spec.d_model, RelativeAttention(spec), spec.ff_width, spec.dropout)

    def attend(self, x: Tensor, context: Tensor) -> Tensor:
        """x (B, n, D): the new positions; context (B, m + c, D): the memory and earlier positions of the segment.
        Both pass through the same pre-norm, in one call over the joined sequence (B, K, D), K = m + c + n."""
        return self.mixer(self.ln1(torch.cat([context, x], dim=1)), x.shape[1])


@register("transformer_xl")
class TransformerXL(SequenceModel):
    """Transformer-XL: segment recurrence with memory (no gradient through it), relative positions; bounded state."""

    Spec = XLSpec
    family = "attention"
    cost_in_n = "attention"
    generation_modes = ("state",)
    test_variants = ({"segment": 5, "mem_len": 3}, {"segment": 4, "mem_len": 0})
    #: 2: the one init of every attention family (blocks.gpt2_init, issue 14)
    impl_version = 2

    def __init__(self, spec: XLSpec) -> None:
        super().__init__(spec)
        self.blocks = nn.ModuleList(XLBlock(spec) for _ in range(spec.layers))
        gpt2_init(self, spec.layers)  # u, v stay zero: they are biases

    def mix(self, h: Tensor, state: XLState | None) -> tuple[Tensor, XLState]:
        B, T, _ = h.shape
        S, M = self.spec.segment, self.spec.mem_len
        if state is None:
            state = self.init_state(B, device=h.device, dtype=h.dtype)
        mem = list(state.mem.unbind(0))
        cur = list(state.cur.unbind(0))
        length = state.length
        outs, i = [], 0
        while i < T:
            n = min(T - i, S - cur[0].shape[1])  # up to the end of the current segment
            x = h[:, i : i + n]
            for layer, block in enumerate(self.blocks):
                context = torch.cat([mem[layer], cur[layer]], dim=1)
                cur[layer] = torch.cat([cur[layer], x], dim=1)  # this layer's inputs, for later positions
                x = block(x, context)
            outs.append(x)
            i += n
            length += n
            if cur[0].shape[1] == S:  # segment complete: it becomes memory (no gradient), a new one starts
                for layer in range(len(self.blocks)):
                    mem[layer] = torch.cat([mem[layer], cur[layer]], dim=1)[:, max(0, mem[layer].shape[1] + S - M):]
                    mem[layer] = mem[layer].detach()
                    cur[layer] = cur[layer][:, :0]
        return torch.cat(outs, dim=1), XLState(torch.stack(mem), torch.stack(cur), length)

    def init_state(self, batch_size: int, *, device=None, dtype=None, max_len: int | None = None) -> XLState:
        empty = torch.zeros(self.spec.layers, batch_size, 0, self.spec.d_model, **self.state_kwargs(device, dtype))
        return XLState(empty, empty.clone(), 0)
