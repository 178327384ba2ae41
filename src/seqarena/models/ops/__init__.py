"""Pure tensor functions behind the efficient models; each fast op keeps a ``*_naive`` twin (a loop over time only,
vectorised over batch, heads and width) that the tests compare it with, on outputs and gradients.

A function that loops over time (or chunks) is marked :func:`run_eagerly`: under ``torch.compile`` (see
``seqarena.models.compiled``) dynamo would unroll the loop into one graph per length.
"""

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch

F = TypeVar("F", bound=Callable)

#: every op marked run_eagerly -> its torch.compiler.disable twin, made by :func:`prepare_compile` (not at import:
#: ``torch.compiler.disable`` imports torch._dynamo, ~1.6 s at every process start, the CLI and each worker)
_TWINS: dict[Callable, Callable | None] = {}


def run_eagerly(fn: F) -> F:
    """Mark an op that loops over time (or chunks): under ``torch.compile`` it runs as written, the graph breaks
    around it, and everything else in the compiled layer stays compiled. Eager calls call ``fn`` itself."""
    _TWINS[fn] = None

    @functools.wraps(fn)
    def op(*args: Any, **kwargs: Any) -> Any:
        twin = _TWINS[fn]  # a constant to dynamo: set before any compile starts
        return fn(*args, **kwargs) if twin is None else twin(*args, **kwargs)

    return op  # type: ignore[return-value]


def prepare_compile() -> None:
    """Before a model of this process is compiled: every :func:`run_eagerly` op gets its disabled twin."""
    for fn, twin in _TWINS.items():
        if twin is None:
            _TWINS[fn] = torch.compiler.disable(fn, recursive=True)
