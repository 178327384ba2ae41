"""The one interface every seqarena model implements.

A model maps a whole sequence to outputs in parallel and can continue from a state::

    y, state = model(x, state=None)      # x (B, T) token ids or (B, T, F) features -> y (B, T, V|F) or (B, C)
    state = model.init_state(B)          # an empty state (zero hidden state / empty KV cache)
    y_t, state = model.step(x_t, state)  # one position: x_t (B,) or (B, F) -> y_t (B, V|F) or (B, C)
    model.state_nbytes(state)            # bytes held between steps

The shared parts (input layer, final norm, head) live in :class:`SequenceModel`; a family only supplies the
sequence mixer (``mix``) and its state. Parameter counts include *everything* trainable: token embeddings or the
feature projection, learned position tables, mixers and the head (a tied head is counted once).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar, Literal, get_args

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor, nn

from seqarena.errors import SpecError

#: What kind of sequence mixer a model is: what the report colours by and the recommender reasons about.
Family = Literal["recurrent", "attention", "hybrid"]
#: The valid values of :data:`Family`, in that order.
FAMILIES: tuple[str, ...] = get_args(Family)


class ModelSpec(BaseModel):
    """Fields every model family shares. Families subclass this and add their own fields."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    vocab_size: int | None = Field(256, ge=2, description="token vocabulary size; null for real-valued features")
    input_dim: int | None = Field(None, ge=1, description="features per step when vocab_size is null")
    head: Literal["lm", "regression", "classify"] = Field("lm", description="lm logits | regression | classify")
    output_dim: int | None = Field(None, ge=1, description="classes (classify) or outputs (regression)")
    pool: Literal["auto", "last", "mean"] = Field("auto", description="classify pooling; auto: last if causal")
    d_model: int = Field(128, ge=1, description="model width")
    layers: int = Field(2, ge=1, description="number of layers")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout probability")
    tie_embeddings: bool = Field(False, description="share the token embedding with the lm head")

    #: Fields the parameter-budget constructor may solve for, coarse first (see ``registry.build``).
    budget_fields: ClassVar[tuple[str, ...]] = ("d_model",)

    def width_multiple(self) -> int:
        """``d_model`` must be a multiple of this (e.g. heads x 2 for rotary attention)."""
        return 1

    @classmethod
    def unknown_fields(cls, names: list[str]) -> list[str]:
        """The names among ``names`` that are not fields of this spec (an HF spec also takes its config's)."""
        return [n for n in names if n not in cls.model_fields]

    @model_validator(mode="after")
    def _check_io(self) -> ModelSpec:
        if (self.vocab_size is None) == (self.input_dim is None):
            raise ValueError("give exactly one of vocab_size (token inputs) or input_dim (feature inputs)")
        if self.head == "lm" and self.vocab_size is None:
            raise ValueError("head=lm needs token inputs (vocab_size)")
        if self.head == "classify" and self.output_dim is None:
            raise ValueError("head=classify needs output_dim (the number of classes)")
        if self.tie_embeddings and not (self.head == "lm" and self.vocab_size is not None):
            raise ValueError("tie_embeddings needs head=lm with token inputs")
        if self.d_model % self.width_multiple():
            # name the fields that set the multiple: the user may never have touched d_model's divisor directly
            why = ", ".join(f"{k}={getattr(self, k)}" for k in ("n_heads", "positions", "stack") if hasattr(self, k))
            raise ValueError(f"d_model={self.d_model} must be a multiple of {self.width_multiple()}"
                             + (f" for {why}" if why else ""))
        return self


class HeadsSpec(ModelSpec):
    """Fields of the attention-style families: heads and an MLP of width d_ff (both solvable by a budget)."""

    n_heads: int = Field(4, ge=1, description="attention heads")
    d_ff: int | None = Field(None, ge=1, description="MLP hidden width; null: 4 x d_model")

    budget_fields = ("d_model", "d_ff")

    def width_multiple(self) -> int:
        return self.n_heads

    @property
    def ff_width(self) -> int:
        return self.d_ff if self.d_ff is not None else 4 * self.d_model


# ----------------------------------------------------------------------------------------------------------------
# States


def _unique(tensors: list[Tensor], key) -> list[Tensor]:
    seen, out = set(), []
    for t in tensors:
        k = key(t)
        if k not in seen:
            seen.add(k)
            out.append(t)
    return out


def logical_nbytes(tensors: list[Tensor]) -> int:
    """Bytes of the given tensors' elements, each distinct view counted once.

    A view into a larger buffer counts only its own elements: a half-filled KV cache reports the filled half.
    """
    views = _unique(tensors, lambda t: (t.data_ptr(), tuple(t.shape), t.stride(), t.dtype))
    return sum(t.numel() * t.element_size() for t in views)


