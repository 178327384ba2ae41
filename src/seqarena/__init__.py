"""seqarena: Transformer or RNN? Measured on your own hardware."""

from importlib.metadata import PackageNotFoundError, version

from seqarena.lazy import lazy_exports
from seqarena.models import available, build, generate, register

try:
    __version__ = version("seqarena")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

#: Names served lazily, so `import seqarena` does not pull in the harness, pandas or scipy.
_LAZY = {"recommend": "seqarena.recommender", "Profile": "seqarena.recommender"}


__getattr__, __dir__ = lazy_exports("seqarena", _LAZY, globals())


__all__ = ["Profile", "__version__", "available", "build", "generate", "recommend", "register"]
