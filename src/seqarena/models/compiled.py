"""``torch.compile`` for seqarena models: the per-layer modules and per-step functions, never a Python loop over time.

Compiling a whole forward would trace every Python loop over time into one graph per length: a chunked scan at
n = 4096 unrolls into thousands of ops and compile time explodes. So a model compiles its *units*
(:meth:`SequenceModel.compile_units`: the layers, and the single-step function of a recurrence), and the op functions
that loop over time or chunks are marked ``models.ops.run_eagerly``: dynamo breaks the graph around them and they run as
written, while everything around them (projections, norms, MLPs, attention) is compiled.

``inductor`` (torch's default) generates C++ on CPU and needs a compiler; ``aot_eager`` traces through AOTAutograd
without generating code (cheap: the tests use it).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time

import torch

from seqarena.errors import SpecError
from seqarena.models.base import SequenceModel
from seqarena.models.ops import prepare_compile

#: The backends a trial may name.
COMPILE_BACKENDS = ("inductor", "aot_eager")


def check_compile(backend: str | None, device: str = "cpu") -> None:
    """One-line :class:`SpecError` for an unknown backend, or inductor on CPU without a C++ compiler."""
    if backend is None:
        return
    if backend not in COMPILE_BACKENDS:
        raise SpecError(f"unknown compile backend {backend!r}; choose from: {', '.join(COMPILE_BACKENDS)}")
    if backend == "inductor" and torch.device(device).type == "cpu" and not cpp_compiler():
        raise SpecError(f"torch.compile (inductor) on CPU needs a C++ compiler: {os.environ.get('CXX') or 'g++'} "
                        "was not found (install g++, e.g. apt-get install g++, or set CXX; --compile-backend aot_eager "
                        "needs none)")


def cpp_compiler() -> str | None:
    """The C++ compiler inductor will use on CPU (``$CXX`` if set, else g++, as its ``config.cpp.cxx``), or None
    when that one is not there (inductor does not fall back to another)."""
    name = os.environ.get("CXX") or "g++"
    return name if shutil.which(name) else None


@dataclasses.dataclass
class _CompileClock:
    """Seconds and count of dynamo's compilations in this process (its start / end callbacks): compilation is lazy
    (a compiled layer compiles on its first call with each new shape), so it is timed where it happens."""

    seconds: float = 0.0
    count: int = 0
    _started: float | None = None

    def install(self) -> None:
        """Register the callbacks (again after ``torch._dynamo.reset()``, which clears them)."""
        from torch._dynamo.callback import callback_handler

        if self._start not in callback_handler.start_callbacks:
            callback_handler.register_start_callback(self._start)
            callback_handler.register_end_callback(self._end)

    def _start(self, *_: object) -> None:
        self._started = time.perf_counter()

    def _end(self, *_: object) -> None:
        if self._started is not None:
            self.seconds += time.perf_counter() - self._started
            self.count += 1
            self._started = None


_CLOCK = _CompileClock()


@dataclasses.dataclass
class CompileRecord:
    """How a model was compiled, and the compilation its calls have cost so far (kept on the model)."""

    backend: str
    units: list[str]
    _seconds0: float
    _count0: int

    def so_far(self) -> dict[str, object]:
        """``backend``, ``units``, ``compile_s`` (seconds spent compiling since the model was compiled) and
        ``compiles`` (graphs compiled: one per unit and shape, plus recompilations)."""
        return {"backend": self.backend, "units": self.units, "compile_s": _CLOCK.seconds - self._seconds0,
                "compiles": _CLOCK.count - self._count0}


def compile_model(model: SequenceModel, backend: str = "inductor", device: str = "cpu") -> CompileRecord:
    """Compile ``model``'s units in place with ``backend``; the record is also kept as ``model.compiled``."""
    check_compile(backend, device)
    prepare_compile()  # the time-looping ops run eagerly under dynamo (seqarena.models.ops.run_eagerly)
    _CLOCK.install()
    names = []
    for name, compile_unit in model.compile_units():
        compile_unit(backend=backend)
        names.append(name)
    model.compiled = CompileRecord(backend, names, _CLOCK.seconds, _CLOCK.count)
    return model.compiled
