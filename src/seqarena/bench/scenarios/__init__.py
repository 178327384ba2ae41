"""Scenarios: what a trial measures. Each takes a :class:`TrialSpec` and returns its typed metrics record (a
TypedDict: the plain dict the store keeps as JSON).

They run inside a worker process (see :mod:`seqarena.run`); they never touch the store. Every scenario checks that
the model's outputs are finite and raises :class:`NonFiniteError` otherwise, so a NaN is a failed trial, not a number.

- ``train_step``: forward + backward + AdamW step; step time, tokens/s, peak memory (measured and accounted), MFU
  (:mod:`.speed`).
- ``forward_latency`` / ``throughput``: inference forward (no grad) at (batch, n); latency, sequences/s, tokens/s
  (:mod:`.speed`).
- ``generation``: prefill time, per-token decode latency by position, state bytes by generated length, total time
  (:mod:`.generating`).
- ``memory``: peak training (``kind=train``) or inference (``kind=infer``) memory above the trial's baseline
  (:mod:`.footprint`).
- ``train`` / ``gradients``: training on a task, and the gradient-flow probe (:mod:`.learning`).

Every scenario builds its model with :func:`~.common.build_model`.
"""

from __future__ import annotations

from collections.abc import Callable

from seqarena.bench.scenarios.common import (
    CommonMetrics,
    DivergedError,
    NonFiniteError,
    build_model,
    check_finite,
    loss_fn,
    make_inputs,
)
from seqarena.bench.scenarios.footprint import MemoryMetrics, OptimizerMetrics, memory
from seqarena.bench.scenarios.generating import GenerationMetrics, generation, generation_positions
from seqarena.bench.scenarios.learning import GradientMetrics, TrainMetrics, gradients, train
from seqarena.bench.scenarios.speed import LatencyMetrics, TrainStepMetrics, forward_latency, train_step
from seqarena.bench.spec import TrialSpec

#: Any scenario's metrics record.
Metrics = (TrainStepMetrics | LatencyMetrics | GenerationMetrics | MemoryMetrics | OptimizerMetrics | TrainMetrics
           | GradientMetrics)

SCENARIO_FUNCTIONS: dict[str, Callable[[TrialSpec], Metrics]] = {
    "train_step": train_step,
    "forward_latency": forward_latency,
    "throughput": forward_latency,  # same measurement; the sweep varies the batch instead of n
    "generation": generation,
    "memory": memory,
    "train": train,
    "gradients": gradients,
}


def run_trial(spec: TrialSpec) -> Metrics:
    """Run one trial in this process and return its metrics."""
    return SCENARIO_FUNCTIONS[spec.scenario](spec)


__all__ = [
    "SCENARIO_FUNCTIONS",
    "CommonMetrics",
    "DivergedError",
    "GenerationMetrics",
    "GradientMetrics",
    "LatencyMetrics",
    "MemoryMetrics",
    "Metrics",
    "NonFiniteError",
    "OptimizerMetrics",
    "TrainMetrics",
    "TrainStepMetrics",
    "build_model",
    "check_finite",
    "generation_positions",
    "loss_fn",
    "make_inputs",
    "run_trial",
]
