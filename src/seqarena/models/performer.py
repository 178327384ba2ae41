"""``performer``: linear attention with FAVOR+ positive orthogonal random features (Choromanski et al. 2021), which
approximate softmax attention: exp(q.k / sqrt(d)) ~ phi(q).phi(k) with phi(x) = exp(W x' - |x'|^2 / 2) / sqrt(m),
x' = x / d^(1/4), W (m, d) orthogonal Gaussian rows (fixed per layer, a buffer). Causal through prefix sums: the same
chunked / recurrent computation as ``linear_attention`` (``models/ops/linear_attention.py``), so the state is the
running (S, z) per layer, constant in length.

Stabiliser: each query's features are divided by their own maximum (it cancels in that query's ratio); keys get none,
because a shared key constant would differ between chunks and break chunked continuation.
"""

from __future__ import annotations

import math

import torch
from pydantic import Field
from torch import Tensor

from seqarena.models.linear_attention import LinearAttention, LinearAttentionMixer, LinearAttentionSpec
from seqarena.models.registry import register


def orthogonal_gaussian(m: int, d: int, generator: torch.Generator) -> Tensor:
    """m x d rows: blocks of d orthogonal directions, each row rescaled to a chi(d)-distributed norm."""
    blocks = []
    for _ in range(math.ceil(m / d)):
        q, _ = torch.linalg.qr(torch.randn(d, d, generator=generator))
        blocks.append(q.T)
    w = torch.cat(blocks)[:m]
    norms = torch.randn(m, d, generator=generator).norm(dim=1, keepdim=True)
    return w * norms


def favor_features(x: Tensor, w: Tensor, is_query: bool) -> Tensor:
    """Positive random features of x (..., d) for softmax attention with 1/sqrt(d) scaling; (..., m)."""
    d = x.shape[-1]
    x = x * d**-0.25
    proj = x @ w.T - (x * x).sum(-1, keepdim=True) / 2  # (..., m)
    if is_query:
        proj = proj - proj.amax(dim=-1, keepdim=True).detach()
    return torch.exp(proj) / math.sqrt(w.shape[0])


class PerformerSpec(LinearAttentionSpec):
    """Linear-attention blocks with FAVOR+ features instead of elu + 1."""

    features: int = Field(64, ge=1, description="random features per head (m)")
    feature_seed: int = Field(0, description="seed of the random feature matrices")


class PerformerMixer(LinearAttentionMixer):
    """Linear attention with FAVOR+ features; the layer's random feature matrix ``w`` (m, Dh) is a saved buffer."""

    def __init__(self, spec: PerformerSpec, layer: int) -> None:
        super().__init__(spec, layer)
        gen = torch.Generator().manual_seed(spec.feature_seed * 1000 + layer)
        self.register_buffer("w", orthogonal_gaussian(spec.features, self.head_dim, gen), persistent=True)

    def features(self, q: Tensor, k: Tensor) -> tuple[Tensor, Tensor]:
        return favor_features(q, self.w, True), favor_features(k, self.w, False)


@register("performer")
class Performer(LinearAttention):
    """Performer (FAVOR+ positive orthogonal random features; Choromanski et al. 2021): O(n), constant state."""

    Spec = PerformerSpec
    test_variants = ({"form": "recurrent", "features": 8},)
    mixer_class = PerformerMixer
    cost_in_n = "attention"  # O(n), but its random features per token weigh like attention's scores here
