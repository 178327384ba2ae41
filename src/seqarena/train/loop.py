"""A small, honest training loop: AdamW, linear warm-up + cosine decay, gradient clipping, truncated BPTT for
recurrent models, optional activation checkpointing for attention models, periodic evaluation, early stop at a
target, early stopping on validation (best weights kept), divergence detection, and a stored training curve.

With a step budget and a fixed seed a run is deterministic on CPU (same batches, same init, same updates).
"""

from __future__ import annotations

import collections
import dataclasses
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field

from seqarena.errors import SpecError
from seqarena.models import SequenceModel
from seqarena.tasks.base import Task


class TrainConfig(BaseModel):
    """Settings of one training run (recorded with its result)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    batch_size: int = Field(32, ge=1)
    steps: int | None = Field(None, ge=1, description="step budget (None: until budget_s)")
    budget_s: float | None = Field(None, gt=0, description="wall-clock budget in seconds")
    warmup: float = Field(0.05, ge=0, lt=1, description="fraction of the budget spent warming the LR up")
    clip: float | None = Field(1.0, gt=0, description="gradient-norm clipping (None: off)")
    tbptt: int | None = Field(None, ge=1, description="truncated BPTT segment length (recurrent state carried)")
    checkpointing: bool = Field(False, description="activation checkpointing (attention models)")
    eval_every: int = Field(100, ge=1)
    eval_batch_size: int = Field(128, ge=1)
    target: float | None = Field(None, description="stop when the validation metric reaches this")
    early_stop: int | None = Field(None, ge=1, description="early stopping: keep the weights of the best validation "
                                   "metric, and stop after this many evaluations without a better one")
    explode: float = Field(10.0, gt=1, description="diverged when the median loss of the last EXPLODE_WINDOW steps "
                           "exceeds this multiple of the first loss")
    seed: int = 0
    device: str = "cpu"

    def check(self) -> None:
        if self.steps is None and self.budget_s is None:
            raise SpecError("give a training budget: steps or seconds")
        if self.tbptt is not None and self.checkpointing:
            raise SpecError("truncated BPTT carries a state; activation checkpointing keeps none: use one of them")


#: Steps whose median loss decides divergence: one heavy-tailed batch (a jump in a series, seen from its last value)
#: or a transient overshoot of Adam's first steps is not a divergence; a loss that stays high, or any non-finite one,
#: is. A run judged on single batches failed every model and learning rate at the same step of a glucose series.
EXPLODE_WINDOW = 10


@dataclasses.dataclass
class TrainResult:
    """What a run produced. ``status``: ok | target_reached | early_stopped | diverged."""

    status: str
    steps: int
    wall_s: float
    curve: list[dict[str, float]]  # step, wall_s, train_loss, val_<metric>...
    val: dict[str, float]
    test: dict[str, float]
    metric: str
    time_to_target_s: float | None = None
    steps_to_target: int | None = None
    reason: str | None = None
    eval_s: float = 0.0  # the final validation and test evaluation, after the budget (stated, not hidden)
    best_step: int | None = None  # early stopping: the step whose weights were kept (best validation metric)
    time_to_best_s: float | None = None  # ... and when it was reached

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _lr_factor(progress: float, warmup: float) -> float:
    """Linear warm-up over the first ``warmup`` of the budget, then cosine decay to 10%."""
    if warmup > 0 and progress < warmup:
        return max(progress / warmup, 1e-3)
    t = (progress - warmup) / max(1e-9, 1 - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def _reached(value: float, target: float, higher_is_better: bool) -> bool:
    return value >= target if higher_is_better else value <= target


def train_step_loss(model: SequenceModel, task: Task, x: torch.Tensor, y: torch.Tensor, tbptt: int | None) -> float:
    """Forward + backward of one batch; with ``tbptt`` the sequence is cut into segments, the state is carried and
    detached between them, and per-target losses are normalised over the whole sequence (so with a segment as long
    as the sequence the gradients equal full BPTT's). Returns the batch's mean loss."""
    T = x.shape[1]
    if tbptt is not None and not getattr(model, "causal", True):
        raise SpecError("truncated BPTT needs a causal model that carries a state; this one is bidirectional")
    if tbptt is None:
        loss = task.loss(model(x)[0], y)
        loss.backward()
        return float(loss.detach())
    per_position = task.target == "tokens"
    total_targets = int((y != -100).sum()) if per_position else y.numel()
    state, total = None, 0.0
    for start in range(0, T, tbptt):
        seg = slice(start, min(T, start + tbptt))
        out, state = model(x[:, seg], state)
        last = seg.stop == T
        if per_position:
            loss_sum, _ = task.loss_sums(out, y[:, seg])
        elif last:  # class / regression targets are read at the end of the sequence
            loss_sum, _ = task.loss_sums(out, y)
        else:
            loss_sum = None
        if loss_sum is not None:
            (loss_sum / max(total_targets, 1)).backward()
            total += float(loss_sum.detach())
        if state is None and not last:
            raise SpecError("truncated BPTT needs a model that returns a state to carry between segments")
        if state is not None:
            state = state.detach()
    return total / max(total_targets, 1)


#: Where a running training reports its progress (set by the worker process: it forwards to the driver's progress
#: bar); called at most every :data:`PROGRESS_EVERY_S` seconds with step, fraction of the budget, recent loss, seconds.
progress_reporter: Callable[[dict[str, float]], None] | None = None
PROGRESS_EVERY_S = 1.0


def train(model: SequenceModel, task: Task, config: TrainConfig) -> TrainResult:
    """Train ``model`` on ``task`` within the budget; never raises on divergence (status ``diverged``)."""
    config.check()
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    device = torch.device(config.device)
    model.to(device).train()
    dtype = next(model.parameters()).dtype
    if config.checkpointing:
        if not getattr(model, "supports_checkpointing", False):
            raise SpecError(f"{type(model).__name__} does not support activation checkpointing")
        model.activation_checkpointing = True
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=config.lr)
    metric = task.metric
    curve: list[dict[str, float]] = []
    status, reason = "ok", None
    first_loss: float | None = None
    time_to_target = steps_to_target = None
    t0 = reported = time.perf_counter()
    step = 0
    window: list[float] = []  # training losses since the last evaluation (the curve shows their mean)
    recent: collections.deque[float] = collections.deque(maxlen=EXPLODE_WINDOW)  # divergence is judged on these
    best: dict[str, Any] = {}  # early stopping: value, step, wall_s and the weights of the best validation metric
    stale = 0  # evaluations since the best one

    def progress() -> float:
        parts = []
        if config.steps:
            parts.append(step / config.steps)
        if config.budget_s:
            parts.append((time.perf_counter() - t0) / config.budget_s)
        return max(parts)

    while progress() < 1.0:
        for group in opt.param_groups:
            group["lr"] = config.lr * _lr_factor(progress(), config.warmup)
        x, y = task.sample(config.batch_size, gen)
        x, y = _to(x, device, dtype), _to(y, device, dtype)
        opt.zero_grad(set_to_none=True)
        loss = train_step_loss(model, task, x, y, config.tbptt)
        step += 1
        window.append(loss)
        recent.append(loss)
        if first_loss is None:
            first_loss = loss
        if not math.isfinite(loss):
            status, reason = "diverged", f"loss {loss:.4g} at step {step} (first loss {first_loss:.4g})"
            break
        if first_loss > 0 and len(recent) == EXPLODE_WINDOW and (typical := statistics.median(recent)) > (
                config.explode * first_loss):
            status, reason = "diverged", (f"median loss {typical:.4g} over steps {step - EXPLODE_WINDOW + 1}-{step} "
                                          f"(first loss {first_loss:.4g})")
            break
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip if config.clip else math.inf)
        if not torch.isfinite(norm):
            status, reason = "diverged", f"non-finite gradient norm at step {step}"
            break
        opt.step()
        if progress_reporter is not None and time.perf_counter() - reported >= PROGRESS_EVERY_S:
            reported = time.perf_counter()
            progress_reporter({"step": step, "fraction": min(1.0, progress()), "loss": sum(window) / len(window),
                               "elapsed_s": reported - t0, **({"steps": config.steps} if config.steps else {})})
        if step % config.eval_every == 0:
            val = task.evaluate(model, "val", config.eval_batch_size, device)
            wall = time.perf_counter() - t0
            curve.append({"step": step, "wall_s": wall, "train_loss": sum(window) / len(window),
                          **{f"val_{k}": v for k, v in val.items()}})
            window = []
            if not math.isfinite(val["loss"]):
                status, reason = "diverged", f"validation loss not finite at step {step}"
                break
            if config.target is not None and _reached(val[metric], config.target, task.higher_is_better):
                status, time_to_target, steps_to_target = "target_reached", wall, step
                break
            if config.early_stop is not None:
                if not best or _better(val[metric], best["value"], task.higher_is_better):
                    best = {"value": val[metric], "step": step, "wall_s": wall,
                            "weights": {k: v.detach().clone() for k, v in model.state_dict().items()}}
                    stale = 0
                else:
                    stale += 1
                    if stale >= config.early_stop:
                        status, reason = "early_stopped", f"no better validation {metric} in {stale} evaluations"
                        break
    wall = time.perf_counter() - t0
    model.activation_checkpointing = False
    if status == "diverged":
        nan = {metric: math.nan, "loss": math.nan}
        return TrainResult(status, step, wall, curve, nan, nan, metric, reason=reason)
    t_eval = time.perf_counter()
    val = task.evaluate(model, "val", config.eval_batch_size, device)
    if best and math.isfinite(val["loss"]) and not _better(val[metric], best["value"], task.higher_is_better):
        model.load_state_dict(best["weights"])  # the last steps did not improve on the best evaluation: go back
        val = task.evaluate(model, "val", config.eval_batch_size, device)
    elif best:
        best = {"step": step, "wall_s": wall}
    if not math.isfinite(val["loss"]):  # the last update can break the weights
        nan = {metric: math.nan, "loss": math.nan}
        return TrainResult("diverged", step, wall, curve, nan, nan, metric, reason="final validation loss not finite",
                           eval_s=time.perf_counter() - t_eval)
    test = task.evaluate(model, "test", config.eval_batch_size, device)
    if window:
        curve.append({"step": step, "wall_s": wall, "train_loss": sum(window) / len(window),
                      **{f"val_{k}": v for k, v in val.items()}})
    return TrainResult(status, step, wall, curve, val, test, metric, time_to_target, steps_to_target,
                       eval_s=time.perf_counter() - t_eval, best_step=best.get("step"),
                       time_to_best_s=best.get("wall_s"))


def _better(value: float, than: float, higher_is_better: bool) -> bool:
    return value > than if higher_is_better else value < than


def _to(t: torch.Tensor, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Move a batch; real-valued inputs and targets follow the model's dtype (token ids stay integer)."""
    return t.to(device, dtype) if t.is_floating_point() else t.to(device)
