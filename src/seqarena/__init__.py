"""seqarena: Transformer or RNN? Measured on your own hardware."""

from importlib.metadata import PackageNotFoundError, version

from seqarena.lazy import lazy_exports

try:
    __version__ = version("seqarena")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

#: Names served lazily, so `import seqarena` (and the command line's start) pulls in neither torch nor the harness,
#: pandas or scipy: each loads with the first name that needs it.
_LAZY = {"recommend": "seqarena.job", "Profile": "seqarena.recommender", "available": "seqarena.models",
         "build": "seqarena.models", "generate": "seqarena.models", "register": "seqarena.models"}


__getattr__, __dir__ = lazy_exports("seqarena", _LAZY, globals())


__all__ = ["Profile", "__version__", "available", "build", "generate", "recommend", "register"]
