"""HF architectures behind seqarena's interface: ``-m hf:gpt2``, ``hf:llama``, ``hf:mamba``, ``hf:mamba2``, ...

Each is built from the library's config class with random init (nothing is downloaded), sized by ``d_model`` /
``layers`` / ``n_heads`` (or a parameter budget, solved by width like our own models), with any other config field
passed through: ``hf:llama:num_key_value_heads=2``. The library's base model (its token embedding, blocks and final
norm) runs inside; seqarena's head sits on its last hidden state, so ``lm``, ``regression`` and ``classify`` heads and
feature inputs (``inputs_embeds`` from a linear projection) work as for every other model::

    y, state = model(x, state)    # the library's own cache object travels inside the state
    y_t, state = model.step(x_t, state)
    model.state_nbytes(state)     # the bytes of that cache's tensors

Needs the ``hf`` extra (``pip install 'seqarena[hf]'``, transformers :data:`~seqarena.models.hf_families.TESTED`);
seqarena's core never imports transformers. The families and their shape rules live in
:mod:`seqarena.models.hf_families`.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib.metadata
import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from pydantic import ConfigDict, Field, model_validator
from torch import Tensor, nn

from seqarena.errors import SpecError, first_line
from seqarena.models.base import ModelSpec, SequenceModel, State
from seqarena.models.hf_families import BY_NAME, FAMILIES, PREFIX, TESTED, HFFamily

#: The name of the cache keyword and output field in the tested transformers releases.
CACHE = "cache"


def transformers_version() -> str | None:
    """The installed transformers' version, without importing it (None when absent)."""
    try:
        return importlib.metadata.version("transformers")
    except importlib.metadata.PackageNotFoundError:
        return None


def _transformers(label: str) -> Any:
    """The transformers module, or a one-line :class:`SpecError` naming the extra to install."""
    if transformers_version() is None:
        raise SpecError(f"{label} needs transformers: pip install 'seqarena[hf]' (transformers{TESTED})")
    import transformers

    # the CPU fallbacks announce themselves on every build; seqarena list and the verdicts say it once instead
    transformers.logging.set_verbosity_error()
    return transformers


@functools.cache
def _default_config(family: str) -> Any:
    fam = BY_NAME[family]
    return getattr(_transformers(fam.label), fam.config)()


class HFSpec(ModelSpec):
    """seqarena's fields (``d_model`` is the family's width, ``layers`` its depth) plus any field of the family's
    config class, passed through as given."""

    model_config = ConfigDict(extra="allow", frozen=True, validate_default=True, allow_inf_nan=False)
    hf_family: ClassVar[HFFamily]

    @classmethod
    def unknown_fields(cls, names: list[str]) -> list[str]:
        return []  # any name may be a config field: the validator below checks it against the config class

    def config_fields(self) -> dict[str, Any]:
        """The config fields the user passed (``hf:llama:num_key_value_heads=2``)."""
        return dict(self.model_extra or {})

    def width_multiple(self) -> int:
        return self.hf_family.multiple(getattr(self, "n_heads", 1), self.config_fields())

    @model_validator(mode="before")
    @classmethod
    def _check_config_fields(cls, data: Any) -> Any:
        fam, ours = cls.hf_family, set(cls.model_fields)
        mapped = {fam.width: "d_model", fam.depth: "layers", "vocab_size": "vocab_size"}
        if fam.heads:
            mapped[fam.heads] = "n_heads"
        mapped |= dict.fromkeys(fam.dropouts, "dropout")
        for key in (k for k in (data if isinstance(data, dict) else {}) if k not in ours):
            if key in mapped:
                raise ValueError(f"{key} is set by seqarena's {mapped[key]}; pass {mapped[key]}= instead")
            if not hasattr(_default_config(fam.name), key):
                raise ValueError(f"{key} is not a field of transformers' {fam.config}")
        return data

    @model_validator(mode="after")
    def _check_rules(self) -> HFSpec:
        problem = self.hf_family.rule(self.config_kwargs())
        if problem:
            raise ValueError(problem)
        return self

    def config_kwargs(self) -> dict[str, Any]:
        """Everything the family's config class is built with."""
        fam, user = self.hf_family, self.config_fields()
        kw: dict[str, Any] = {fam.width: self.d_model, fam.depth: self.layers,
                              # token ids only pass through seqarena's vocabulary: no special ids outside it
                              "vocab_size": self.vocab_size or 1, "bos_token_id": None, "eos_token_id": None,
                              "pad_token_id": None, **dict.fromkeys(fam.dropouts, self.dropout)}
        if fam.heads:
            kw[fam.heads] = self.n_heads
        kw |= {k: v for k, v in fam.fixed.items() if k not in user}
        kw |= user
        if fam.derive is not None:
            kw |= fam.derive(self.d_model, kw)
        return kw


