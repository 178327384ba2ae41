"""The claims engine: each claim of the essay as an experiment over the harness and a predicate over its results."""

from seqarena.claims.base import Claim
from seqarena.claims.engine import budget_table, judge_claims, run_claims
from seqarena.claims.plan import ClaimsPlan, select
from seqarena.claims.registry import CLAIMS, claim_by_id
from seqarena.claims.suites import FULL, QUICK, SUITES, Suite, resolve_suite
from seqarena.claims.verdict import Verdict, Why, decide

__all__ = ["CLAIMS", "FULL", "QUICK", "SUITES", "Claim", "ClaimsPlan", "Suite", "Verdict", "Why", "budget_table",
           "claim_by_id", "decide", "judge_claims", "resolve_suite", "run_claims", "select"]
