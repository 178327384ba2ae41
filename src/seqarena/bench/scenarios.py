"""Scenarios: what a trial measures. Each takes a :class:`TrialSpec` and returns a flat-ish dict of metrics.

They run inside a worker process (see :mod:`seqarena.run`); they never touch the store. Every scenario checks that
the model's outputs are finite and raises :class:`NonFiniteError` otherwise, so a NaN is a failed trial, not a number.

- ``train_step``: forward + backward + AdamW step; step time, tokens/s, peak memory (measured and accounted), MFU.
- ``forward_latency`` / ``throughput``: inference forward (no grad) at (batch, n); latency, sequences/s, tokens/s.
- ``generation``: prefill time, per-token decode latency by position, state bytes by generated length, total time.
- ``memory``: peak training (``kind=train``) or inference (``kind=infer``) memory above the trial's baseline.
"""

from __future__ import annotations

import functools
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from seqarena.bench.spec import TrialSpec
from seqarena.measure.flops import count_flops, gemm_peak_flops
from seqarena.measure.memory import PeakMemory, SavedTensors
from seqarena.measure.timer import num_threads, time_callable
from seqarena.models import SequenceModel, SpecError, build, generate


class NonFiniteError(RuntimeError):
    """A model produced NaN or inf."""


def build_model(spec: TrialSpec) -> SequenceModel:
    """The trial's model at its parameter budget, on the trial's device and dtype, seeded."""
    torch.manual_seed(spec.seed)
    fields = {"vocab_size": spec.vocab_size, "layers": spec.layers, **spec.options}
    model = build(spec.model, params=spec.params, **fields)
    return model.to(device=spec.device, dtype=spec.torch_dtype)


def make_inputs(model: SequenceModel, spec: TrialSpec, batch: int | None = None, n: int | None = None):
    """(inputs, targets) of shape (B, n) tokens or (B, n, F) features, seeded."""
    B, T = batch or spec.batch, n or spec.seq_len
    gen = torch.Generator().manual_seed(spec.seed)
    s = model.spec
    if s.vocab_size is not None:
        x = torch.randint(0, s.vocab_size, (B, T), generator=gen)
    else:
        x = torch.randn(B, T, s.input_dim, generator=gen)
    if s.head == "lm":
        y = torch.randint(0, s.vocab_size, (B, T), generator=gen)
    elif s.head == "classify":
        y = torch.randint(0, s.output_dim, (B,), generator=gen)
    else:
        y = torch.randn(B, T, s.output_dim, generator=gen)
    x = x.to(spec.device) if x.dtype == torch.long else x.to(spec.device, spec.torch_dtype)
    y = y.to(spec.device) if y.dtype == torch.long else y.to(spec.device, spec.torch_dtype)
    return x, y


