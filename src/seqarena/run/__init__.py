"""Trial isolation (spawned, reused, capped workers) and sweeps that store each trial as it finishes."""

from seqarena.run.sweep import SweepSummary, expand, parse_models, run_sweep
from seqarena.run.worker import Runner, TrialResult, Worker

__all__ = ["Runner", "SweepSummary", "TrialResult", "Worker", "expand", "parse_models", "run_sweep"]
