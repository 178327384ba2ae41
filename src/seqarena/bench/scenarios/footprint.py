"""The ``memory`` scenario: peak training (``kind=train``) or inference (``kind=infer``) memory above the trial's
baseline beside the bytes accounted for, the same peak with the model's weights (what a memory cap limits), the
measured call's time, and the resident memory AdamW's first step adds (``kind=optimizer``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

import torch

from seqarena.bench.scenarios.common import (
    CommonMetrics,
    PeakRecord,
    build_model,
    check_finite,
    common_metrics,
    loss_fn,
    make_inputs,
)
from seqarena.bench.spec import TrialSpec
from seqarena.errors import SpecError
from seqarena.measure.memory import PeakMemory, SavedTensors, release_free_memory, rss_bytes
from seqarena.measure.timer import num_threads, time_callable
from seqarena.models import SequenceModel


class Accounted(TypedDict, total=False):
    """Bytes accounted for beside the measured peak: activations autograd saved (train) or the state / KV cache
    held (infer)."""

    saved_bytes: int
    state_bytes: int


class MemoryMetrics(CommonMetrics, Accounted):
    """``kind=train`` / ``kind=infer``."""

    memory: PeakRecord
    peak_bytes: int  # the measured call's peak above the baseline taken with the model already built
    peak_with_weights_bytes: int | None  # the same peak above what the process held before the model existed
    time: dict[str, Any]  # the timer's record of the measured call (tracker entry and exit excluded)
    wall_s: float  # the measured call's time
    per_token_s: float


class OptimizerGrowth(TypedDict):
    """What AdamW's first step adds to resident memory."""

    param_bytes: int
    rss_growth_bytes: int
    rss_growth_over_param_bytes: float
    optimizer_state_bytes: int
    peak_bytes: int


class OptimizerMetrics(CommonMetrics, OptimizerGrowth):
    """``kind=optimizer``."""


def memory(spec: TrialSpec) -> MemoryMetrics | OptimizerMetrics:
    """Peak memory above the trial's baseline, beside the accounted bytes, for one of:

    - ``kind=train``: one training step (fwd + bwd + AdamW, optimizer state already allocated); with ``tbptt`` the
      sequence is cut into segments with the state carried and detached (what bounds an RNN's training memory);
    - ``kind=infer``: one inference forward; with ``chunk`` a chunked prefill that carries the state / KV cache
      (what an edge deployment does: the RNN then holds a constant state, the transformer a growing cache);
    - ``kind=optimizer``: the resident memory AdamW's first step adds (its moment buffers), as bytes and per
      parameter byte (``rss_growth_over_param_bytes``; the essay: "two additional copies").

    ``peak_with_weights_bytes`` adds what building the model and its inputs (and, for ``train``, AdamW's state)
    made resident: a deployment's memory budget holds the weights too. ``wall_s`` / ``per_token_s`` come from the
    timer around the measured call alone, inside the memory tracker: the tracker's entry (gc, ``malloc_trim``,
    resetting the high-water mark: ~0.1 s) would otherwise add a fixed cost per call, a c/n term in the per-token
    time. Before it, a warm-up call identical to the measured one (every contender warms up at exactly the shapes
    it is timed at) keeps one-time costs out of both the peak and the time. (It used to warm up a call without
    segments at 8 tokens only, while TBPTT's segments were warmed at their own shapes: claim 7's transformer paid
    its first-call costs inside the measured step, the LSTM did not.)
    """
    before = _resident(spec.device)
    model = build_model(spec)
    x, y = make_inputs(model, spec)
    with num_threads(spec.threads) as threads:
        if spec.kind == "optimizer":
            return {**common_metrics(model, threads), **_optimizer_growth(model, x, y, spec)}
        run, accounted = _train_call(model, x, y, spec) if spec.kind == "train" else _infer_call(model, x, spec)
        # warm-up: one call exactly as measured, for every contender (segmented or not, compiled or not), so no
        # contender's measured call pays first-call costs at shapes another's warm-up already covered
        run(spec.seq_len)
        with PeakMemory(spec.device) as peak:
            times = time_callable(lambda: run(spec.seq_len), device=spec.device, threads=spec.threads, warmup=0,
                                  min_repeats=1, min_seconds=0.0).to_dict()
    mem: PeakRecord = {"peak_bytes": peak.peak_bytes, "peak_method": peak.method,
                       "baseline_bytes": peak.baseline_bytes}
    with_weights = (None if None in (peak.peak_bytes, peak.baseline_bytes, before)
                    else peak.peak_bytes + peak.baseline_bytes - before)
    wall = times["median"]
    return {**common_metrics(model, threads), "memory": mem, "peak_bytes": peak.peak_bytes,
            "peak_with_weights_bytes": with_weights, "time": times, "wall_s": wall,
            "per_token_s": wall / (spec.batch * spec.seq_len), **accounted()}