class HFHeadsSpec(HFSpec):
    """:class:`HFSpec` of a family with attention heads."""

    n_heads: int = Field(4, ge=1, description="attention heads (the family's heads field)")


@dataclasses.dataclass
class HFState(State):
    """The library's cache object (``DynamicCache``, ``xLSTMCache`` ...; None before the first call) and the tokens
    seen. Updated in place by forward/step, like seqarena's KV cache: keep using the returned state."""

    cache: Any = None
    length: int = 0

    def tensors(self) -> list[Tensor]:
        found: list[Tensor] = []
        _walk(self.cache, lambda t: found.append(t) or t, {})
        return found

    def clone(self) -> HFState:
        return HFState(_walk(self.cache, Tensor.clone, {}), self.length)

    def detach(self) -> HFState:
        return HFState(_walk(self.cache, Tensor.detach, {}), self.length)


def _walk(obj: Any, fn: Callable[[Tensor], Tensor], memo: dict[int, Any]) -> Any:
    """A copy of a cache object with ``fn`` applied to every tensor inside (lists, dicts, tuples and attributes),
    sharing everything else (its config). ``copy.deepcopy`` cannot take tensors that carry autograd history."""
    if id(obj) in memo:
        return memo[id(obj)]
    if isinstance(obj, Tensor):
        out = fn(obj)
    elif isinstance(obj, (list, tuple)):
        out = type(obj)(_walk(v, fn, memo) for v in obj)
    elif isinstance(obj, dict):
        out = {k: _walk(v, fn, memo) for k, v in obj.items()}
    elif hasattr(obj, "__dict__") and not isinstance(obj, (type, nn.Module)) and not _is_config(obj):
        out = copy.copy(obj)
        memo[id(obj)] = out
        for key, value in vars(obj).items():
            setattr(out, key, _walk(value, fn, memo))
        return out
    else:
        out = obj
    memo[id(obj)] = out
    return out


def _is_config(obj: Any) -> bool:
    return any(c.__name__ == "PreTrainedConfig" or c.__name__ == "PretrainedConfig" for c in type(obj).__mro__)


