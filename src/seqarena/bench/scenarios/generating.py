"""The ``generation`` scenario: prefill time, per-token decode latency by position, state bytes by generated length,
total time, and the jitter of single decode steps (streaming)."""

from __future__ import annotations

import math
import statistics

import torch

from seqarena.bench.scenarios.common import (
    CommonMetrics,
    PeakRecord,
    build_model,
    check_finite,
    common_metrics,
    peak_memory,
)
from seqarena.bench.spec import TrialSpec
from seqarena.errors import SpecError
from seqarena.measure.timer import num_threads
from seqarena.models import generate


class GenerationMetrics(CommonMetrics):
    """One generation mode's timings; positions are 1-based generated-token positions (as strings: JSON keys)."""

    mode: str
    prefill_s: float
    total_s: float
    tokens_per_s: float
    decode_ms_median: float | None
    decode_ms_by_position: dict[str, float]
    decode_samples_by_position: dict[str, list[float]]
    step_ms_p50: float
    step_ms_p99: float
    step_p99_over_p50: float
    step_jitter_detrended: float
    state_bytes_by_position: dict[str, int]
    state_bytes: int
    memory: PeakRecord
    peak_bytes: int
    repeats: int


def generation_positions(tokens: int, every: int) -> list[int]:
    """Generated-token positions (1-based) where decode latency and state bytes are reported: every ``every`` steps
    (about 32 samples when 0), plus 2, the last, and the round positions 64 / 128 / 256 / 512 / 1024 / ... in range."""
    every = every or max(1, tokens // 32)
    points = set(range(every, tokens + 1, every)) | {tokens}
    points |= {p for p in (64, 128, 256, 512, 1024, 2048, 4096, 8192) if p <= tokens}
    return sorted(p for p in points if p >= 2) if tokens >= 2 else []


#: Steps per window when detrending single-step times: short enough that the cached transformer's growth with
#: position is flat inside a window, long enough for a p99.
JITTER_WINDOW = 64


def detrended_jitter(step_s: list[list[float]], window: int = JITTER_WINDOW) -> float:
    """p99 / p50 of single decode steps, each divided by the median of its run's window of ``window`` consecutive
    steps: jitter without the trend (a KV cache makes later steps slower; that growth is not jitter)."""
    rel = []
    for steps in step_s:
        for i in range(0, len(steps) - window + 1, window):
            w = steps[i:i + window]
            m = statistics.median(w)
            rel += [t / m for t in w] if m > 0 else []
    if len(rel) < 2:
        return math.nan
    q = statistics.quantiles(rel, n=100)
    return q[98] / q[49]


def generation(spec: TrialSpec) -> GenerationMetrics:
    """Generate ``tokens`` tokens at batch ``batch`` after a random prompt in one mode, ``repeats`` times (the first
    inside the memory tracker).

    Per-token decode latency at position p is the median, over repeats and the window p-2..p+2, of single-token times
    (one token is ~0.1 ms: single calls jitter, the window and repeats steady them without hiding a trend).
    """
    model = build_model(spec)
    model.eval()
    if not model.causal or model.spec.head != "lm":
        raise SpecError(f"generation needs a causal LM; {spec.model} is not one")
    mode = spec.mode or model.generation_modes[-1]
    if mode not in model.generation_modes:
        raise SpecError(f"mode {mode!r} is not available for {spec.model}; it has {', '.join(model.generation_modes)}")
    gen = torch.Generator().manual_seed(spec.seed)
    prompt = torch.randint(0, model.spec.vocab_size, (spec.batch, spec.prompt_len), generator=gen).to(spec.device)
    runs = []
    with num_threads(spec.threads) as threads:
        # warm-up: one generation exactly as measured (every mode and model warms up at the shapes it is timed at:
        # the cache's capacity, each position's key length; a compiled model compiles for each new shape)
        generate(model, prompt, spec.tokens, mode)
        # the first timed run is also the memory run: the tracker costs only at its entry and exit, outside every
        # single-step time, so one generation serves both (recomputing 1,024 tokens takes ~20 s here)
        memory = peak_memory(lambda: runs.append(generate(model, prompt, spec.tokens, mode)), spec.device)
        for _ in range(max(1, spec.repeats) - 1):
            runs.append(generate(model, prompt, spec.tokens, mode))
    with torch.no_grad():  # NaN logits still argmax to tokens: check them, in every mode (recompute has no replay)
        logits, _ = model(torch.cat([prompt, runs[-1].tokens], dim=1))
    check_finite(logits, "model output")
    del logits
    positions = generation_positions(spec.tokens, spec.sample_every)
    decode_ms: dict[str, float] = {}
    decode_samples: dict[str, list[float]] = {}  # the window's single-token times (ms): intervals for the claims
    for p in positions:
        # step_s[j] is the time of generated token j + 2 (token 1 comes from the prefill)
        window = [run.step_s[j] for run in runs for j in range(max(0, p - 4), min(len(run.step_s), p + 1))]
        decode_ms[str(p)] = 1e3 * statistics.median(window)
        decode_samples[str(p)] = [1e3 * t for t in window]
    totals = [run.prefill_s + sum(run.step_s) for run in runs]
    # state bytes by generated length: an untimed replay of the same loop (recompute holds no state)
    state_bytes: dict[str, int] = {}
    if mode != "recompute":
        with torch.no_grad():
            state = model.init_state(spec.batch, device=spec.device, max_len=spec.prompt_len + spec.tokens)
            logits, state = model(prompt, state)
            tok = logits[:, -1].argmax(-1)
            for i in range(2, spec.tokens + 1):
                logits, state = model.step(tok, state)
                tok = logits.argmax(-1)
                if i in positions:
                    state_bytes[str(i)] = model.state_nbytes(state)
            check_finite(logits, "model output")
    all_steps = [s for run in runs for s in run.step_s]
    q = statistics.quantiles(all_steps, n=100) if len(all_steps) >= 2 else [math.nan] * 99
    return {
        **common_metrics(model, threads),
        "mode": mode,
        "prefill_s": statistics.median(run.prefill_s for run in runs),
        "total_s": statistics.median(totals),
        "tokens_per_s": spec.batch * spec.tokens / statistics.median(totals),
        "decode_ms_median": 1e3 * statistics.median(all_steps) if all_steps else None,
        "decode_ms_by_position": decode_ms,
        "decode_samples_by_position": decode_samples,
        # jitter of single decode steps (streaming): p50, p99 and their ratio over every step of every run
        "step_ms_p50": 1e3 * q[49], "step_ms_p99": 1e3 * q[98], "step_p99_over_p50": q[98] / q[49],
        "step_jitter_detrended": detrended_jitter([run.step_s for run in runs]),
        "state_bytes_by_position": state_bytes,
        "state_bytes": state_bytes.get(str(spec.tokens), 0),
        "memory": memory,
        "peak_bytes": memory["peak_bytes"],
        "repeats": len(runs),
    }
