"""What a task is: fixed splits of (inputs, targets), the model head they need, a loss, a metric and a baseline.

Every task materialises its splits as tensors once (small enough here), so training samples batches by index and
evaluation walks a fixed split. Three target kinds cover every task:

- ``tokens``: per-position class targets (B, T) with -100 where no loss is taken (copy, recall, language modelling);
- ``class``: one class per sequence (B,), read from the model's pooled output (order, ListOps, speech);
- ``regression``: a vector per sequence (B, H), read from the model's output at the last position (adding,
  forecasting).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, ValidationError
from torch import Tensor

from seqarena.errors import SpecError
from seqarena.measure.system import ram_bytes

IGNORE = -100


class TaskParams(BaseModel):
    """Parameters every task shares: split sizes and the data seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_train: int = 4096
    n_val: int = 512
    n_test: int = 512
    data_seed: int = 1234


@dataclasses.dataclass
class Split:
    """One split: inputs (N, T) long or (N, T, F) float, targets by kind."""

    x: Tensor
    y: Tensor

    def __len__(self) -> int:
        return self.x.shape[0]


class Task:
    """Base class. Subclasses set ``name``, ``Params``, ``target``, ``metric`` and implement :meth:`make_splits`."""

    name: ClassVar[str] = ""
    Params: ClassVar[type[TaskParams]] = TaskParams
    target: ClassVar[Literal["tokens", "class", "regression"]] = "tokens"
    metric: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True
    #: Parameters whose sum is a lower bound on an example's positions (the memory check before data is made);
    #: empty for tasks whose examples are views of one series or text.
    length_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: TaskParams) -> None:
        self.params = params
        self.splits: dict[str, Split] = self.make_splits()
        if any(len(s) == 0 for s in self.splits.values()):
            empty = ", ".join(k for k, s in self.splits.items() if len(s) == 0)
            raise SpecError(f"task {self.name}: no {empty} example left once the splits are made disjoint; allow "
                            "more distinct examples (a longer pattern, a larger alphabet, a longer distance)")

    # -- what a subclass provides ------------------------------------------------------------------------------
    def make_splits(self) -> dict[str, Split]:
        raise NotImplementedError

    def model_fields(self) -> dict[str, Any]:
        """Spec fields the model needs for this task's inputs and outputs (vocab / input_dim / head / output_dim)."""
        raise NotImplementedError

    def baseline(self, split: str = "test") -> dict[str, float]:
        """The trivial baseline's metrics on ``split`` (chance, majority, memoryless, mean, n-gram ...)."""
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------------------------------------
    @property
    def seq_len(self) -> int:
        return self.splits["train"].x.shape[1]

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """A random training batch (with replacement)."""
        train = self.splits["train"]
        idx = torch.randint(0, len(train), (batch_size,), generator=generator)
        return train.x[idx], train.y[idx]

    def batches(self, split: str, batch_size: int) -> Iterator[tuple[Tensor, Tensor]]:
        """The fixed split in order."""
        s = self.splits[split]
        for i in range(0, len(s), batch_size):
            yield s.x[i : i + batch_size], s.y[i : i + batch_size]

    def output(self, out: Tensor) -> Tensor:
        """The part of the model's output the loss reads: all positions, the pooled class scores, or the last step."""
        if self.target == "regression":
            return out[:, -1]  # (B, H)
        return out

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        """Mean loss over the counted targets (CE for tokens and classes, MSE for regression)."""
        out = self.output(out)
        if self.target == "regression":
            return F.mse_loss(out.float(), y.float())
        return F.cross_entropy(out.float().reshape(-1, out.shape[-1]), y.reshape(-1), ignore_index=IGNORE)

    def loss_sums(self, out: Tensor, y: Tensor) -> tuple[Tensor, int]:
        """(sum of per-target losses, number of targets): lets truncated BPTT normalise over the whole sequence."""
        out = self.output(out)
        if self.target == "regression":
            return F.mse_loss(out.float(), y.float(), reduction="sum"), y.numel()
        counted = int((y != IGNORE).sum())
        loss = F.cross_entropy(out.float().reshape(-1, out.shape[-1]), y.reshape(-1), ignore_index=IGNORE,
                               reduction="sum")
        return loss, counted

    @torch.no_grad()
    @torch.no_grad()  # metrics only: without it every batch built an autograd graph (slower, more memory)
    def evaluate(self, model: torch.nn.Module, split: str = "val", batch_size: int = 64,
                 device: torch.device | str = "cpu") -> dict[str, float]:
        """Metrics of ``model`` on a split: loss plus the task's metric (accuracy, bits/char, MSE and MAE)."""
        was_training = model.training
        model.eval()
        dtype = next(model.parameters()).dtype
        total, count, correct, abs_err = 0.0, 0, 0, 0.0
        for x, y in self.batches(split, batch_size):
            x = x.to(device, dtype) if x.is_floating_point() else x.to(device)
            y = y.to(device, dtype) if y.is_floating_point() else y.to(device)
            raw = model(x)[0]
            loss, n = self.loss_sums(raw, y)
            out = self.output(raw)
            total += float(loss)
            count += n
            if self.target == "regression":
                abs_err += float((out.float() - y.float()).abs().sum())
            else:
                mask = y != IGNORE
                correct += int(((out.argmax(-1) == y) & mask).sum())
        model.train(was_training)
        return self.summarise(total, count, correct, abs_err)

    def summarise(self, total: float, count: int, correct: int, abs_err: float) -> dict[str, float]:
        mean = total / max(count, 1)
        if self.target == "regression":
            return {"loss": mean, "mse": mean, "mae": abs_err / max(count, 1)}
        return {"loss": mean, "accuracy": correct / max(count, 1), "bits_per_token": mean / math.log(2)}

    def describe(self) -> dict[str, Any]:
        """Shapes, sizes and baseline for the CLI and the store."""
        train = self.splits["train"]
        return {"task": self.name, "params": self.params.model_dump(), "seq_len": self.seq_len,
                "sizes": {k: len(v) for k, v in self.splits.items()}, "metric": self.metric,
                "higher_is_better": self.higher_is_better, "input": list(train.x.shape[1:]),
                "baseline": self.baseline("test")}


