"""The synthetic store's laws: realistic metric dicts for a trial spec, from simple known laws (nothing is measured).

The numbers follow simple, known laws so that every figure and table has something true to show and the tests can
predict it: RNN latency grows linearly in n, attention latency has a quadratic term (crossovers near n = 50 and
n = 3,000), RNN decode time per token is flat, recompute grows, the transformer's training memory passes the cap at
n = 16,384, and quality falls with distance, rises with data and peaks at a model-specific learning rate.
:func:`slowed` multiplies one model's timings, for tests whose verdicts must follow the measurements. The stores
themselves are written by :mod:`tests.synthetic_store`.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from seqarena.bench.scenarios import generation_positions
from seqarena.bench.spec import TrialSpec
from seqarena.models import family_of

MB = 2**20
PEAK_FLOPS = 2.0e13  # so that MFU lands at a few percent, as on a CPU
CALLS = 20  # per-call timing samples per trial
QUADRATIC = {"transformer", "linformer"}


def attends(model: str) -> bool:
    """Attention laws for every model that is not recurrent (hybrids hold KV caches too): read from its family."""
    return family_of(model) != "recurrent"

#: model -> factor on its latencies and decode times (see :func:`slowed`); empty: the laws as they are
_SLOWDOWN: dict[str, float] = {}


@contextlib.contextmanager
def slowed(factors: Mapping[str, float]) -> Iterator[None]:
    """Within the block, each named model's forward, training-step and decode times are ``factor`` times the law's
    (a stored stand-in for an injected delay: no clock is read, so no test depends on the machine's load)."""
    before = dict(_SLOWDOWN)
    _SLOWDOWN.update(factors)
    try:
        yield
    finally:
        _SLOWDOWN.clear()
        _SLOWDOWN.update(before)


def _rng(spec: TrialSpec) -> np.random.Generator:
    seed = int(hashlib.sha256(spec.spec_hash().encode()).hexdigest()[:8], 16)
    return np.random.default_rng(seed)


# -- speed laws ---------------------------------------------------------------------------------------------------

def latency_ms(model: str, n: int, batch: int = 1) -> float:
    """The fixture's law for one forward: linear for recurrences, a quadratic term for softmax attention."""
    if model in QUADRATIC:
        ms = (0.5 + 0.0005 * n + 1.5e-6 * n * n) * (0.8 + 0.2 * batch)
    elif attends(model):
        ms = (0.45 + 0.0012 * n) * (0.8 + 0.2 * batch)
    else:
        ms = (0.3 + 0.004 * n) * (0.7 + 0.3 * batch)
    return ms * _SLOWDOWN.get(model, 1)  # an int 1 leaves the float exactly as it was (golden verdicts)


def _timing(median_s: float, rng: np.random.Generator) -> dict[str, Any]:
    samples = median_s * np.exp(rng.normal(0.0, 0.03, CALLS))
    p = {q: float(np.percentile(samples, q)) for q in (10, 25, 50, 75, 90, 99)}
    return {"n": CALLS, "median": p[50], "mean": float(samples.mean()), "p10": p[10], "p25": p[25], "p75": p[75],
            "p90": p[90], "p99": p[99], "min": float(samples.min()), "max": float(samples.max()), "threads": 2,
            "iqr": p[75] - p[25], "noisy": False, "samples": [float(x) for x in samples]}


def _common(spec: TrialSpec) -> dict[str, Any]:
    params = int((spec.params or 1_000_000) * 1.01)
    return {"params": params, "params_no_embed": int(params * 0.9), "threads": 2,
            "model_spec": {"vocab_size": spec.vocab_size, "layers": spec.layers, "d_model": 128}}


def _forward(spec: TrialSpec, rng: np.random.Generator) -> dict[str, Any]:
    n, b = spec.seq_len, spec.batch
    timing = _timing(latency_ms(spec.model, n, b) / 1e3, rng)
    med = timing["median"]
    quadratic = spec.model in QUADRATIC
    peak = int(3e5 + 2000 * n * b + 0.5 * n * n * b) if quadratic else int(2e5 + 600 * n * b)
    flops = 2.0 * (spec.params or 1e6) * n * b + (4.0 * n * n * 128 * spec.layers * b if quadratic else 0.0)
    return {**_common(spec), "time": timing, "latency_s": med, "tokens_per_s": b * n / med, "sequences_per_s": b / med,
            "memory": {"peak_bytes": peak, "peak_method": "VmHWM after clear_refs", "baseline_bytes": 460 * MB},
            "peak_bytes": peak, "state_bytes": 672 if not attends(spec.model) else 2 * 4 * 128 * n * spec.layers,
            "flops": flops, "flops_per_s": flops / med, "peak_flops_per_s": PEAK_FLOPS,
            "mfu": flops / med / PEAK_FLOPS}


def train_peak_bytes(model: str, n: int, batch: int) -> int:
    if model in QUADRATIC:
        return int(2e6 + 5000 * n * batch + 10.0 * n * n * batch)
    return int(1e6 + 3000 * n * batch)


def _train_step(spec: TrialSpec, rng: np.random.Generator) -> dict[str, Any]:
    n, b = spec.seq_len, spec.batch
    factor = 3.0 if attends(spec.model) else 4.5  # the RNN's backward is the sequential part
    timing = _timing(factor * latency_ms(spec.model, n, b) / 1e3, rng)
    med = timing["median"]
    flops = 6.0 * (spec.params or 1e6) * n * b
    peak = train_peak_bytes(spec.model, n, b)
    return {**_common(spec), "time": timing, "step_s": med, "tokens_per_s": b * n / med, "sequences_per_s": b / med,
            "memory": {"peak_bytes": peak, "peak_method": "VmHWM after clear_refs", "baseline_bytes": 470 * MB},
            "peak_bytes": peak, "saved_bytes": peak // 2, "flops": flops, "flops_per_s": flops / med,
            "peak_flops_per_s": PEAK_FLOPS, "mfu": flops / med / PEAK_FLOPS}


def decode_ms(model: str, mode: str, position: int) -> float:
    """The fixture's law for one decoded token: flat for a state, growing for recompute, slowly for a cache."""
    if mode == "recompute":
        ms = 0.5 + 0.02 * position
    elif mode == "cache":
        ms = 0.5 + 0.0004 * position
    else:
        ms = 0.4 if not attends(model) else 0.45
    return ms * _SLOWDOWN.get(model, 1)


def _generation(spec: TrialSpec, rng: np.random.Generator) -> dict[str, Any]:
    mode = spec.mode or "state"
    positions = generation_positions(spec.tokens, spec.sample_every)
    decode, samples, state = {}, {}, {}
    for p in positions:
        base = decode_ms(spec.model, mode, p)
        s = base * np.exp(rng.normal(0.0, 0.02, 5 * max(1, spec.repeats)))
        samples[str(p)] = [float(x) for x in s]
        decode[str(p)] = float(np.median(s))
        if mode != "recompute":
            state[str(p)] = 8192 if mode == "state" else 2 * 2 * 128 * 4 * (spec.prompt_len + p)
    total = 0.002 + sum(decode_ms(spec.model, mode, p) for p in range(2, spec.tokens + 1)) / 1e3
    peak = 150_000 + (state.get(str(spec.tokens), 0) if mode == "cache" else 0)
    return {**_common(spec), "mode": mode, "prefill_s": 0.002, "total_s": total,
            "tokens_per_s": spec.batch * spec.tokens / total,
            "decode_ms_median": float(np.median(list(decode.values()))),
            "decode_ms_by_position": decode, "decode_samples_by_position": samples,
            "state_bytes_by_position": state, "state_bytes": state.get(str(spec.tokens), 0),
            "memory": {"peak_bytes": peak, "peak_method": "VmHWM after clear_refs", "baseline_bytes": 465 * MB},
            "peak_bytes": peak, "repeats": max(1, spec.repeats)}


def _memory(spec: TrialSpec, rng: np.random.Generator) -> tuple[str, dict[str, Any], str | None]:
    n, b = spec.seq_len, spec.batch
    if spec.kind == "train":
        peak = train_peak_bytes(spec.model, n, b)
        accounted = {"saved_bytes": peak // 2}
    else:
        peak = int(3e5 + 2000 * n * b + 0.5 * n * n * b) if spec.model in QUADRATIC else int(2e5 + 600 * n * b)
        accounted = {"state_bytes": 672 if not attends(spec.model) else 2 * 4 * 128 * n * spec.layers}
    peak = int(peak * math.exp(rng.normal(0.0, 0.01)))
    if spec.memory_cap_mb is not None and peak > spec.memory_cap_mb * MB:
        return "failed", {}, (f"memory cap: the trial's peak RSS was {peak / MB:.0f} MB above its baseline "
                              f"(cap {spec.memory_cap_mb:g} MB)")
    mem = {"peak_bytes": peak, "peak_method": "VmHWM after clear_refs", "baseline_bytes": 470 * MB}
    wall = (3.0 if spec.kind == "train" else 1.0) * latency_ms(spec.model, n, b) / 1e3
    weights = 4 * 1_000_000 + 2 * MB  # float32 weights of a 1M model, its inputs and AdamW's state, roughly
    return "ok", {**_common(spec), "memory": mem, "peak_bytes": peak, "peak_with_weights_bytes": peak + weights,
                  "wall_s": wall, "per_token_s": wall / (n * b), **accounted}, None


# -- quality laws -------------------------------------------------------------------------------------------------

METRICS = {"char_lm": ("bits_per_char", False), "forecast": ("mse", False), "adding": ("mse", False)}
BEST_LR = {"lstm": 1e-3, "transformer": 3e-3}
FORECAST_BASELINES = {"last value": 0.95, "seasonal naive (period 11)": 1.23, "linear on the look-back": 0.37}


def quality(model: str, task: str, params: dict[str, Any], lr: float, seed: int) -> float | None:
    """The fixture's test metric (None: the run diverged)."""
    _, higher = METRICS.get(task, ("accuracy", True))
    best = BEST_LR.get(model, 1e-3)
    if lr > 30 * best:
        return None
    lr_factor = math.exp(-0.5 * (math.log10(lr / best) / 0.6) ** 2)
    noise = 0.01 * ((seed * 7919) % 5 - 2)
    if task == "forecast":
        return (0.30 if not attends(model) else 0.34) / max(lr_factor, 0.2) + noise / 10
    if not higher:
        return 2.0 - 0.3 * lr_factor + noise
    chance = 0.125
    distance = float(params.get("distance", 32))
    reach = 150.0 if not attends(model) else 3000.0
    data = 1 - math.exp(-float(params.get("n_train", 4096)) / (600.0 if attends(model) else 250.0))
    return chance + (0.98 - chance) * math.exp(-distance / reach) * data * lr_factor + noise


def _baseline(task: str) -> dict[str, Any]:
    if task == "forecast":
        name = "linear on the look-back"
        return {"name": name, "mse": FORECAST_BASELINES[name], "mae": 0.48,
                "all": {k: {"mse": v, "mae": v * 0.8} for k, v in FORECAST_BASELINES.items()}}
    metric, higher = METRICS.get(task, ("accuracy", True))
    if higher:
        return {"name": "memoryless", "loss": math.log(8), "accuracy": 0.125, "bits_per_token": 3.0}
    return {"name": "trivial", metric: 2.0}


def _final_train_loss(task: str, value: float, baseline: dict[str, Any]) -> dict[str, float]:
    """The final model's training-split loss: the baseline loss scaled by how far the metric got from chance to 1
    (accuracy tasks; 8 / 8b read it), or the metric itself (loss-like tasks)."""
    if "loss" not in baseline:
        return {"loss": float(value)}
    share = (value - baseline["accuracy"]) / (1 - baseline["accuracy"])
    return {"loss": float(baseline["loss"] * (1 - min(max(share, 0.0), 1.0)) + 0.01)}


def _train(spec: TrialSpec, rng: np.random.Generator) -> dict[str, Any]:
    task = spec.task or "copy"
    metric, higher = METRICS.get(task, ("accuracy", True))
    params = {"n_train": 4096, "n_val": 512, "n_test": 512, "data_seed": 1234, **spec.task_params}
    if task in ("copy", "selective_copy", "mqar", "order"):
        params.setdefault("distance", 32)
    lr = spec.lr or 1e-3
    value = quality(spec.model, task, params, lr, spec.seed)
    steps = spec.steps or 300
    status = "ok" if value is not None else "diverged"
    curve = [{"step": s, "wall_s": 0.02 * s, "train_loss": 2.0 / (1 + s / 100),
              f"val_{metric}": (value or math.nan) * min(1.0, s / steps)} for s in (steps // 2, steps)]
    result = {metric: value} if value is not None else {}
    grid = None
    if spec.tune_lr:
        grid = [{"lr": g, "val": quality(spec.model, task, params, g, spec.seed),
                 "status": "ok" if quality(spec.model, task, params, g, spec.seed) is not None else "diverged"}
                for g in (1e-4, 1e-3, 1e-2)]
    baseline = _baseline(task)
    return {**_common(spec), "task": {"task": task, "params": params, "seq_len": 64, "metric": metric,
                                      "higher_is_better": higher, "baseline": baseline,
                                      "sizes": {"train": params["n_train"], "val": 512, "test": 512}},
            "baseline": baseline, "metric": metric, "train_status": status,
            "train_reason": None if value is not None else "loss grew past 10x the first loss", "steps": steps,
            "wall_s": 0.02 * steps, "lr": lr, "lr_grid": grid, "val": result, "test": result,
            "train_eval": _final_train_loss(task, value, baseline),
            "val_metric": value, "test_metric": value, "time_to_target_s": None, "steps_to_target": None,
            "curve": curve}


def metrics_for(spec: TrialSpec) -> tuple[str, dict[str, Any], str | None] | None:
    """(status, metrics, reason) for a trial, or None for scenarios the fixture does not know."""
    rng = _rng(spec)
    if spec.scenario in ("forward_latency", "throughput"):
        return "ok", _forward(spec, rng), None
    if spec.scenario == "train_step":
        return "ok", _train_step(spec, rng), None
    if spec.scenario == "generation":
        return "ok", _generation(spec, rng), None
    if spec.scenario == "memory":
        return _memory(spec, rng)
    if spec.scenario == "train":
        task = spec.task or "copy"
        if quality(spec.model, task, {"distance": 32, **spec.task_params}, spec.lr or 1e-3, spec.seed) is None:
            return "failed", {}, f"diverged: loss grew past 10x the first loss at step 12 (lr {spec.lr or 1e-3:g})"
        return "ok", _train(spec, rng), None
    return None
