"""Learning scenarios: ``train`` (train a model on a task within a budget, optionally tuning the LR first: curve and
held-out metrics) and ``gradients`` (the gradient-flow probe: |dL_T/dx_t| against the distance T - t)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import torch
import torch.nn.functional as F

from seqarena.bench.scenarios.common import (
    CommonMetrics,
    DivergedError,
    build_model,
    check_finite,
    common_metrics,
)
from seqarena.bench.spec import TrialSpec
from seqarena.errors import SpecError
from seqarena.measure.timer import num_threads
from seqarena.models import SequenceModel

#: Environment variable naming a directory: a ``train`` trial run with it set saves its trained model there as
#: ``<spec hash>.pt`` (:func:`seqarena.models.save`). It changes no measurement, so it is not part of the spec.
SAVE_ENV = "SEQARENA_SAVE_MODELS"

if TYPE_CHECKING:  # imported lazily at run time (see train): tasks load only in the workers that need them
    from seqarena.tasks.base import Task
    from seqarena.train import TrainConfig


class Trained(TypedDict, total=False):
    """The probe's training run, when it trained first (``steps`` on ``task``)."""

    train_status: str
    steps: int
    val: dict[str, float]
    baseline: dict[str, Any]  # the task's trivial baseline (the claims' learned gate reads it)


class GradientMetrics(CommonMetrics, Trained):
    """``gradients``: mean |dL_T/dx_t| by distance T - t (keys: distances as strings)."""

    grad_norm_by_distance: dict[str, float]
    dtype_probe: str


class TrainMetrics(CommonMetrics):
    """``train``: the run's outcome, its validation / test metrics and its curve."""

    task: dict[str, Any]  # the task's description (sizes, baseline ...)
    baseline: Any
    metric: str
    train_status: str
    train_reason: str | None
    steps: int
    wall_s: float
    eval_s: float  # the final validation and test evaluation after the budget
    lr: float
    lr_grid: Any  # every setting tuning tried (stage, lr, clip, weight decay, dropout, validation value); None: untuned
    clip: float | None  # the gradient-norm clip used (tuned with tune_more "clip"; None: off)
    weight_decay: float  # AdamW's, on matrices (tuned with tune_more "regularisation")
    dropout: float  # the model's (tuned with tune_more "regularisation")
    val: dict[str, float]
    test: dict[str, float]
    train_eval: dict[str, float]  # the final model on (a val-sized part of) the training split, in eval mode
    val_metric: float | None
    test_metric: float | None
    time_to_target_s: float | None
    steps_to_target: int | None
    best_step: int | None  # early stopping: the step whose weights were kept
    time_to_best_s: float | None  # ... reached after this many training seconds
    curve: list[dict[str, Any]]


def gradients(spec: TrialSpec) -> GradientMetrics:
    """Gradient-flow probe: the norm of d loss_T / d x_t (x_t: the input layer's output at position t) against the
    distance T - t, in float64, at initialisation or after ``steps`` training steps on ``task``.

    The loss reads only the last position, so every other position's gradient has to travel through the model's
    time mixing: through n steps of recurrence for an RNN, through one attention hop (and residuals) for a
    transformer. Norms are averaged over a batch of random sequences."""
    # here, not at the top: tasks and training load only in the workers that need them (datasets, tokenizers)
    from seqarena.tasks import make_task
    from seqarena.train import TrainConfig
    from seqarena.train import train as run_training

    task = make_task(spec.task, **spec.task_params) if spec.task else None
    # built in the default dtype (trained so), cast to float64 for the probe itself
    model = build_model(spec, task, cast=False)
    if not model.causal or model.spec.head != "lm":
        raise SpecError(f"the gradient probe needs a causal LM; {spec.model} is not one here")
    trained = {}
    with num_threads(spec.threads) as threads:
        if task is not None and spec.steps:
            config = TrainConfig(lr=spec.lr or 1e-3, batch_size=spec.batch, steps=spec.steps, eval_every=spec.steps,
                                 seed=spec.seed, device=spec.device)
            result = run_training(model, task, config)
            if result.status == "diverged":
                raise DivergedError(f"training before the probe: {result.reason}")
            trained = {"train_status": result.status, "steps": result.steps, "val": result.val,
                       "baseline": task.describe()["baseline"]}
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
    return {**common_metrics(model, threads), **trained, "grad_norm_by_distance": by_distance, "dtype_probe": "float64"}


