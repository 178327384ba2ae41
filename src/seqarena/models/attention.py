"""Decoder-only (or bidirectional) pre-norm transformer with a preallocated, in-place KV cache.

Attention goes through ``torch.nn.functional.scaled_dot_product_attention`` (SDPA). With a cache there are fewer
queries than keys, and SDPA's ``is_causal=True`` then aligns the mask *top-left*, which is wrong for a decode step or a
chunked prefill. So: no mask for a single query, ``causal_lower_right`` for a chunk, ``is_causal`` only when queries and
keys coincide, and ALiBi as a float bias built with the same lower-right offset.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from seqarena.errors import SpecError
from seqarena.models.base import HeadsSpec, SequenceModel, State
from seqarena.models.blocks import HeadsProjection, PreNormBlock, gpt2_init
from seqarena.models.positions import (
    POSITION_SCHEMES,
    AbsolutePositions,
    PositionScheme,
    Rotary,
    alibi_bias,
    alibi_slopes,
)
from seqarena.models.registry import register


@contextlib.contextmanager
def _uninitialised_memory_allowed():
    """With deterministic algorithms on, torch fills ``torch.empty`` with NaN, which commits every page of a cache
    that should only commit memory as it fills. Switch that filling off for the allocation: only filled slots are
    ever read."""
    det = torch.utils.deterministic
    previous = det.fill_uninitialized_memory
    det.fill_uninitialized_memory = False
    try:
        yield
    finally:
        det.fill_uninitialized_memory = previous


def empty_buffer(*shape: int, device: torch.device | str | None, dtype: torch.dtype) -> Tensor:
    """``torch.empty`` that stays uncommitted (untouched pages) even with deterministic algorithms on."""
    with _uninitialised_memory_allowed():
        return torch.empty(*shape, device=device, dtype=dtype)


@dataclasses.dataclass
class KVCache:
    """Keys and values of one layer: buffers (B, H, capacity, Dh) filled in place up to ``length``.

    Appending writes into the preallocated slots (no ``torch.cat``, which would copy the whole cache every step); a
    full cache grows by doubling. A cache created by a forward pass without a state adopts that pass's keys and
    values as its buffers, so training pays no copy.
    """

    k: Tensor | None = None  # (B, H, capacity, Dh)
    v: Tensor | None = None  # (B, H, capacity, Dh)
    length: int = 0

    @property
    def capacity(self) -> int:
        return 0 if self.k is None else self.k.shape[2]

    def append(self, k_new: Tensor, v_new: Tensor) -> tuple[Tensor, Tensor]:
        """Store (B, H, T, Dh) new keys/values; return views of all filled keys and values (B, H, length, Dh)."""
        T = k_new.shape[2]
        grad = torch.is_grad_enabled() and (k_new.requires_grad or (self.k is not None and self.k.requires_grad))
        if self.k is None or (self.length == 0 and self.capacity < T):
            if not grad:  # own contiguous copies: views would keep the whole fused qkv output alive
                k_new, v_new = k_new.contiguous(), v_new.contiguous()
            self.k, self.v, self.length = k_new, v_new, T
            return k_new, v_new
        if grad:
            # autograd through several calls: an in-place write would invalidate what earlier calls saved for
            # backward, so concatenate out of place (training through chunks); inference stays in place
            self.k = torch.cat([self.k[:, :, : self.length], k_new], dim=2)
            self.v = torch.cat([self.v[:, :, : self.length], v_new], dim=2)
            self.length += T
            return self.k, self.v
        end = self.length + T
        if end > self.capacity:
            self._grow(max(end, 2 * self.capacity))
        self.k[:, :, self.length : end].copy_(k_new)
        self.v[:, :, self.length : end].copy_(v_new)
        self.length = end
        return self.k[:, :, :end], self.v[:, :, :end]

    def _grow(self, capacity: int) -> None:
        B, H, _, Dh = self.k.shape
        k = empty_buffer(B, H, capacity, Dh, device=self.k.device, dtype=self.k.dtype)
        v = empty_buffer(B, H, capacity, Dh, device=self.v.device, dtype=self.v.dtype)
        k[:, :, : self.length].copy_(self.k[:, :, : self.length])
        v[:, :, : self.length].copy_(self.v[:, :, : self.length])
        self.k, self.v = k, v


@dataclasses.dataclass
class TransformerState(State):
    """One :class:`KVCache` per layer. Updated in place by forward/step: keep using the returned state.

    ``clone()`` copies the filled part (a branch that continues independently); ``detach()`` shares the buffers, so
    continuing both the detached state and the original would write into the same slots.
    """

    caches: list[KVCache]

    @property
    def length(self) -> int:
        """Tokens seen so far (the absolute position of the next token)."""
        return self.caches[0].length

    def tensors(self) -> list[Tensor]:
        return [t[:, :, : c.length] for c in self.caches if c.k is not None for t in (c.k, c.v)]

    def buffers(self) -> list[Tensor]:
        return [t for c in self.caches if c.k is not None for t in (c.k, c.v)]

    def detach(self) -> TransformerState:
        return TransformerState([KVCache(c.k.detach(), c.v.detach(), c.length) for c in self._filled()])

    def clone(self) -> TransformerState:
        return TransformerState(
            [KVCache(c.k[:, :, : c.length].clone(), c.v[:, :, : c.length].clone(), c.length) for c in self._filled()]
        )

    def _filled(self) -> list[KVCache]:
        if any(c.k is None for c in self.caches):
            return [KVCache() for _ in self.caches]
        return self.caches


class TransformerSpec(HeadsSpec):
    """Pre-norm transformer: d_model, layers, n_heads, d_ff (MLP width), positions, causal or bidirectional."""

    positions: PositionScheme = Field("rope", description="none | sinusoidal | learned | rope | alibi")
    causal: bool = Field(True, description="causal decoder; false: bidirectional encoder (no generation)")
    max_len: int = Field(2048, ge=1, description="learned-position table size; default KV cache capacity")
    gelu: Literal["exact", "tanh"] = Field("exact", description="MLP activation: exact (erf) | tanh (GPT-2's)")
    attn_impl: Literal["sdpa", "math"] = Field(
        "sdpa", description="sdpa (fused kernels) | math (softmax(QK^T)V written out: holds the n^2 x heads scores)")

    def width_multiple(self) -> int:
        # rope rotates pairs within a head; sinusoidal interleaves sin/cos pairs across the width
        head_multiple = self.n_heads * (2 if self.positions == "rope" else 1)
        return math.lcm(head_multiple, 2 if self.positions == "sinusoidal" else 1)


def attention_mask(
    n_queries: int, n_keys: int, causal: bool, slopes: Tensor | None, dtype: torch.dtype
) -> tuple[Tensor | object | None, bool]:
    """(attn_mask, is_causal) for SDPA when the queries are the last ``n_queries`` of ``n_keys`` positions."""
    if slopes is not None:
        return alibi_bias(slopes, n_queries, n_keys, causal, dtype), False
    if not causal or n_queries == 1:
        return None, False  # a single newest query may see every key
    if n_queries == n_keys:
        return None, True  # top-left == lower-right here, and is_causal takes the fast kernels
    # imported here: torch.nn.attention.bias imports torch._dynamo (~1.6 s per process start, for the CLI and every
    # worker), and only a chunk of queries over a longer cache needs it
    from torch.nn.attention.bias import causal_lower_right

    return causal_lower_right(n_queries, n_keys), False


def _causal_bias(mask: object) -> bool:
    """Whether ``mask`` is torch's lower-right causal bias (its module is loaded only once one was made)."""
    bias = sys.modules.get("torch.nn.attention.bias")
    return bias is not None and isinstance(mask, bias.CausalBias)


