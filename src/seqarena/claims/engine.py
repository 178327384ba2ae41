"""Run what the selected claims need (reusing finished trials in the store) and judge each from the stored data."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from seqarena.bench.spec import TrialSpec
from seqarena.claims.latency import CLAIMS, Claim
from seqarena.claims.verdict import Verdict
from seqarena.models import SpecError
from seqarena.run.sweep import SweepSummary, run_sweep
from seqarena.store import Store, load


def select(only: Sequence[str] | None = None) -> list[Claim]:
    """Claims by id; "13" selects 13a, 13b, ... Unknown ids are a one-line error."""
    if not only:
        return list(CLAIMS)
    chosen = []
    for want in only:
        hits = [c for c in CLAIMS if c.id == want or c.id.rstrip("abcdefgh") == want]
        if not hits:
            raise SpecError(f"unknown claim {want!r}; available: {', '.join(c.id for c in CLAIMS)}")
        chosen += [c for c in hits if c not in chosen]
    return chosen


def run_claims(
    suite: str = "quick",
    only: Sequence[str] | None = None,
    db: str = "seqarena-results/results.db",
    *,
    device: str = "cpu",
    on_start: Callable[[TrialSpec], None] | None = None,
    on_done: Callable | None = None,
) -> tuple[list[Verdict], SweepSummary]:
    """Run (or resume) the trials of the selected claims, then judge every claim from the store."""
    if suite not in ("quick", "full"):
        raise SpecError(f"unknown suite {suite!r}; choose quick or full")
    claims = select(only)
    needs = {c.id: [t.model_copy(update={"device": device}) for t in c.trials(suite)] for c in claims}
    unique: dict[str, TrialSpec] = {}
    for trials in needs.values():
        for t in trials:
            unique.setdefault(t.spec_hash(), t)
    with Store(db) as store:
        summary = run_sweep(list(unique.values()), store, sweep=f"claims-{suite}", on_start=on_start,
                            on_done=on_done)
    return judge_claims(suite, [c.id for c in claims], db, device=device), summary


def judge_claims(suite: str = "quick", only: Sequence[str] | None = None,
                 db: str = "seqarena-results/results.db", *, device: str = "cpu") -> list[Verdict]:
    """Judge the selected claims from what the store already holds (nothing is measured): the report uses this.
    A claim whose trials are missing judges an empty table and reads inconclusive."""
    claims = select(only)
    needs = {c.id: [t.model_copy(update={"device": device}) for t in c.trials(suite)] for c in claims}
    scenarios = sorted({t.scenario for trials in needs.values() for t in trials})
    frames = [load(db, scenario=s, status=None, include_samples=True) for s in scenarios]
    frames = [f for f in frames if len(f)]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["spec_hash"])
    verdicts = []
    for c in claims:
        hashes = {t.spec_hash() for t in needs[c.id]}
        verdicts.append(c.judge(df[df["spec_hash"].isin(hashes)], c))
    return verdicts
