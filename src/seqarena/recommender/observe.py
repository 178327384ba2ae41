"""Reading the store for the recommender: this machine's rows for a profile, turned into observations per candidate
(forward latency, decode per token, training step, memory peaks and the failures that bound them)."""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seqarena.analysis.labels import model_label
from seqarena.analysis.summary import memory_of
from seqarena.bench.spec import machine_identity
from seqarena.recommender.estimate import Estimate, Obs, estimate
from seqarena.recommender.profile import Profile
from seqarena.store import Store
from seqarena.store.failures import is_size_failure

#: Settings every row used must share (the store's usual ones; the profile sets device and params; timed rows also
#: share the timing threads, :func:`seqarena.measure.system.timing_threads`, as the claims suites' rows do).
SETTINGS = {"dtype": "float32", "layers": 2, "vocab_size": 256}

PROMPT_LEN = 16  # the generation scenario's default prompt

_SCENARIOS = ("forward_latency", "throughput", "train_step", "memory", "generation", "train")


def read_rows(db: Path, profile: Profile) -> list[dict[str, Any]]:
    """This machine's rows for the profile's device, all scenarios the recommender reads, ok and failed."""
    if not db.exists():
        return []
    ident = machine_identity(profile.device)
    threads = profile.measured_threads()
    with Store(db, readonly=True) as store:
        rows = list(store.rows(device=profile.device, scenario=_SCENARIOS))
    out = []
    for row in rows:
        env, spec = row["env"], row["spec"]
        if env.get("cpu") != ident["cpu"] or (ident["gpu"] is not None and env.get("gpu") != ident["gpu"]):
            continue
        if spec.get("dtype") != SETTINGS["dtype"] or spec.get("compile") is not None:
            continue  # the probes are eager, in the suites' dtype
        if spec.get("threads") != (None if row["scenario"] == "train" else threads):
            continue  # timings at another thread count are another machine's speed
        if row["scenario"] != "train" and (spec.get("params") != profile.params
                                           or spec.get("layers") != SETTINGS["layers"]
                                           or spec.get("vocab_size") != SETTINGS["vocab_size"]):
            continue  # training on a task: the task fixes the vocabulary, and quality is compared across sizes
        row["label"] = model_label(row["model"], spec.get("options") or {})
        out.append(row)
    return out


def _at_batch(rows: list[dict[str, Any]], batch: int) -> tuple[list[dict[str, Any]], str | None]:
    """Rows at ``batch``, else at the nearest measured batch (in log terms) with a note saying so."""
    batches = {r["batch"] for r in rows if r["batch"]}
    if not batches or batch in batches:
        return [r for r in rows if r["batch"] == batch], None
    nearest = min(batches, key=lambda b: (abs(math.log(b) - math.log(batch)), b))
    return [r for r in rows if r["batch"] == nearest], f"batch {nearest} measured, not {batch}"


def _timed(row: dict[str, Any], key: str) -> Obs:
    m = row["metrics"]
    t = m.get("time") or {}
    value = m[key]
    return Obs(row["seq_len"], value, t.get("p25", value), t.get("p75", value), row["id"], _round(row))


def _round(row: dict[str, Any]) -> int:
    """The trial's round: the unit of replication of a timing (see :mod:`seqarena.recommender.estimate`)."""
    return int(row["spec"].get("round") or 0)


def _ok(rows: list[dict[str, Any]], label: str, *scenarios: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["label"] == label and r["scenario"] in scenarios and r["status"] == "ok"]


@dataclasses.dataclass
class Observations:
    """Observations per candidate for each metric, at the batch used, with notes."""

    latency: list[Obs]
    decode: list[Obs]
    decode_mode: str | None
    train_step: list[Obs]
    memory: dict[str, list[Obs]]  # kind -> peaks
    failures: dict[str, list[tuple[int, float | None, int, float | None]]]  # kind -> (n, cap MB, row, ram bytes)
    exact_batch: dict[str, bool]  # metric -> measured at the profile's batch itself
    notes: dict[str, str]  # metric -> "batch 8 measured, not 1"
    noisy: set[int]  # rows whose per-call times spread by more than 10% (IQR / median): a busy machine


