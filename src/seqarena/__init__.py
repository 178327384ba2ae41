"""seqarena: Transformer or RNN? Measured on your own hardware."""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from seqarena.models import available, build, generate, register

try:
    __version__ = version("seqarena")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

#: Names served lazily, so `import seqarena` does not pull in the harness, pandas or scipy.
_LAZY = {"recommend": "seqarena.recommender", "Profile": "seqarena.recommender"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seqarena' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = ["Profile", "__version__", "available", "build", "generate", "recommend", "register"]
