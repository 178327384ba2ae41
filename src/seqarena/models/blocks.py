"""The pieces every attention family shares: the GELU MLP, the pre-norm residual block around a mixer, and the one
weight initialisation.

A family supplies only its mixer (softmax, linear, sliding-window, length-projected or relative attention), a module
that maps the normed input (B, T, D) to (B, T, D), optionally with extra outputs such as its updated state::

    block = PreNormBlock(spec.d_model, SelfAttention(spec), spec.ff_width, spec.dropout)
    x = block(x, cache)  # x + drop(mixer(ln1(x), cache)), then x + drop(mlp(ln2(x)))

Initialisation: one for every attention family, :func:`gpt2_init` (GPT-2's: N(0, 0.02) Linear and Embedding
weights, zero biases, LayerNorm gain 1 and bias 0, the projections into the residual stream scaled by
1 / sqrt(2 x layers)). The families once kept their own (GPT-2 for ``transformer``, depth-scaled matrices for
``linear_attention``, unscaled matrices for ``transformer_xl``, PyTorch's defaults for ``local`` and ``linformer``),
so a claim comparing two mechanisms also compared two initialisations; one init makes the mechanism the only
difference. The recurrent families keep their own mixers' init (gate biases, an SSM's dt range): their cells need
them; their head and final norm take the attention families' rule and their input layer a unit-variance one
(:func:`io_init`: their cells have no input normalisation). The rule of each kind is :data:`INIT_RULES`, recorded with
every row.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

#: Standard deviation of the GPT-2 initialisation (before the residual projections' depth scaling).
INIT_STD = 0.02


class MLP(nn.Module):
    """The position-wise feed-forward layer: fc1 -> GELU -> dropout -> fc2, (..., D) -> (..., D).

    ``gelu``: ``exact`` (the erf form) or ``tanh`` (GPT-2's approximation, HF's ``gelu_new``).
    """

    def __init__(self, d_model: int, d_ff: int, dropout: float, gelu: str = "exact") -> None:
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)
        self.drop = nn.Dropout(dropout)
        self.approximate = {"exact": "none", "tanh": "tanh"}[gelu]

    def forward(self, x: Tensor) -> Tensor:
        """(..., D) -> (..., D)."""
        return self.fc2(self.drop(F.gelu(self.fc1(x), approximate=self.approximate)))


class PreNormBlock(nn.Module):
    """x + drop(mixer(ln1(x), ...)), then x + drop(mlp(ln2(x))): the layout of
    ``nn.TransformerEncoderLayer(norm_first=True)`` with any sequence mixer in place of softmax attention.

    The mixer returns either its output (B, T, D) or a tuple (output, *extra); the block then returns
    (x, *extra) likewise, so a mixer can hand back its updated state (linear attention's sums, a window of keys).
    Subclasses override :meth:`attend` when the mixer reads more than the normed input (Transformer-XL's memory).
    """

    def __init__(self, d_model: int, mixer: nn.Module, d_ff: int, dropout: float, gelu: str = "exact") -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.mixer = mixer
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = MLP(d_model, d_ff, dropout, gelu)
        self.drop = nn.Dropout(dropout)

    def attend(self, x: Tensor, *args, **kwargs) -> Tensor | tuple:
        """The mixer on the pre-normed input: (B, T, D) -> (B, T, D) [, extra outputs]."""
        return self.mixer(self.ln1(x), *args, **kwargs)

    def forward(self, x: Tensor, *args, **kwargs) -> Tensor | tuple:
        """(B, T, D) -> (B, T, D) [, the mixer's extra outputs]; ``args`` go to the mixer (a cache, a state ...)."""
        out = self.attend(x, *args, **kwargs)
        y, extra = (out, ()) if isinstance(out, Tensor) else (out[0], tuple(out[1:]))
        x = x + self.drop(y)  # (B, T, D)
        x = x + self.drop(self.mlp(self.ln2(x)))
        return (x, *extra) if extra else x


class HeadsProjection(nn.Module):
    """The fused q, k, v projection and the output projection of multi-head attention.

    :meth:`heads` splits the projected input into q, k, v of shape (B, H, T, Dh) each; :meth:`merge` joins the heads
    of the attention output back to (B, T, D) and projects it.
    """

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads, self.head_dim = n_heads, d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def heads(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(B, T, D) -> q, k, v, each (B, H, T, Dh)."""
        B, T, _ = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return q, k, v

    def merge(self, y: Tensor) -> Tensor:
        """(B, H, T, Dh) -> (B, T, D), through the output projection."""
        B, H, T, Dh = y.shape
        return self.proj(y.transpose(1, 2).reshape(B, T, H * Dh))


def residual_std(layers: int) -> float:
    """The standard deviation of the projections that write into the residual stream: 0.02 / sqrt(2 x layers).

    GPT-2's depth scaling: each layer adds two such outputs (attention and MLP), so the residual stream's variance at
    initialisation stays put however deep the stack.
    """
    return INIT_STD / math.sqrt(2 * layers)


def io_init(model: nn.Module) -> None:
    """The recurrent, SSM and hybrid families' input layer, final LayerNorm and head, in place: the head N(0, 0.02)
    with a zero bias and the LayerNorm gain 1, bias 0, as in every attention family (the head reads the final
    LayerNorm's output in every family, so one rule fits all); the input layer unit-variance (an Embedding N(0, 1),
    an input Linear N(0, 1/fan_in) with a zero bias), because their cells have no input normalisation and their own
    init (PyTorch's uniform(+-1/sqrt(d)) gates) assumes O(1) inputs. Measured here: an LSTM with GPT-2's N(0, 0.02)
    embedding learned nothing on copy-8 in 100 steps (validation loss 2.06 at the baseline's 2.08, lr 1e-3 and
    1e-2), with N(0, 1) it reached 1.82. A tied head shares the input layer's draw."""
    embed = getattr(model, "embed", None)
    if isinstance(embed, nn.Embedding):
        nn.init.normal_(embed.weight, std=1.0)
    elif isinstance(embed, nn.Linear):
        _init(embed, 1 / math.sqrt(embed.in_features))
    _init(getattr(model, "norm", None), INIT_STD)
    head = getattr(model, "head", None)
    if head is not None and head.weight is not getattr(embed, "weight", None):
        _init(head, INIT_STD)


#: How each kind of family initialises its weights (recorded with every row: ``init``).
INIT_RULES = {
    "attention": "GPT-2: N(0, 0.02) weights, residual projections 0.02/sqrt(2 x layers), zero biases",
    "recurrent": "cells their own; input unit-variance; head N(0, 0.02) (blocks.io_init)",
    "hybrid": "attention layers GPT-2, recurrent layers their own; input unit-variance; head N(0, 0.02)",
}


def _init(module: nn.Module | None, std: float) -> None:
    """N(0, ``std``) weight and zero bias of a Linear or Embedding; gain 1 and bias 0 of a LayerNorm; else nothing."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=std)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm) and module.elementwise_affine:
        nn.init.ones_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def gpt2_init(model: nn.Module, layers: int) -> None:
    """The one initialisation of every attention family (GPT-2, Radford et al. 2019), in place.

    N(0, 0.02) for every Linear and Embedding weight (the input layer, learned positions, a linformer's length
    projection and the head included), zero Linear biases, LayerNorm gain 1 and bias 0; the output projection of each
    :class:`HeadsProjection` and the ``fc2`` of each :class:`MLP` write into the residual stream and get
    :func:`residual_std` (``layers``: the depth of the whole stack). Parameters of other modules keep the value their
    module gave them (Transformer-XL's content and position biases u, v: zero, as biases), and buffers are untouched
    (the performer's random features). Draws in ``model.modules()`` order.
    """
    residual = {id(m.proj) for m in model.modules() if isinstance(m, HeadsProjection)}
    residual |= {id(m.fc2) for m in model.modules() if isinstance(m, MLP)}
    for module in model.modules():
        _init(module, residual_std(layers) if id(module) in residual else INIT_STD)
