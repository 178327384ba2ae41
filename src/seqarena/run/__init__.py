"""Trial isolation (spawned, reused, capped workers) and sweeps that store each trial as it finishes."""

from seqarena.run.sweep import SweepSummary, check_model, expand, parse_models, run_sweep
from seqarena.run.worker import Runner, TrialResult, Worker

__all__ = ["Runner", "SweepSummary", "TrialResult", "Worker", "check_model", "expand", "parse_models", "run_sweep"]
