"""Models behind one interface (see :mod:`seqarena.models.base`) and the registry that builds them.

>>> from seqarena.models import build, available
>>> model = build("lstm", params=200_000, vocab_size=256, layers=2)
"""

# ruff: noqa: E402  (the model modules are imported, and so registered, before the re-exports below: see there)
import importlib
import pkgutil


def _import_model_modules() -> None:
    """Import every public module of this package: importing a model module runs its ``@register`` lines, so adding
    a model is one new file. Sorted by module name, which fixes the registration order that ``available()`` and
    every listing show; running it before the re-exports below keeps e.g. ``rnn`` from registering ahead of
    ``hybrid``."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_import_model_modules()

from seqarena.models.attention import KVCache, Transformer, TransformerSpec, TransformerState
from seqarena.models.base import (
    FAMILIES,
    Family,
    ModelSpec,
    SequenceModel,
    SpecError,
    State,
    allocated_nbytes,
    logical_nbytes,
)
from seqarena.models.catalogue import catalogue
from seqarena.models.generate import Generation, generate
from seqarena.models.registry import (
    available,
    build,
    count_params,
    families,
    family_of,
    get_class,
    make_spec,
    parse_model_string,
    register,
    solve_budget,
)
from seqarena.models.rnn import GRU, LSTM, Elman, RNNSpec, RNNState
from seqarena.models.saved import load, save

__all__ = [
    "FAMILIES",
    "GRU",
    "LSTM",
    "Elman",
    "Family",
    "Generation",
    "KVCache",
    "ModelSpec",
    "RNNSpec",
    "RNNState",
    "SequenceModel",
    "SpecError",
    "State",
    "Transformer",
    "TransformerSpec",
    "TransformerState",
    "allocated_nbytes",
    "available",
    "build",
    "catalogue",
    "count_params",
    "families",
    "family_of",
    "generate",
    "get_class",
    "load",
    "logical_nbytes",
    "make_spec",
    "parse_model_string",
    "register",
    "save",
    "solve_budget",
]
