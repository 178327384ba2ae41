"""The pieces every attention family shares: the GELU MLP, the pre-norm residual block around a mixer, and the
weight initialisations, each named.

A family supplies only its mixer (softmax, linear, sliding-window, length-projected or relative attention), a module
that maps the normed input (B, T, D) to (B, T, D), optionally with extra outputs such as its updated state::

    block = PreNormBlock(spec.d_model, SelfAttention(spec), spec.ff_width, spec.dropout)
    x = block(x, cache)  # x + drop(mixer(ln1(x), cache)), then x + drop(mlp(ln2(x)))

Initialisations: each family keeps the one it was measured with (changing one would change every stored number), so
they are named here rather than unified:

- :func:`gpt2_init` (``transformer``): N(0, 0.02) Linear and Embedding weights, zero biases.
- :func:`gpt2_scaled_init` (``linear_attention``, ``performer``): N(0, 0.02) matrices outside the input layer, the
  residual projections (``proj``, ``fc2``) scaled down by sqrt(2 x layers); biases keep PyTorch's default.
- :func:`normal_matrix_init` (``transformer_xl``): N(0, 0.02) matrices outside the input layer; biases keep
  PyTorch's default.
- ``local`` and ``linformer`` keep PyTorch's default initialisation (nothing to call).
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn

#: Standard deviation of the GPT-2 style initialisations.
INIT_STD = 0.02
#: Parameter-name endings of the projections that write into the residual stream (scaled by gpt2_scaled_init).
RESIDUAL_PROJECTIONS = ("proj.weight", "fc2.weight")


class MLP(nn.Module):
    """The position-wise feed-forward layer: fc1 -> GELU -> dropout -> fc2, (..., D) -> (..., D)."""

    def __init__(self, d_model: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        """(..., D) -> (..., D)."""
        return self.fc2(self.drop(F.gelu(self.fc1(x))))


class PreNormBlock(nn.Module):
    """x + drop(mixer(ln1(x), ...)), then x + drop(mlp(ln2(x))): the layout of
    ``nn.TransformerEncoderLayer(norm_first=True)`` with any sequence mixer in place of softmax attention.

    The mixer returns either its output (B, T, D) or a tuple (output, *extra); the block then returns
    (x, *extra) likewise, so a mixer can hand back its updated state (linear attention's sums, a window of keys).
    Subclasses override :meth:`attend` when the mixer reads more than the normed input (Transformer-XL's memory).
    """

    def __init__(self, d_model: int, mixer: nn.Module, d_ff: int, dropout: float) -> None:
        super().__init__()
        # registration order (ln1, mixer, ln2, mlp) is the order the families created these parameters in before
        # this block existed, so seeded initialisations draw in the same order and give bit-identical weights
        self.ln1 = nn.LayerNorm(d_model)
        self.mixer = mixer
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = MLP(d_model, d_ff, dropout)
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


def gpt2_init(module: nn.Module) -> None:
    """GPT-2 style, for ``model.apply``: N(0, 0.02) weights of every Linear and Embedding, zero biases."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=INIT_STD)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)


def normal_matrix_init(model: nn.Module, *, residual_std: float = INIT_STD) -> None:
    """N(0, 0.02) for every matrix (2-D parameter) outside the input layer, in ``named_parameters`` order;
    residual projections (names ending in :data:`RESIDUAL_PROJECTIONS`) get ``residual_std`` instead. Biases and
    norm gains keep PyTorch's defaults."""
    for name, p in model.named_parameters():
        if p.ndim == 2 and "embed" not in name:
            nn.init.normal_(p, std=residual_std if name.endswith(RESIDUAL_PROJECTIONS) else INIT_STD)


def gpt2_scaled_init(model: nn.Module, layers: int) -> None:
    """:func:`normal_matrix_init` with the residual projections scaled by 1 / sqrt(2 x layers) (GPT-2's depth
    scaling: the residual stream's variance then stays put however deep the stack)."""
    normal_matrix_init(model, residual_std=INIT_STD / math.sqrt(2 * layers))