def row_hashes(x: Tensor) -> list[bytes]:
    """A hash per example (row), to keep splits disjoint."""
    flat = x.flatten(1).contiguous() if x.ndim > 1 else x[:, None]
    return [hashlib.blake2b(row.numpy().tobytes(), digest_size=16).digest() for row in flat]


def disjoint(train: Split, *held_out: Split) -> Split:
    """Drop training examples whose inputs also occur in a held-out split (no overlap between splits)."""
    seen = {h for s in held_out for h in row_hashes(s.x)}
    keep = torch.tensor([h not in seen for h in row_hashes(train.x)], dtype=torch.bool)
    return Split(train.x[keep], train.y[keep])


def fixed_splits(task: Task, make) -> dict[str, Split]:
    """Validation, then test (examples also in validation dropped), then training (examples in either dropped), all
    from the task's data seed. ``make(n, generator) -> Split``."""
    p = task.params
    gen = torch.Generator().manual_seed(p.data_seed)
    val = make(p.n_val, gen)
    test = disjoint(make(p.n_test, gen), val)  # test never repeats what LR tuning and early stopping selected on
    return {"train": disjoint(make(p.n_train, gen), val, test), "val": val, "test": test}


_TASKS: dict[str, type[Task]] = {}


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: make a task available by its ``name``."""
    _TASKS[cls.name] = cls
    return cls


def available_tasks() -> list[str]:
    return sorted(_TASKS)


def task_class(name: str) -> type[Task]:
    if name not in _TASKS:
        raise SpecError(f"unknown task {name!r}; available: {', '.join(available_tasks())}")
    return _TASKS[name]


def catalogue() -> dict[str, dict[str, Any]]:
    """Each task by name, for a listing (``seqarena tasks``): ``summary`` (its docstring's first line), ``metric``
    and ``params`` (each parameter's default and description)."""
    return {name: {"summary": next(iter((cls.__doc__ or "").strip().splitlines()), ""), "metric": cls.metric,
                   "params": {k: {"default": f.default, "description": f.description or ""}
                              for k, f in cls.Params.model_fields.items()}}
            for name, cls in ((name, task_class(name)) for name in available_tasks())}


def make_task(name: str, **params: Any) -> Task:
    """Build a task; unknown or invalid parameters become one :class:`SpecError` line."""
    cls = task_class(name)
    unknown = sorted(set(params) - set(cls.Params.model_fields))
    if unknown:
        raise SpecError(f"unknown parameter {', '.join(map(repr, unknown))} for task {name!r}; valid: "
                        f"{', '.join(cls.Params.model_fields)}")
    try:
        p = cls.Params(**params)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise SpecError(f"task {name}: {loc}: {err['msg'].removeprefix('Value error, ')}") from None
    _check_data_fits(cls, p)
    return cls(p)


def _check_data_fits(cls: type[Task], p: TaskParams) -> None:
    """One line, before any data is made, when the splits alone could not fit in this machine's memory: a lower
    bound (examples x the positions ``cls.length_fields`` add up to x two int64 tensors), so that ``--distance
    1000000`` is an error, not an OOM kill of the process that builds the data."""
    positions = sum(int(getattr(p, f)) for f in cls.length_fields)
    if not positions:
        return
    examples = p.n_train + p.n_val + p.n_test
    need = examples * positions * 2 * 8
    ram = ram_bytes()
    if ram is not None and need > ram // 2:
        raise SpecError(f"task {cls.name}: {examples:,} examples of at least {positions:,} positions need at least "
                        f"{need / 2**30:,.1f} GiB; this machine has {ram / 2**30:,.1f} GiB of memory: use fewer "
                        "examples or shorter sequences")
