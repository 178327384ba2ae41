"""Tuning on the validation split, the same effort for every contender: the learning rate, then (asked for) the
gradient-norm clip at that rate, then (asked for) regularisation (weight decay x dropout) at both.

A coordinate search, not a full product: each stage keeps the winner of the last, so the points tried are
``len(lrs) + len(clips) - 1 + len(regs) - 1`` and the tuning budget (``fraction`` of the run's) is split evenly over
them, whatever is tuned. Every point trains a freshly built model from the same seed; a diverged point loses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from seqarena.models import SequenceModel
from seqarena.tasks.base import Task
from seqarena.train.loop import TrainConfig, train

LR_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
#: Gradient-norm clips tried at the tuned LR (the essay: RNNs need careful clipping); 1.0 is the untuned default.
CLIP_GRID = (0.25, 1.0, 4.0)
#: (weight decay, dropout) pairs tried at the tuned LR and clip ("well-regularized", claim 9); the first is the
#: untuned default.
REG_GRID = ((0.01, 0.0), (0.1, 0.0), (0.01, 0.1), (0.1, 0.1))


def tune(build_model: Callable[[float], SequenceModel], task: Task, config: TrainConfig, *,
         lrs: Sequence[float] = LR_GRID, clips: Sequence[float] = (), regs: Sequence[tuple[float, float]] = (),
         fraction: float = 0.5) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The best settings on validation and every point tried (recorded with the trial).

    Args:
        build_model: a fresh model (same seed) with the given dropout.
        lrs, clips, regs: the grids; an empty one is not tuned (the config's value, dropout 0).
    Returns: ({"lr", "clip", "weight_decay", "dropout"}, [{stage, lr, clip, weight_decay, dropout, status, val,
        steps}, ...]).
    """
    points = len(lrs) + max(len(clips) - 1, 0) + max(len(regs) - 1, 0)
    share: dict[str, Any] = {}
    if config.steps:
        share["steps"] = max(1, int(config.steps * fraction / points))
    if config.budget_s:
        share["budget_s"] = config.budget_s * fraction / points
    best = {"lr": config.lr, "clip": config.clip, "weight_decay": config.weight_decay, "dropout": 0.0}
    tried: list[dict[str, Any]] = []

    def stage(name: str, candidates: list[dict[str, Any]]) -> None:
        results = []
        for c in candidates:
            setting = {**best, **c}
            known = next((t for t in tried if all(t[k] == v for k, v in setting.items())), None)
            if known is None:
                cfg = config.model_copy(update={"lr": setting["lr"], "clip": setting["clip"], "target": None,
                                                "weight_decay": setting["weight_decay"], **share})
                r = train(build_model(setting["dropout"]), task, cfg)
                known = {"stage": name, **setting, "status": r.status, "val": r.val.get(task.metric),
                         "steps": r.steps}
                tried.append(known)
            results.append(known)
        ok = [r for r in results if r["status"] != "diverged" and r["val"] is not None and math.isfinite(r["val"])]
        if ok:
            win = (max if task.higher_is_better else min)(ok, key=lambda r: r["val"])
            best.update({k: win[k] for k in best})

    stage("lr", [{"lr": lr} for lr in lrs])
    if clips:
        stage("clip", [{"clip": c} for c in clips])
    if regs:
        stage("regularisation", [{"weight_decay": wd, "dropout": d} for wd, d in regs])
    return best, tried


def tune_lr(build_model: Callable[[], SequenceModel], task: Task, config: TrainConfig,
            grid: tuple[float, ...] = LR_GRID, fraction: float = 0.5) -> tuple[float, list[dict[str, Any]]]:
    """The learning rate alone (:func:`tune` with only ``lrs``): (best lr, the grid's results)."""
    best, tried = tune(lambda dropout: build_model(), task, config, lrs=grid, fraction=fraction)
    return best["lr"], [{k: t[k] for k in ("lr", "status", "val", "steps")} for t in tried]
