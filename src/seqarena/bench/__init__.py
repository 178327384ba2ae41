"""Scenarios (train_step, forward_latency, throughput, generation, memory) and the trial spec they run; served
lazily, so that importing a light part (:mod:`seqarena.bench.names`) does not load torch."""

from seqarena.bench.names import SCENARIOS
from seqarena.lazy import lazy_exports

_LAZY = {"NonFiniteError": "seqarena.bench.scenarios", "run_trial": "seqarena.bench.scenarios",
         "DTYPES": "seqarena.bench.spec", "TrialSpec": "seqarena.bench.spec", "make_trial": "seqarena.bench.spec"}
__getattr__, __dir__ = lazy_exports("seqarena.bench", _LAZY, globals())

__all__ = ["DTYPES", "SCENARIOS", "NonFiniteError", "TrialSpec", "make_trial", "run_trial"]
