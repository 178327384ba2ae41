"""Which architecture for the user's data: every candidate trained and tuned on it under one budget, the model as
deployed timed and weighed on this machine, baselines beside them, and the decision of
:mod:`seqarena.recommender.decide`.

>>> from seqarena.recommender import recommend_data
>>> rec = recommend_data("load.csv", column="load", lookback=168, horizon=24, budget_s=600)
>>> rec.pick, rec.lines

How the budget is spent (equal wall-clock per candidate, stated in the result): each candidate gets the same share;
40% of it tunes the learning rate on validation (a fixed log grid, every point one stored trial from the same seed),
60% trains :data:`RUNS` runs at the chosen rate (seeds 0..2; for a series each run tests on its own fold of a
rolling-origin backtest), each keeping its best-validation weights (early stopping). Every trial is stored as it
finishes, so the same command again (after Ctrl-C) measures only what is missing. The budget's split depends on the
number of candidates, so a rerun with another candidate list trains anew (its trials are other trials).
"""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from seqarena.analysis.labels import model_label
from seqarena.bench.scenarios.learning import SAVE_ENV
from seqarena.bench.spec import TrialSpec, make_trial, target_cores
from seqarena.errors import Interrupted, SpecError
from seqarena.recommender.candidates import Candidate, candidate, owns
from seqarena.recommender.data_result import DataRecommendation
from seqarena.recommender.decide import MARGIN, Entry, judge
from seqarena.recommender.user_data import UserData, read_data
from seqarena.run.sweep import SweepSummary, run_sweep
from seqarena.run.worker import environ_with
from seqarena.store import DEFAULT_DB, Store

#: The default contenders: the essay's two recurrent and one attention family, and one efficient (linear-time) one.
DATA_CANDIDATES = ("lstm", "gru", "transformer", "linear_attention")
RUNS = 3
LR_GRID = (3e-4, 1e-3, 3e-3)  # the middle of the training loop's grid: 3 points fit a 10-minute budget
TUNE_SHARE = 0.4
#: What a trial costs beyond its training budget (a worker's task build, the final evaluation, storing): planned for,
#: so the whole recommendation stays within its budget.
TRIAL_OVERHEAD_S = 1.5
PROBE_RESERVE_S = 12.0  # per candidate: timing at the user's shape over 3 rounds, and memory (measured ~11 s)
EVAL_EVERY = 25
PATIENCE = 8  # evaluations without a better validation metric before a run stops early
TRAIN_BATCH = 32


def plan(budget_s: float, n_candidates: int, grid: int | None = None, runs: int = RUNS) -> dict[str, float]:
    """Seconds of training per tuning point and per run, equal for every candidate; one line when too small."""
    grid = len(LR_GRID) if grid is None else grid
    share = (budget_s - PROBE_RESERVE_S * n_candidates) / n_candidates - (grid + runs) * TRIAL_OVERHEAD_S
    tune_s, run_s = share * TUNE_SHARE / grid, share * (1 - TUNE_SHARE) / runs
    if tune_s < 2:
        need = n_candidates * (PROBE_RESERVE_S + (grid + runs) * TRIAL_OVERHEAD_S + 2 * grid / TUNE_SHARE)
        raise SpecError(f"a budget of {budget_s:g} s is too small for {n_candidates} candidates ({grid} learning "
                        f"rates and {runs} runs each): give at least --budget {need:.0f}s or fewer candidates")
    return {"per_candidate_s": share + (grid + runs) * TRIAL_OVERHEAD_S, "tune_s": tune_s, "run_s": run_s,
            "grid": grid, "runs": runs}