def math_attention(q: Tensor, k: Tensor, v: Tensor, mask: object, is_causal: bool, dropout: float) -> Tensor:
    """softmax(q k^T / sqrt(d) + mask) v written out: the (B, H, Tq, Tk) score matrix is materialised, which is the
    memory the essay's "n^2 x heads" refers to (SDPA's fused kernels never hold it)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, Tq, Tk)
    if is_causal or _causal_bias(mask):  # causal: lower-right aligned (queries are the newest positions)
        Tq, Tk = scores.shape[-2:]
        keep = torch.ones(Tq, Tk, dtype=torch.bool, device=q.device).tril(Tk - Tq)
        scores = scores.masked_fill(~keep, float("-inf"))
    elif mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    weights = torch.softmax(scores, dim=-1)
    if dropout:
        weights = F.dropout(weights, dropout)
    return weights @ v


class SelfAttention(HeadsProjection):
    """Multi-head self-attention with a fused qkv projection, SDPA, and an optional KV cache."""

    def __init__(self, spec: TransformerSpec) -> None:
        super().__init__(spec.d_model, spec.n_heads)
        self.causal, self.dropout, self.impl = spec.causal, spec.dropout, spec.attn_impl
        self.rotary = Rotary(self.head_dim) if spec.positions == "rope" else None
        slopes = alibi_slopes(spec.n_heads) if spec.positions == "alibi" else None
        self.register_buffer("slopes", slopes, persistent=False)

    def forward(self, x: Tensor, cache: KVCache | None) -> Tensor:
        q, k, v = self.heads(x)  # (B, H, T, Dh) each
        offset = cache.length if cache is not None else 0
        if self.rotary is not None:
            q, k = self.rotary(q, offset), self.rotary(k, offset)
        if cache is not None:
            k, v = cache.append(k, v)  # (B, H, offset + T, Dh)
        mask, is_causal = attention_mask(q.shape[2], k.shape[2], self.causal, self.slopes, q.dtype)
        dropout = self.dropout if self.training else 0.0
        if self.impl == "math":
            y = math_attention(q, k, v, mask, is_causal, dropout)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal, dropout_p=dropout)
        return self.merge(y)  # y: (B, H, T, Dh) -> (B, T, D)


def transformer_block(spec: TransformerSpec) -> PreNormBlock:
    """x + Attn(LN(x)), then x + MLP(LN(x)) (pre-norm; the layout of nn.TransformerEncoderLayer(norm_first=True))."""
    return PreNormBlock(spec.d_model, SelfAttention(spec), spec.ff_width, spec.dropout, spec.gelu)


@register("transformer")
class Transformer(SequenceModel):
    """Decoder-only pre-norm transformer (GPT-style) with SDPA attention and a per-layer KV cache.

    ``causal=False`` gives the bidirectional encoder (for classification; no state, no generation). Generation modes:
    ``recompute`` (re-run the whole prefix for every token) and ``cache`` (KV cache).
    """

    Spec = TransformerSpec
    family = "attention"
    cost_in_n = "attention"
    generation_modes = ("recompute", "cache")
    supports_checkpointing = True
    #: 2: the one init of every attention family (blocks.gpt2_init, issue 14): residual projections now depth-scaled
    impl_version = 2
    test_variants = tuple({"positions": p} for p in POSITION_SCHEMES)

    def __init__(self, spec: TransformerSpec) -> None:
        super().__init__(spec)
        self.causal = spec.causal
        self.abs_pos = (
            AbsolutePositions(spec.positions, spec.d_model, spec.max_len)
            if spec.positions in ("sinusoidal", "learned")
            else None
        )
        self.blocks = nn.ModuleList(transformer_block(spec) for _ in range(spec.layers))
        gpt2_init(self, spec.layers)

    def embedding_parameters(self) -> list[nn.Parameter]:
        extra = list(self.abs_pos.parameters()) if self.abs_pos is not None else []
        return super().embedding_parameters() + extra

    def embed_inputs(self, x: Tensor, state: TransformerState | None) -> Tensor:
        h = self.embed(x)  # (B, T, D)
        if self.abs_pos is not None:
            h = self.abs_pos(h, state.length if state is not None else 0)
        return h

    def mix(self, h: Tensor, state: TransformerState | None) -> tuple[Tensor, TransformerState | None]:
        if not self.causal and state is not None:
            raise SpecError("a bidirectional transformer has no state to continue from")
        if (not self.causal or state is None) and self.activation_checkpointing and torch.is_grad_enabled():
            # training memory for time: each block's activations are recomputed in backward; no cache is kept
            for block in self.blocks:
                h = checkpoint(block, h, None, use_reentrant=False)
            return h, None
        if not self.causal:
            for block in self.blocks:
                h = block(h, None)
            return h, None
        if state is None:
            state = TransformerState([KVCache() for _ in self.blocks])
        for block, cache in zip(self.blocks, state.caches):
            h = block(h, cache)
        return h, state

    def init_state(
        self,
        batch_size: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        max_len: int | None = None,
    ) -> TransformerState:
        """Empty per-layer caches preallocated for ``max_len`` tokens (default: spec.max_len); they grow if needed.

        On CPU, memory is committed only as the cache fills (``torch.empty``, never zero-filled); on CUDA the caching
        allocator reserves the whole capacity at once.
        """
        self._require_causal("init_state")
        kw = self.state_kwargs(device, dtype)
        capacity = max_len or self.spec.max_len
        H, Dh = self.spec.n_heads, self.spec.d_model // self.spec.n_heads
        caches = [
            KVCache(empty_buffer(batch_size, H, capacity, Dh, **kw), empty_buffer(batch_size, H, capacity, Dh, **kw))
            for _ in self.blocks
        ]
        return TransformerState(caches)