def allocated_nbytes(tensors: list[Tensor]) -> int:
    """Bytes of the storages behind the given tensors, each storage counted once (preallocated space included)."""
    storages = _unique(tensors, lambda t: t.untyped_storage().data_ptr())
    return sum(t.untyped_storage().nbytes() for t in storages)


@dataclasses.dataclass
class State:
    """Base of every model state: what a model carries from one call to the next."""

    def tensors(self) -> list[Tensor]:
        """The live state tensors (views of what is filled)."""
        return [v for v in (getattr(self, f.name) for f in dataclasses.fields(self)) if isinstance(v, Tensor)]

    def buffers(self) -> list[Tensor]:
        """The tensors that own the state's memory; differs from ``tensors`` for preallocated caches."""
        return self.tensors()

    def clone(self) -> State:
        """A deep copy: continuing from the copy leaves this state untouched (caches are filled in place)."""
        return self._map_tensors(Tensor.clone)

    def detach(self) -> State:
        """A copy that shares memory but carries no autograd history (for truncated BPTT)."""
        return self._map_tensors(Tensor.detach)

    def _map_tensors(self, fn: Callable[[Tensor], Tensor]) -> State:
        """A copy with ``fn`` applied to every tensor field (other fields, such as lengths, are kept)."""
        changes = {
            f.name: fn(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), Tensor)
        }
        return dataclasses.replace(self, **changes)


# ----------------------------------------------------------------------------------------------------------------
# The model base class


