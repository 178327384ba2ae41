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
5. **Data size** (:mod:`seqarena.recommender.data_size`): measured quality near the profile's data size, else this
   machine's verdict on claim 9 (the essay's "fewer than 10,000 training sequences" rule; refuted here: no factor),
   else the essay's rule as a stated prior. The favoured family's score is multiplied by 0.8 on training-priority
   profiles, by 0.95 on latency-critical ones: the factor reorders contenders within 20% (5%) of each other, never a
   measured gap larger than that, and the explanation says when it decided the ranking.
6. **How decisive** (:mod:`seqarena.recommender.compare`): the top choice against the next is a ratio paired by
   round with a t-interval over rounds; an interval that does not exclude "equal within +-5%" is said as a tie (too
   close to call), ordered by the next criterion, which the explanation names; one round is no interval, and its
   lead is said as unreplicated, never as a decisive win.

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

import contextlib
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from seqarena.bench.spec import machine_identity
from seqarena.errors import SpecError
from seqarena.essay import DEFAULT_CANDIDATES
from seqarena.recommender.candidates import Candidate, candidate
from seqarena.recommender.compare import Comparison, compare
from seqarena.recommender.data_size import data_evidence
from seqarena.recommender.estimate import NO_DATA, Obs, estimate
from seqarena.recommender.explain import explain, impossible
from seqarena.recommender.observe import Observations, gather, memory_estimate, read_rows
from seqarena.recommender.probe import probe_needs, run_probe
from seqarena.recommender.profile import Profile, make_profile
from seqarena.recommender.result import Ranked, Recommendation
from seqarena.run.sweep import SweepSummary
from seqarena.store import DEFAULT_DB, Store, StoreError

__all__ = ["Ranked", "Recommendation", "recommend"]


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
    rows = read_rows(db, profile)
    data = {c.label: gather(rows, c.label, profile) for c in cands}
    needs = probe_needs(profile, data)
    summary = None
    if needs and probe:
        summary = run_probe(profile, cands, db, needs, on_start, on_done)
        rows = read_rows(db, profile)
        data = {c.label: gather(rows, c.label, profile) for c in cands}
    return _rank(profile, cands, rows, data, db, summary)


def _rank(profile: Profile, cands: Sequence[Candidate], rows: list[dict[str, Any]], data: dict[str, Observations],
          db: Path, summary: SweepSummary | None) -> Recommendation:
    n = profile.seq_len
    priority = "latency" if profile.latency_critical else "training"
    ranked: list[Ranked] = []
    for c in cands:
        d = data[c.label]
        latency = estimate(d.decode if profile.streaming else d.latency, n)
        train_step = estimate(d.train_step, n)
        infer_peak = memory_estimate(d.memory["infer"], d.failures["infer"], n)
        train_peak = memory_estimate(d.memory["train"], d.failures["train"], n)
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
    evidence = data_evidence(rows, cands, profile.train_sequences, priority, db=db, device=profile.device)
    best = min((r.cost.value for r in ranked if r.cost.value is not None), default=None)
    for r in ranked:
        r.favoured = r.model in evidence.favoured
        if r.cost.value is not None and best:
            # a multiplier, so the favoured overtake only contenders within the factor's effect of their own cost
            r.score = r.cost.value / best * (evidence.factor if r.favoured else 1.0)
    order = {"yes": 0, "uncertain": 1, "no": 2}
    # equal scores (a gap exactly the factor's effect): the favoured first, the factor breaks ties within its effect
    ranked.sort(key=lambda r: (order[r.feasible], r.score, not r.favoured, r.model))
    if all(r.feasible == "no" for r in ranked):
        raise SpecError(impossible(profile, ranked))
    cost_obs = {c.label: _cost_obs(data[c.label], key) for c in cands}
    rival, comparison, decided_by = _decision(ranked, cost_obs, n)
    rows_used = sorted(set().union(*(r.rows for r in ranked)) | evidence.rows)
    lines = explain(profile, ranked, data, cost_metric, evidence, summary, rival, comparison, decided_by)
    rec = Recommendation(profile, ranked, ranked[0].model, lines, rows_used, priority, cost_metric, evidence.line,
                         summary, str(db), decided_by, comparison, evidence)
    _remember(rec, db)
    return rec


def _remember(rec: Recommendation, db: Path | str) -> None:
    """Keep the recommendation in the store it was made from, for a report built later from the store alone; a
    store that cannot be written now (read-only, another run writing it) keeps none, and the answer stands."""
    if not Path(db).exists():  # recommended from nothing stored: no store is made for it
        return
    with contextlib.suppress(StoreError), Store(db) as store:
        store.add_recommendation(f"{rec.profile.describe()}: {rec.top}", rec.lines,
                                 rec.profile.model_dump(mode="json"), rec.rows_used)


def _cost_obs(d: Observations, key: str) -> list[Obs]:
    """The observations behind the cost metric named ``key`` ("latency", "decode" or "train step")."""
    return {"latency": d.latency, "decode": d.decode, "train step": d.train_step}[key]


def _decision(ranked: list[Ranked], cost_obs: dict[str, list[Obs]], n: float
              ) -> tuple[Ranked | None, Comparison | None, str]:
    """The candidate the top choice is explained against, their comparison, and what put the top first:

    - "constraints": the rival fits the constraints less surely (it ranks in a lower feasibility group);
    - "data size": the top is slower than the rival on the cost, and the data-size factor lifted it;
    - "tie": too close to call, ordered by the point estimate; "unreplicated": ahead on one round;
    - "measured": ahead with the interval clear of equal within +-5%; "no prediction": the rival has no cost.

    The rival is the fastest other candidate of the top's feasibility group when it is faster than the top (the one
    a data-size factor overtook), else the next candidate that may fit.
    """
    top = ranked[0]
    peers = [r for r in ranked[1:] if r.feasible == top.feasible and r.cost.value is not None]
    fastest = min(peers, key=lambda r: r.cost.value, default=None)
    if fastest is not None and top.cost.value is not None and fastest.cost.value < top.cost.value:
        rival: Ranked | None = fastest
    else:
        rival = next((r for r in ranked[1:] if r.feasible != "no"), None)
    if rival is None:  # every other candidate breaks a constraint
        return None, None, "constraints" if len(ranked) > 1 else "only candidate"
    comparison = compare(top.model, cost_obs[top.model], top.cost, rival.model, cost_obs[rival.model], rival.cost, n)
    if rival.feasible != top.feasible:
        return rival, comparison, "constraints"
    if comparison is None:
        return rival, None, "no prediction"
    if rival.cost.value < top.cost.value:  # same group, slower, yet first: only the data-size factor does that
        return rival, comparison, "data size"
    return rival, comparison, {"tie": "tie", "unreplicated": "unreplicated"}.get(comparison.status, "measured")