def _resident(device: str) -> int | None:
    """Bytes the process holds now, after returning freed pages (CPU: RSS; CUDA: allocated)."""
    release_free_memory()
    dev = torch.device(device)
    return torch.cuda.memory_allocated(dev) if dev.type == "cuda" else rss_bytes()


def _train_call(model: SequenceModel, x: torch.Tensor, y: torch.Tensor, spec: TrialSpec
                ) -> tuple[Callable[[int], None], Callable[[], Accounted]]:
    """One training step over the first ``n`` tokens (a callable of n), and the bytes it saved for backward."""
    model.train()
    if spec.tbptt is not None and not model.causal:
        raise SpecError(f"truncated BPTT needs a causal model; {spec.model} is bidirectional here")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    for p in model.parameters():  # allocate AdamW's state up front without a full step at this size
        opt.state[p] = {"step": torch.tensor(0.0), "exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)}
    saved_bytes: list[int] = []

    def run(n: int) -> None:
        saved_bytes.clear()  # the last call's segments only (the warm-up's are not the trial's)
        opt.zero_grad(set_to_none=True)
        segment = spec.tbptt or n
        state, losses = None, []
        for start in range(0, n, segment):
            seg = slice(start, min(n, start + segment))
            with SavedTensors(exclude=list(model.parameters())) as saved:
                out, state = model(x[:, seg], state)
                loss = loss_fn(model, out, y[:, seg] if model.spec.head != "classify" else y)
            saved_bytes.append(saved.nbytes)
            loss.backward()
            losses.append(loss.detach())
            state = state.detach() if state is not None else None
        opt.step()
        check_finite(torch.stack(losses), "training loss")

    return run, lambda: {"saved_bytes": max(saved_bytes)}  # per segment with TBPTT: what is held at once


def _infer_call(model: SequenceModel, x: torch.Tensor, spec: TrialSpec
                ) -> tuple[Callable[[int], None], Callable[[], Accounted]]:
    """One inference forward (chunked with ``spec.chunk``) over the first ``n`` tokens, and the state it holds."""
    model.eval()
    if spec.chunk is not None and not model.causal:
        raise SpecError(f"chunked prefill needs a causal model; {spec.model} is bidirectional")
    states: list[int] = []

    def run(n: int) -> None:
        with torch.no_grad():
            if spec.chunk is None:
                out, state = model(x[:, :n])
            else:
                state = model.init_state(spec.batch, device=spec.device, max_len=spec.seq_len)
                for start in range(0, n, spec.chunk):
                    out, state = model(x[:, start:min(n, start + spec.chunk)], state)
        check_finite(out, "model output")
        states.append(model.state_nbytes(state) if state is not None else 0)

    return run, lambda: {"state_bytes": states[-1]}


def _optimizer_growth(model: SequenceModel, x: torch.Tensor, y: torch.Tensor, spec: TrialSpec) -> OptimizerGrowth:
    """Resident bytes AdamW's first step adds (CPU: RSS; CUDA: allocated bytes), after gradients already exist."""
    model.train()
    out, _ = model(x)
    loss = loss_fn(model, out, y)
    check_finite(loss.detach(), "training loss")
    loss.backward()
    del out, loss
    # a first AdamW step anywhere in the process imports and initialises what the optimizer uses (~0.6x this
    # model's parameter bytes of RSS measured in a fresh process): done on a throwaway parameter, outside the region
    warm = torch.zeros(1, device=spec.device, requires_grad=True)
    warm.grad = torch.zeros_like(warm)
    torch.optim.AdamW([warm], lr=1e-4).step()
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