def final_train_metrics(task: Task, model: SequenceModel, config: TrainConfig) -> dict[str, float]:
    """The final model's metrics on the training split in eval mode (dropout off), like the validation metrics: the
    generalisation gap is val - this, not val - the training loss averaged over the run (which mixes in how fast the
    model learned, in train mode). At most as many examples as the validation split, evenly spaced over the training
    split, so the pass costs one validation pass."""
    from seqarena.tasks.base import Split

    train, k = task.splits["train"], len(task.splits["val"])
    idx = torch.linspace(0, len(train) - 1, min(k, len(train))).round().long().unique()
    task.splits["train_eval"] = Split(train.x[idx], train.y[idx])
    try:
        return task.evaluate(model, "train_eval", config.eval_batch_size, config.device)
    finally:
        del task.splits["train_eval"]  # the task's own splits stay as they were


def train(spec: TrialSpec) -> TrainMetrics:
    """Train the model on a task within the budget (optionally tuning the LR first); curve and metrics."""
    # here, not at the top: tasks and training load only in the workers that need them (datasets, tokenizers)
    from seqarena.tasks import make_task
    from seqarena.train import CLIP_GRID, LR_GRID, REG_GRID, TrainConfig, tune
    from seqarena.train import train as run_training

    task = make_task(spec.task, **spec.task_params)

    def fresh_model(dropout: float | None = None) -> SequenceModel:  # the same seeded start for every setting tried
        tried = spec if dropout is None else spec.model_copy(update={"options": {**spec.options, "dropout": dropout}})
        return build_model(tried, task)

    config = TrainConfig(lr=spec.lr or 1e-3, batch_size=spec.batch, steps=spec.steps, budget_s=spec.budget_s,
                         tbptt=spec.tbptt, checkpointing=spec.checkpointing, eval_every=spec.eval_every,
                         target=spec.target, early_stop=spec.early_stop, seed=spec.seed, device=spec.device)
    grid, dropout = None, None
    with num_threads(spec.threads) as threads:
        if spec.tune_lr:
            best, grid = tune(fresh_model, task, config, lrs=LR_GRID,
                              clips=CLIP_GRID if "clip" in spec.tune_more else (),
                              regs=REG_GRID if "regularisation" in spec.tune_more else ())
            config = config.model_copy(update={k: best[k] for k in ("lr", "clip", "weight_decay")})
            dropout = best["dropout"] if "regularisation" in spec.tune_more else None
        model = fresh_model(dropout)
        result = run_training(model, task, config)
        if result.status == "diverged":
            raise DivergedError(f"{result.reason} (lr {config.lr:g})")
        fit = final_train_metrics(task, model, config)
    info = task.describe()
    if os.environ.get(SAVE_ENV):  # the driver asked for the trained weights (the data recommender keeps its pick's)
        from seqarena.models import save

        save(model, Path(os.environ[SAVE_ENV]) / f"{spec.spec_hash()}.pt", task=spec.task,
             task_params=spec.task_params, val=result.val, test=result.test)
    return {
        **common_metrics(model, threads),
        "task": info,
        "baseline": info["baseline"],
        "metric": task.metric,
        "train_status": result.status,
        "train_reason": result.reason,
        "steps": result.steps,
        "wall_s": result.wall_s,
        "eval_s": result.eval_s,
        "lr": config.lr,
        "lr_grid": grid,
        "clip": config.clip,
        "weight_decay": config.weight_decay,
        "dropout": model.spec.dropout,
        "val": result.val,
        "test": result.test,
        "train_eval": fit,
        "val_metric": result.val.get(task.metric),
        "test_metric": result.test.get(task.metric),
        "time_to_target_s": result.time_to_target_s,
        "steps_to_target": result.steps_to_target,
        "best_step": result.best_step,
        "time_to_best_s": result.time_to_best_s,
        "curve": result.curve,
    }
