"""The HF architectures seqarena builds by config (``-m hf:llama``): how each family's config is sized and shaped.

One :class:`HFFamily` per architecture: its config and base-model classes in ``transformers``, which config fields
carry seqarena's width, depth and heads, the settings seqarena fixes (and why), the shape rule on the width, and what
a verdict using it must say (CPU fallbacks). Families that ``transformers`` has but that cannot meet seqarena's
interface are listed with the reason (:attr:`HFFamily.unsupported`), so ``seqarena list`` shows them and
``-m hf:<name>`` says why in one line. Nothing here imports ``transformers``: that happens when a model is built.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from seqarena.models.base import Family

#: The ``-m`` prefix of every HF architecture (reserved: ``hf:llama`` is never read as an import path).
PREFIX = "hf:"
#: The transformers releases the adapter is tested with (the cache API moved within 5.x).
TESTED = ">=5.24,<6"


@dataclasses.dataclass(frozen=True)
class HFFamily:
    """How seqarena builds one HF architecture from its config class, with random init."""

    name: str  # after "hf:"
    config: str  # the config class in transformers
    model: str  # the base model class (no LM head: seqarena's own head sits on its last hidden state)
    family: Family  # what the report colours by and the recommender reasons about
    width: str  # config field that takes seqarena's d_model
    depth: str  # config field that takes seqarena's layers
    heads: str | None = None  # config field that takes seqarena's n_heads (None: the family has no such field)
    dropouts: tuple[str, ...] = ()  # config fields set from seqarena's dropout
    #: An integer config field the parameter budget may solve after the width, for a closer count (the MLP width)
    fine: str | None = None
    #: Config values seqarena sets unless the user passes the field (``hf:mamba2:head_dim=32``).
    fixed: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Config values derived from the spec and the config values chosen so far (e.g. Mamba-2's head count).
    derive: Callable[[int, dict[str, Any]], dict[str, Any]] | None = None
    #: d_model must be a multiple of this, given the spec's heads and the config values chosen by the user.
    multiple: Callable[[int, dict[str, Any]], int] = lambda heads, cfg: 1
    #: A shape rule the library only enforces deep inside a forward: the config's problem as a sentence, or None.
    rule: Callable[[dict[str, Any]], str | None] = lambda cfg: None
    #: False where the library's cached path takes one token at a time (its multi-token call after a nonempty cache
    #: restarts the scan): seqarena then feeds such a chunk token by token (correct, and as slow as decoding).
    chunks_continue: bool = True
    note: str = ""  # said by ``seqarena list`` and by every verdict that uses the family (e.g. a CPU fallback)
    unsupported: str | None = None  # why seqarena cannot use it (listed, refused in one line)

    @property
    def label(self) -> str:
        return PREFIX + self.name


def _llama_ffn(d: int, cfg: dict[str, Any]) -> dict[str, Any]:
    # SwiGLU has three matrices: 8/3 x d keeps the MLP's parameters at a GPT-2 MLP's 8 d^2, as Llama does
    return {} if "intermediate_size" in cfg else {"intermediate_size": 8 * math.ceil(8 * d / 3 / 8)}


def _grouped_heads(cfg: dict[str, Any]) -> str | None:
    heads, kv = cfg["num_attention_heads"], cfg.get("num_key_value_heads") or cfg["num_attention_heads"]
    return None if heads % kv == 0 else f"num_key_value_heads={kv} must divide the {heads} attention heads (n_heads)"


def _mamba2_heads(d: int, cfg: dict[str, Any]) -> dict[str, Any]:
    # Mamba-2's shape rule: heads x head_dim = expand x hidden
    if "num_heads" in cfg:
        return {}
    return {"num_heads": cfg.get("expand", 2) * d // cfg.get("head_dim", 16)}


def _mamba2_multiple(heads: int, cfg: dict[str, Any]) -> int:
    head_dim, expand = cfg.get("head_dim", 16), cfg.get("expand", 2)
    per_group = head_dim * cfg.get("n_groups", 1)  # the head count must split into n_groups
    return per_group // math.gcd(expand, per_group)


_MAMBA_CPU = ("on CPU, HF's pure-PyTorch fallback (no mamba_ssm / causal_conv1d kernels): its speed is not the "
              "kernels' speed")

FAMILIES: tuple[HFFamily, ...] = (
    HFFamily("gpt2", "GPT2Config", "GPT2Model", "attention", "n_embd", "n_layer", "n_head",
             dropouts=("resid_pdrop", "embd_pdrop", "attn_pdrop"), fine="n_inner", multiple=lambda heads, cfg: heads,
             note="learned positions: n_positions (GPT-2's 1,024 by default, counted in the budget) caps the length"),
    HFFamily("llama", "LlamaConfig", "LlamaModel", "attention", "hidden_size", "num_hidden_layers",
             "num_attention_heads", dropouts=("attention_dropout",), fine="intermediate_size",
             fixed={"max_position_embeddings": 8192},
             derive=_llama_ffn, multiple=lambda heads, cfg: 2 * heads,  # rotary pairs within a head
             rule=_grouped_heads),
    HFFamily("mamba", "MambaConfig", "MambaModel", "recurrent", "hidden_size", "num_hidden_layers",
             chunks_continue=False, note=_MAMBA_CPU),
    HFFamily("mamba2", "Mamba2Config", "Mamba2Model", "recurrent", "hidden_size", "num_hidden_layers",
             # the width moves in steps of 8 (heads x head_dim = 2 x hidden): the state size fine-tunes the budget
             fixed={"head_dim": 16, "n_groups": 1}, derive=_mamba2_heads, multiple=_mamba2_multiple,
             fine="state_size", chunks_continue=False, note=_MAMBA_CPU),
    HFFamily("xlstm", "xLSTMConfig", "xLSTMModel", "recurrent", "hidden_size", "num_hidden_layers", "num_heads",
             # the library's default kernel dtype is bf16 whatever the model's dtype: contenders must share one
             fixed={"autocast_kernel_dtype": "float32", "inference_state_dtype": "float32"},
             # transformers 5.24: at widths that are not multiples of 128 the cached state has the wrong shape
             # (hidden 64, 96 or 192 with any head count fails its first cached call)
             multiple=lambda heads, cfg: math.lcm(128, heads),
             note="mLSTM with the native (pure-PyTorch) kernels; widths are multiples of 128"),
    HFFamily("rwkv", "RwkvConfig", "RwkvModel", "recurrent", "hidden_size", "num_hidden_layers",
             unsupported="continuing from its state does not reproduce its own parallel forward in this "
                         "transformers (a single-token step after a 6-token prefix differs by ~1.5)"),
    HFFamily("recurrent_gemma", "RecurrentGemmaConfig", "RecurrentGemmaModel", "hybrid", "hidden_size",
             "num_hidden_layers", "num_attention_heads",
             unsupported="its base model keeps the cache inside its layers and returns none, so a state cannot be "
                         "handed back, cloned or continued independently"),
)

BY_NAME: dict[str, HFFamily] = {f.name: f for f in FAMILIES}


def hf_note(model: str) -> str:
    """What a verdict using ``model`` must say about it (a CPU fallback ...); '' for any other model."""
    fam = BY_NAME.get(model.removeprefix(PREFIX)) if model.startswith(PREFIX) else None
    return fam.note if fam is not None else ""
