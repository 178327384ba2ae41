"""seqarena's transformer in the layout of HF GPT-2 (``GPT2LMHeadModel``), weights both ways; no transformers import.

GPT-2 is our transformer with ``positions=learned``, ``tie_embeddings=True`` and ``gelu=tanh``: the same pre-norm
blocks, fused qkv, 4 x d MLP and final LayerNorm. Its ``Conv1D`` layers store weights as (in, out), the transpose of
``nn.Linear``'s (out, in). The parity test copies a random HF GPT-2 into our transformer and compares logits and
greedy tokens; ``benchmarks/peers.py`` copies ours into HF's to check that both compute the same function.
"""

from __future__ import annotations

import torch
from torch import Tensor

from seqarena.errors import SpecError
from seqarena.models.base import SequenceModel

#: The spec fields that make our transformer a GPT-2.
GPT2_FIELDS = {"positions": "learned", "tie_embeddings": True, "gelu": "tanh"}


def _pairs(model: SequenceModel) -> dict[str, tuple[Tensor, bool]]:
    """HF name -> (our tensor, stored transposed by HF)."""
    spec = model.spec
    wrong = {k: getattr(spec, k, None) for k, v in GPT2_FIELDS.items() if getattr(spec, k, None) != v}
    if model.name != "transformer" or wrong or not model.causal:
        raise SpecError(f"only a causal transformer with {GPT2_FIELDS} has GPT-2's layout (differs: {wrong})")
    pairs = {"transformer.wte.weight": (model.embed.weight, False),
             "transformer.wpe.weight": (model.abs_pos.table.weight, False),
             "transformer.ln_f.weight": (model.norm.weight, False), "transformer.ln_f.bias": (model.norm.bias, False)}
    for i, block in enumerate(model.blocks):
        p = f"transformer.h.{i}."
        for hf, ours in (("ln_1", block.ln1), ("ln_2", block.ln2)):
            pairs |= {p + hf + ".weight": (ours.weight, False), p + hf + ".bias": (ours.bias, False)}
        for hf, ours in (("attn.c_attn", block.mixer.qkv), ("attn.c_proj", block.mixer.proj),
                         ("mlp.c_fc", block.mlp.fc1), ("mlp.c_proj", block.mlp.fc2)):
            pairs |= {p + hf + ".weight": (ours.weight, True), p + hf + ".bias": (ours.bias, False)}
    return pairs


def to_gpt2_state_dict(model: SequenceModel) -> dict[str, Tensor]:
    """Our weights under GPT-2's names and layout (copies), for ``GPT2LMHeadModel.load_state_dict(..., strict=False)``
    (HF's tied ``lm_head.weight`` is the embedding)."""
    return {name: (t.T if transposed else t).detach().clone() for name, (t, transposed) in _pairs(model).items()}


@torch.no_grad()
def load_gpt2_state_dict(model: SequenceModel, state_dict: dict[str, Tensor]) -> None:
    """Copy a GPT-2 state dict (``GPT2LMHeadModel.state_dict()``) into our transformer, in place."""
    for name, (t, transposed) in _pairs(model).items():
        src = state_dict[name]
        t.copy_(src.T if transposed else src)
