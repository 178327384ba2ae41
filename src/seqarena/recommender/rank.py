"""Rank the candidate architectures for a :class:`Profile` from this machine's measurements in the store.

The rules, in the order they apply (kept simple on purpose: every step shows up in the explanation):

1. **Data.** Only rows measured on this machine (CPU model, and GPU for cuda) on the profile's device, float32, the
   default thread count, 2 layers, vocabulary 256 and the profile's parameter budget. The profile's batch is used
   where measured, else the nearest batch (said so in the notes).
2. **Predictions at n** (see :mod:`seqarena.recommender.estimate`): forward latency (``forward_latency`` and
   ``throughput`` rows), per-token decode time at context n in the model's fastest generation mode (``generation``
   rows; used instead of the forward when the profile streams), training step time (``train_step``) and peak memory
   of an inference forward and of a training step (``memory`` rows, ``kind`` infer / train). Memory is the whole
   trial's peak RSS above the worker's baseline before the model was built: the number a cap is enforced on. A
   trial that failed a memory cap at some n <= the profile's n, with a cap >= the profile's, proves the model too
   big; a success at some n >= the profile's proves it fits.
3. **Hard constraints.** The latency budget (on the forward, or per token when streaming) and the memory cap (on
   the inference forward; on a training step too with ``cap_scope="both"``, when the model also trains on the
   capped device) each read yes (the whole interval fits), no
   (none of it does) or uncertain. Models that fit everything rank first, then uncertain ones, then those that break
   a constraint. When every candidate breaks one, the profile is impossible here: a one-line :class:`SpecError`.
4. **Priority** within each group: latency-critical profiles (a latency budget, or streaming at batch 1) rank by
   predicted latency; the others by predicted training step time (the forward latency stands in, said so, when the
   store has no training steps). The score is that cost relative to the best candidate's.
5. **Data size.** The essay: with fewer than 10,000 training sequences RNNs can match or beat transformers; with
   plenty of data transformers win. When the store holds ``train`` rows of several candidates trained on a similar
   amount of data (a quarter to 4x the profile's), the best validation metric there is the evidence; otherwise the
   essay's rule is applied as a stated prior, not a measurement. The favoured family's score is multiplied by 0.8 on
   training-priority profiles, by 0.95 (a tie-break within 5%) on latency-critical ones.

When the store cannot answer (no rows for a candidate, or the profile's n is far outside what was measured, or the
memory verdict is uncertain), a short targeted probe runs first (``probe=True``): forward latency or training steps
at n/2, n and 2n (capped at 4,096 / 2,048 tokens per call: longer ones are extrapolated, at most 16x), decode at
the profile's context (up to 512 generated tokens), and memory at n itself with the profile's cap set, so a model
that would blow the cap fails fast instead of swapping. Probe trials go to the store like any other, so a second call
reuses them. The probe times with torch's default thread count, like every stored row: on a machine busy with other
work the timings are noisy (flagged in the caveat line), and on a 2-core box an oversubscribed RNN step can run
100x slower.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from seqarena.analysis.labels import fmt_estimate, fmt_mb, fmt_ms, model_label
from seqarena.bench.spec import machine_identity
from seqarena.essay import DEFAULT_CANDIDATES, LITTLE_DATA
from seqarena.models import SpecError, get_class, parse_model_string
from seqarena.recommender.estimate import NO_DATA, Estimate, Obs, estimate
from seqarena.recommender.profile import Profile, make_profile
from seqarena.run.failures import is_size_failure
from seqarena.run.sweep import SweepSummary, expand, run_sweep
from seqarena.store import DEFAULT_DB, Store

#: Score multipliers for the family the data-size evidence favours (lower score ranks first).
FAVOUR = {"training": 0.8, "latency": 0.95}
RECURRENT = frozenset({"elman", "lstm", "gru", "min_gru", "min_lstm", "ssm"})
ATTENTION = frozenset({"transformer", "transformer_xl", "local", "linformer", "performer", "linear_attention"})

#: Settings every row used must share (the store's usual ones; the profile sets device and params).
SETTINGS = {"dtype": "float32", "layers": 2, "vocab_size": 256, "threads": None}

# probe sizes: tokens per call (n x batch) beyond which a point is extrapolated instead of measured
LATENCY_MAX_TOKENS = 4096
TRAIN_MAX_TOKENS = 2048
DECODE_MAX_TOKENS = 512
PROBE = {"repeats": 5, "min_seconds": 0.2, "warmup": 1, "rounds": 1}
PROBE_TIMEOUT_S = 120.0
PROMPT_LEN = 16  # the generation scenario's default prompt


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A model string as given (``transformer:positions=alibi``), its registry name and spec options."""

    label: str
    name: str
    options: dict[str, Any]


