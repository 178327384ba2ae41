"""seqarena: Transformer or RNN? Measured on your own hardware."""

from importlib.metadata import PackageNotFoundError, version

from seqarena.models import available, build, generate, register

try:
    __version__ = version("seqarena")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "available", "build", "generate", "register"]
