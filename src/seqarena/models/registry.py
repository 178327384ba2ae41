"""The model registry, spec validation and the parameter-budget constructor.

Adding a model is one ``@register("name")`` line on a :class:`SequenceModel` subclass that sets its ``family``
(``recurrent``, ``attention`` or ``hybrid``); a new module in ``seqarena/models/`` is imported, and so registered,
by the package itself. A user's own class can also be built by import path, ``build("mypkg.models:MyModel")``.
"""

from __future__ import annotations

import importlib
import itertools
import os
import sys
from typing import Any

import torch
from pydantic import ValidationError

from seqarena.errors import SpecError, first_line
from seqarena.models.base import FAMILIES, ModelSpec, SequenceModel
from seqarena.models.hf_families import PREFIX as HF_PREFIX

_REGISTRY: dict[str, type[SequenceModel]] = {}

#: Largest relative miss the budget constructor accepts.
BUDGET_TOLERANCE = 0.05


def register(name: str):
    """Class decorator: make a :class:`SequenceModel` subclass buildable as ``build(name, ...)``.

    The class must set ``family`` to one of ``recurrent``, ``attention``, ``hybrid`` (a TypeError says so).
    """

    def deco(cls: type[SequenceModel]) -> type[SequenceModel]:
        if not (isinstance(cls, type) and issubclass(cls, SequenceModel)):
            raise TypeError(f"{cls!r} must subclass seqarena.models.SequenceModel")
        if getattr(cls, "family", None) not in FAMILIES:
            raise TypeError(f"cannot register {cls.__qualname__} as {name!r}: set the class attribute family to one of "
                            f"{', '.join(map(repr, FAMILIES))} (got {getattr(cls, 'family', None)!r})")
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"model name {name!r} is already registered to {_REGISTRY[name].__qualname__}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def available() -> list[str]:
    """Names of the registered models, in registration order."""
    return list(_REGISTRY)


def family_of(name: str) -> str | None:
    """The family (``recurrent``, ``attention``, ``hybrid``) of a registered model or an import-path class; None for
    an import-path class that sets no valid family. Unknown names raise :class:`SpecError`, as in :func:`get_class`."""
    family = getattr(get_class(name), "family", None)
    return family if family in FAMILIES else None


def families() -> dict[str, str]:
    """Every registered model's family, by name, in registration order."""
    return {name: cls.family for name, cls in _REGISTRY.items()}


def get_class(name: str) -> type[SequenceModel]:
    """The class registered as ``name``, or the class at import path ``package.module:Class``."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name.startswith(HF_PREFIX):  # reserved: hf:llama is an HF architecture, never an import path
        from seqarena.models.hf import hf_class

        return hf_class(name)
    if ":" in name:
        module, _, attr = name.partition(":")
        if "" not in sys.path and os.getcwd() not in sys.path:  # as `python -m` does: a module beside the user
            sys.path.append(os.getcwd())
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise SpecError(f"cannot import model class {name!r}: {first_line(e)}") from None
        except Exception as e:  # the user's module itself is broken (SyntaxError, an error raised at import ...)
            raise SpecError(f"cannot import model class {name!r}: module {module!r} raised "
                            f"{type(e).__name__}: {first_line(e)}") from None
        if not (isinstance(cls, type) and issubclass(cls, SequenceModel)):
            raise SpecError(f"{name!r} is not a seqarena.models.SequenceModel subclass")
        return cls
    raise SpecError(f"unknown model {name!r}; choose from: {', '.join(available())}")


def make_spec(name: str, **fields: Any) -> ModelSpec:
    """Validate ``fields`` against the family's spec; any problem becomes one :class:`SpecError` line."""
    cls = get_class(name)
    if "vocab" in fields and "vocab_size" not in fields:  # accepted shorthand
        fields = {("vocab_size" if k == "vocab" else k): v for k, v in fields.items()}
    unknown = sorted(cls.Spec.unknown_fields(list(fields)))
    if unknown:
        raise SpecError(
            f"unknown spec field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} for model "
            f"{name!r}; valid fields: {', '.join(cls.Spec.model_fields)}"
        )
    try:
        return cls.Spec(**fields)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'spec'}: {err['msg'].removeprefix('Value error, ')}"
            for err in e.errors()
        )
        raise SpecError(f"invalid spec for model {name!r}: {problems}") from None


_COUNTS: dict[tuple[str, str, str], int] = {}


def count_params(name: str, spec: ModelSpec) -> int:
    """Parameter count of the model ``spec`` describes, built on the meta device (no memory, no init cost).
    Memoised per (class, spec): budget solving and sweep validation ask for the same specs many times."""
    cls = get_class(name)
    key = (f"{cls.__module__}.{cls.__qualname__}", type(spec).__qualname__, spec.model_dump_json())
    if key not in _COUNTS:
        try:
            with torch.device("meta"):
                _COUNTS[key] = cls(spec).num_params()
        except SpecError:
            raise
        except Exception as e:  # e.g. a width so large that even a meta tensor's size overflows
            raise SpecError(f"cannot build model {name!r} with {_changed_fields(spec)}: {first_line(e)}") from None
    return _COUNTS[key]


def _changed_fields(spec: ModelSpec) -> str:
    """The fields of ``spec`` that differ from their defaults, as ``field=value, ...`` (what the user chose)."""
    changed = {k: v for k, v in spec.model_dump().items() if k in type(spec).model_fields
               and v != type(spec).model_fields[k].default}
    return ", ".join(f"{k}={v}" for k, v in changed.items()) or "its default fields"