def candidate(text: str) -> Candidate:
    """Parse and validate a candidate model string; one-line SpecError when unknown."""
    name, options = parse_model_string(text.strip())
    get_class(name)
    return Candidate(model_label(name, options), name, options)


def family(name: str) -> str | None:
    return "rnn" if name in RECURRENT else "attention" if name in ATTENTION else None


@dataclasses.dataclass
class Ranked:
    """One candidate's predictions at the profile's (n, batch), its verdicts against the constraints, and score."""

    model: str
    latency: Estimate  # seconds: one forward at (n, batch), or one generated token at context n when streaming
    train_step: Estimate  # seconds per training step at (n, batch)
    infer_peak: Estimate  # bytes above the baseline: inference forward
    train_peak: Estimate  # bytes above the baseline: training step
    fits_latency: str  # yes | no | uncertain | n/a (no budget)
    fits_memory: str  # yes | no | uncertain | n/a (no cap)
    cost: Estimate  # the priority metric (latency, or training step time)
    score: float  # cost relative to the best candidate, times the data factor; lower ranks first
    favoured: bool  # by the data-size evidence or prior
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def feasible(self) -> str:
        verdicts = {self.fits_latency, self.fits_memory}
        return "no" if "no" in verdicts else "uncertain" if "uncertain" in verdicts else "yes"

    @property
    def rows(self) -> set[int]:
        return {r for e in (self.latency, self.train_step, self.infer_peak, self.train_peak) for r in e.rows}


@dataclasses.dataclass
class Recommendation:
    """The ranking (best first), the top choice, 3-5 lines explaining it and the store rows behind it."""

    profile: Profile
    ranking: list[Ranked]
    top: str
    lines: list[str]
    rows_used: list[int]
    priority: str  # "latency" or "training"
    cost_metric: str  # what the score ranks: "forward latency", "decode per token", "training step"
    data_evidence: str
    probed: SweepSummary | None  # what the probe did (None: no probe ran)
    db: str

    def table(self) -> pd.DataFrame:
        """The ranking as numbers: predictions (value, low, high) in ms and MB, verdicts and score."""
        rows = []
        for i, r in enumerate(self.ranking, 1):
            row: dict[str, Any] = {"rank": i, "model": r.model}
            for name, est, scale in (("latency_ms", r.latency, 1e3), ("train_step_ms", r.train_step, 1e3),
                                     ("infer_peak_mb", r.infer_peak, 2**-20), ("train_peak_mb", r.train_peak, 2**-20)):
                row[name] = None if est.value is None else est.value * scale
                row[f"{name}_low"] = est.low * scale
                row[f"{name}_high"] = est.high * scale
            row.update(fits_latency=r.fits_latency, fits_memory=r.fits_memory, score=r.score, favoured=r.favoured)
            rows.append(row)
        return pd.DataFrame(rows)


# --- reading the store --------------------------------------------------------------------------------------------

_SCENARIOS = ("forward_latency", "throughput", "train_step", "memory", "generation", "train")


def _rows(db: Path, profile: Profile) -> list[dict[str, Any]]:
    """This machine's rows for the profile's device, all scenarios the recommender reads, ok and failed."""
    if not db.exists():
        return []
    ident = machine_identity(profile.device)
    with Store(db, readonly=True) as store:
        rows = list(store.rows(device=profile.device, scenario=_SCENARIOS))
    out = []
    for row in rows:
        env, spec = row["env"], row["spec"]
        if env.get("cpu") != ident["cpu"] or (ident["gpu"] is not None and env.get("gpu") != ident["gpu"]):
            continue
        if spec.get("dtype") != "float32" or spec.get("threads") is not None:
            continue
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
    return Obs(row["seq_len"], value, t.get("p25", value), t.get("p75", value), row["id"])


