"""What every scenario shares: the one way to build a trial's model and inputs, the loss, the finiteness check, the
measurement helpers, and the metrics every scenario reports (:class:`CommonMetrics`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypedDict

import torch
import torch.nn.functional as F

from seqarena.bench.spec import DTYPES, TrialSpec
from seqarena.measure import cotimer
from seqarena.measure.flops import gemm_peak_flops
from seqarena.measure.memory import PeakMemory
from seqarena.measure.timer import TimingStats, call_timer, num_threads, time_callable
from seqarena.models import SequenceModel, build
from seqarena.models.autocast import enable_autocast
from seqarena.models.blocks import INIT_RULES
from seqarena.models.compiled import compile_model

if TYPE_CHECKING:  # the tasks (and their datasets) load only in workers that train: see learning.py
    from seqarena.tasks import Task


class NonFiniteError(RuntimeError):
    """A model produced NaN or inf."""


class DivergedError(NonFiniteError):
    """A training run diverged (its loss or gradient norm went non-finite or exploded); the message names the step.
    The trial fails with the kind ``diverged``: a claim never reads it as a chance-level score."""


class CommonMetrics(TypedDict):
    """What every scenario reports about the model it measured."""

    params: int  # parameters, embeddings included
    params_no_embed: int
    model_spec: dict[str, Any]  # the built model's full spec (JSON)
    threads: int  # the thread count in force while measuring
    init: str  # the family's initialisation rule (models.blocks.INIT_RULES; "own" for a user's or HF model)
    # and, for a compiled model only, "compile": backend, units, compile_s (seconds compiling in this trial, apart
    # from every timing) and compiles (graphs compiled)


class PeakRecord(TypedDict):
    """A measured peak above the trial's own baseline (see :class:`seqarena.measure.memory.PeakMemory`)."""

    peak_bytes: int
    peak_method: str
    baseline_bytes: int


def build_model(spec: TrialSpec, task: Task | None = None, *, cast: bool = True) -> SequenceModel:
    """The trial's model at its parameter budget, seeded with the trial's seed, on the trial's device and (unless
    ``cast`` is False) dtype. With a ``task`` the task's input / output fields replace the trial's vocabulary; the
    trial's own ``options`` win over both, as they do when the sweep checks the model string."""
    base = task.model_fields() if task is not None else {"vocab_size": spec.vocab_size}
    fields = {"layers": spec.layers, **base, **spec.options}
    torch.manual_seed(spec.seed)
    model = build(spec.model, params=spec.params, **fields)
    model = model.to(device=spec.device, dtype=spec.torch_dtype) if cast else model.to(spec.device)
    if spec.autocast is not None:
        enable_autocast(model, spec.autocast, spec.device)
    if spec.compile is not None:  # after the cast: compiled code is specialised to the weights' dtype and device
        compile_model(model, spec.compile, spec.device)
    return model


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
    """Raise :class:`NonFiniteError` when ``t`` holds NaN or inf: a NaN is a failed trial, not a number."""
    if not torch.isfinite(t).all():
        raise NonFiniteError(f"{what} is not finite (NaN or inf)")


@functools.cache
def peak_flops(device: str, dtype: str, threads: int) -> float:
    """The GEMM peak, measured once per worker, device, dtype and thread count: MFU compares against "the same
    device in the same run"."""
    return gemm_peak_flops(device, DTYPES[dtype], threads=threads)


def timing(fn: Callable[[], object], spec: TrialSpec) -> dict[str, Any]:
    """Time ``fn`` with the trial's warm-up, repeats and minimum seconds (the timer's record as a dict). A compiled
    model compiles in the calls before (the untimed ones and the warm-up, at the timed shapes)."""
    co = cotimer.current()
    if co is not None:  # one of a group of contenders timed in turns (seqarena.measure.cotimer)
        with num_threads(spec.threads) as used:
            samples = co.time(fn, call_timer(spec.device), warmup=spec.warmup, repeats=spec.repeats,
                              min_seconds=spec.min_seconds)
        return {**TimingStats.from_samples(samples, threads=used).to_dict(), "cotimed": len(co.slots)}
    stats = time_callable(fn, device=spec.device, threads=spec.threads, warmup=spec.warmup,
                          min_repeats=spec.repeats, min_seconds=spec.min_seconds)
    return stats.to_dict()


def peak_memory(fn: Callable[[], object], device: str) -> PeakRecord:
    """The peak memory of one call of ``fn`` above the baseline before it."""
    with PeakMemory(device) as peak:
        fn()
    return {"peak_bytes": peak.peak_bytes, "peak_method": peak.method, "baseline_bytes": peak.baseline_bytes}


def common_metrics(model: SequenceModel, threads: int) -> CommonMetrics:
    """The model's sizes and spec, and the thread count in force (the timer's own record agrees; tests check it)."""
    compiled = {"compile": model.compiled.so_far()} if model.compiled is not None else {}
    compiled |= {"autocast": model.autocast} if model.autocast is not None else {}
    return {"params": model.num_params(), "params_no_embed": model.num_params(exclude_embeddings=True),
            "model_spec": model.spec.model_dump(mode="json"), "threads": threads,
            "init": INIT_RULES.get(model.family or "", "own") if type(model).__module__.startswith("seqarena.models")
            and type(model).__name__ != "HFModel" else "own", **compiled}