def build(name: str, *, params: int | None = None, **fields: Any) -> SequenceModel:
    """Build a registered model.

    Args:
        name: a registered name (see :func:`available`) or an import path ``package.module:Class``.
        params: a parameter budget. The constructor then solves for the width (``d_model``, then any finer field
            the family lists in ``Spec.budget_fields``, such as the transformer's ``d_ff``) so that the total
            parameter count (embeddings and head included) lands within 5% of the budget.
        **fields: spec fields, validated by the family's spec (unknown fields are an error).
    """
    if params is not None:
        fields = solve_budget(name, params, **fields)
    spec = make_spec(name, **fields)
    return get_class(name)(spec)


def solve_budget(name: str, params: int, **fields: Any) -> dict[str, Any]:
    """Spec fields, completed with widths solved so the model has ~``params`` parameters (within 5%)."""
    cls = get_class(name)
    if params <= 0:
        raise SpecError(f"params must be positive, got {params}")
    solve = [f for f in cls.Spec.budget_fields if fields.get(f) is None]
    if not solve:
        raise SpecError(f"a parameter budget needs one of {', '.join(cls.Spec.budget_fields)} left free")
    fields = {k: v for k, v in fields.items() if k not in solve}
    if _probe_spec(name, fields) is None:
        make_spec(name, **fields)  # no width is valid with these fields: report why before searching
    _check_depth(name, params, fields)
    for field in solve:
        fields = _solve_field(name, field, params, fields)
    got = count_params(name, make_spec(name, **fields))
    if abs(got - params) > BUDGET_TOLERANCE * params:
        raise SpecError(
            f"cannot build {name!r} within 5% of {params:,} parameters with these fields (closest: {got:,}); "
            "change the budget, layers or vocabulary"
        )
    return fields


def _solve_field(name: str, field: str, target: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Binary search over one integer width field (parameter count grows with it) for the closest count."""
    multiple = 1
    if field == "d_model":
        # the valid widths depend on other fields (heads, positions): ask a spec built at the smallest width
        probe = _probe_spec(name, fields)
        multiple = probe.width_multiple() if probe is not None else 1

    problems: list[str] = []

    def count(k: int) -> int | None:
        try:
            return count_params(name, make_spec(name, **{**fields, field: k * multiple}))
        except SpecError as e:
            problems.append(str(e))
            return None

    lo, hi = 1, 1
    while (c := count(hi)) is not None and c < target:
        lo, hi = hi, hi * 2
        if hi > 1 << 24:
            break
    while hi - lo > 1:  # invariant: count(lo) < target <= count(hi)
        mid = (lo + hi) // 2
        c = count(mid)
        if c is not None and c < target:
            lo = mid
        else:
            hi = mid
    candidates = [(abs(c - target), k) for k in (lo, hi) if (c := count(k)) is not None]
    if not candidates:
        if field != "d_model":
            make_spec(name, **fields)  # the fixed fields themselves are invalid (d_model vs n_heads): say why
        why = f": {problems[-1]}" if problems else ""
        raise SpecError(f"no valid {field} for model {name!r} with these fields{why}")
    return {**fields, field: min(candidates)[1] * multiple}


def _check_depth(name: str, params: int, fields: dict[str, Any]) -> None:
    """Reject a depth the budget cannot hold before any search: the search builds the full stack many times, which
    for millions of layers would run for hours before failing. Every layer holds at least as many parameters as the
    cheapest of the first few layers at the narrowest valid width, so the narrowest model costs at least this."""
    layers = fields.get("layers")
    if not isinstance(layers, int) or layers <= 4:
        return
    try:
        counts = [count_params(name, spec) for k in range(1, 5)
                  if (spec := _probe_spec(name, {**fields, "layers": k})) is not None]
    except SpecError:
        return
    if len(counts) < 4:
        return
    per_layer = min(b - a for a, b in itertools.pairwise(counts))
    least = counts[0] + (layers - 1) * per_layer
    if per_layer > 0 and least > (1 + BUDGET_TOLERANCE) * params:
        raise SpecError(f"{layers:,} layers of {name!r} need at least {least:,} parameters even at the narrowest "
                        f"width, more than the budget of {params:,}; lower --layers or raise --params")


def _probe_spec(name: str, fields: dict[str, Any]) -> ModelSpec | None:
    """A valid spec with these fields at the smallest valid width, or None if no small width is valid."""
    for d in range(1, 257):
        try:
            return make_spec(name, **{**fields, "d_model": d})
        except SpecError:
            continue
    return None


def parse_model_string(text: str) -> tuple[str, dict[str, Any]]:
    """Parse ``name[:field=value,...]`` (the CLI's model syntax) into a name and raw field values.

    Values are strings, ints, floats, booleans or ``none``; the spec validates them. An import path keeps its
    colon: ``pkg.mod:Class:layers=2``.
    """
    name, fields = text, ""
    head, sep, tail = text.rpartition(":")
    if sep and ("=" in tail or head in _REGISTRY):
        name, fields = head, tail
    out: dict[str, Any] = {}
    for item in filter(None, (s.strip() for s in fields.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise SpecError(f"bad model field {item!r} in {text!r}; expected field=value")
        out[key.strip()] = _parse_value(value.strip())
    get_class(name)
    return name, out


def _parse_value(value: str) -> Any:
    low = value.lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(value)
        except ValueError:
            pass
    return value