class SequenceModel(nn.Module):
    """Input layer -> family-specific mixer (``mix``) -> final LayerNorm -> head.

    Subclasses set ``Spec``, implement :meth:`mix` and :meth:`init_state`, and may override :meth:`step` with a
    cheaper single-position form. Class attributes:

    - ``causal``: outputs at t depend only on inputs <= t (step / generation are defined only then).
    - ``generation_modes``: the modes :func:`seqarena.models.generate` accepts for this model.
    - ``family``: ``recurrent``, ``attention`` or ``hybrid`` (:data:`Family`); ``@register`` requires it.
    - ``test_variants``: spec variants the generic tests run besides the default spec.
    - ``impl_version``: bump it when a change alters what this family computes or how fast (part of every trial's
      identity, so rows measured by the older code are not reused as if nothing changed).
    """

    Spec: ClassVar[type[ModelSpec]] = ModelSpec
    name: ClassVar[str] = ""
    #: The kind of mixer; None here so that a registered class must choose (see ``registry.register``).
    family: ClassVar[Family | None] = None
    causal: bool = True
    generation_modes: ClassVar[tuple[str, ...]] = ("state",)
    impl_version: ClassVar[int] = 1
    #: How a call's cost grows with the sequence, for the duration estimate and training timeouts
    #: (``seqarena.bench.duration``): "linear" (a recurrence, a kernel feature map) or "attention" (scores over the
    #: whole sequence or a window of it, or random features of it: heavier per token, ~n^2 in full).
    cost_in_n: ClassVar[Literal["linear", "attention"]] = "linear"
    #: Spec variants the generic model tests must cover (e.g. every position scheme), beside the defaults.
    test_variants: ClassVar[tuple[dict[str, Any], ...]] = ()
    #: Recompute activations in backward instead of storing them (models that support it; see Transformer.mix).
    supports_checkpointing: ClassVar[bool] = False
    activation_checkpointing: bool = False
    #: How the model was compiled (``seqarena.models.compiled.compile_model``); None: eager.
    compiled: Any = None
    #: The compute dtype of ``torch.autocast`` around forward and step (``seqarena.models.autocast``); None: off.
    autocast: str | None = None

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        self.spec = spec
        d = spec.d_model
        if spec.vocab_size is not None:
            self.embed: nn.Module = nn.Embedding(spec.vocab_size, d)
        else:
            self.embed = nn.Linear(spec.input_dim, d)
        self.drop = nn.Dropout(spec.dropout)
        self.norm = nn.LayerNorm(d)
        if spec.head == "lm":
            self.head = nn.Linear(d, spec.vocab_size, bias=False)
            if spec.tie_embeddings:
                self.head.weight = self.embed.weight
        elif spec.head == "regression":
            self.head = nn.Linear(d, spec.output_dim or spec.input_dim)
        else:
            self.head = nn.Linear(d, spec.output_dim)

    # -- to implement -------------------------------------------------------------------------------------------
    def mix(self, h: Tensor, state: State | None) -> tuple[Tensor, State | None]:
        """The sequence mixer: (B, T, D) -> (B, T, D), continuing from ``state`` (None: a fresh start)."""
        raise NotImplementedError

    def init_state(
        self,
        batch_size: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        max_len: int | None = None,
    ) -> State:
        """An empty state for ``batch_size`` sequences. ``max_len`` sizes preallocated caches (a hint)."""
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------------------------
    @property
    def pooling(self) -> str:
        """How the classify head pools over time: ``last`` (causal default) or ``mean``."""
        if self.spec.pool != "auto":
            return self.spec.pool
        return "last" if self.causal else "mean"

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State | None]:
        """Run a whole sequence in parallel, continuing from ``state`` (None: from the start).

        Args:
            x: (B, T) token ids, or (B, T, F) features.
            state: what an earlier call or :meth:`init_state` returned.
        Returns:
            ``y`` of shape (B, T, V|F) (lm, regression) or (B, C) (classify), and the state after the last position
            (None for non-causal models).
        """
        if state is not None:
            self._check_can_continue()
        h = self.drop(self.embed_inputs(x, state))  # (B, T, D)
        h, state = self.mix(h, state)
        return self.readout(h), state

    def embed_inputs(self, x: Tensor, state: State | None) -> Tensor:
        """Input layer: token embedding or feature projection -> (B, T, D). ``state`` gives the position offset."""
        return self.embed(x)

    def readout(self, h: Tensor) -> Tensor:
        """Final norm and head: (B, T, D) -> (B, T, V|F), or pooled (B, C) for classification."""
        h = self.norm(h)
        if self.spec.head == "classify":
            h = h[:, -1] if self.pooling == "last" else h.mean(dim=1)  # (B, D)
        return self.head(h)

    def step(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:
        """Advance by one position: x_t (B,) or (B, F) -> y_t (B, V|F) or (B, C). Causal models only."""
        self._require_causal("step")
        y, state = self(x_t.unsqueeze(1), state)
        return (y if self.spec.head == "classify" else y.squeeze(1)), state

    def state_nbytes(self, state: State | None, *, allocated: bool = False) -> int:
        """Bytes the state holds between calls.

        Logical bytes (default) count the live state elements once each: a KV cache counts its filled part. With
        ``allocated=True``, the bytes of the storages behind them, preallocated capacity included.
        """
        if state is None:
            return 0
        return allocated_nbytes(state.buffers()) if allocated else logical_nbytes(state.tensors())

    def num_params(self, *, exclude_embeddings: bool = False) -> int:
        """Trainable parameters, each tensor once (a tied head counts once).

        ``exclude_embeddings`` drops the token embedding / feature projection and learned position tables (a head
        tied to the embedding is then dropped with it).
        """
        skip = {id(p) for p in self.embedding_parameters()} if exclude_embeddings else set()
        params = {id(p): p for p in self.parameters() if p.requires_grad and id(p) not in skip}
        return sum(p.numel() for p in params.values())

    def embedding_parameters(self) -> list[nn.Parameter]:
        """Parameters that are lookup tables rather than computation (token and position embeddings)."""
        return list(self.embed.parameters())

    def compile_units(self) -> list[tuple[str, Callable[..., None]]]:
        """What ``torch.compile`` compiles (see :mod:`seqarena.models.compiled`): (name, ``fn(backend=...)`` that
        compiles it in place): the :meth:`layer_units` and the readout (final norm and head)."""

        def compile_readout(backend: str) -> None:
            self.readout = torch.compile(self.readout, backend=backend)

        return [*self.layer_units(), ("readout", compile_readout)]

    def layer_units(self) -> list[tuple[str, Callable[..., None]]]:
        """The per-layer units: by default every layer of the model's layer lists (``nn.ModuleList`` children), each
        compiled in place (its ``forward``). A family whose layers are not called as modules, or whose step bypasses
        them, names its own. (torch's own modules alone, e.g. a bare ``nn.Linear`` or ``nn.LSTM``, are not traced by
        dynamo: compiling them changes nothing.)"""
        return [(f"{name}[{i}]", layer.compile) for name, child in self.named_children()
                if isinstance(child, nn.ModuleList) for i, layer in enumerate(child)]

    def state_kwargs(self, device: torch.device | str | None, dtype: torch.dtype | None) -> dict[str, Any]:
        """``device`` and ``dtype`` for new state tensors (what :meth:`init_state` was given, else the model's)."""
        p = next(self.parameters())
        return {"device": device or p.device, "dtype": dtype or p.dtype}

    def _check_can_continue(self) -> None:
        if self.spec.head == "classify" and self.pooling == "mean":
            raise SpecError("mean pooling cannot continue from a state; use pool=last")

    def _require_causal(self, what: str) -> None:
        if not self.causal:
            raise SpecError(f"{what} needs a causal model; this {self.name or type(self).__name__} is bidirectional")

    def extra_repr(self) -> str:
        return f"params={self.num_params():,}"

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Spec fields with their defaults and descriptions (for ``seqarena list``)."""
        return {
            name: {"default": f.default, "description": f.description or ""}
            for name, f in cls.Spec.model_fields.items()
        }