def loss_fn(model: SequenceModel, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The head's natural loss: cross-entropy for lm / classify, MSE for regression."""
    if model.spec.head == "regression":
        return F.mse_loss(out.float(), target.float())
    return F.cross_entropy(out.float().reshape(-1, out.shape[-1]), target.reshape(-1))


def check_finite(t: torch.Tensor, what: str) -> None:
    if not torch.isfinite(t).all():
        raise NonFiniteError(f"{what} is not finite (NaN or inf)")


@functools.cache
def _peak(device: str, dtype: str, threads: int) -> float:
    # measured once per worker, device, dtype and thread count: "the same device in the same run"
    from seqarena.bench.spec import DTYPES

    return gemm_peak_flops(device, DTYPES[dtype], threads=threads)


def _timing(fn: Callable[[], object], spec: TrialSpec) -> dict[str, Any]:
    stats = time_callable(fn, device=spec.device, threads=spec.threads, warmup=spec.warmup,
                          min_repeats=spec.repeats, min_seconds=spec.min_seconds)
    return stats.to_dict()


def _memory(fn: Callable[[], object], device: str) -> dict[str, Any]:
    with PeakMemory(device) as peak:
        fn()
    return {"peak_bytes": peak.peak_bytes, "peak_method": peak.method, "baseline_bytes": peak.baseline_bytes}


def _common(model: SequenceModel, threads: int) -> dict[str, Any]:
    # threads: the count in force while measuring (the timer's own record agrees; tests check it)
    return {"params": model.num_params(), "params_no_embed": model.num_params(exclude_embeddings=True),
            "model_spec": model.spec.model_dump(mode="json"), "threads": threads}


def train_step(spec: TrialSpec) -> dict[str, Any]:
    """Forward + backward + AdamW step on random data (the loss value is irrelevant; it reaches every output)."""
    model = build_model(spec)
    model.train()
    x, y = make_inputs(model, spec)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    losses: list[torch.Tensor] = []

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        out, _ = model(x)
        loss = loss_fn(model, out, y)
        loss.backward()
        opt.step()
        losses.append(loss.detach())

    def fwd_bwd() -> None:
        out, _ = model(x)
        loss_fn(model, out, y).backward()

    with num_threads(spec.threads) as threads:
        step()  # optimizer state now exists: it is part of the baseline, not of each step's peak
        check_finite(losses[-1], "training loss")
        opt.zero_grad(set_to_none=True)
        memory = _memory(step, spec.device)
        opt.zero_grad(set_to_none=True)
        with SavedTensors(exclude=list(model.parameters())) as saved:
            out, _ = model(x)
            loss_fn(model, out, y)
        del out
        flops = count_flops(fwd_bwd)
        opt.zero_grad(set_to_none=True)
        timing = _timing(step, spec)
        peak = _peak(spec.device, spec.dtype, threads)
    check_finite(torch.stack(losses), "training loss")
    tokens = spec.batch * spec.seq_len
    med = timing["median"]
    return {
        **_common(model, threads),
        "time": timing,
        "step_s": med,
        "tokens_per_s": tokens / med,
        "sequences_per_s": spec.batch / med,
        "memory": memory,
        "peak_bytes": memory["peak_bytes"],
        "saved_bytes": saved.nbytes,
        "flops": flops,
        "flops_per_s": flops / med,
        "peak_flops_per_s": peak,
        "mfu": flops / med / peak,
    }


def forward_latency(spec: TrialSpec) -> dict[str, Any]:
    """Inference forward (no grad) over a (B, n) batch: latency, throughput, peak memory, state bytes, MFU."""
    model = build_model(spec)
    model.eval()
    x, _ = make_inputs(model, spec)
    with torch.no_grad(), num_threads(spec.threads) as threads:
        out, state = model(x)
        check_finite(out, "model output")
        state_bytes = model.state_nbytes(state) if state is not None else 0
        del out, state
        memory = _memory(lambda: model(x), spec.device)
        flops = count_flops(lambda: model(x))
        timing = _timing(lambda: model(x), spec)
        peak = _peak(spec.device, spec.dtype, threads)
    med = timing["median"]
    return {
        **_common(model, threads),
        "time": timing,
        "latency_s": med,
        "tokens_per_s": spec.batch * spec.seq_len / med,
        "sequences_per_s": spec.batch / med,
        "memory": memory,
        "peak_bytes": memory["peak_bytes"],
        "state_bytes": state_bytes,
        "flops": flops,
        "flops_per_s": flops / med,
        "peak_flops_per_s": peak,
        "mfu": flops / med / peak,
    }


def generation_positions(tokens: int, every: int) -> list[int]:
    """Generated-token positions (1-based) where decode latency and state bytes are reported: every ``every`` steps
    (about 32 samples when 0), plus 2, the last, and the round positions 64 / 128 / 256 / 512 / 1024 / ... in range."""
    every = every or max(1, tokens // 32)
    points = set(range(every, tokens + 1, every)) | {tokens}
    points |= {p for p in (64, 128, 256, 512, 1024, 2048, 4096, 8192) if p <= tokens}
    return sorted(p for p in points if p >= 2) if tokens >= 2 else []


def generation(spec: TrialSpec) -> dict[str, Any]:
    """Generate ``tokens`` tokens at batch ``batch`` after a random prompt in one mode, ``repeats`` times.

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
        generate(model, prompt, min(spec.tokens, 8), mode)  # warm-up
        memory = _memory(lambda: generate(model, prompt, spec.tokens, mode), spec.device)
        for _ in range(max(1, spec.repeats)):
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
        **_common(model, threads),
        "mode": mode,
        "prefill_s": statistics.median(run.prefill_s for run in runs),
        "total_s": statistics.median(totals),
        "tokens_per_s": spec.batch * spec.tokens / statistics.median(totals),
        "decode_ms_median": 1e3 * statistics.median(all_steps) if all_steps else None,
        "decode_ms_by_position": decode_ms,
        "decode_samples_by_position": decode_samples,
        # jitter of single decode steps (streaming): p50, p99 and their ratio over every step of every run
        "step_ms_p50": 1e3 * q[49], "step_ms_p99": 1e3 * q[98], "step_p99_over_p50": q[98] / q[49],
        "state_bytes_by_position": state_bytes,
        "state_bytes": state_bytes.get(str(spec.tokens), 0),
        "memory": memory,
        "peak_bytes": memory["peak_bytes"],
        "repeats": len(runs),
    }


def memory(spec: TrialSpec) -> dict[str, Any]:
    """Peak memory above the trial's baseline, beside the accounted bytes, for one of:

    - ``kind=train``: one training step (fwd + bwd + AdamW, optimizer state already allocated); with ``tbptt`` the
      sequence is cut into segments with the state carried and detached (what bounds an RNN's training memory);
    - ``kind=infer``: one inference forward; with ``chunk`` a chunked prefill that carries the state / KV cache
      (what an edge deployment does: the RNN then holds a constant state, the transformer a growing cache);
    - ``kind=optimizer``: the resident memory AdamW's first step adds (its moment buffers), as bytes and per
      parameter byte (``rss_growth_over_param_bytes``; the essay: "two additional copies").

    ``wall_s`` is the measured call's time (one call: a rough per-token time for long chunked runs).
    """
    model = build_model(spec)
    x, y = make_inputs(model, spec)
    with num_threads(spec.threads) as threads:
        if spec.kind == "optimizer":
            return {**_common(model, threads), **_optimizer_growth(model, x, y, spec)}
        if spec.kind == "train":
            model.train()
            if spec.tbptt is not None and not model.causal:
                raise SpecError(f"truncated BPTT needs a causal model; {spec.model} is bidirectional here")
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
            for p in model.parameters():  # allocate AdamW's state up front without a full step at this size
                opt.state[p] = {"step": torch.tensor(0.0), "exp_avg": torch.zeros_like(p),
                                "exp_avg_sq": torch.zeros_like(p)}
            saved_bytes: list[int] = []
            # warm-up at a tiny n: one-time allocations (thread pools, oneDNN primitives, autograd) stay out of the peak
            out, _ = model(x[:1, :8])
            loss_fn(model, out, y[:1, :8] if model.spec.head != "classify" else y[:1]).backward()
            opt.zero_grad(set_to_none=True)
            del out

            def run() -> None:
                opt.zero_grad(set_to_none=True)
                segment = spec.tbptt or spec.seq_len
                state, losses = None, []
                for start in range(0, spec.seq_len, segment):
                    seg = slice(start, min(spec.seq_len, start + segment))
                    with SavedTensors(exclude=list(model.parameters())) as saved:
                        out, state = model(x[:, seg], state)
                        loss = loss_fn(model, out, y[:, seg] if model.spec.head != "classify" else y)
                    saved_bytes.append(saved.nbytes)
                    loss.backward()
                    losses.append(loss.detach())
                    state = state.detach() if state is not None else None
                opt.step()
                check_finite(torch.stack(losses), "training loss")

            mem, wall = _timed_memory(run, spec.device)
            accounted = {"saved_bytes": max(saved_bytes)}  # per segment with TBPTT: what is held at once
        else:
            model.eval()
            with torch.no_grad():  # warm-up at a tiny n: one-time allocations (thread pools, kernels) stay out
                model(x[:1, :8])
            states = []

            def run() -> None:
                with torch.no_grad():
                    if spec.chunk is None:
                        out, state = model(x)
                    else:
                        if not model.causal:
                            raise SpecError(f"chunked prefill needs a causal model; {spec.model} is bidirectional")
                        state = model.init_state(spec.batch, device=spec.device, max_len=spec.seq_len)
                        for start in range(0, spec.seq_len, spec.chunk):
                            out, state = model(x[:, start:start + spec.chunk], state)
                check_finite(out, "model output")
                states.append(model.state_nbytes(state) if state is not None else 0)

            mem, wall = _timed_memory(run, spec.device)
            accounted = {"state_bytes": states[-1]}
    return {**_common(model, threads), "memory": mem, "peak_bytes": mem["peak_bytes"], "wall_s": wall,
            "per_token_s": wall / (spec.batch * spec.seq_len), **accounted}


def _timed_memory(fn: Callable[[], object], device: str) -> tuple[dict[str, Any], float]:
    start = time.perf_counter()
    mem = _memory(fn, device)
    return mem, time.perf_counter() - start


def _optimizer_growth(model: SequenceModel, x: torch.Tensor, y: torch.Tensor, spec: TrialSpec) -> dict[str, Any]:
    """Resident bytes AdamW's first step adds (CPU: RSS; CUDA: allocated bytes), after gradients already exist."""
    from seqarena.measure.memory import release_free_memory, rss_bytes

    model.train()
    out, _ = model(x)
    loss = loss_fn(model, out, y)
    check_finite(loss.detach(), "training loss")
    loss.backward()
    del out, loss
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    cuda = torch.device(spec.device).type == "cuda"
    release_free_memory()
    before = torch.cuda.memory_allocated(spec.device) if cuda else rss_bytes()
    opt.step()
    release_free_memory()
    after = torch.cuda.memory_allocated(spec.device) if cuda else rss_bytes()
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    state_bytes = sum(t.numel() * t.element_size() for st in opt.state.values() for t in st.values()
                      if isinstance(t, torch.Tensor) and t.dim() > 0)
    growth = (after or 0) - (before or 0)
    return {"param_bytes": param_bytes, "rss_growth_bytes": growth, "rss_growth_over_param_bytes": growth / param_bytes,
            "optimizer_state_bytes": state_bytes, "peak_bytes": growth}


def gradients(spec: TrialSpec) -> dict[str, Any]:
    """Gradient-flow probe: the norm of d loss_T / d x_t (x_t: the input layer's output at position t) against the
    distance T - t, in float64, at initialisation or after ``steps`` training steps on ``task``.

    The loss reads only the last position, so every other position's gradient has to travel through the model's
    time mixing: through n steps of recurrence for an RNN, through one attention hop (and residuals) for a
    transformer. Norms are averaged over a batch of random sequences."""
    from seqarena.tasks import make_task
    from seqarena.train import TrainConfig
    from seqarena.train import train as run_training

    fields = {"vocab_size": spec.vocab_size, "layers": spec.layers, **spec.options}
    task = None
    if spec.task:
        task = make_task(spec.task, **spec.task_params)
        fields = {"layers": spec.layers, **task.model_fields(), **spec.options}
    torch.manual_seed(spec.seed)
    model = build(spec.model, params=spec.params, **fields).to(spec.device)
    if not model.causal or model.spec.head != "lm":
        raise SpecError(f"the gradient probe needs a causal LM; {spec.model} is not one here")
    trained = {}
    with num_threads(spec.threads) as threads:
        if task is not None and spec.steps:
            config = TrainConfig(lr=spec.lr or 1e-3, batch_size=spec.batch, steps=spec.steps, eval_every=spec.steps,
                                 seed=spec.seed, device=spec.device)
            result = run_training(model, task, config)
            trained = {"train_status": result.status, "steps": result.steps, "val": result.val}
        model = model.to(torch.float64).eval()
        gen = torch.Generator().manual_seed(spec.seed)
        T = spec.seq_len
        x = torch.randint(0, model.spec.vocab_size, (max(spec.batch, 8), T), generator=gen).to(spec.device)
        h = model.embed_inputs(x, None).detach().requires_grad_(True)  # (B, T, D)
        mixed, _ = model.mix(h, None)
        logits = model.readout(mixed)[:, -1]  # (B, V): the loss at the last position only
        target = torch.randint(0, model.spec.vocab_size, (x.shape[0],), generator=gen).to(spec.device)
        F.cross_entropy(logits, target).backward()
    norms = h.grad.norm(dim=-1).mean(dim=0)  # (T,): mean over the batch of |dL_T / dx_t|
    check_finite(norms, "gradient norms")
    distances = sorted({d for d in (0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096) if d < T} | {T - 1})
    by_distance = {str(d): float(norms[T - 1 - d]) for d in distances}
    return {**_common(model, threads), **trained, "grad_norm_by_distance": by_distance, "dtype_probe": "float64"}


def train(spec: TrialSpec) -> dict[str, Any]:
    """Train the model on a task within the budget (optionally tuning the LR first); curve and metrics."""
    from seqarena.tasks import make_task
    from seqarena.train import TrainConfig, tune_lr
    from seqarena.train import train as run_training

    task = make_task(spec.task, **spec.task_params)
    fields = {"layers": spec.layers, **task.model_fields(), **spec.options}

    def fresh_model() -> SequenceModel:
        torch.manual_seed(spec.seed)
        return build(spec.model, params=spec.params, **fields).to(device=spec.device, dtype=spec.torch_dtype)

    config = TrainConfig(lr=spec.lr or 1e-3, batch_size=spec.batch, steps=spec.steps, budget_s=spec.budget_s,
                         tbptt=spec.tbptt, checkpointing=spec.checkpointing, eval_every=spec.eval_every,
                         target=spec.target, seed=spec.seed, device=spec.device)
    grid = None
    with num_threads(spec.threads) as threads:
        if spec.tune_lr:
            best, grid = tune_lr(fresh_model, task, config)
            config = config.model_copy(update={"lr": best})
        model = fresh_model()
        result = run_training(model, task, config)
    info = task.describe()
    return {
        **_common(model, threads),
        "task": info,
        "baseline": info["baseline"],
        "metric": task.metric,
        "train_status": result.status,
        "train_reason": result.reason,
        "steps": result.steps,
        "wall_s": result.wall_s,
        "lr": config.lr,
        "lr_grid": grid,
        "val": result.val,
        "test": result.test,
        "val_metric": result.val.get(task.metric),
        "test_metric": result.test.get(task.metric),
        "time_to_target_s": result.time_to_target_s,
        "steps_to_target": result.steps_to_target,
        "curve": result.curve,
    }


SCENARIO_FUNCTIONS: dict[str, Callable[[TrialSpec], dict[str, Any]]] = {
    "train_step": train_step,
    "forward_latency": forward_latency,
    "throughput": forward_latency,  # same measurement; the sweep varies the batch instead of n
    "generation": generation,
    "memory": memory,
    "train": train,
    "gradients": gradients,
}


def run_trial(spec: TrialSpec) -> dict[str, Any]:
    """Run one trial in this process and return its metrics."""
    return SCENARIO_FUNCTIONS[spec.scenario](spec)
