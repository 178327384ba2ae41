"""What :func:`seqarena.recommender.recommend_data` returns: the pick, its explanation, and every number behind it
(candidates, tuning, curves, baselines, split, machine, settings), as a table, a dict (``--json``) and a stored
recommendation the report leads with."""

from __future__ import annotations

import contextlib
import dataclasses
import platform
from pathlib import Path
from typing import Any

from seqarena.analysis.labels import model_label
from seqarena.errors import StoreError
from seqarena.recommender.candidates import owns
from seqarena.recommender.decide import over_runs


@dataclasses.dataclass
class DataRecommendation:
    """The pick for the user's data (a candidate's label, or ``baseline: <name>``) and the evidence."""

    data: dict[str, Any]  # path, kind, task, params, split, metric, higher_is_better, sizes
    pick: str
    lines: list[str]
    candidates: list[dict[str, Any]]  # per candidate: status, mean, ci, gain over the baseline, costs, runs, trials
    tuning: dict[str, list[dict[str, Any]]]  # per candidate: every learning rate tried
    curves: dict[str, list[dict[str, Any]]]  # per candidate: the validation curve of its first run
    baselines: dict[str, dict[str, float]]  # baseline name -> test metrics over the folds (a loss: geometric mean)
    baseline: str  # the best on validation, the one the candidates must beat
    budget: dict[str, float]  # the plan: seconds per candidate, per tuning point, per run
    machine: dict[str, Any]
    settings: dict[str, Any]
    trials: list[int]
    model_path: str | None  # the picked model's weights (None: a baseline was picked, or none was saved)
    failures: list[str]  # every failed or missing trial, named
    db: str
    out_dir: str = ""  # where the model and the page go
    page: str | None = None  # the HTML page, once written (seqarena.job.recommend_on_data, the CLI)

    @classmethod
    def build(cls, ud, cands, decision, tuned, run_trials, run_rows, entries, budget, summaries, saved, db,
              settings, out_dir) -> DataRecommendation:
        from seqarena.bench.spec import machine_identity

        by_label = {j.entry.label: j for j in decision.ranking}
        candidates = []
        for c in cands:
            j = by_label[c.label]
            e = j.entry
            candidates.append({
                "model": c.label, "status": j.status, "why": j.why, "mean": _num(j.mean),
                "ci": list(j.ci) if j.ci else None, "runs": {str(k): v for k, v in sorted(e.test.items())},
                "gain": _num(j.gain), "gain_ci": list(j.gain_ci) if j.gain_ci else None, "learned": j.learned,
                "fits": j.fits, "latency_ms": None if e.latency_s is None else e.latency_s * 1e3,
                "latency_range_ms": [x * 1e3 for x in e.latency_ci] if e.latency_ci else None,
                "memory_mb": e.memory_mb, "train_memory_mb": e.train_memory_mb,
                "lr": tuned[c.label]["lr"], "trials": sorted(e.trials), "failed": e.failed,
                "time_to_best_s": _time_to_best(c, run_trials, run_rows)})
        curves: dict[str, list[dict[str, Any]]] = {}
        for t, row in zip(run_trials, run_rows, strict=True):
            label = model_label(t.model, t.options)  # a training trial carries its candidate's own options
            if row is not None and row["status"] == "ok" and t.seed == 0:
                curves[label] = row["metrics"].get("curve") or []
        per_run: dict[str, dict[str, list[float]]] = {}  # each baseline's scores, one per run (a series: per fold)
        for b in ud.baselines:
            for name, scores in (b.get("all") or {b["name"]: {ud.metric: b[ud.metric]}}).items():
                for k, v in scores.items():
                    if isinstance(v, int | float):
                        per_run.setdefault(name, {}).setdefault(k, []).append(v)
        # summarised over runs as the candidates are (a loss: geometric mean), so table, line and figure agree
        baselines = {name: {k: over_runs(vs, ud.higher_is_better)[0] for k, vs in scores.items()}
                     for name, scores in per_run.items()}
        if ud.kind == "lm":  # the trigram's table has one entry: the context-free codes beside it
            baselines["unigram (add-one)"] = {ud.metric: ud.baselines[0].get("unigram_bits")}
            baselines["uniform over the vocabulary"] = {ud.metric: ud.baselines[0].get("uniform_bits")}
        failures = [f"{c['model']}: {f}" for c in candidates for f in c["failed"]]
        for name, s in summaries.items():
            failures += [f"{name}: {label}: {reason}" for label, reason in s.failures
                         if not any(label in f for f in failures)]
        ident = machine_identity("cpu")
        import torch

        machine = {"cpu": ident.get("cpu"), "cores": settings["threads"], "torch": torch.__version__,
                   "python": platform.python_version(), "threads": settings["threads"], "dtype": "float32"}
        trials = sorted({t for c in candidates for t in c["trials"]})
        return cls({"path": ud.path, "kind": ud.kind, "task": ud.task, "params": ud.params, "split": ud.split,
                    "metric": ud.metric, "higher_is_better": ud.higher_is_better, "seq_len": ud.seq_len,
                    "sizes": ud.describe.get("sizes")},
                   decision.pick, decision.lines, candidates,
                   {k: v["tried"] for k, v in tuned.items()}, curves, baselines, decision.baseline, budget, machine,
                   settings, trials, saved, failures, str(db), str(out_dir))

    @property
    def title(self) -> str:
        return f"your data ({Path(self.data['path']).name}, {self.data['kind']}): {self.pick}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def table(self):
        """The candidates as a pandas DataFrame, best first."""
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in c.items() if k not in ("runs", "trials", "failed")}
                             for c in self.candidates])

    def remember(self, db: Path | str) -> None:
        """Keep the recommendation in the store (the report leads with it); a store that cannot be written keeps
        none, and the answer stands."""
        from seqarena.store import Store

        with contextlib.suppress(StoreError), Store(Path(db)) as store:
            store.add_recommendation(self.title, self.lines, {"data": self.data["path"], "kind": self.data["kind"],
                                                              "result": self.to_dict()}, self.trials)


def _num(x: float) -> float | None:
    return x if x == x else None  # NaN -> None: JSON has no NaN


def _time_to_best(c, run_trials, run_rows) -> float | None:
    times = [row["metrics"].get("time_to_best_s") for t, row in zip(run_trials, run_rows, strict=True)
             if row is not None and row["status"] == "ok" and owns(c, t.model, t.options)]
    times = [t for t in times if t is not None]
    return sorted(times)[len(times) // 2] if times else None