class HFModel(SequenceModel):
    """An HF base model as a seqarena model (one subclass per family, made by :func:`hf_class`)."""

    Spec = HFSpec
    hf_family: ClassVar[HFFamily]
    impl_version = 1

    def __init__(self, spec: HFSpec) -> None:
        super().__init__(spec)
        fam = self.hf_family
        lib = _transformers(fam.label)
        try:
            config = getattr(lib, fam.config)(**spec.config_kwargs())
            self.backbone = getattr(lib, fam.model)(config)
        except Exception as e:
            raise SpecError(f"cannot build {fam.label}: {type(e).__name__}: {first_line(e)}") from None
        if CACHE not in inspect.signature(self.backbone.forward).parameters:
            raise SpecError(f"{fam.label}: transformers {transformers_version()} takes no {CACHE}= argument; "
                            f"seqarena's adapter is tested with transformers{TESTED}")
        std = getattr(config, "initializer_range", 0.02)
        if spec.vocab_size is not None:
            self.embed = self.backbone.get_input_embeddings()  # the library's own token embedding
        else:  # features come in through seqarena's projection; the library's 1-row table is not a parameter
            self.backbone.get_input_embeddings().requires_grad_(False)
            self._init_linear(self.embed, std)
        self.norm = nn.Identity()  # the backbone ends with its own final norm
        self._init_linear(self.head, std)
        if spec.tie_embeddings:
            self.head.weight = self.embed.weight

    @staticmethod
    def _init_linear(layer: nn.Module, std: float) -> None:
        # the library's initialisation (normal, initializer_range) for the layers seqarena adds around it
        if isinstance(layer, nn.Linear) and layer.weight.device.type != "meta":
            nn.init.normal_(layer.weight, std=std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor, state: HFState | None = None) -> tuple[Tensor, HFState]:
        if state is not None:
            self._check_can_continue()
        h = self.embed(x)  # (B, T, D)
        past, length = (state.cache, state.length) if state is not None else (None, 0)
        if length and h.shape[1] > 1 and not self.hf_family.chunks_continue:
            outs = []
            for t in range(h.shape[1]):  # the library's cached path takes one token (see HFFamily.chunks_continue)
                out = self.backbone(inputs_embeds=h[:, t : t + 1], use_cache=True, **{CACHE: past})
                past = getattr(out, CACHE)
                outs.append(out.last_hidden_state)
            hidden = torch.cat(outs, dim=1)  # (B, T, D)
        else:
            out = self.backbone(inputs_embeds=h, use_cache=True, **{CACHE: past})
            hidden, past = out.last_hidden_state, getattr(out, CACHE)
        return self.readout(hidden), HFState(past, length + x.shape[1])

    def init_state(self, batch_size: int, *, device: torch.device | str | None = None,
                   dtype: torch.dtype | None = None, max_len: int | None = None) -> HFState:
        """An empty state: the library creates its cache on the first call."""
        return HFState()

    def layer_units(self) -> list[tuple[str, Callable[..., None]]]:
        return [(f"backbone.{name}[{i}]", layer.compile) for name, child in self.backbone.named_children()
                if isinstance(child, nn.ModuleList) for i, layer in enumerate(child)]

    @classmethod
    def describe(cls) -> dict[str, Any]:
        fields = super().describe()
        fields["(any)"] = {"default": None, "description": f"any field of transformers' {cls.hf_family.config}"}
        return fields


@functools.cache
def hf_class(name: str) -> type[HFModel]:
    """The seqarena model class of ``hf:<family>``; a one-line :class:`SpecError` for an unknown or unsupported
    family, or when transformers (or this family in it) is missing."""
    fam = BY_NAME.get(name.removeprefix(PREFIX))
    if fam is None:
        raise SpecError(f"unknown HF architecture {name!r}; choose from: {', '.join(f.label for f in FAMILIES)}")
    if fam.unsupported:
        raise SpecError(f"{name} is not supported: {fam.unsupported}")
    lib = _transformers(name)
    if not hasattr(lib, fam.config):
        raise SpecError(f"the installed transformers {transformers_version()} has no {fam.config} ({name})")
    camel = "".join(part.title() for part in fam.name.split("_"))
    spec = type(f"HF{camel}Spec", (HFHeadsSpec if fam.heads else HFSpec,),
                {"hf_family": fam, "budget_fields": ("d_model", fam.fine) if fam.fine else ("d_model",),
                 "__module__": __name__})
    modes = ("recompute", "cache") if fam.family == "attention" else ("recompute", "state")
    doc = f"transformers' {fam.model} (random init, {fam.config})" + (f"; {fam.note}" if fam.note else "")
    return type(f"HF{camel}", (HFModel,), {"Spec": spec, "hf_family": fam, "family": fam.family, "name": name,
                                           "generation_modes": modes,
                                           "cost_in_n": "linear" if fam.family == "recurrent" else "attention",
                                           "__doc__": doc, "__module__": __name__})


def hf_catalogue() -> dict[str, dict[str, Any]]:
    """Every HF architecture seqarena knows, with whether the installed transformers can build it (for
    ``seqarena list``): ``status`` is ``available``, ``unsupported: <why>`` or ``missing: <why>``."""
    version = transformers_version()
    out = {}
    for fam in FAMILIES:
        if fam.unsupported:
            status = f"unsupported: {fam.unsupported}"
        elif version is None:
            status = f"missing: needs transformers{TESTED} (pip install 'seqarena[hf]')"
        elif not hasattr(_transformers(fam.label), fam.config):
            status = f"missing: transformers {version} has no {fam.config}"
        else:
            status = "available"
        out[fam.label] = {"family": fam.family, "config": fam.config, "status": status, "note": fam.note,
                          "transformers": version}
    return out