def gather(rows: list[dict[str, Any]], label: str, profile: Profile) -> Observations:
    """The observations of one candidate (``label``) in ``rows``, at the profile's batch or the nearest measured."""
    notes: dict[str, str] = {}
    exact: dict[str, bool] = {}

    def batch_rows(metric: str, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
        chosen, note = _at_batch(candidates, profile.batch)
        exact[metric] = note is None and bool(chosen)
        if note:
            notes[metric] = note
        return chosen

    fwd = batch_rows("latency", _ok(rows, label, "forward_latency", "throughput"))
    latency = [_timed(r, "latency_s") for r in fwd if r["metrics"].get("latency_s")]
    steps = batch_rows("train step", _ok(rows, label, "train_step"))
    train_step = [_timed(r, "step_s") for r in steps if r["metrics"].get("step_s")]
    gen = batch_rows("decode", _ok(rows, label, "generation"))
    decode: list[Obs] = []
    mode = None
    if gen:  # the fastest mode measured (the cache or the state, not recompute)
        by_mode: dict[str, list[dict[str, Any]]] = {}
        for r in gen:
            by_mode.setdefault(r["metrics"].get("mode") or r["spec"].get("mode"), []).append(r)
        mode = min(by_mode, key=lambda k: statistics.median(r["metrics"].get("decode_ms_median") or math.inf
                                                           for r in by_mode[k]))
        for r in by_mode[mode]:
            prompt = r["spec"].get("prompt_len", PROMPT_LEN)
            for pos, ms in (r["metrics"].get("decode_ms_by_position") or {}).items():
                decode.append(Obs(prompt + int(pos), ms / 1e3, ms / 1e3, ms / 1e3, r["id"], _round(r)))
    memory: dict[str, list[Obs]] = {}
    failures: dict[str, list[tuple[int, float | None, int, float | None]]] = {}
    for kind in ("infer", "train"):
        mine = [r for r in rows if r["label"] == label and r["scenario"] == "memory"
                and r["spec"].get("kind", "train") == kind]
        ok, note = _at_batch([r for r in mine if r["status"] == "ok"], profile.batch)
        memory[kind] = []
        for r in ok:
            peak = memory_of(r["metrics"])  # the report's definition too: weights included
            if peak:
                memory[kind].append(Obs(r["seq_len"], peak, peak, peak, r["id"]))
        if note and memory[kind]:
            notes[f"{kind} memory"] = note
        # a failure at a batch >= the profile's still proves "too big" only at that batch: keep the exact batch
        failures[kind] = [(r["seq_len"], r["spec"].get("memory_cap_mb"), r["id"], r["env"].get("ram_bytes"))
                          for r in mine if r["status"] == "failed" and r["batch"] == profile.batch
                          and is_size_failure(r["failure"])]
        exact[f"{kind} memory"] = note is None and bool(ok)
    noisy = {r["id"] for r in fwd + steps if (r["metrics"].get("time") or {}).get("noisy")}
    return Observations(latency, decode, mode, train_step, memory, failures, exact, notes, noisy)


def memory_estimate(obs: list[Obs], fails: list[tuple[int, float | None, int, float | None]], n: int) -> Estimate:
    """The peak at n, raised to what a failure at a smaller-or-equal n proves: the peak exceeded that cap (or RAM)."""
    est = estimate(obs, n)
    proofs = []
    for n_f, cap_mb, row, ram in fails:
        if n_f <= n:
            bound = cap_mb * 2**20 if cap_mb is not None else (ram or math.inf)
            proofs.append((bound, n_f, cap_mb, row))
    if not proofs:
        return est
    bound, n_f, cap_mb, row = max(proofs)
    if bound <= est.low:
        return est
    what = f"the {cap_mb:g} MB cap" if cap_mb is not None else "the machine's memory"
    how = f"exceeded {what} at n={n_f:,}"
    value = est.value if est.value is not None and est.value > bound else None
    return Estimate(value, bound + 1, max(est.high, bound + 1), how, tuple(sorted({*est.rows, row})),
                    est.extrapolated)


def cite(rows: Sequence[int], limit: int = 4) -> str:
    """Store rows as a citation: 'trial #3', 'trials #1, #2, #5, #8 +2 more', 'no store rows'."""
    rows = sorted(set(rows))
    if not rows:
        return "no store rows"
    shown = ", ".join(f"#{r}" for r in rows[:limit])
    more = f" +{len(rows) - limit} more" if len(rows) > limit else ""
    return f"trial{'s' if len(rows) > 1 else ''} {shown}{more}"
