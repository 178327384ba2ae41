"""The claims engine: each claim of the essay as an experiment over the harness and a predicate over its results."""

from seqarena.claims.engine import judge_claims, run_claims, select
from seqarena.claims.latency import CLAIMS, SUITES, Claim
from seqarena.claims.verdict import Verdict, decide, geometric_mean_ratio_ci, median_ratio_ci

__all__ = [
           "CLAIMS",
           "SUITES",
           "Claim",
           "Verdict",
           "decide",
           "geometric_mean_ratio_ci",
           "judge_claims",
           "median_ratio_ci",
           "run_claims",
           "select",
]
