"""``linear_attention``: a pre-norm transformer whose attention is causal linear attention with the elu + 1 feature
map (Katharopoulos et al. 2020). The state is the running (S, z) per layer: constant in length, so generation costs the
same at every position. The parallel forward uses the chunked form by default (``form``: chunked | parallel |
recurrent), all three tested equal (``models/ops/linear_attention.py``).
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from seqarena.models.base import HeadsSpec, SequenceModel, State
from seqarena.models.blocks import HeadsProjection, PreNormBlock, gpt2_init
from seqarena.models.ops.linear_attention import (
    linear_attention_chunked,
    linear_attention_naive,
    linear_attention_parallel,
)
from seqarena.models.registry import register


@dataclasses.dataclass
class LinearAttentionState(State):
    """Per layer: S (L, B, H, Dk, Dh) and z (L, B, H, Dk); Dk is the feature dimension (Dh, or the performer's m)."""

    S: Tensor
    z: Tensor


class LinearAttentionSpec(HeadsSpec):
    """Pre-norm blocks of linear attention + GELU MLP."""

    form: str = Field("chunked", pattern="^(chunked|parallel|recurrent)$", description="chunked | parallel | recurrent")
    chunk: int = Field(64, ge=1, description="chunk length of the chunked form")


def feature_map(x: Tensor) -> Tensor:
    """elu(x) + 1: positive, so every normaliser is positive."""
    return F.elu(x) + 1


class LinearAttentionMixer(HeadsProjection):
    """Causal linear attention of one layer: (B, T, D) normed input and running sums (S, z) -> output and new sums."""

    def __init__(self, spec: LinearAttentionSpec, layer: int = 0) -> None:
        super().__init__(spec.d_model, spec.n_heads)
        self.form, self.chunk = spec.form, spec.chunk

    def features(self, q: Tensor, k: Tensor) -> tuple[Tensor, Tensor]:
        """The positive feature map applied to queries and keys (elu + 1 here; FAVOR+ in the performer)."""
        return feature_map(q), feature_map(k)

    def forward(self, x: Tensor, S: Tensor | None, z: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        q, k, v = self.heads(x)
        q, k = self.features(q, k)  # (B, H, T, Dh or m)
        state = (S, z) if S is not None else None
        if self.form == "parallel":
            y, (S, z) = linear_attention_parallel(q, k, v, initial_state=state, output_final_state=True)
        elif self.form == "chunked":
            y, (S, z) = linear_attention_chunked(q, k, v, initial_state=state, output_final_state=True,
                                                 chunk=self.chunk)
        else:
            y, (S, z) = linear_attention_naive(q, k, v, initial_state=state, output_final_state=True)
        return self.merge(y), S, z  # (B, T, D), (B, H, Dk, Dh), (B, H, Dk)


@register("linear_attention")
class LinearAttention(SequenceModel):
    """Causal linear attention (elu+1 features; Katharopoulos et al. 2020): O(n) time, constant-size state."""

    Spec = LinearAttentionSpec
    family = "attention"
    generation_modes = ("state",)
    test_variants = ({"form": "parallel"}, {"form": "recurrent"})
    #: 2: the one init of every attention family (blocks.gpt2_init, issue 14); the performer inherits it
    impl_version = 2

    #: The attention of one layer (the performer swaps in FAVOR+ features).
    mixer_class: type[LinearAttentionMixer] = LinearAttentionMixer

    def __init__(self, spec: LinearAttentionSpec) -> None:
        super().__init__(spec)
        self.blocks = nn.ModuleList(
            PreNormBlock(spec.d_model, self.mixer_class(spec, i), spec.ff_width, spec.dropout)
            for i in range(spec.layers)
        )
        gpt2_init(self, spec.layers)

    def mix(self, h: Tensor, state: LinearAttentionState | None) -> tuple[Tensor, LinearAttentionState]:
        Ss, zs = [], []
        for i, block in enumerate(self.blocks):
            S = state.S[i] if state is not None else None
            z = state.z[i] if state is not None else None
            h, S, z = block(h, S, z)
            Ss.append(S)
            zs.append(z)
        return h, LinearAttentionState(torch.stack(Ss), torch.stack(zs))

    def init_state(self, batch_size: int, *, device=None, dtype=None, max_len: int | None = None):
        """Zero sums; ``max_len`` is ignored (the state does not grow)."""
        H, Dh = self.spec.n_heads, self.spec.d_model // self.spec.n_heads
        Dk = getattr(self.spec, "features", Dh)  # the feature dimension of keys
        kw = self.state_kwargs(device, dtype)
        return LinearAttentionState(torch.zeros(self.spec.layers, batch_size, H, Dk, Dh, **kw),
                                    torch.zeros(self.spec.layers, batch_size, H, Dk, **kw))
