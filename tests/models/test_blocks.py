"""models/blocks.py: the one GELU MLP, pre-norm block and initialisation every attention family is built from; the
recurrent families keep their own initialisations."""

from __future__ import annotations

import math
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqarena.models import available, build, family_of
from seqarena.models.blocks import INIT_STD, MLP, PreNormBlock, residual_std

ATTENTION = [name for name in available() if family_of(name) == "attention"]


def _small(name: str, **fields) -> nn.Module:
    torch.manual_seed(0)
    return build(name, **{"vocab_size": 16, "d_model": 16, "layers": 3, **fields})


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


def test_the_parametrised_attention_families_are_read_from_the_registry():
    # not a closed set (a new attention model needs no edit here); the list must not come out empty
    assert "transformer" in ATTENTION and "lstm" not in ATTENTION


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


# -- the one initialisation -----------------------------------------------------------------------------------------

RECURRENT = [name for name in available() if family_of(name) == "recurrent"]
#: A size at which every weight matrix has thousands of entries, so sample stds sit within a few % of the target.
INIT_SIZE = {"vocab_size": 64, "d_model": 64, "layers": 3, "d_ff": 256}


def _init_statistics(model: nn.Module, layers: int) -> dict[str, float]:
    """How far the model's parameters are from the one init: the pooled std of the plain and of the residual
    Linear/Embedding weights, and the largest deviation of everything that should be exact (biases 0, LayerNorm gains
    1, other parameters such as Transformer-XL's u, v 0). Fails if a parameter belongs to none of these."""
    plain, residual, exact = [], [], [0.0]
    for mname, module in model.named_modules():
        own = {n: p.detach() for n, p in module.named_parameters(recurse=False)}
        if isinstance(module, (nn.Linear, nn.Embedding)):
            is_residual = mname.endswith(("mixer.proj", "mlp.fc2"))
            (residual if is_residual else plain).append(own.pop("weight").flatten())
        elif isinstance(module, nn.LayerNorm):
            exact.append(float((own.pop("weight") - 1).abs().max()))
        exact += [float(p.abs().max()) for p in own.values()]  # biases and anything else: zero
    return {"plain": float(torch.cat(plain).std()), "residual": float(torch.cat(residual).std()),
            "exact": max(exact), "layers": layers}


@pytest.mark.parametrize("name", ATTENTION)
def test_every_attention_family_follows_the_one_init(name):
    stats = _init_statistics(_small(name, **INIT_SIZE), 3)
    assert stats["plain"] == pytest.approx(INIT_STD, rel=0.03)
    assert stats["residual"] == pytest.approx(INIT_STD / math.sqrt(2 * 3), rel=0.03) == residual_std(3)
    assert stats["exact"] == 0.0


def test_attention_families_have_identical_init_statistics():
    """The point of one init: at the same seed and size no family starts from a different scale than another."""
    stats = {name: _init_statistics(_small(name, **INIT_SIZE), 3) for name in ATTENTION}
    reference = stats["transformer"]
    for name, s in stats.items():
        assert s == pytest.approx(reference, rel=0.03), name


def test_residual_scaling_counts_the_layers():
    for layers in (1, 6):
        model = _small("local", **{**INIT_SIZE, "layers": layers})
        assert _init_statistics(model, layers)["residual"] == pytest.approx(residual_std(layers), rel=0.03)


def test_hybrid_attention_layers_follow_the_one_init_at_the_stack_depth():
    torch.manual_seed(0)
    model = build("hybrid", stack="lstm,transformer,local", vocab_size=16, d_model=64, d_ff=256)
    for sub in model.mixers[1:]:
        stats = _init_statistics(sub, 3)
        assert stats["residual"] == pytest.approx(residual_std(3), rel=0.05)  # the stack's 3 layers, not 1
        assert stats["plain"] == pytest.approx(INIT_STD, rel=0.05)
        assert stats["exact"] == 0.0


def test_hybrid_recurrent_layers_keep_their_own_init():
    """The LSTM below attention layers draws exactly what it draws below recurrent layers: re-initialising the
    attention layers touches nothing else."""
    torch.manual_seed(0)
    with_attention = build("hybrid", stack="lstm,transformer,local", vocab_size=16, d_model=16)
    torch.manual_seed(0)
    recurrent_only = build("hybrid", stack="lstm,gru,gru", vocab_size=16, d_model=16)
    for a, b in zip(with_attention.mixers[0].parameters(), recurrent_only.mixers[0].parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", RECURRENT)
def test_recurrent_families_keep_their_own_init(name, monkeypatch):
    """The recurrent families never call the attention init on their mixers (their gates need theirs); their head
    and final norm take the attention families' rule (N(0, 0.02), gain 1, zero biases) and their input layer a
    unit-variance one (io_init: no input normalisation in their cells)."""
    calls = []
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("seqarena.models") and hasattr(module, "gpt2_init"):
            monkeypatch.setattr(module, "gpt2_init", lambda *a, **k: calls.append(a))
    model = _small(name, vocab_size=512, d_model=64, tie_embeddings=False)
    assert calls == []
    assert float(model.embed.weight.detach().std()) == pytest.approx(1.0, rel=0.05)
    assert float(model.head.weight.detach().std()) == pytest.approx(INIT_STD, rel=0.05)
    assert float(model.norm.weight.detach().min()) == 1.0 and float(model.norm.bias.detach().abs().max()) == 0.0
    real = _small(name, vocab_size=None, input_dim=400, output_dim=3, head="regression", d_model=64)
    assert float(real.embed.weight.detach().std()) == pytest.approx(1 / math.sqrt(400), rel=0.05)
    _small("transformer")
    assert calls, "the spy must see the attention init (else this test proves nothing)"


@pytest.mark.parametrize("name", ["lstm", "hybrid", "transformer"])
def test_one_rule_for_heads_across_families_and_the_rule_is_recorded(name):
    """The same head initialisation for every family (issue 29: all read the final LayerNorm), and every trial's row
    names its family's rule."""
    from seqarena.bench import make_trial, run_trial
    from seqarena.models.blocks import INIT_RULES

    model = _small(name, vocab_size=512, d_model=64, tie_embeddings=False)
    assert float(model.head.weight.detach().std()) == pytest.approx(INIT_STD, rel=0.05), name
    m = run_trial(make_trial(scenario="forward_latency", model=name, params=None, vocab_size=32, seq_len=8,
                             repeats=1, min_seconds=0.0, warmup=0, threads=1, options={"d_model": 16}))
    assert m["init"] == INIT_RULES[family_of(name)]
