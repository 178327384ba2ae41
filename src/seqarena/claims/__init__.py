"""The claims engine: each claim of the essay as an experiment over the harness and a predicate over its results."""

from seqarena.claims.base import Claim
from seqarena.claims.engine import budget_table, judge_claims, planned_hashes, run_claims, select
from seqarena.claims.registry import CLAIMS, claim_by_id
from seqarena.claims.suites import FULL, QUICK, SUITES, Suite, resolve_suite
from seqarena.claims.verdict import Verdict, decide

__all__ = ["CLAIMS", "FULL", "QUICK", "SUITES", "Claim", "Suite", "Verdict", "budget_table", "claim_by_id", "decide",
           "judge_claims", "planned_hashes", "resolve_suite",
           "run_claims", "select"]
