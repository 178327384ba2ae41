"""Two results stores side by side (``seqarena compare A.db B.db``): the same measurements, their ratio B / A with
an interval over rounds, a geometric-mean summary per scenario, the claims whose verdicts differ, and a regression
gate for CI.

Trials are matched by their spec without the round (the same model, sizes, batch, dtype, threads, compile and
autocast settings): a store made on another machine matches too, and is labelled as such, because then the ratio
compares two machines, not two versions of the code. The round is the unit of replication: each store's rounds
give one value each (the round's median), the ratio is the ratio of the geometric means, and its interval is
Welch's t-interval of the difference of the log means (the rounds of two stores are not paired: they ran in
different processes, perhaps on different machines). One round in either store: no interval, and no gate.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from seqarena.analysis.stats import round_interval, welch_ratio
from seqarena.bench.spec import TrialSpec, judged_as, machine_identity
from seqarena.claims import ClaimsPlan, judge_claims
from seqarena.errors import SpecError
from seqarena.store import Store

#: What each timed or memory scenario is compared on: (metric path in the trial's metrics, unit label).
METRICS: dict[str, tuple[str, str]] = {
    "forward_latency": ("time.median", "s/call"),
    "train_step": ("time.median", "s/step"),
    "throughput": ("time.median", "s/call"),
    "generation": ("decode_ms_median", "ms/token"),
    "memory": ("peak_bytes", "peak bytes"),
}


@dataclasses.dataclass
class Shared:
    """One measurement both stores hold: per-round values, the ratio B / A and its interval."""

    scenario: str
    label: str
    unit: str
    a: list[float]  # per-round values in store A
    b: list[float]
    ratio: float
    ci: tuple[float, float] | None  # None: one round in a store

    @property
    def rounds(self) -> str:
        return f"{len(self.a)}/{len(self.b)}"


@dataclasses.dataclass
class Comparison:
    """What :func:`compare_stores` found."""

    a: Path
    b: Path
    machine_a: str
    machine_b: str
    shared: list[Shared]
    only_a: int  # measurements only A holds
    only_b: int
    by_scenario: dict[str, tuple[float, tuple[float, float] | None, int]]  # geo-mean ratio, interval, count
    verdicts: list[dict[str, Any]]  # the claims whose verdicts differ: {"id", "a", "b"}
    verdict_note: str = ""

    @property
    def same_machine(self) -> bool:
        return self.machine_a == self.machine_b

    def regressions(self, threshold: float) -> list[Shared]:
        """The measurements slower (or larger) in B than ``threshold`` x A beyond their interval."""
        return [s for s in self.shared if s.ci is not None and s.ci[0] > threshold]


def _value(metrics: dict[str, Any], path: str) -> float | None:
    v: Any = metrics
    for key in path.split("."):
        v = v.get(key) if isinstance(v, dict) else None
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) and v > 0 else None


def _machine(env: dict[str, Any]) -> tuple[str, str, str | None, str]:
    return str(env.get("cpu")), str(env.get("cores")), env.get("gpu"), str(env.get("torch"))


def _read(db: Path) -> tuple[dict[str, tuple[str, str, str, dict[int, float]]], Counter]:
    """{measurement key: (scenario, label, unit, {round: value})} and the machines the rows ran on."""
    out: dict[str, tuple[str, str, str, dict[int, float]]] = {}
    machines: Counter = Counter()
    with Store(db, readonly=True) as store:
        for row in store.rows(status="ok"):
            spec, scenario = dict(row["spec"]), row["spec"].get("scenario")
            machines[_machine(row["env"] or {})] += 1
            if scenario not in METRICS or (value := _value(row["metrics"], METRICS[scenario][0])) is None:
                continue
            rnd = int(spec.pop("round", 0) or 0)
            key = json.dumps(spec, sort_keys=True, default=str)
            if key not in out:
                out[key] = (scenario, _label(spec), METRICS[scenario][1], {})
            out[key][3][rnd] = value
    return out, machines


def _label(spec: dict[str, Any]) -> str:
    try:
        return TrialSpec.model_validate(spec).label()
    except (ValueError, SpecError):  # a spec of a model this install cannot build: still comparable by its fields
        return f"{spec.get('scenario')} {spec.get('model')} n={spec.get('seq_len')} B={spec.get('batch')}"


def _describe(machines: Counter) -> tuple[str, tuple[str, str, str | None, str] | None]:
    if not machines:
        return "no trials", None
    top = machines.most_common(1)[0][0]
    cpu, cores, gpu, torch_version = top
    return f"{gpu or cpu}, {cores} cores, torch {torch_version}", top


def _judge(db: Path, machine: tuple[str, str, str | None, str] | None, suite: str | dict[str, Any]
           ) -> dict[str, Any]:
    if machine is None:
        return {}
    cpu, cores, gpu, torch_version = machine
    here = machine_identity("cpu")
    if (cpu, torch_version) == (here["cpu"], here["torch"]) and gpu is None:  # this machine: judged as `report` does
        verdicts = judge_claims(ClaimsPlan.build(suite), db=str(db))
    else:  # another machine's store: its trials are identified by that machine
        with judged_as({"cpu": cpu, "cores": cores, "gpu": gpu, "torch": torch_version}):
            verdicts = judge_claims(ClaimsPlan.build(suite), db=str(db))
    return {v.claim: v for v in verdicts}


def compare_stores(a: Path | str, b: Path | str, *, suite: str | dict[str, Any] = "quick") -> Comparison:
    """Compare store ``b`` with store ``a`` (ratios are B / A). A missing or damaged store, or two stores without
    one shared measurement, is a one-line :class:`SpecError`."""
    a, b = Path(a), Path(b)
    for db in (a, b):
        if not db.exists():
            raise SpecError(f"no results store at {db}")
    rows_a, machines_a = _read(a)
    rows_b, machines_b = _read(b)
    keys = [k for k in rows_a if k in rows_b]
    if not keys:
        raise SpecError(f"{a} and {b} share no measurement (same scenario, model, sizes and settings): nothing to "
                        "compare")
    shared = []
    for key in keys:
        scenario, label, unit, va = rows_a[key]
        vb = rows_b[key][3]
        xa, xb = [va[r] for r in sorted(va)], [vb[r] for r in sorted(vb)]
        ratio, ci = welch_ratio(xa, xb)
        shared.append(Shared(scenario, label, unit, xa, xb, ratio, ci))
    by_scenario = {}
    for scenario in dict.fromkeys(s.scenario for s in shared):
        ratios = [s.ratio for s in shared if s.scenario == scenario]
        effect, ci = round_interval(ratios)  # the measurements as units: how the scenario moved as a whole
        by_scenario[scenario] = (effect, ci, len(ratios))
    (name_a, top_a), (name_b, top_b) = _describe(machines_a), _describe(machines_b)
    va, vb = _judge(a, top_a, suite), _judge(b, top_b, suite)
    differ = [{"id": cid, "a": va[cid], "b": vb[cid]} for cid in va if cid in vb and va[cid].status != vb[cid].status]
    name = suite if isinstance(suite, str) else "custom"
    return Comparison(a, b, name_a, name_b, shared, len(rows_a) - len(keys), len(rows_b) - len(keys), by_scenario,
                      differ, verdict_note=f"verdicts judged for the {name} suite, each store on its own machine")