def recommend_data(
    data: str | Path,
    task: str | None = None,
    *,
    db: Path | str = DEFAULT_DB,
    candidates: Sequence[str] = DATA_CANDIDATES,
    params: int = 100_000,
    budget_s: float = 600.0,
    batch: int = 1,
    latency_budget_ms: float | None = None,
    memory_cap_mb: float | None = None,
    cap_scope: str = "inference",
    threads: int | None = None,
    column: str | None = None,
    label: str | None = None,
    lookback: int | None = None,
    horizon: int | None = None,
    period: int | None = None,
    seq_len: int | None = None,
    out: Path | str | None = None,
    margin: float = MARGIN,
    on_phase: Callable[[str, int], None] | None = None,
    on_start: Callable | None = None,
    on_done: Callable | None = None,
) -> DataRecommendation:
    """Train, tune, time and weigh ``candidates`` on the data at ``data`` and pick one (or the baseline).

    Args:
        task: "forecast", "lm" or "classify" (inferred from the file when None).
        batch: sequences per call when deployed (latency and inference memory are measured at it).
        threads: the deployment's thread count (default: every core of this machine).
        out: where the picked model (``model.pt``) and the page (``recommend.html``) go (default: beside ``db``).
        on_phase: called with (phase name, trials in it) before each sweep, for a progress bar.
    Raises:
        SpecError: bad data (one line naming the problem), unknown candidates, a budget too small.
    """
    ud = read_data(data, task, column=column, label=label, lookback=lookback, horizon=horizon, period=period,
                   seq_len=seq_len)
    cands = list({c.label: c for c in (candidate(m) for m in candidates)}.values())
    if not cands:
        raise SpecError("no candidate models given")
    if cap_scope not in ("inference", "both"):
        raise SpecError(f"--cap-scope must be inference or both, got {cap_scope!r}")
    threads = threads or target_cores()
    budget = plan(budget_s, len(cands))
    db = Path(db)
    out = Path(out) if out is not None else db.parent / "recommend"
    common = {"params": params, "threads": threads, "seed": 0}
    summaries: dict[str, SweepSummary] = {}
    with Store(db) as store:
        def sweep(name: str, trials: list[TrialSpec]) -> list[dict[str, Any]]:
            if on_phase is not None:
                on_phase(name, len(trials))
            try:
                summaries[name] = run_sweep(trials, store, sweep=f"recommend-data:{name}", on_start=on_start,
                                            on_done=on_done, timeout_s=max(120.0, 4 * budget["run_s"]))
            except Interrupted as e:  # Ctrl-C: say what the whole recommendation keeps, not this phase alone
                phases = [*summaries.values(), e.summary]
                raise Interrupted(SweepSummary(*(sum(getattr(s, f) for s in phases) for f in
                                                 ("total", "skipped", "ok", "failed"))), e.db) from None
            by_hash = {r["spec_hash"]: r for r in store.rows(spec_hash=[t.spec_hash() for t in trials])}
            return [by_hash.get(t.spec_hash()) for t in trials]

        tune_trials = [_train_trial(c, ud, common, lr=lr, seed=0, run=0, seconds=budget["tune_s"])
                       for lr in LR_GRID for c in cands]
        tuned = _best_lr(cands, tune_trials, sweep("tuning", tune_trials), ud)
        run_trials = [_train_trial(c, ud, common, lr=tuned[c.label]["lr"], seed=r, run=r, seconds=budget["run_s"])
                      for r in range(RUNS) for c in cands if tuned[c.label]["lr"] is not None]
        models_dir = db.parent / "models"
        with environ_with({SAVE_ENV: str(models_dir)}):
            run_rows = sweep("runs", run_trials)
        cost_trials = _cost_trials(cands, ud, common, batch, threads)
        cost_rows = sweep("cost", cost_trials)
    entries = _entries(cands, ud, run_trials, run_rows, cost_trials, cost_rows, cap_scope, tuned)
    baseline_name = ud.baseline(0)["name"]
    base = {r: float(ud.baseline(r)[ud.metric]) for r in range(RUNS)}
    decision = judge(entries, base, baseline_name, ud.metric, higher_is_better=ud.higher_is_better,
                     latency_budget_ms=latency_budget_ms, memory_cap_mb=memory_cap_mb, margin=margin)
    saved = _save_pick(decision.pick, run_trials, run_rows, models_dir, out, ud)
    rec = DataRecommendation.build(ud, cands, decision, tuned, run_trials, run_rows, entries, budget, summaries,
                                   saved, db, settings={**common, "batch": batch, "train_batch": TRAIN_BATCH,
                                                        "budget_s": budget_s, "margin": margin,
                                                        "latency_budget_ms": latency_budget_ms,
                                                        "memory_cap_mb": memory_cap_mb, "cap_scope": cap_scope,
                                                        "lr_grid": list(LR_GRID), "runs": RUNS,
                                                        "eval_every": EVAL_EVERY, "patience": PATIENCE},
                                   out_dir=out)
    return rec


def _train_trial(c: Candidate, ud: UserData, common: dict[str, Any], *, lr: float, seed: int, run: int,
                 seconds: float) -> TrialSpec:
    return make_trial(scenario="train", model=c.name, options=c.options, batch=TRAIN_BATCH, task=ud.task,
                      task_params=ud.task_params(run), budget_s=round(seconds, 1), lr=lr, eval_every=EVAL_EVERY,
                      early_stop=PATIENCE, **{**common, "seed": seed, "threads": None})


