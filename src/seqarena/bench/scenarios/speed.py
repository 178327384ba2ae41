"""Speed scenarios: ``train_step`` (forward + backward + AdamW step) and ``forward_latency`` / ``throughput``
(inference forward, no grad, at (batch, n)): time per call, tokens and sequences per second, peak memory, MFU."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from seqarena.bench.scenarios.common import (
    CommonMetrics,
    PeakRecord,
    build_model,
    check_finite,
    common_metrics,
    loss_fn,
    make_inputs,
    peak_flops,
    peak_memory,
    timing,
)
from seqarena.bench.spec import TrialSpec
from seqarena.measure.flops import count_flops
from seqarena.measure.memory import SavedTensors
from seqarena.measure.timer import num_threads


class SpeedMetrics(CommonMetrics):
    """What both speed scenarios report (the per-scenario time and accounted bytes are in the subclasses)."""

    time: dict[str, Any]  # the timer's record: median, samples, repeats ...
    tokens_per_s: float
    sequences_per_s: float
    memory: PeakRecord
    peak_bytes: int


class TrainStepMetrics(SpeedMetrics):
    """``train_step``: one optimizer step's time and the activations autograd saves."""

    step_s: float
    saved_bytes: int | None
    flops: float | None
    flops_per_s: float | None
    peak_flops_per_s: float
    mfu: float | None
    unavailable: dict[str, str]  # auxiliary measurement -> why it is missing (not asked for, or it failed)


class LatencyMetrics(SpeedMetrics):
    """``forward_latency`` / ``throughput``: one inference forward's time and the state it returns."""

    latency_s: float
    state_bytes: int
    flops: float | None
    flops_per_s: float | None
    peak_flops_per_s: float
    mfu: float | None
    unavailable: dict[str, str]  # auxiliary measurement -> why it is missing (not asked for, or it failed)


def train_step(spec: TrialSpec) -> TrainStepMetrics:
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
        memory = peak_memory(step, spec.device)
        opt.zero_grad(set_to_none=True)
        unavailable: dict[str, str] = {}

        def saved_bytes() -> int:
            with SavedTensors(exclude=list(model.parameters())) as saved:
                out, _ = model(x)
                loss_fn(model, out, y)
            return saved.nbytes

        saved = _auxiliary("saved_bytes", saved_bytes, spec, unavailable)
        flops = _auxiliary("flops", lambda: count_flops(fwd_bwd), spec, unavailable)
        opt.zero_grad(set_to_none=True)
        times = timing(step, spec)
        peak = peak_flops(spec.device, spec.dtype, threads)
    check_finite(torch.stack(losses), "training loss")
    tokens = spec.batch * spec.seq_len
    med = times["median"]
    return {
        **common_metrics(model, threads),
        "time": times,
        "step_s": med,
        "tokens_per_s": tokens / med,
        "sequences_per_s": spec.batch / med,
        "memory": memory,
        "peak_bytes": memory["peak_bytes"],
        "saved_bytes": saved,
        **_per_second(flops, med, peak),
        "unavailable": unavailable,
    }


def forward_latency(spec: TrialSpec) -> LatencyMetrics:
    """Inference forward (no grad) over a (B, n) batch: latency, throughput, peak memory, state bytes, MFU."""
    model = build_model(spec)
    model.eval()
    x, _ = make_inputs(model, spec)
    with torch.no_grad(), num_threads(spec.threads) as threads:
        out, state = model(x)
        check_finite(out, "model output")
        state_bytes = model.state_nbytes(state) if state is not None else 0
        del out, state
        memory = peak_memory(lambda: model(x), spec.device)
        unavailable: dict[str, str] = {}
        flops = _auxiliary("flops", lambda: count_flops(lambda: model(x)), spec, unavailable)
        times = timing(lambda: model(x), spec)
        peak = peak_flops(spec.device, spec.dtype, threads)
    med = times["median"]
    return {
        **common_metrics(model, threads),
        "time": times,
        "latency_s": med,
        "tokens_per_s": spec.batch * spec.seq_len / med,
        "sequences_per_s": spec.batch / med,
        "memory": memory,
        "peak_bytes": memory["peak_bytes"],
        "state_bytes": state_bytes,
        **_per_second(flops, med, peak),
        "unavailable": unavailable,
    }


def _auxiliary(name: str, measure: Callable[[], int], spec: TrialSpec, unavailable: dict[str, str]) -> int | None:
    """An auxiliary measurement beside the timing: None, with the reason in ``unavailable``, when the trial did not
    ask for it (``aux=False``) or it failed (e.g. torch's FLOP counter on a model it cannot trace): the timing
    stands either way."""
    if not spec.aux:
        unavailable[name] = "not measured (aux=False)"
        return None
    try:
        return measure()
    except Exception as e:  # any failure of a side measurement: the timing is the trial's point
        text = str(e).splitlines()[0] if str(e) else ""
        unavailable[name] = f"{type(e).__name__}: {text}"
        return None


def _per_second(flops: int | None, seconds: float, peak: float) -> dict[str, float | None]:
    """FLOPs, FLOP/s and MFU (None without a FLOP count)."""
    return {"flops": flops, "flops_per_s": None if flops is None else flops / seconds, "peak_flops_per_s": peak,
            "mfu": None if flops is None else flops / seconds / peak}
