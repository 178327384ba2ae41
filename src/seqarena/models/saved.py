"""A trained model on disk: its registry name, spec fields and weights in one file, loaded back with
:func:`load` (``seqarena.models.load(path)``) without knowing how it was built.

>>> from seqarena.models import load
>>> model = load("out/recommend/model.pt")   # the model `seqarena recommend --data` picked
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from seqarena.errors import SpecError
from seqarena.models.base import SequenceModel
from seqarena.models.registry import build

FORMAT = 1


def save(model: SequenceModel, path: Path | str, **extra: Any) -> Path:
    """Write ``model`` (name, spec and weights) and any ``extra`` facts (its task, metrics ...) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    torch.save({"format": FORMAT, "name": type(model).name, "spec": model.spec.model_dump(mode="json"),
                "state_dict": state, "extra": extra}, path)
    return path


def load(path: Path | str, device: str = "cpu") -> SequenceModel:
    """The model saved at ``path``, in eval mode, with the facts saved beside it as ``model.saved_extra``."""
    try:
        data = torch.load(Path(path), map_location=device, weights_only=True)
    except FileNotFoundError:
        raise SpecError(f"no saved model at {str(path)!r}") from None
    except Exception as e:  # a truncated or foreign file: one line
        raise SpecError(f"{str(path)!r} is not a model saved by seqarena ({type(e).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SpecError(f"{str(path)!r} is not a model saved by seqarena (format {FORMAT})")
    model = build(data["name"], **data["spec"])
    model.load_state_dict(data["state_dict"])
    model.saved_extra = data.get("extra") or {}
    return model.to(device).eval()
