"""``local``: a pre-norm transformer with causal sliding-window attention (window w) and rotary positions.

Attention is computed blockwise (O(n w) time and memory; see ``models/ops/local_attention.py``). The state is the last
w keys and values per layer plus the position counter, so the KV cache is bounded by w however long the sequence.
"""

from __future__ import annotations

import dataclasses

import torch
from pydantic import Field
from torch import Tensor, nn

from seqarena.models.base import HeadsSpec, SequenceModel, State
from seqarena.models.blocks import HeadsProjection, PreNormBlock, gpt2_init
from seqarena.models.ops.local_attention import local_attention_blockwise, local_attention_naive
from seqarena.models.positions import Rotary
from seqarena.models.registry import register


@dataclasses.dataclass
class LocalState(State):
    """The last <= w keys and values of every layer, (L, B, H, m, Dh) each, and the tokens seen so far."""

    k: Tensor
    v: Tensor
    length: int = 0


class LocalSpec(HeadsSpec):
    """Sliding-window attention blocks + GELU MLP, rotary positions."""

    window: int = Field(64, ge=1, description="keys each query sees (its own position included)")
    naive: bool = Field(False, description="use the loop reference instead of the blockwise kernel (tests)")

    def width_multiple(self) -> int:
        return 2 * self.n_heads  # rotary pairs within each head


class SlidingWindowAttention(HeadsProjection):
    """Causal attention to the last ``window`` positions, rotary positions; returns the window of keys and values
    to keep for the next call."""

    def __init__(self, spec: LocalSpec) -> None:
        super().__init__(spec.d_model, spec.n_heads)
        self.window, self.naive = spec.window, spec.naive
        self.rotary = Rotary(self.head_dim)

    def forward(self, x: Tensor, k_prev: Tensor | None, v_prev: Tensor | None, offset: int):
        """x (B, T, D) normed input at absolute positions offset.., with the kept keys/values (B, H, <=w, Dh) of the
        positions before -> output (B, T, D) and the last w keys and values."""
        q, k, v = self.heads(x)
        q, k = self.rotary(q, offset), self.rotary(k, offset)  # (B, H, T, Dh)
        attend = local_attention_naive if self.naive else local_attention_blockwise
        state = (k_prev, v_prev) if k_prev is not None else None
        y, (keep_k, keep_v) = attend(q, k, v, self.window, initial_state=state, output_final_state=True)
        return self.merge(y), keep_k, keep_v


@register("local")
class LocalAttention(SequenceModel):
    """Sliding-window attention (window w, blockwise O(n w)); KV cache bounded by w."""

    Spec = LocalSpec
    family = "attention"
    cost_in_n = "attention"
    generation_modes = ("cache",)
    test_variants = ({"window": 4}, {"window": 5, "naive": True})
    #: 2: the one init of every attention family (blocks.gpt2_init, issue 14)
    impl_version = 2

    def __init__(self, spec: LocalSpec) -> None:
        super().__init__(spec)
        self.blocks = nn.ModuleList(
            PreNormBlock(spec.d_model, SlidingWindowAttention(spec), spec.ff_width, spec.dropout)
            for _ in range(spec.layers)
        )
        gpt2_init(self, spec.layers)

    def mix(self, h: Tensor, state: LocalState | None) -> tuple[Tensor, LocalState]:
        offset = state.length if state is not None else 0
        ks, vs = [], []
        for i, block in enumerate(self.blocks):
            has = state is not None and state.k.shape[3] > 0
            h, k, v = block(h, state.k[i] if has else None, state.v[i] if has else None, offset)
            ks.append(k)
            vs.append(v)
        return h, LocalState(torch.stack(ks), torch.stack(vs), offset + h.shape[1])

    def init_state(self, batch_size: int, *, device=None, dtype=None, max_len: int | None = None) -> LocalState:
        H, Dh = self.spec.n_heads, self.spec.d_model // self.spec.n_heads
        empty = torch.zeros(self.spec.layers, batch_size, H, 0, Dh, **self.state_kwargs(device, dtype))
        return LocalState(empty, empty.clone(), 0)
