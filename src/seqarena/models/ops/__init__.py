"""Pure tensor functions behind the efficient models; each fast op keeps a ``*_naive`` twin (a loop over time only,
vectorised over batch, heads and width) that the tests compare it with, on outputs and gradients.

A function that loops over time (or chunks) is marked :func:`run_eagerly`: under ``torch.compile`` (see
``seqarena.models.compiled``) dynamo would unroll the loop into one graph per length.
"""

from collections.abc import Callable
from typing import TypeVar

import torch

F = TypeVar("F", bound=Callable)


def run_eagerly(fn: F) -> F:
    """Mark an op that loops over time (or chunks): under ``torch.compile`` it runs as written, the graph breaks
    around it, and everything else in the compiled layer stays compiled."""
    return torch.compiler.disable(fn, recursive=True)
