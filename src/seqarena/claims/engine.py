"""Run what the selected claims need (reusing finished trials in the store) and judge each from the stored data.

Timing and memory claims repeat adaptively, as a sequential test (:mod:`seqarena.analysis.sequential`): a claim is
judged at its first rounds; while its interval straddles the zone, more interleaved rounds are measured (doubling, up
to the suite's ``max_rounds``) and it is judged again. Each look's interval spends part of the 5% error, so the
chance of a false decisive verdict over all looks stays at 5%; the verdict states the look it stopped at. Every round
counts: a failed or missing trial in any round, planned or added, makes the verdict inconclusive and is named.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from seqarena.analysis.sequential import Schedule
from seqarena.analysis.stats import round_confidence
from seqarena.bench.duration import estimate_seconds
from seqarena.bench.spec import TrialSpec, check_threads, target_cores
from seqarena.claims.base import Claim
from seqarena.claims.registry import CLAIMS
from seqarena.claims.suites import Suite, resolve_suite
from seqarena.claims.verdict import FAILED, MISSING, UNTESTED, Verdict, Why
from seqarena.essay import ATTN, RNN
from seqarena.measure.system import timing_threads
from seqarena.models import SpecError, get_class
from seqarena.models.hf_families import hf_note
from seqarena.run.sweep import SweepSummary, run_sweep
from seqarena.store import MAX_ATTEMPTS, Store, load
from seqarena.store.failures import is_size_failure, kind_of


def select(only: Sequence[str] | None = None) -> list[Claim]:
    """Claims by id; "13" selects 13a, 13b, ... (None: every claim). Unknown ids, or an empty selection, are a
    one-line error: an empty ``--only`` must not silently run the whole suite."""
    if only is None:
        return list(CLAIMS)
    if not [x for x in only if x]:
        raise SpecError(f"--only needs at least one claim id; available: {', '.join(c.id for c in CLAIMS)}")
    chosen = []
    for want in only:
        hits = [c for c in CLAIMS if c.id == want or c.id.rstrip("abcdefgh") == want]
        if not hits:
            raise SpecError(f"unknown claim {want!r}; available: {', '.join(c.id for c in CLAIMS)}")
        chosen += [c for c in hits if c not in chosen]
    return chosen


def with_roles(claims: Sequence[Claim], rnn: str = RNN, attn: str = ATTN) -> list[Claim]:
    """The claims with other contenders in the RNN / transformer roles (e.g. ``rnn="gru"``)."""
    for name in (rnn, attn):
        get_class(name)  # unknown names: one-line SpecError
    return [dataclasses.replace(c, rnn=rnn, attn=attn, effect_name=_named(c.effect_name, rnn, attn)) for c in claims]


def _named(text: str, rnn: str, attn: str) -> str:
    """A measured quantity's words with the contenders in the roles: "LSTM / transformer latency" reads
    "hf:mamba2 / hf:llama latency" when those hold the roles (the essay's own words, ``short``, stay)."""
    if rnn != RNN:
        text = re.sub(r"\bLSTM\b", rnn, text)
    if attn != ATTN:
        text = re.sub(r"\btransformer\b", attn, text)
    return text


def plan(suite: str | dict[str, Any] | Suite, claims: Sequence[Claim], device: str = "cpu"
         ) -> dict[str, list[TrialSpec]]:
    """The trials each claim needs, on ``device``; timing and memory trials run with the suite's timing threads
    (half the cores by default: a neighbour on the other half does not move the verdict), quality trials with
    torch's default."""
    s = resolve_suite(suite)
    threads = s.timing_threads or timing_threads(target_cores())
    check_threads(threads)

    if s.autocast is not None and s.dtype != "float32":
        raise SpecError(f"autocast keeps float32 weights and computes in {s.autocast}: use dtype float32")

    def settings(t: TrialSpec) -> dict[str, Any]:
        update: dict[str, Any] = {"device": device}
        if t.timed:
            update |= {"threads": threads, "dtype": s.dtype}
        if t.scenario != "gradients":  # the gradient-flow probe runs in float64, eagerly, by design
            update |= {k: v for k, v in (("compile", s.compile), ("autocast", s.autocast)) if v is not None}
        return update

    return {c.id: [t.model_copy(update=settings(t)) for t in c.trials(s, c)] for c in claims}


def budget_table(suite: str | dict[str, Any] | Suite = "quick", only: Sequence[str] | None = None,
                 db: str | Path | None = None, device: str = "cpu", rnn: str = RNN, attn: str = ATTN
                 ) -> list[dict[str, Any]]:
    """Per claim: its trials, those not yet in the store, and the estimated seconds to measure them (trials shared
    between claims are counted for the first claim that needs them)."""
    claims = with_roles(select(only), rnn, attn)
    needs = plan(suite, claims, device)
    done: set[str] = set()
    if db is not None and Path(db).exists():
        with Store(db, readonly=True) as store:
            done = store.finished()
    seen: set[str] = set()
    rows = []
    for c in claims:
        new = [t for t in needs[c.id] if t.spec_hash() not in done and t.spec_hash() not in seen]
        seen |= {t.spec_hash() for t in needs[c.id]}
        rows.append({"claim": c.id, "short": c.short, "trials": len(needs[c.id]), "to_measure": len(new),
                     "estimate_s": sum(estimate_seconds(t) for t in new), "sizes": describe_trials(needs[c.id])})
    return rows


def planned_hashes(suite: str | dict[str, Any] | Suite = "quick", only: Sequence[str] | None = None,
                   device: str = "cpu", rnn: str = RNN, attn: str = ATTN) -> set[str]:
    """Spec hashes of every trial the selected claims plan (their first rounds: what the budget table counts)."""
    needs = plan(resolve_suite(suite), with_roles(select(only), rnn, attn), device)
    return {t.spec_hash() for trials in needs.values() for t in trials}


def describe_trials(trials: Sequence[TrialSpec]) -> str:
    """The sizes and seeds a verdict rests on, in one line per scenario joined by " | "."""
    groups: dict[str, list[TrialSpec]] = {}
    for t in trials:
        groups.setdefault(t.scenario, []).append(t)
    return " | ".join(_describe(g) for g in groups.values())


def _describe(trials: list[TrialSpec]) -> str:
    t0 = trials[0]
    models = sorted({t.label().split()[1] for t in trials})
    parts = [t0.scenario, "models " + ", ".join(models)]
    if t0.scenario == "train":
        tasks = sorted({f"{t.task}{dict(sorted(t.task_params.items()))}" for t in trials})
        parts += ["tasks " + "; ".join(tasks)[:160], f"steps {sorted({t.steps or 0 for t in trials})}",
                  "tuned lr" if t0.tune_lr else f"lr {sorted({t.lr or 1e-3 for t in trials})}"]
    elif t0.scenario == "generation":
        parts.append(f"tokens {t0.tokens}, batch {t0.batch}")
    else:
        parts.append(f"n {sorted({t.seq_len for t in trials})}, batch {sorted({t.batch for t in trials})}")
    budgets = sorted({t.params for t in trials if t.params})
    if budgets:
        parts.append("params " + ", ".join(f"{p / 1e6:g}M" for p in budgets))
    parts.append(f"seeds {sorted({t.seed for t in trials})}")
    if t0.scenario not in ("train", "gradients"):
        rounds = max(t.round for t in trials) + 1
        parts.append(f"{rounds} round{'s' if rounds > 1 else ''}")
    return "; ".join(parts)


def _open(v: Verdict) -> bool:
    """An inconclusive verdict whose interval is too wide (or a tie near the zone's edge): more rounds narrow it.
    Not one that is missing or failed data, or untested at these sizes: rounds cannot change that."""
    return v.status == "inconclusive" and not (v.why is not None and v.why.final)


def next_look(v: Verdict, sched: Schedule, rounds: int) -> int | None:
    """The round count to measure up to before judging again: the schedule's next look while the verdict is open,
    None to stop (decided, final, or at the cap). The one continuation rule: the engine and the null simulation."""
    return sched.next_rounds(rounds) if _open(v) else None


def schedule(claim: Claim, suite: Suite, trials: Sequence[TrialSpec]) -> Schedule:
    """The claim's looks: from its planned rounds to the suite's cap when it repeats adaptively (timing / memory),
    else one look at its planned rounds."""
    first = max((t.round for t in trials), default=0) + 1
    timed = any(t.scenario not in ("train", "gradients") for t in trials)
    return Schedule.of(first, suite.max_rounds if claim.adaptive and timed else first)


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
        verdict.local = True
        verdict.caveats.insert(0, f"the essay speaks of parallel hardware (GPUs); measured on {verdict.scope}, which "
                                  "lacks that parallelism: the verdict holds on this machine, not for the essay's "
                                  "setting")
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
    kinds = {(r.get("env.cpu"), r.get("env.cores"), r.get("env.gpu"), r.get("env.torch"))
             for r in rows.to_dict("records")} if len(rows) else set()
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
    the claim reads as a result (``claim.tolerates``). A memory trial skipped because a smaller n of the same model
    already failed for size is not missing: it could only fail too."""
    by_hash = {h: r for h, r in zip(rows["spec_hash"], rows.to_dict("records"))} if len(rows) else {}
    size_failed = [(r.get("model"), r.get("seq_len")) for r in by_hash.values()
                   if r.get("status") == "failed" and is_size_failure(r.get("failure") or r.get("reason"))]
    for t in planned:
        row = by_hash.get(t.spec_hash())
        if row is None:
            if any(m == t.model and n is not None and n < t.seq_len for m, n in size_failed):
                continue
            return f"{MISSING}: {t.label()} was not measured"
        if row.get("status") == "failed":
            kind = kind_of(row.get("failure") or row.get("reason"))
            if not is_size_failure(kind) and kind not in claim.tolerates:
                return f"{FAILED}: {t.label()}: {row.get('reason') or kind}"[:200]
    return None


def provenance(rows: pd.DataFrame) -> dict[str, Any]:
    """What the verdict rests on: trial ids, commits, torch versions, devices, dtypes, thread counts and the
    cluster nodes that measured them (empty on one machine)."""

    def values(col: str) -> list:
        return sorted({str(v) for v in rows[col].dropna()}) if col in rows else []

    ids = sorted(int(x) for x in rows["id"].dropna()) if "id" in rows else []
    return {"trial_ids": ids, "commits": values("env.git_commit"), "dirty": values("env.git_dirty"),
            "torch": values("env.torch"), "transformers": values("env.transformers"),
            "devices": values("spec.device"), "dtypes": values("spec.dtype"),
            "threads": values("env.threads"), "cpu": values("env.cpu"), "gpu": values("env.gpu"),
            "nodes": values("env.node")}


def scope(rows: pd.DataFrame) -> str:
    """Where the rows were measured, for the verdict's row: "cpu, 1 thread of 2 (AMD EPYC ...)" or "cuda, NVIDIA
    H100 ..."; several values joined by " / " (empty without rows)."""
    if not len(rows) or "spec.device" not in rows:
        return ""
    out = []
    for device, g in rows.groupby(rows["spec.device"].fillna("cpu")):
        gpu = sorted({str(x) for x in g["env.gpu"].dropna()}) if "env.gpu" in g else []
        cpu = sorted({str(x) for x in g["env.cpu"].dropna()}) if "env.cpu" in g else []
        threads = sorted({int(x) for x in g["env.threads"].dropna()}) if "env.threads" in g else []
        cores = sorted({str(x) for x in g["env.cores"].dropna()}) if "env.cores" in g else []
        if device == "cuda":
            out.append(f"cuda, {', '.join(gpu) or 'GPU'}")
            continue
        t = "/".join(map(str, threads)) or "?"
        of = f" of {'/'.join(cores)} cores" if cores else ""
        out.append(f"{device}, {t} thread{'s' if threads != [1] else ''}{of} ({', '.join(cpu) or 'this CPU'})")
    return " / ".join(out)


def run_claims(
    suite: str | dict[str, Any] | Suite = "quick",
    only: Sequence[str] | None = None,
    db: str | Path = "seqarena-results/results.db",
    *,
    device: str = "cpu",
    rnn: str = RNN,
    attn: str = ATTN,
    adaptive: bool = True,
    on_start: Callable[[TrialSpec], None] | None = None,
    on_done: Callable | None = None,
) -> tuple[list[Verdict], SweepSummary]:
    """Run (or resume) the trials of the selected claims, judge every claim from the store, and look again at the
    open timing / memory claims with more rounds, as the sequential rule allows, up to the suite's cap."""
    s = resolve_suite(suite)
    claims = with_roles(select(only), rnn, attn)
    needs = plan(s, claims, device)
    scheds = {c.id: schedule(c, s, needs[c.id]) for c in claims}
    unique: dict[str, TrialSpec] = {}
    for trials in needs.values():
        for t in trials:
            unique.setdefault(t.spec_hash(), t)
    with Store(db) as store:
        summary = run_sweep(by_round(unique.values()), store, sweep=f"claims-{s.name}", on_start=on_start,
                            on_done=on_done)
    df = _frame(db, list(unique.values()))
    verdicts = {c.id: _judge(c, df, needs[c.id], scheds[c.id]) for c in claims}
    while adaptive:
        extra: dict[str, list[TrialSpec]] = {}
        for c in claims:
            rounds = max((t.round for t in needs[c.id]), default=0) + 1
            nxt = next_look(verdicts[c.id], scheds[c.id], rounds)
            if nxt is not None:
                extra[c.id] = _more_rounds(needs[c.id], rounds, nxt)
        if not extra:
            break
        todo = {t.spec_hash(): t for trials in extra.values() for t in trials}
        with Store(db) as store:
            more = run_sweep(by_round(todo.values()), store, sweep=f"claims-{s.name}-adaptive", on_start=on_start,
                             on_done=on_done)
        summary = dataclasses.replace(summary, **{f.name: getattr(summary, f.name) + getattr(more, f.name)
                                                  for f in dataclasses.fields(summary)
                                                  if isinstance(getattr(summary, f.name), int)})
        df = _frame(db, [*unique.values(), *todo.values()])
        for cid, trials in extra.items():
            needs[cid] = [*needs[cid], *trials]
            claim = next(c for c in claims if c.id == cid)
            verdicts[cid] = _judge(claim, df, needs[cid], scheds[cid])
    return [verdicts[c.id] for c in claims], summary


def judge_claims(suite: str | dict[str, Any] | Suite = "quick", only: Sequence[str] | None = None,
                 db: str | Path = "seqarena-results/results.db", *, device: str = "cpu", rnn: str = RNN,
                 attn: str = ATTN) -> list[Verdict]:
    """Judge the selected claims from what the store already holds (nothing is measured): the report uses this.
    Each adaptive claim is judged at the last look the store's rows reach (extra rounds that adaptive repetition
    added are found and used; a look the store reaches only in part has missing trials). A claim whose trials are
    missing reads inconclusive."""
    s = resolve_suite(suite)
    claims = with_roles(select(only), rnn, attn)
    needs = plan(s, claims, device)
    scheds = {c.id: schedule(c, s, needs[c.id]) for c in claims}
    every = {cid: [*trials, *_more_rounds(trials, scheds[cid].looks[0], scheds[cid].looks[-1])]
             for cid, trials in needs.items()}
    df = _frame(db, [t for trials in every.values() for t in trials])
    present = set(df["spec_hash"]) if len(df) else set()
    verdicts = []
    for c in claims:
        reached = max((t.round + 1 for t in every[c.id] if t.spec_hash() in present), default=0)
        rounds = next((n for n in scheds[c.id].looks if n >= reached), scheds[c.id].looks[-1])
        verdicts.append(_judge(c, df, [t for t in every[c.id] if t.round < rounds], scheds[c.id]))
    return verdicts
