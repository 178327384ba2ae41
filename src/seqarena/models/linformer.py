"""``linformer`` (Wang et al. 2020): bidirectional self-attention whose keys and values are projected along the
length to k rows, so attention costs O(n k) instead of O(n^2). One projection E (k x max_len) is shared by keys and
values, heads and layers (the paper's "layerwise" sharing): at small budgets per-layer E and F would hold most of the
parameters.

Not causal (the projection mixes every position): an encoder for timing and classification; it has no state and no
generation. A sequence shorter than ``max_len`` uses the first n columns of E and F (the same as zero padding).
"""

from __future__ import annotations

import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from seqarena.errors import SpecError
from seqarena.models.base import HeadsSpec, SequenceModel
from seqarena.models.blocks import HeadsProjection, PreNormBlock, gpt2_init
from seqarena.models.registry import register


class LinformerSpec(HeadsSpec):
    """Pre-norm encoder blocks with length-projected attention + GELU MLP."""

    k: int = Field(32, ge=1, description="projected length of keys and values")
    max_len: int = Field(512, ge=1, description="longest sequence (size of the length projection)")


class LinformerAttention(HeadsProjection):
    """Bidirectional attention whose keys and values are projected along the length by E (k, max_len)."""

    def forward(self, x: Tensor, E: Tensor) -> Tensor:
        """x (B, T, D) normed input, E (k, max_len) the shared length projection -> (B, T, D)."""
        T = x.shape[1]
        q, k, v = self.heads(x)  # (B, H, T, Dh) each
        k = k.transpose(-1, -2) @ E[:, :T].T  # (B, H, Dh, k): each projected key mixes all positions
        v = v.transpose(-1, -2) @ E[:, :T].T
        y = F.scaled_dot_product_attention(q, k.transpose(-1, -2), v.transpose(-1, -2))  # (B, H, T, Dh)
        return self.merge(y)


@register("linformer")
class Linformer(SequenceModel):
    """Linformer (low-rank projection of keys/values along the length): bidirectional encoder, O(n k)."""

    Spec = LinformerSpec
    family = "attention"
    cost_in_n = "attention"
    causal = False
    generation_modes = ()
    #: 2: the one init of every attention family (blocks.gpt2_init, issue 14)
    impl_version = 2

    def __init__(self, spec: LinformerSpec) -> None:
        super().__init__(spec)
        self.blocks = nn.ModuleList(
            PreNormBlock(spec.d_model, LinformerAttention(spec.d_model, spec.n_heads), spec.ff_width, spec.dropout)
            for _ in range(spec.layers)
        )
        self.E = nn.Linear(spec.max_len, spec.k, bias=False)  # length -> k
        gpt2_init(self, spec.layers)

    def mix(self, h: Tensor, state: None) -> tuple[Tensor, None]:
        if state is not None:
            raise SpecError("linformer is bidirectional: it has no state to continue from")
        if h.shape[1] > self.spec.max_len:
            raise SpecError(f"linformer was built for sequences up to max_len={self.spec.max_len}, got {h.shape[1]}")
        for block in self.blocks:
            h = block(h, self.E.weight)
        return h, None

    def init_state(self, batch_size: int, *, device=None, dtype=None, max_len: int | None = None):
        self._require_causal("init_state")
