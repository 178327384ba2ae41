"""Mixed precision as a recorded setting: float32 weights, bfloat16 (or float16) compute (``torch.autocast``).

Distinct from a bfloat16 *dtype* (weights, activations and states all bf16): under autocast the weights, the
optimizer state and the recurrent or KV state stay float32, and only the ops autocast lists (matmuls, linear layers,
convolutions, attention) compute in the lower precision.
"""

from __future__ import annotations

import functools

import torch

from seqarena.errors import SpecError
from seqarena.models.base import SequenceModel

#: The compute dtypes autocast may use.
AUTOCAST_DTYPES = ("bfloat16", "float16")


def check_autocast(dtype: str | None, weights: str = "float32") -> None:
    """One-line :class:`SpecError` for an unknown autocast dtype, or autocast over weights that are not float32."""
    if dtype is None:
        return
    if dtype not in AUTOCAST_DTYPES:
        raise SpecError(f"unknown autocast dtype {dtype!r}; choose from: {', '.join(AUTOCAST_DTYPES)}")
    if weights != "float32":
        raise SpecError(f"autocast keeps float32 weights and computes in {dtype}; use --dtype float32 with it")


def enable_autocast(model: SequenceModel, dtype: str, device: str = "cpu") -> None:
    """Run ``model``'s ``forward`` and ``step`` under ``torch.autocast(dtype)``, in place (``model.autocast``)."""
    check_autocast(dtype)
    kind, compute = torch.device(device).type, getattr(torch, dtype)
    for name in ("forward", "step"):
        fn = getattr(model, name)

        @functools.wraps(fn)
        def autocast(*args, _fn=fn, **kwargs):
            with torch.autocast(device_type=kind, dtype=compute):
                return _fn(*args, **kwargs)

        setattr(model, name, autocast)
    model.autocast = dtype
