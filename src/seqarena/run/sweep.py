"""Sweeps: expand a scenario over models and points into trials, run them in workers, store each as it finishes.

Order: round by round; inside a round, points in ascending size, and within each point the contenders in a freshly
shuffled (seeded) order, so slow drift of the machine (thermal, background load) hits every model alike instead of
favouring whoever ran first, and the rounds of a point are independent replications.
Resume: trials whose spec hash is already in the store are skipped. Memory sweeps stop growing n for a model once a
smaller n failed (cap or OOM): a larger one can only fail too.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from seqarena._process import refuse_in_script_reimport
from seqarena.bench.spec import TrialSpec, make_trial
from seqarena.errors import Interrupted, SpecError
from seqarena.models import get_class, parse_model_string, solve_budget
from seqarena.run.bookkeeping import SweepRun, SweepSummary
from seqarena.run.executors import Executor, current_executor
from seqarena.run.worker import TrialResult
from seqarena.store.sqlite import Store

THROUGHPUT_BATCHES = (1, 2, 4, 8, 16, 32, 64)


def parse_models(text: str | Sequence[str]) -> list[str]:
    """Split ``lstm,transformer:positions=alibi,d_ff=256`` into model strings: a comma item holding ``=`` but no
    ``:`` continues the previous model's field list."""
    items = [text] if isinstance(text, str) else list(text)
    out: list[str] = []
    for item in items:
        for part in (p.strip() for p in item.split(",")):
            if not part:
                continue
            if "=" in part and ":" not in part and out:
                out[-1] = f"{out[-1]},{part}"
            else:
                out.append(part)
    if not out:
        raise SpecError("no models given")
    return out


def check_model(text: str, params: int | None, **fields: Any) -> tuple[str, dict[str, Any]]:
    """Validate a model string, with the trial's other model ``fields`` (layers, vocabulary, a task's head) and its
    parameter budget, before any worker starts; one-line SpecError otherwise. The model string's own fields win,
    as they do when the worker builds the model."""
    name, options = parse_model_string(text)
    fields = {**fields, **options}
    if params is not None:
        solve_budget(name, params, **fields)
    else:
        from seqarena.models import make_spec

        make_spec(name, **fields)
    return name, options