def _ok(rows: list[dict[str, Any]], label: str, *scenarios: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["label"] == label and r["scenario"] in scenarios and r["status"] == "ok"]


@dataclasses.dataclass
class _Data:
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


def _gather(rows: list[dict[str, Any]], label: str, profile: Profile) -> _Data:
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
                decode.append(Obs(prompt + int(pos), ms / 1e3, ms / 1e3, ms / 1e3, r["id"]))
    memory: dict[str, list[Obs]] = {}
    failures: dict[str, list[tuple[int, float | None, int, float | None]]] = {}
    for kind in ("infer", "train"):
        mine = [r for r in rows if r["label"] == label and r["scenario"] == "memory"
                and r["spec"].get("kind", "train") == kind]
        ok, note = _at_batch([r for r in mine if r["status"] == "ok"], profile.batch)
        memory[kind] = []
        for r in ok:
            peak = r["metrics"].get("trial_peak_bytes") or r["metrics"].get("peak_bytes")
            if peak:
                memory[kind].append(Obs(r["seq_len"], peak, peak, peak, r["id"]))
        if note and memory[kind]:
            notes[f"{kind} memory"] = note
        # a failure at a batch >= the profile's still proves "too big" only at that batch: keep the exact batch
        failures[kind] = [(r["seq_len"], r["spec"].get("memory_cap_mb"), r["id"], r["env"].get("ram_bytes"))
                          for r in mine if r["status"] == "failed" and r["batch"] == profile.batch
                          and is_size_failure(r["reason"])]
        exact[f"{kind} memory"] = note is None and bool(ok)
    noisy = {r["id"] for r in fwd + steps if (r["metrics"].get("time") or {}).get("noisy")}
    return _Data(latency, decode, mode, train_step, memory, failures, exact, notes, noisy)


def _memory_estimate(obs: list[Obs], fails: list[tuple[int, float | None, int, float | None]], n: int) -> Estimate:
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


def _covered(obs: list[Obs], n: int, exact_batch: bool, max_n: int) -> bool:
    """Whether the data answer at n without a probe: measured at this batch, and n inside the measured range, or
    within 2x beyond it with a fit of 3+ lengths, or beyond what a probe would measure anyway."""
    ns = sorted({o.n for o in obs})
    if not ns or not exact_batch:
        return False
    if ns[0] <= n <= ns[-1]:
        return True
    if len(ns) >= 3 and ns[0] / 2 <= n <= 2 * ns[-1]:
        return True
    return n > ns[-1] and ns[-1] >= max_n


