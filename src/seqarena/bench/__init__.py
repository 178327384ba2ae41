"""Scenarios (train_step, forward_latency, throughput, generation, memory) and the trial spec they run."""

from seqarena.bench.scenarios import NonFiniteError, run_trial
from seqarena.bench.spec import DTYPES, SCENARIOS, TrialSpec, make_trial

__all__ = ["DTYPES", "SCENARIOS", "NonFiniteError", "TrialSpec", "make_trial", "run_trial"]