def _best_lr(cands: list[Candidate], trials: list[TrialSpec], rows: list[dict | None], ud: UserData
             ) -> dict[str, dict[str, Any]]:
    """Per candidate: the learning rate best on validation, and every point tried (lr, status, val, trial id)."""
    out = {}
    for c in cands:
        tried = []
        for t, row in zip(trials, rows, strict=True):
            if not owns(c, t.model, t.options):
                continue
            ok = row is not None and row["status"] == "ok"
            tried.append({"lr": t.lr, "status": row["status"] if row else "missing",
                          "reason": None if ok or row is None else row.get("reason"),
                          "val": row["metrics"].get("val_metric") if ok else None, "trial": row["id"] if row else None})
        scored = [p for p in tried if p["val"] is not None]
        pick = (max if ud.higher_is_better else min)(scored, key=lambda p: p["val"]) if scored else None
        out[c.label] = {"lr": pick["lr"] if pick else None, "tried": tried}
    return out


def _cost_trials(cands: list[Candidate], ud: UserData, common: dict[str, Any], batch: int, threads: int
                 ) -> list[TrialSpec]:
    """The model as deployed (the task's inputs and head) at the user's n, batch and threads: forward latency over
    3 interleaved rounds, peak memory of inference (at the batch) and of a training step (at the training batch)."""
    trials = []
    timing = {"repeats": 5, "min_seconds": 0.2, "warmup": 1, "aux": False}
    for r in range(3):
        trials += [make_trial(scenario="forward_latency", model=c.name, options={**ud.model_fields, **c.options},
                              seq_len=ud.seq_len, batch=batch, round=r, **timing, **{**common, "threads": threads})
                   for c in cands]
    for kind, b in (("infer", batch), ("train", TRAIN_BATCH)):
        trials += [make_trial(scenario="memory", kind=kind, model=c.name, options={**ud.model_fields, **c.options},
                              seq_len=ud.seq_len, batch=b, **common) for c in cands]
    return trials


def _entries(cands, ud, run_trials, run_rows, cost_trials, cost_rows, cap_scope, tuned) -> list[Entry]:
    from seqarena.analysis.summary import memory_of

    entries = []
    for c in cands:
        e = Entry(c.label, {})
        if tuned[c.label]["lr"] is None:
            e.failed.append("every learning rate failed: " + "; ".join(
                f"lr {p['lr']:g}: {p['reason'] or p['status']}" for p in tuned[c.label]["tried"]))
        for t, row in zip(run_trials, run_rows, strict=True):
            if not owns(c, t.model, t.options):
                continue
            if row is not None and row["status"] == "ok" and row["metrics"].get("test_metric") is not None:
                e.test[t.seed] = float(row["metrics"]["test_metric"])
                e.trials.append(row["id"])
            else:
                e.failed.append(f"run {t.seed + 1}: " + (row.get("reason") or row["status"] if row else "missing"))
        lat, mem = [], {}
        for t, row in zip(cost_trials, cost_rows, strict=True):
            if row is None or row["status"] != "ok" or not owns(c, t.model, t.options, ud.model_fields):
                continue
            e.trials.append(row["id"])
            if t.scenario == "forward_latency":
                lat.append(row["metrics"]["latency_s"])
            else:
                mem[t.kind] = memory_of(row["metrics"])
        if lat:
            e.latency_s = statistics.median(lat)
            e.latency_ci = (min(lat), max(lat))
        peaks = [mem.get("infer")] + ([mem.get("train")] if cap_scope == "both" else [])
        e.memory_mb = None if any(p is None for p in peaks) else max(peaks) / 2**20
        e.train_memory_mb = mem["train"] / 2**20 if mem.get("train") else None
        entries.append(e)
    return entries


def _save_pick(pick: str, trials: list[TrialSpec], rows: list[dict | None], models_dir: Path, out: Path,
               ud: UserData) -> str | None:
    """Copy the picked candidate's best run (best validation) to ``out/model.pt``; None for a baseline pick."""
    best = None
    for t, row in zip(trials, rows, strict=True):
        if row is None or row["status"] != "ok" or candidate_label(t) != pick:
            continue
        val = row["metrics"].get("val_metric")
        if val is not None and (best is None or (val > best[0] if ud.higher_is_better else val < best[0])):
            best = (val, t)
    if best is None:
        return None
    src = models_dir / f"{best[1].spec_hash()}.pt"
    if not src.exists():  # measured before with no save (an older run, or on a cluster node)
        return None
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, out / "model.pt")
    return str(out / "model.pt")


def candidate_label(t: TrialSpec) -> str:
    return model_label(t.model, t.options)