def _grid(n: int, max_n: int) -> list[int]:
    """n/2, n, 2n where they fit under ``max_n``; otherwise the top of what fits: max_n/4, max_n/2, max_n."""
    max_n = max(2, max_n)
    points = [p for p in (max(1, n // 2), n, 2 * n) if p <= max_n]
    if len(set(points)) < 3:
        points = [max(1, max_n // 4), max(1, max_n // 2), max_n] + ([n] if n <= max_n else [])
    return sorted(set(points))


# --- data size ----------------------------------------------------------------------------------------------------

def _data_evidence(rows: list[dict[str, Any]], cands: Sequence[Candidate], k: int) -> tuple[set[str], str, set[int]]:
    """Which candidates the data size favours: measured quality where the store has it, else the essay's prior."""
    labels = {c.label for c in cands}
    by_task: dict[str, dict[str, list[tuple[float, int, bool, str, int]]]] = {}
    for r in rows:
        m = r["metrics"]
        if r["scenario"] != "train" or r["status"] != "ok" or r["label"] not in labels:
            continue
        task = m.get("task") or {}
        size = (task.get("sizes") or {}).get("train")
        if m.get("val_metric") is None or not size or not k / 4 <= size <= 4 * k:
            continue
        key = json.dumps([task.get("task"), task.get("params")], sort_keys=True, default=str)
        by_task.setdefault(key, {}).setdefault(r["label"], []).append(
            (m["val_metric"], r["id"], task.get("higher_is_better", True), m.get("metric", "metric"), size))
    wins: dict[str, int] = {}
    evidence = []
    used: set[int] = set()
    for key, per in by_task.items():
        if len(per) < 2:
            continue
        higher = next(iter(per.values()))[0][2]
        med = {label: statistics.median(v[0] for v in vals) for label, vals in per.items()}
        best = (max if higher else min)(med, key=med.get)
        wins[best] = wins.get(best, 0) + 1
        used |= {v[1] for vals in per.values() for v in vals}
        metric, size = next(iter(per.values()))[0][3], next(iter(per.values()))[0][4]
        others = ", ".join(f"{label} {med[label]:.3f}" for label in sorted(med) if label != best)
        rows_cited = _cite(sorted({v[1] for vals in per.values() for v in vals}))
        evidence.append(f"{json.loads(key)[0]} with {size:,} training sequences: {best} val {metric} "
                        f"{med[best]:.3f} vs {others} ({rows_cited})")
    if wins:
        top = max(wins.values())
        favoured = {label for label, w in wins.items() if w == top}
        return favoured, "data (measured): " + "; ".join(evidence[:2]), used
    cls = {c.label: family(c.name) for c in cands}
    if k < LITTLE_DATA:
        favoured = {label for label, f in cls.items() if f == "rnn"}
        line = (f"data (prior, not a measurement here): {k:,} training sequences < {LITTLE_DATA:,}, where the essay "
                "says RNNs can match or beat transformers")
    else:
        favoured = {label for label, f in cls.items() if f == "attention"}
        line = (f"data (prior, not a measurement here): {k:,} training sequences >= {LITTLE_DATA:,}, where the "
                "essay says transformers win with plenty of data")
    return favoured, line, set()


# --- formatting ---------------------------------------------------------------------------------------------------

def _cite(rows: Sequence[int], limit: int = 4) -> str:
    rows = sorted(set(rows))
    if not rows:
        return "no store rows"
    shown = ", ".join(f"#{r}" for r in rows[:limit])
    more = f" +{len(rows) - limit} more" if len(rows) > limit else ""
    return f"trial{'s' if len(rows) > 1 else ''} {shown}{more}"


# --- the recommendation -------------------------------------------------------------------------------------------

def recommend(
    profile: Profile | dict[str, Any] | None = None,
    db: Path | str = DEFAULT_DB,
    *,
    probe: bool = True,
    candidates: Sequence[str] = DEFAULT_CANDIDATES,
    on_start: Callable | None = None,
    on_done: Callable | None = None,
    **fields: Any,
) -> Recommendation:
    """Rank ``candidates`` for ``profile`` from the store at ``db``, probing first where the store cannot answer.

    Args:
        profile: a :class:`Profile`, a dict of its fields, or None with the fields as keyword arguments
            (``recommend(seq_len=50, train_sequences=5000, latency_budget_ms=5)``).
        probe: measure what is missing (a short sweep stored in ``db``); False makes missing data a SpecError.
        candidates: model strings, ``name[:field=value,...]``.
        on_start, on_done: progress callbacks passed to :func:`seqarena.run.run_sweep` for the probe.

    Raises:
        SpecError: a malformed or impossible profile, unknown candidates, or (``probe=False``) no data.
    """
    profile = make_profile(profile, **fields)
    cands = [candidate(c) for c in candidates]
    cands = list({c.label: c for c in cands}.values())
    if not cands:
        raise SpecError("no candidate models given")
    db = Path(db)
    if not probe and not db.exists():
        raise SpecError(f"no results store at {db}; run without --no-probe (probe=False) to measure the profile")
    rows = _rows(db, profile)
    data = {c.label: _gather(rows, c.label, profile) for c in cands}
    needs = _needs(profile, data)
    summary = None
    if needs and probe:
        summary = _probe(profile, cands, db, needs, on_start, on_done)
        rows = _rows(db, profile)
        data = {c.label: _gather(rows, c.label, profile) for c in cands}
    return _rank(profile, cands, rows, data, db, summary)


def _needs(profile: Profile, data: dict[str, _Data]) -> list[str]:
    """Which metrics a probe should measure: the priority metric, and memory when the cap's verdict is open."""
    n, b = profile.seq_len, profile.batch
    needs = []
    for d in data.values():
        if profile.latency_critical and profile.streaming:
            if not _covered(d.decode, n, d.exact_batch["decode"], PROMPT_LEN + DECODE_MAX_TOKENS):
                needs.append("decode")
        elif profile.latency_critical:
            if not _covered(d.latency, n, d.exact_batch["latency"], LATENCY_MAX_TOKENS // b):
                needs.append("latency")
        elif not _covered(d.train_step, n, d.exact_batch["train step"], TRAIN_MAX_TOKENS // b):
            needs.append("train")
        if profile.memory_cap_mb is not None:
            cap = profile.memory_cap_mb * 2**20
            for kind in ("infer", "train"):
                if _memory_estimate(d.memory[kind], d.failures[kind], n).within(cap) == "uncertain":
                    needs.append("memory")
    return sorted(set(needs))


def _probe(profile: Profile, cands: Sequence[Candidate], db: Path, needs: Sequence[str],
           on_start: Callable | None, on_done: Callable | None) -> SweepSummary:
    """A short targeted sweep over every candidate (fair: the same points for all), stored like any trial."""
    n, b = profile.seq_len, profile.batch
    models = [c.label for c in cands]
    common = {"params": profile.params, "device": profile.device, "seed": 0}
    timing = {k: v for k, v in PROBE.items() if k != "rounds"}
    trials = []
    if "latency" in needs:
        trials += [t for t in expand("forward_latency", models, seq_lens=_grid(n, LATENCY_MAX_TOKENS // b), batch=b,
                                     rounds=PROBE["rounds"], **timing, **common) if t.batch == b]
    if "train" in needs:
        trials += expand("train_step", models, seq_lens=_grid(n, TRAIN_MAX_TOKENS // b), batch=b,
                         rounds=PROBE["rounds"], **{**timing, "repeats": 3}, **common)
    if "decode" in needs:
        tokens = min(max(n - PROMPT_LEN, 32), DECODE_MAX_TOKENS)
        best = {c.name: get_class(c.name).generation_modes[-1] if get_class(c.name).generation_modes else None
                for c in cands}
        trials += [t for t in expand("generation", [c.label for c in cands if best[c.name]], tokens=tokens,
                                     prompt_len=PROMPT_LEN, batch=b, repeats=2, **common)
                   if t.mode == best[t.model]]
    if "memory" in needs:
        trials += expand("memory", models, seq_lens=[n], batch=b, memory_cap_mb=profile.memory_cap_mb, **common)
    with Store(db) as store:
        return run_sweep(trials, store, sweep="recommend-probe", timeout_s=PROBE_TIMEOUT_S, on_start=on_start,
                         on_done=on_done)


def _rank(profile: Profile, cands: Sequence[Candidate], rows: list[dict[str, Any]], data: dict[str, _Data],
          db: Path, summary: SweepSummary | None) -> Recommendation:
    n = profile.seq_len
    priority = "latency" if profile.latency_critical else "training"
    ranked: list[Ranked] = []
    for c in cands:
        d = data[c.label]
        latency = estimate(d.decode if profile.streaming else d.latency, n)
        train_step = estimate(d.train_step, n)
        infer_peak = _memory_estimate(d.memory["infer"], d.failures["infer"], n)
        train_peak = _memory_estimate(d.memory["train"], d.failures["train"], n)
        fits_latency = "n/a" if profile.latency_budget_ms is None else latency.within(profile.latency_budget_ms / 1e3)
        fits_memory = "n/a"
        if profile.memory_cap_mb is not None:
            cap = profile.memory_cap_mb * 2**20
            verdicts = {infer_peak.within(cap)}
            if profile.cap_scope == "both":
                verdicts.add(train_peak.within(cap))
            fits_memory = "no" if "no" in verdicts else "uncertain" if "uncertain" in verdicts else "yes"
        ranked.append(Ranked(c.label, latency, train_step, infer_peak, train_peak, fits_latency, fits_memory,
                             cost=NO_DATA, score=math.inf, favoured=False))
    # the cost the score ranks: latency, or training step time (the forward stands in when no steps are stored)
    if priority == "latency":
        cost_metric, key = ("decode per token", "decode") if profile.streaming else ("forward latency", "latency")
        for r in ranked:
            r.cost = r.latency
    elif any(r.train_step.value is not None for r in ranked):
        cost_metric, key = "training step", "train step"
        for r in ranked:
            r.cost = r.train_step
    else:
        cost_metric, key = "forward latency (no training steps stored: a proxy for training time)", "latency"
        for r in ranked:
            r.cost = r.latency
    relevant = {key} | ({"infer memory", "train memory"} if profile.memory_cap_mb is not None else set())
    for r in ranked:
        r.notes = [f"{metric}: {note}" for metric, note in data[r.model].notes.items() if metric in relevant]
    if not any(r.cost.known for r in ranked) and all(r.feasible != "no" for r in ranked):
        ident = machine_identity(profile.device)
        missing = (f"the store {db} has no {cost_metric.split(' (')[0]} measurements near n={profile.seq_len:,}, "
                   f"batch {profile.batch} for {', '.join(c.label for c in cands)} on {profile.device} "
                   f"({ident['cpu']}) at {profile.params:,} params")
        if summary is None:
            raise SpecError(f"{missing}; allow the probe (drop --no-probe) to measure them")
        why = "; ".join(f"{label}: {reason}" for label, reason in summary.failures[:2])
        raise SpecError(f"{missing}: the probe could not measure them ({why or 'nothing ran'})")
    favoured, evidence, evidence_rows = _data_evidence(rows, cands, profile.train_sequences)
    best = min((r.cost.value for r in ranked if r.cost.value is not None), default=None)
    for r in ranked:
        r.favoured = r.model in favoured
        if r.cost.value is not None and best:
            r.score = r.cost.value / best * (FAVOUR[priority] if r.favoured else 1.0)
    order = {"yes": 0, "uncertain": 1, "no": 2}
    ranked.sort(key=lambda r: (order[r.feasible], r.score, r.model))
    if all(r.feasible == "no" for r in ranked):
        raise SpecError(_impossible(profile, ranked))
    rows_used = sorted(set().union(*(r.rows for r in ranked)) | evidence_rows)
    lines = _explain(profile, ranked, data, priority, cost_metric, evidence, summary)
    return Recommendation(profile, ranked, ranked[0].model, lines, rows_used, priority, cost_metric, evidence,
                          summary, str(db))


def _why_not(r: Ranked, profile: Profile, *, latency: bool = True) -> str:
    """What breaks (or may break) a constraint for r, with the numbers and rows."""
    parts = []
    if latency and r.fits_latency in ("no", "uncertain"):
        verb = "is over" if r.fits_latency == "no" else "may exceed"
        parts.append(f"{verb} the {profile.latency_budget_ms:g} ms budget at {fmt_estimate(r.latency, fmt_ms)} "
                     f"({_cite(r.latency.rows)})")
    cap = (profile.memory_cap_mb or 0) * 2**20
    scoped = [("inference", r.infer_peak)]
    if profile.cap_scope == "both":
        scoped.append(("a training step", r.train_peak))
    for what, est in scoped:
        verdict = est.within(cap) if profile.memory_cap_mb is not None else "n/a"
        if verdict in ("no", "uncertain"):
            verb = "exceeds" if verdict == "no" else "may exceed"
            if not est.known:
                parts.append(f"is unmeasured against the {profile.memory_cap_mb:g} MB cap in {what}")
                continue
            detail = est.how if est.how.startswith("exceeded") else f"{fmt_estimate(est, fmt_mb)}, {est.how}"
            parts.append(f"{verb} the {profile.memory_cap_mb:g} MB cap in {what} ({detail}; {_cite(est.rows)})")
    return "; ".join(parts)


def _impossible(profile: Profile, ranked: list[Ranked]) -> str:
    best = ranked[0]
    return (f"no candidate fits this profile on this machine ({profile.describe()}): best is {best.model}, which "
            f"{_why_not(best, profile)}")


def _explain(profile: Profile, ranked: list[Ranked], data: dict[str, _Data], priority: str, cost_metric: str,
             evidence: str, summary: SweepSummary | None) -> list[str]:
    """3-5 lines: the choice and its number; memory under the cap; the others and why they rank below; data size;
    a caveat (extrapolation, nearest batch, the probe) when there is one."""
    n, b = profile.seq_len, profile.batch
    top = ranked[0]
    metric = cost_metric.split(" (")[0]
    at = f"n={n:,}" + (" context" if profile.streaming else "") + f", batch {b}"
    first = f"{top.model}: {metric} {fmt_estimate(top.cost, fmt_ms)} at {at} ({top.cost.how}; {_cite(top.cost.rows)})"
    if profile.latency_budget_ms is not None:
        first += {"yes": f", within the {profile.latency_budget_ms:g} ms budget",
                  "uncertain": f", its interval straddles the {profile.latency_budget_ms:g} ms budget",
                  "no": f", over the {profile.latency_budget_ms:g} ms budget"}[top.fits_latency]
    if top.fits_memory == "uncertain":
        first += f" (not certain to fit: {_why_not(top, profile, latency=False)})"
    lines = [first]
    if profile.memory_cap_mb is not None and not (top.infer_peak.known or top.train_peak.known):
        lines.append(f"memory under the {profile.memory_cap_mb:g} MB cap: no measurement for {top.model}")
    elif profile.memory_cap_mb is not None:
        lines.append(f"memory under the {profile.memory_cap_mb:g} MB cap: {top.model} peaks at "
                     f"{fmt_estimate(top.infer_peak, fmt_mb)} in inference ({top.infer_peak.how}) and "
                     f"{fmt_estimate(top.train_peak, fmt_mb)} in a training step ({top.train_peak.how}; "
                     f"{_cite(set(top.infer_peak.rows) | set(top.train_peak.rows))})")
    others = []
    feasible_others = [r for r in ranked[1:] if r.feasible != "no"]
    if feasible_others:
        r2 = feasible_others[0]
        if r2.cost.value is not None and top.cost.value is not None:
            ratio = r2.cost.value / top.cost.value
            verdict = (f"{top.model} is {ratio:.2f}x faster" if ratio >= 1
                       else f"{r2.model} is {1 / ratio:.2f}x faster, {top.model} wins on the data-size factor")
        else:
            verdict = "no prediction for it"
        others.append(f"next: {r2.model} {fmt_estimate(r2.cost, fmt_ms)} ({r2.cost.how}; {_cite(r2.cost.rows)}): "
                      f"{verdict}")
    for r in [r for r in ranked[1:] if r.feasible == "no"][:2]:
        others.append(f"{r.model} ranks below: it {_why_not(r, profile)}")
    unknown = [r.model for r in ranked[1:] if not r.cost.known]
    if unknown:
        others.append(f"no {metric} data for {', '.join(unknown)}")
    if others:
        lines.append("; ".join(others))
    use = f"score x{FAVOUR[priority]:g} for {', '.join(r.model for r in ranked if r.favoured) or 'no candidate'}"
    lines.append(f"{evidence}: {use}")
    caveats = []
    extrapolated = [r.model for r in ranked[:2] if r.cost.extrapolated]
    if extrapolated:
        caveats.append(f"{metric} of {', '.join(extrapolated)} extrapolated beyond the measured lengths "
                       "(interval widened by the slope's 95% CI)")
    if "proxy" in cost_metric:
        caveats.append("no training steps stored: forward latency ranks as a proxy for training time")
    caveats += [f"{r.model} {note}" for r in ranked[:2] for note in r.notes]
    noisy = sorted({row for r in ranked[:2] for row in r.cost.rows if row in data[r.model].noisy})
    if noisy:
        caveats.append(f"noisy timings (IQR > 10% of the median: was the machine busy?) in {_cite(noisy)}")
    if summary is not None:
        caveats.append(f"the probe ran {summary.ok + summary.failed} new trials ({summary.failed} failed), "
                       f"{summary.skipped} already stored")
    if caveats:
        lines.append("caveat: " + "; ".join(caveats))
    if len(lines) < 3:
        lines.append(f"measured on this machine: {profile.device}, {profile.params:,} parameters x 2 layers, float32")
    return lines[:5]
