"""``hybrid``: a stack of registered mixers, e.g. ``lstm,lstm,transformer`` (recurrent layers below attention, as the
essay describes) or ``ssm,ssm,transformer,ssm``. Each layer is one layer of that family at the common width (the
family's default settings otherwise); the state is the list of the layers' states.

On the command line the stack is written with ``+`` (commas separate spec fields there):
``hybrid:stack=lstm+lstm+transformer``. ``layers`` is set from the stack.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from typing import Any

from pydantic import Field, field_validator, model_validator
from torch import Tensor, nn

from seqarena.models.base import ModelSpec, SequenceModel, State
from seqarena.models.blocks import gpt2_init, io_init
from seqarena.models.registry import get_class, make_spec, register


def _names(stack: str) -> list[str]:
    return [n for n in re.split(r"[,+ ]+", stack.strip()) if n]


@dataclasses.dataclass
class HybridState(State):
    """One state per layer (None for a layer without state)."""

    states: list[State | None]

    def tensors(self) -> list[Tensor]:
        return [t for s in self.states if s is not None for t in s.tensors()]

    def buffers(self) -> list[Tensor]:
        return [t for s in self.states if s is not None for t in s.buffers()]

    def clone(self) -> HybridState:
        return HybridState([s.clone() if s is not None else None for s in self.states])

    def detach(self) -> HybridState:
        return HybridState([s.detach() if s is not None else None for s in self.states])


class HybridSpec(ModelSpec):
    """A stack of mixers from the registry, bottom first."""

    stack: str = Field("lstm,transformer", description="mixer names bottom-up, separated by ',' or '+'")
    d_ff: int | None = Field(None, ge=1, description="MLP width of the layers that have one (attention families)")

    # d_ff refines the budget where the stack has attention layers; without them it changes nothing
    budget_fields = ("d_model", "d_ff")

    @model_validator(mode="before")
    @classmethod
    def _layers_from_stack(cls, data: Any) -> Any:
        if isinstance(data, dict):
            stack = data.get("stack", cls.model_fields["stack"].default)
            if isinstance(stack, (list, tuple)):
                stack = ",".join(stack)
                data = {**data, "stack": stack}
            if isinstance(stack, str) and _names(stack):
                data = {**data, "layers": len(_names(stack))}
        return data

    @field_validator("stack")
    @classmethod
    def _known(cls, v: str) -> str:
        names = _names(v)
        if not names:
            raise ValueError("the stack needs at least one mixer")
        for name in names:
            if name == "hybrid":
                raise ValueError("a hybrid cannot contain a hybrid")
            get_class(name)  # unknown names: SpecError with the list of models
        return ",".join(names)

    def width_multiple(self) -> int:
        multiples = [get_class(n).Spec(vocab_size=2).width_multiple() for n in _names(self.stack)]
        return math.lcm(*multiples)


@register("hybrid")
class Hybrid(SequenceModel):
    """A stack of different mixers (e.g. LSTM layers below attention layers); state = the per-layer states."""

    Spec = HybridSpec
    family = "hybrid"
    cost_in_n = "attention"
    generation_modes = ("state",)
    test_variants = ({"stack": "gru,transformer,lstm"}, {"stack": "min_gru,local,linear_attention"})
    #: 2: attention layers take the one attention init scaled by the stack's depth (blocks.gpt2_init, issue 14);
    #: 3: input layer, final norm and head took N(0, 0.02); 4: input unit-variance, head N(0, 0.02) (blocks.io_init)
    impl_version = 4

    def __init__(self, spec: HybridSpec) -> None:
        super().__init__(spec)
        self.mixers = nn.ModuleList()
        for name in _names(spec.stack):
            extra = {"d_ff": spec.d_ff} if spec.d_ff is not None and "d_ff" in get_class(name).Spec.model_fields else {}
            sub = get_class(name)(make_spec(name, d_model=spec.d_model, layers=1, vocab_size=2,
                                            dropout=spec.dropout, **extra))
            del sub.embed, sub.head, sub.norm  # only the mixer is used
            if sub.family == "attention":
                # depth scaling counts the whole stack, not the one layer the sub-model was built with; recurrent
                # layers keep their own initialisation
                gpt2_init(sub, spec.layers)
            self.mixers.append(sub)
        io_init(self)  # the recurrent families' rule: their sub-models' input layers and heads were deleted above
        self.causal = all(getattr(m, "causal", True) for m in self.mixers)

    def layer_units(self) -> list[tuple[str, Callable[..., None]]]:
        """Each layer's own units (its blocks, or a recurrence's step function)."""
        return [(f"mixers[{i}].{name}", fn) for i, m in enumerate(self.mixers) for name, fn in m.layer_units()]

    def mix(self, h: Tensor, state: HybridState | None) -> tuple[Tensor, HybridState]:
        states = []
        for i, mixer in enumerate(self.mixers):
            h, s = mixer.mix(h, state.states[i] if state is not None else None)
            states.append(s)
        return h, HybridState(states)

    def init_state(self, batch_size: int, *, device=None, dtype=None, max_len: int | None = None) -> HybridState:
        return HybridState([m.init_state(batch_size, device=device, dtype=dtype, max_len=max_len)
                            for m in self.mixers])
