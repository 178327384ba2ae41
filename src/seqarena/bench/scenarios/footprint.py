"""The ``memory`` scenario: peak training (``kind=train``) or inference (``kind=infer``) memory above the trial's
baseline beside the bytes accounted for, and the resident memory AdamW's first step adds (``kind=optimizer``)."""

from __future__ import annotations

from typing import TypedDict

import torch

from seqarena.bench.scenarios.common import (
    CommonMetrics,
    PeakRecord,
    build_model,
    check_finite,
    common_metrics,
    loss_fn,
    make_inputs,
    timed_peak_memory,
)
from seqarena.bench.spec import TrialSpec
from seqarena.measure.memory import SavedTensors, release_free_memory, rss_bytes
from seqarena.measure.timer import num_threads
from seqarena.models import SequenceModel, SpecError


class Accounted(TypedDict, total=False):
    """Bytes accounted for beside the measured peak: activations autograd saved (train) or the state / KV cache
    held (infer)."""

    saved_bytes: int
    state_bytes: int


class MemoryMetrics(CommonMetrics, Accounted):
    """``kind=train`` / ``kind=infer``."""

    memory: PeakRecord
    peak_bytes: int
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

    ``wall_s`` is the measured call's time (one call: a rough per-token time for long chunked runs).
    """
    model = build_model(spec)
    x, y = make_inputs(model, spec)
    with num_threads(spec.threads) as threads:
        if spec.kind == "optimizer":
            return {**common_metrics(model, threads), **_optimizer_growth(model, x, y, spec)}
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

            mem, wall = timed_peak_memory(run, spec.device)
            accounted: Accounted = {"saved_bytes": max(saved_bytes)}  # per segment with TBPTT: what is held at once
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

            mem, wall = timed_peak_memory(run, spec.device)
            accounted = {"state_bytes": states[-1]}
    return {**common_metrics(model, threads), "memory": mem, "peak_bytes": mem["peak_bytes"], "wall_s": wall,
            "per_token_s": wall / (spec.batch * spec.seq_len), **accounted}


def _optimizer_growth(model: SequenceModel, x: torch.Tensor, y: torch.Tensor, spec: TrialSpec) -> OptimizerGrowth:
    """Resident bytes AdamW's first step adds (CPU: RSS; CUDA: allocated bytes), after gradients already exist."""
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
