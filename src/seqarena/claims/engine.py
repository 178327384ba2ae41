"""Run what the selected claims need (reusing finished trials in the store) and judge each from the stored data.

Timing and memory claims repeat adaptively, as a sequential test (:mod:`seqarena.analysis.sequential`): a claim is
judged at its first rounds; while its interval straddles the zone, more interleaved rounds are measured (doubling, up
to the suite's ``max_rounds``) and it is judged again. Each look's interval spends part of the 5% error, so the
chance of a false decisive verdict over all looks stays at 5%; the verdict states the look it stopped at. Every round
counts: a failed or missing trial in any round, planned or added, makes the verdict inconclusive and is named.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from seqarena.analysis.sequential import Schedule
from seqarena.analysis.stats import round_confidence
from seqarena.bench.duration import estimate_seconds
from seqarena.bench.spec import TrialSpec
from seqarena.claims.base import GPU_CAVEAT, Claim
from seqarena.claims.plan import ClaimsPlan, describe_trials
from seqarena.claims.verdict import FAILED, MISSING, UNTESTED, Verdict, Why
from seqarena.models.hf_families import hf_note
from seqarena.run.sweep import SweepSummary, run_sweep
from seqarena.store import MAX_ATTEMPTS, Store, load
from seqarena.store.columns import (
    ENV_CORES,
    ENV_CPU,
    ENV_GIT_COMMIT,
    ENV_GIT_DIRTY,
    ENV_GPU,
    ENV_NODE,
    ENV_THREADS,
    ENV_TORCH,
    ENV_TRANSFORMERS,
    SPEC_DEVICE,
    SPEC_DTYPE,
)
from seqarena.store.failures import is_size_failure, kind_of


def budget_table(plan: ClaimsPlan, *, db: str | Path | None = None) -> list[dict[str, Any]]:
    """Per claim of ``plan``: its trials, those not yet in the store, and the estimated seconds to measure them
    (trials shared between claims are counted for the first claim that needs them)."""
    done: set[str] = set()
    if db is not None and Path(db).exists():
        with Store(db, readonly=True) as store:
            done = store.finished()
    seen: set[str] = set()
    rows = []
    for c in plan.claims:
        needs = plan.trials[c.id]
        new = [t for t in needs if t.spec_hash() not in done and t.spec_hash() not in seen]
        seen |= {t.spec_hash() for t in needs}
        rows.append({"claim": c.id, "short": c.short, "trials": len(needs), "to_measure": len(new),
                     "estimate_s": sum(estimate_seconds(t) for t in new), "sizes": describe_trials(needs)})
    return rows


def _open(v: Verdict) -> bool:
    """An inconclusive verdict whose interval is too wide (or a tie near the zone's edge): more rounds narrow it.
    Not one that is missing or failed data, or untested at these sizes: rounds cannot change that."""
    return v.status == "inconclusive" and not (v.why is not None and v.why.final)


def next_look(v: Verdict, sched: Schedule, rounds: int) -> int | None:
    """The round count to measure up to before judging again: the schedule's next look while the verdict is open,
    None to stop (decided, final, or at the cap). The one continuation rule: the engine and the null simulation."""
    return sched.next_rounds(rounds) if _open(v) else None


def by_round(trials: Iterable[TrialSpec]) -> list[TrialSpec]:
    """The trials with every claim's round 0 first, then every round 1, ...: rounds of one claim are minutes apart
    and run in different worker processes (the runner starts a fresh one when the round changes), so a round is an
    independent replication of the machine's state, not a neighbour of the previous one. Order inside a round is
    kept (interleaved, shuffled contenders)."""
    return sorted(trials, key=lambda t: t.round)


def _more_rounds(trials: Sequence[TrialSpec], start: int, stop: int) -> list[TrialSpec]:
    """Rounds start..stop-1 of the timing / memory trials: copies of round 0 (trainings repeat over seeds, not
    rounds). Each round runs every contender once, so the contenders stay interleaved in time."""
    base = [t for t in trials if t.round == 0 and t.scenario not in ("train", "gradients")]
    return [t.model_copy(update={"round": r}) for r in range(start, stop) for t in base]


def _frame(db: str | Path, trials: Sequence[TrialSpec]) -> pd.DataFrame:
    scenarios = sorted({t.scenario for t in trials})
    frames = [load(db, scenario=s, status=None, include_samples=True) for s in scenarios] if Path(db).exists() else []
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["spec_hash", "status"])


def _judge(claim: Claim, df: pd.DataFrame, trials: Sequence[TrialSpec], sched: Schedule) -> Verdict:
    """The claim's verdict from its rows at the look its ``trials`` reach (every round, planned or added), made
    inconclusive when any of them is missing or failed for a reason other than its size (an error is never evidence,
    whatever the judge makes of the rows it has), with the provenance of the rows it rests on."""
    hashes = {t.spec_hash() for t in trials}
    rows = df[df["spec_hash"].isin(hashes)].reset_index(drop=True)
    rounds = max((t.round for t in trials), default=0) + 1
    with round_confidence(sched.confidence(rounds)):
        verdict = claim.judge(rows, claim)
    verdict.sizes = describe_trials(trials)
    verdict.scope = scope(rows)
    if claim.parallel and verdict.scope and "cuda" not in verdict.scope:
        verdict.local = True  # this caveat says more than the generic GPU one, which it replaces
        verdict.caveats = [f"the essay speaks of parallel hardware (GPUs); measured on {verdict.scope}, which lacks "
                           "that parallelism: the verdict holds on this machine, not for the essay's setting",
                           *(c for c in verdict.caveats if not c.startswith(GPU_CAVEAT.split(";")[0]))]
    why = _absent(claim, trials, rows)
    if why and not (verdict.status == "inconclusive" and verdict.why is not None and verdict.why.final):
        verdict.undecided(why)
    if len(sched.looks) > 1:
        verdict.looks = sched.describe(rounds)
        cap = sched.looks[-1]
        stuck = "; still inconclusive at the cap" if verdict.status == "inconclusive" and rounds >= cap else ""
        verdict.caveats.append(f"adaptive repetition: {rounds} round(s) (cap {cap}){stuck}; {verdict.looks}")
    if not trials and verdict.why != Why.UNTESTED:  # the suite's sizes leave this claim out
        verdict.because("inconclusive", f"{UNTESTED}: this suite measures nothing for it (its regime is out of "
                                        "reach in minutes): run --suite full")
    loaded = rows[rows["contended"] == 1] if "contended" in rows else rows.iloc[0:0]
    if len(loaded):  # flagged rows are used, never silently: say how many, and whether a re-run re-measures them
        final = int((loaded["attempts"] >= MAX_ATTEMPTS).sum()) if "attempts" in loaded else 0
        verdict.caveats.append(
            f"{len(loaded)} of {len(rows)} trials were measured while other processes kept the CPU busy"
            + (f"; {final} of them measured {MAX_ATTEMPTS} times and kept with the flag" if final else "")
            + (f"; the next run re-measures {len(loaded) - final}" if len(loaded) > final else ""))
    verdict.provenance = provenance(rows)
    if len(verdict.provenance.get("commits", [])) > 1:
        verdict.caveats.append(f"judged from rows measured by {len(verdict.provenance['commits'])} different "
                               "commits of seqarena")
    kinds = {tuple(r) for r in _records(rows, [ENV_CPU, ENV_CORES, ENV_GPU, ENV_TORCH])}
    if len(kinds) > 1:  # the spec hash names one machine kind, so this is a store whose rows were relabelled
        verdict.caveats.append(f"judged over rows from {len(kinds)} kinds of machine: "
                               + "; ".join(sorted(", ".join(str(x) for x in k) for k in kinds)))
    if len(verdict.provenance["nodes"]) > 1:
        verdict.caveats.append(f"measured on {len(verdict.provenance['nodes'])} cluster nodes of one machine kind "
                               "(the contenders of a round may lie on different nodes)")
    models = sorted({str(m) for m in rows["model"].dropna()}) if "model" in rows else []
    verdict.caveats += [f"{m} (transformers {', '.join(verdict.provenance['transformers']) or '?'}): {note}"
                        for m in models if (note := hf_note(m))]
    return verdict


def _absent(claim: Claim, planned: Sequence[TrialSpec], rows: pd.DataFrame) -> str | None:
    """Why a planned trial gives no evidence: not in the store, or failed for a reason other than its size or one
    the claim reads as a result (``claim.tolerates``)."""
    not_measured = _not_measured(planned, rows)
    if not_measured:
        return f"{MISSING}: {not_measured[0].label()} was not measured"
    by_hash = {r["spec_hash"]: r for r in _records(rows, ["spec_hash", "status", "failure", "reason"], dicts=True)}
    for t in planned:
        row = by_hash.get(t.spec_hash())
        if row is not None and row.get("status") == "failed":
            kind = kind_of(row.get("failure") or row.get("reason"))
            if not is_size_failure(kind) and kind not in claim.tolerates:
                return f"{FAILED}: {t.label()}: {row.get('reason') or kind}"[:200]
    return None


def _not_measured(planned: Sequence[TrialSpec], rows: pd.DataFrame) -> list[TrialSpec]:
    """The planned trials without a row (ok or failed). A memory trial skipped because a smaller n of the same model
    already failed for size is not among them: it could only fail too."""
    by_hash = {r["spec_hash"]: r for r in _records(rows, ["spec_hash", "status", "failure", "reason", "model",
                                                           "seq_len"], dicts=True)}
    size_failed = [(r.get("model"), r.get("seq_len")) for r in by_hash.values()
                   if r.get("status") == "failed" and is_size_failure(r.get("failure") or r.get("reason"))]
    return [t for t in planned if t.spec_hash() not in by_hash
            and not any(m == t.model and n is not None and n < t.seq_len for m, n in size_failed)]


def _records(rows: pd.DataFrame, columns: list[str], dicts: bool = False) -> list:
    """``columns`` of every row (None where a column is absent), as tuples or dicts: a frame of every scenario's
    columns is wide, and turning whole rows into dicts was most of the judging time (4.8 of 8.2 s per look)."""
    if not len(rows):
        return []
    part = rows.reindex(columns=columns).astype(object).where(lambda f: f.notna(), None)
    return part.to_dict("records") if dicts else list(part.itertuples(index=False, name=None))


def provenance(rows: pd.DataFrame) -> dict[str, Any]:
    """What the verdict rests on: trial ids, commits, torch versions, devices, dtypes, thread counts and the
    cluster nodes that measured them (empty on one machine)."""

    def values(col: str) -> list:
        return sorted({str(v) for v in rows[col].dropna()}) if col in rows else []

    ids = sorted(int(x) for x in rows["id"].dropna()) if "id" in rows else []
    return {"trial_ids": ids, "commits": values(ENV_GIT_COMMIT), "dirty": values(ENV_GIT_DIRTY),
            "torch": values(ENV_TORCH), "transformers": values(ENV_TRANSFORMERS),
            "devices": values(SPEC_DEVICE), "dtypes": values(SPEC_DTYPE),
            "threads": values(ENV_THREADS), "cpu": values(ENV_CPU), "gpu": values(ENV_GPU),
            "nodes": values(ENV_NODE)}


def scope(rows: pd.DataFrame) -> str:
    """Where the rows were measured, for the verdict's row: "cpu, 1 thread of 2 cores, pinned (AMD EPYC ...)" ("pinned"
    when every row ran pinned to its cores) or "cuda, NVIDIA H100 ..."; several values joined by " / " (empty without
    rows)."""
    if not len(rows) or SPEC_DEVICE not in rows:
        return ""
    out = []
    for device, g in rows.groupby(rows[SPEC_DEVICE].fillna("cpu")):
        gpu = sorted({str(x) for x in g[ENV_GPU].dropna()}) if ENV_GPU in g else []
        cpu = sorted({str(x) for x in g[ENV_CPU].dropna()}) if ENV_CPU in g else []
        threads = sorted({int(x) for x in g[ENV_THREADS].dropna()}) if ENV_THREADS in g else []
        cores = sorted({str(x) for x in g[ENV_CORES].dropna()}) if ENV_CORES in g else []
        if device == "cuda":
            out.append(f"cuda, {', '.join(gpu) or 'GPU'}")
            continue
        t = "/".join(map(str, threads)) or "?"
        of = f" of {'/'.join(cores)} cores" if cores else ""
        pin = ", pinned" if "pinned_cores" in g and g["pinned_cores"].notna().all() else ""
        out.append(f"{device}, {t} thread{'s' if threads != [1] else ''}{of}{pin} ({', '.join(cpu) or 'this CPU'})")
    return " / ".join(out)


def run_claims(
    plan: ClaimsPlan,
    *,
    db: str | Path = "seqarena-results/results.db",
    adaptive: bool = True,
    on_start: Callable[[TrialSpec], None] | None = None,
    on_done: Callable | None = None,
) -> tuple[list[Verdict], SweepSummary]:
    """Run (or resume) the trials of ``plan``'s claims, judge every claim from the store, and look again at the open
    timing / memory claims with more rounds, as the sequential rule allows, up to the suite's cap."""
    needs = {cid: list(trials) for cid, trials in plan.trials.items()}
    unique = plan.unique()
    name = plan.suite.name
    with Store(db) as store:
        summary = run_sweep(by_round(unique), store, sweep=f"claims-{name}", on_start=on_start, on_done=on_done)
    df = _frame(db, unique)
    verdicts = {c.id: _judge(c, df, needs[c.id], plan.schedules[c.id]) for c in plan.claims}
    while adaptive:
        extra: dict[str, list[TrialSpec]] = {}
        for c in plan.claims:
            rounds = max((t.round for t in needs[c.id]), default=0) + 1
            nxt = next_look(verdicts[c.id], plan.schedules[c.id], rounds)
            if nxt is not None:
                extra[c.id] = _more_rounds(needs[c.id], rounds, nxt)
        if not extra:
            break
        todo = {t.spec_hash(): t for trials in extra.values() for t in trials}
        with Store(db) as store:
            more = run_sweep(by_round(todo.values()), store, sweep=f"claims-{name}-adaptive", on_start=on_start,
                             on_done=on_done)
        summary = dataclasses.replace(summary, **{f.name: getattr(summary, f.name) + getattr(more, f.name)
                                                  for f in dataclasses.fields(summary)
                                                  if isinstance(getattr(summary, f.name), int)})
        df = _frame(db, [*unique, *todo.values()])
        for cid, trials in extra.items():
            needs[cid] = [*needs[cid], *trials]
            claim = next(c for c in plan.claims if c.id == cid)
            verdicts[cid] = _judge(claim, df, needs[cid], plan.schedules[cid])
    return [verdicts[c.id] for c in plan.claims], summary


