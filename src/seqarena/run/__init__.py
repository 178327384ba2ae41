"""Trial isolation (spawned, reused, capped workers) and sweeps that store each trial as it finishes."""

from seqarena.run.sweep import (
    DEFAULT_ROUNDS,
    DEFAULT_SEQ_LENS,
    SweepSummary,
    check_model,
    default_rounds,
    expand,
    parse_models,
    run_sweep,
)
from seqarena.run.worker import Runner, TrialResult, Worker

__all__ = ["DEFAULT_ROUNDS", "DEFAULT_SEQ_LENS", "Runner", "SweepSummary", "TrialResult", "Worker", "check_model",
           "default_rounds", "expand", "parse_models", "run_sweep"]
