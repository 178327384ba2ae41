"""End to end through the engine: the same latency claims judged from two stores that differ only in the LSTM's
timings, once as the fixture's laws give them and once slowed 10x (a stored synthetic round table: no clock is read,
so the test cannot depend on the machine's load). The verdicts must follow the measurements. The same flip with a
real injected delay, measured, is ``benchmarks/injected_delay.py``."""

from __future__ import annotations

import pytest

from seqarena.claims import run_claims
from seqarena.claims.plan import ClaimsPlan, plan, select, with_roles
from seqarena.store import Store
from tests.synthetic_store import build_claims_store

TINY_SUITE = {"params": 200_000, "repeats": 3, "min_seconds": 0.0, "rounds": 3, "max_rounds": 3, "tokens": 48,
              "gen_rounds": 3,
              "short": (16, 32)}
CLAIMS = ["10", "13e"]


def _store(path, slowdown: float):
    """The claims' trials with the fixture's synthetic timings, the LSTM's multiplied by ``slowdown``."""
    trials = [t for ts in plan(TINY_SUITE, with_roles(select(CLAIMS))).values() for t in ts]
    return build_claims_store(path, trials, slowdown={"lstm": slowdown})


@pytest.mark.parametrize("slowdown", [10.0, 30.0])
def test_a_slowed_lstm_flips_the_latency_verdicts(tmp_path, slowdown):
    normal, summary = run_claims(ClaimsPlan.build(TINY_SUITE, CLAIMS), db=_store(tmp_path / "normal.db", 1.0))
    assert summary.ok == summary.failed == 0 and summary.skipped > 0  # judged from the store, nothing measured
    slowed, _ = run_claims(ClaimsPlan.build(TINY_SUITE, CLAIMS), db=_store(tmp_path / "slow.db", slowdown))
    assert [v.claim for v in slowed] == [v.claim for v in normal] == CLAIMS
    for fast, slow in zip(normal, slowed):
        assert slow.effect == pytest.approx(slowdown * fast.effect, rel=0.05), (fast, slow)  # the ratio follows
        assert slow.status == "refuted", slow
        assert fast.status == "supported", fast


def test_a_verdict_says_when_its_trials_were_measured_under_load(tmp_path):
    from seqarena.claims import judge_claims
    from seqarena.store import MAX_ATTEMPTS

    db = _store(tmp_path / "r.db", 1.0)
    quiet = judge_claims(ClaimsPlan.build(TINY_SUITE, CLAIMS), db=db)
    assert not any("other processes" in c for v in quiet for c in v.caveats)
    with Store(db, readonly=True) as store:
        rows = list(store.rows())
    with Store(tmp_path / "loaded.db") as store:  # the same trials, each flagged MAX_ATTEMPTS times: kept so
        for row in rows:
            for _ in range(MAX_ATTEMPTS):
                store.add(spec_hash=row["spec_hash"], spec=row["spec"], status=row["status"], metrics=row["metrics"],
                          env=row["env"], contended=True)
        assert store.finished() == {r["spec_hash"] for r in rows}
    loaded = judge_claims(ClaimsPlan.build(TINY_SUITE, CLAIMS), db=tmp_path / "loaded.db")
    assert [v.status for v in loaded] == [v.status for v in quiet]
    assert all(any("measured while other processes kept the CPU busy" in c for c in v.caveats) for v in loaded)