def judge_claims(plan: ClaimsPlan, *, db: str | Path = "seqarena-results/results.db") -> list[Verdict]:
    """Judge ``plan``'s claims from what the store already holds (nothing is measured): a report built alone from a
    store uses this. Each adaptive claim is judged at the last of its looks whose every round has a row (ok or failed:
    a failure in an added round still counts); a later look's rounds that are only partly there (an interrupted run,
    or rounds another claim sharing these trials added) are left out and said so. A claim whose trials are missing
    reads inconclusive."""
    every = {cid: [*trials, *_more_rounds(trials, plan.schedules[cid].looks[0], plan.schedules[cid].looks[-1])]
             for cid, trials in plan.trials.items()}
    df = _frame(db, [t for trials in every.values() for t in trials])
    verdicts = []
    for c in plan.claims:
        sched = plan.schedules[c.id]
        rows = df[df["spec_hash"].isin({t.spec_hash() for t in every[c.id]})] if len(df) else df
        complete = [n for n in sched.looks if not _not_measured([t for t in every[c.id] if t.round < n], rows)]
        rounds = complete[-1] if complete else sched.looks[0]
        v = _judge(c, df, [t for t in every[c.id] if t.round < rounds], sched)
        stored = set(rows["spec_hash"]) if len(rows) else set()
        later = sorted({t.round + 1 for t in every[c.id] if t.round >= rounds and t.spec_hash() in stored})
        if later:
            gone = _not_measured([t for t in every[c.id] if t.round < max(later)], rows)
            v.caveats.append(f"round(s) {', '.join(map(str, later))} of a later look are partly in the store (an "
                             f"interrupted run, or another claim's rounds): judged at {rounds} rounds; not measured: "
                             + "; ".join(t.label() for t in gone[:4]) + (" ..." if len(gone) > 4 else ""))
        verdicts.append(v)
    return verdicts