def _check_model(text: str, common: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """:func:`check_model` with a sweep's common settings (vocabulary 256 and 2 layers unless given)."""
    return check_model(text, common.get("params"), vocab_size=common.get("vocab_size", 256),
                       layers=common.get("layers", 2))


def expand(
    scenario: str,
    models: Sequence[str],
    *,
    seq_lens: Sequence[int] = (256,),
    batches: Sequence[int] | None = None,
    batch: int | None = None,
    params: int | Sequence[int] | None = 1_000_000,
    rounds: int = 1,
    seed: int = 0,
    **common: Any,
) -> list[TrialSpec]:
    """The trials of one sweep, in run order.

    Each point (n, batch, params, ...) is measured ``rounds`` times; each round runs every contender once, in a
    freshly shuffled order, so the contenders' measurements interleave in time and drift of the machine hits all of
    them alike. Analysis pools the rounds (their medians are repeated measurements of the same point).

    - ``forward_latency``: every n at batch 1 and at ``batch`` (default 8).
    - ``throughput``: ``batches`` (default 1 ... 64) at each n (default 256).
    - ``train_step``: every n at ``batch`` (default 8).
    - ``generation``: every generation mode of each model at ``batch`` (default 1), ``tokens`` tokens.
    - ``memory``: every n, training and inference, at ``batch`` (default 1).
    """
    budgets: list[int | None] = [params] if params is None or isinstance(params, int) else sorted(set(params))
    if rounds < 1:
        raise SpecError(f"rounds must be >= 1, got {rounds}")
    parsed = [_check_model(text, {**common, "params": p}) for text in parse_models(models) for p in budgets]
    parsed = list(dict.fromkeys((name, tuple(sorted(opts.items()))) for name, opts in parsed))
    if any(n < 1 for n in seq_lens) or any(b < 1 for b in (batches or [])) or (batch is not None and batch < 1):
        raise SpecError("sequence lengths and batches must be >= 1")
    points: list[dict[str, Any]] = []
    if scenario == "forward_latency":
        bs = sorted({1, batch or 8})
        points = [{"seq_len": n, "batch": b} for n in sorted(set(seq_lens)) for b in bs]
    elif scenario == "throughput":
        bs = sorted(set(batches or THROUGHPUT_BATCHES))
        points = [{"seq_len": n, "batch": b} for n in sorted(set(seq_lens)) for b in bs]
    elif scenario in ("train_step", "gradients"):
        points = [{"seq_len": n, "batch": batch or 8} for n in sorted(set(seq_lens))]
    elif scenario == "memory":
        points = [{"seq_len": n, "batch": batch or 1, "kind": k} for n in sorted(set(seq_lens))
                  for k in ("train", "infer")]
    elif scenario == "generation":
        tokens = common.get("tokens", 256)
        points = [{"seq_len": common.get("prompt_len", 16) + tokens, "batch": batch or 1}]
    else:
        raise SpecError(f"unknown scenario {scenario!r}")
    points = [{**point, "params": p} for p in budgets for point in points]

    def group(point: dict[str, Any], r: int) -> list[TrialSpec]:
        members: list[TrialSpec] = []
        for name, options in parsed:
            modes: list[str | None] = [None]
            if scenario == "generation":
                cls = get_class(name)
                field = cls.Spec.model_fields.get("causal")  # a family whose causality is a spec field (transformer)
                opts = dict(options)
                causal = opts.get("causal", field.default) if field is not None else getattr(cls, "causal", True)
                if not causal:
                    label = name + (f":causal={opts['causal']}" if "causal" in opts else "")
                    raise SpecError(f"{label} is not causal: it cannot generate (generation needs a causal LM)")
                modes = list(cls.generation_modes)
            for mode in modes:
                extra = {"mode": mode} if mode else {}
                members.append(make_trial(scenario=scenario, model=name, options=dict(options), seed=seed,
                                          round=r, **common, **point, **extra))
        return members

    return interleave(points, rounds, seed, group)


def interleave(points: Sequence[dict[str, Any]], rounds: int, seed: int,
               group: Callable[[dict[str, Any], int], list[TrialSpec]]) -> list[TrialSpec]:
    """Round by round, every point's ``group(point, round)`` (one trial per contender) in a freshly shuffled order
    from one seeded generator, so drift of the machine hits all contenders alike and the rounds of one point lie
    apart in time (and in different worker processes: the runner starts a new one per round). :func:`expand` and
    the claims' explicit grids both order their trials with it."""
    rng = random.Random(seed)
    trials: list[TrialSpec] = []
    for r in range(rounds):
        for point in points:
            members = group(point, r)
            rng.shuffle(members)
            trials += members
    return trials


def run_sweep(
    trials: Sequence[TrialSpec],
    store: Store,
    *,
    sweep: str | None = None,
    timeout_s: float | None = 600.0,
    on_start: Callable[[TrialSpec], None] | None = None,
    on_done: Callable[[TrialSpec, TrialResult | None], None] | None = None,
    executor: Executor | None = None,
    on_progress: Callable[[TrialSpec, dict], None] | None = None,
) -> SweepSummary:
    """Run every trial not already in ``store``; each result is written the moment it arrives. ``executor`` runs
    them (default: the one in force, :func:`seqarena.run.executors.current_executor`: local worker processes unless
    a caller chose Ray); whichever runs them, this process alone writes the store."""
    refuse_in_script_reimport()  # a worker re-importing an unguarded script stops here (seqarena._process)
    run = SweepRun(trials, store, sweep, on_start, on_done)
    run.on_progress = on_progress  # a running trial's notes (a training's step, loss, fraction of its budget)
    ex = executor or current_executor()
    try:
        ex.run(run, timeout_s)
    except KeyboardInterrupt:  # the executor has stopped its trials at once; none is half-stored
        raise Interrupted(run.summary, str(store.path)) from None
    return run.summary
