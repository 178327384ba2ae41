"""models/blocks.py: the one GELU MLP and pre-norm block every attention family is built from, and the named
initialisations."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqarena.models import available, build, family_of
from seqarena.models.blocks import (
    INIT_STD,
    MLP,
    PreNormBlock,
    gpt2_init,
    gpt2_scaled_init,
    normal_matrix_init,
)

ATTENTION = [name for name in available() if family_of(name) == "attention"]


def _small(name: str, **fields) -> nn.Module:
    torch.manual_seed(0)
    return build(name, vocab_size=16, d_model=16, layers=3, **fields)


@pytest.mark.parametrize("name", ATTENTION)
def test_every_attention_family_is_built_from_the_shared_block_and_mlp(name):
    model = _small(name)
    assert len(model.blocks) == 3
    for block in model.blocks:
        assert isinstance(block, PreNormBlock)
        assert isinstance(block.mlp, MLP)
    # no second MLP written anywhere else: one per layer, and no layer holds its own fc1/fc2
    assert sum(isinstance(m, MLP) for m in model.modules()) == 3
    assert not any(n.endswith(("fc1", "fc2")) and n.split(".")[-2] != "mlp" for n, _ in model.named_modules())


def test_hybrid_attention_layers_use_the_shared_block():
    torch.manual_seed(0)
    model = build("hybrid", stack="lstm,transformer,local", vocab_size=16, d_model=16)
    mlps = [m for m in model.modules() if isinstance(m, MLP)]
    assert len(mlps) == 2  # one per attention layer, none for the LSTM


def test_attention_families_are_the_expected_ones():
    assert set(ATTENTION) == {"transformer", "transformer_xl", "local", "linformer", "performer", "linear_attention"}


def test_mlp_is_fc1_gelu_fc2():
    torch.manual_seed(0)
    mlp = MLP(8, 20, dropout=0.0)
    x = torch.randn(2, 5, 8)
    expected = F.linear(F.gelu(F.linear(x, mlp.fc1.weight, mlp.fc1.bias)), mlp.fc2.weight, mlp.fc2.bias)
    torch.testing.assert_close(mlp(x), expected, atol=0, rtol=0)
    assert sum(p.numel() for p in mlp.parameters()) == 8 * 20 + 20 + 20 * 8 + 8


def test_pre_norm_block_passes_extra_mixer_outputs_through():
    class Mixer(nn.Module):
        def forward(self, x, scale):
            return x * scale, "state"

    torch.manual_seed(0)
    block = PreNormBlock(8, Mixer(), 16, dropout=0.0)
    x = torch.randn(2, 3, 8)
    y, extra = block(x, 2.0)
    h = x + block.ln1(x) * 2.0
    torch.testing.assert_close(y, h + block.mlp(block.ln2(h)), atol=0, rtol=0)
    assert extra == "state"


def _stds(model: nn.Module) -> dict[str, float]:
    return {n: float(p.detach().std()) for n, p in model.named_parameters() if p.ndim == 2}


def test_gpt2_init_zeroes_biases_and_draws_small_weights():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(500, 64), nn.Linear(64, 256))
    model.apply(gpt2_init)
    assert torch.equal(model[1].bias, torch.zeros(256))
    for std in _stds(model).values():
        assert std == pytest.approx(INIT_STD, rel=0.1)


def test_scaled_init_shrinks_only_residual_projections():
    torch.manual_seed(0)
    model = _small("linear_attention", d_ff=64)
    layers = 3
    gpt2_scaled_init(model, layers)
    for name, std in _stds(model).items():
        if "embed" in name:
            continue
        want = INIT_STD / math.sqrt(2 * layers) if name.endswith(("proj.weight", "fc2.weight")) else INIT_STD
        assert std == pytest.approx(want, rel=0.25), name
    bias = model.blocks[0].mlp.fc1.bias
    assert bias.abs().max() > 0  # biases keep PyTorch's default (not zeroed)


def test_normal_matrix_init_leaves_the_input_layer_alone():
    model = _small("transformer_xl")
    before = model.embed.weight.clone()
    normal_matrix_init(model)
    assert torch.equal(model.embed.weight, before)
    # the per-head biases u, v are matrices, so they are drawn too
    assert float(model.blocks[0].mixer.u.detach().std()) == pytest.approx(INIT_STD, rel=0.5)
