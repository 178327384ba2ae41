"""What one trial is: a scenario applied to one model at one point of a sweep, with every setting that matters."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from seqarena.bench.names import SCENARIOS, Scenario
from seqarena.errors import SpecError
from seqarena.measure.system import cpu_model, ram_bytes, usable_cores
from seqarena.models import get_class
from seqarena.models.compiled import check_compile

DTYPES = {"float32": torch.float32, "float64": torch.float64, "bfloat16": torch.bfloat16, "float16": torch.float16}


#: Implementation version of each scenario: bump one when a change alters what that scenario measures, so rows the
#: older code measured are not reused as if nothing changed (part of :meth:`TrialSpec.spec_hash`, like each model
#: family's ``impl_version``).
SCENARIO_VERSIONS = {scenario: 1 for scenario in SCENARIOS} | {
    "generation": 2,  # 2: detrended single-step jitter (claim 23b); the first timed run is the memory run
    "train": 4,  # 2: the final model's eval-mode metrics on the training split (train_eval, claim 9b); 3: a
    # diverged run is a failed trial (kind "diverged", the step in its reason), no longer an ok row with NaN metrics;
    # 4: divergence judged on the median loss of 10 steps, not one batch (seqarena.train.loop.EXPLODE_WINDOW)
    "gradients": 3,  # 2: training before the probe that diverges fails the trial (kind "diverged"); 3: as train 4
    "memory": 4,  # 2: time from the timer, outside the tracker; the peak with the weights; 3: kind=optimizer warms
    # AdamW up first (a fresh process's first step counted its lazy imports: 2.66x the parameter bytes, not 2);
    # 4: measured in a worker with glibc's mmap threshold fixed (seqarena.run.worker.MEMORY_ENV)
}

#: Settings added after stores existed, with their defaults: at the default they are left out of the spec hash.
#: The largest count a trial may ask for (lengths, batches, steps, repeats ...): 2^40.
MAX_COUNT = 2**40

LATER_FIELDS = {"compile": None, "autocast": None, "aux": True, "tune_more": (), "early_stop": None}

#: Fields only the quality scenario (``train``) reads.
TRAIN_FIELDS = {"task", "task_params", "budget_s", "steps", "lr", "tune_lr", "tune_more", "tbptt", "checkpointing",
                "eval_every", "target", "data_digest", "early_stop"}


def check_device(text: str) -> torch.device:
    """Parse a device string; one-line :class:`SpecError` when it is unknown or absent here."""
    try:
        device = torch.device(text)
    except (RuntimeError, TypeError):
        raise SpecError(f"unknown device {text!r}; use cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise SpecError(f"unsupported device {text!r}; use cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SpecError("device cuda requested but no CUDA device is available")
    return device


class TrialSpec(BaseModel):
    """Everything that defines one trial. Two trials with equal specs on the same machine are the same measurement,
    which is what the store's resume relies on (see :meth:`spec_hash`)."""

    # NaN or infinity in a setting (lr, target, min_seconds, memory cap ...) is never meant: reject, do not store
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    scenario: Scenario
    model: str  # registered name or import path
    options: dict[str, Any] = Field(default_factory=dict)  # model spec fields, e.g. {"positions": "alibi"}
    params: int | None = 1_000_000  # parameter budget (None: the spec's own widths)
    layers: int = 2
    vocab_size: int = 256
    seq_len: int = 256
    batch: int = 1
    # generation
    mode: str | None = None  # recompute | cache | state (generation only)
    tokens: int = 256  # tokens generated
    prompt_len: int = 16
    sample_every: int = 0  # decode latency sampled every k positions (0: about 32 samples)
    # memory
    kind: Literal["train", "infer", "optimizer"] = "train"  # memory scenario: what is measured
    chunk: int | None = None  # memory infer: prefill in chunks of this many tokens, carrying the state/cache
    # settings recorded with every result (fairness: the same for all contenders in a sweep)
    device: str = "cpu"
    dtype: str = "float32"
    threads: int | None = None  # None: torch's default on this machine (recorded as the count in force)
    compile: Literal["inductor", "aot_eager"] | None = None  # torch.compile backend for the model's layers; None: eager
    autocast: Literal["bfloat16", "float16"] | None = None  # mixed precision: float32 weights, this compute dtype
    seed: int = 0
    warmup: int = 2
    repeats: int = 5  # minimum timed calls
    min_seconds: float = 0.5  # minimum timed seconds
    memory_cap_mb: float | None = None  # above the trial's own baseline
    # FLOPs (hence MFU) and saved-tensor bytes beside a timing (train_step, forward_latency); False: time and peak only,
    # e.g. the recommender's probe (counting FLOPs of an unfused recurrence costs ~5x its step: GRU n=2048, 6.6 s)
    aux: bool = True
    round: int = 0  # the r-th of several interleaved measurements of the same point (see run.sweep.expand)
    # quality (scenario "train"): the model trains on a task within a budget (batch = training batch size)
    task: str | None = None
    task_params: dict[str, Any] = Field(default_factory=dict)
    budget_s: float | None = None
    steps: int | None = None
    lr: float | None = None  # None: 1e-3, or the tuned one with tune_lr
    tune_lr: bool = False
    # with tune_lr, also tune at the tuned LR: "clip" (gradient-norm clip), "regularisation" (weight decay x dropout)
    tune_more: tuple[Literal["clip", "regularisation"], ...] = ()
    tbptt: int | None = None
    checkpointing: bool = False
    eval_every: int = 100
    target: float | None = None
    data_digest: str | None = None  # sha256 of a user's data file: a changed file is a new trial, not a resume
    early_stop: int | None = Field(None, ge=1)  # keep the best validation weights; stop after this many worse evals

    @model_validator(mode="before")
    @classmethod
    def _drop_unused(cls, data: Any) -> Any:
        # settings a scenario does not use must not change its identity: `bench forward_latency --tokens 64` has to
        # resume the same trials as without --tokens
        if isinstance(data, dict):
            unused = set()
            if data.get("scenario") != "generation":
                unused |= {"mode", "tokens", "prompt_len", "sample_every"}
            scenario = data.get("scenario")
            if scenario != "memory":
                unused |= {"kind", "chunk"}
            if scenario == "train":  # the task fixes n and the vocabulary; timing knobs do not apply
                unused |= {"seq_len", "vocab_size", "repeats", "min_seconds", "warmup", "round"}
            elif scenario == "gradients":  # an optional short training on a task before the probe
                unused |= (TRAIN_FIELDS - {"task", "task_params", "steps", "lr"}) | {"repeats", "min_seconds", "warmup"}
            elif scenario == "memory":
                unused |= TRAIN_FIELDS - {"tbptt"}
            else:
                unused |= TRAIN_FIELDS
            data = {k: v for k, v in data.items() if k not in unused}
        return data

    @field_validator("layers", "vocab_size", "seq_len", "batch", "tokens", "prompt_len", "repeats", "chunk")
    @classmethod
    def _positive(cls, v: int | None, info) -> int | None:
        if v is not None and v < 1:  # None: no chunking
            raise ValueError(f"{info.field_name} must be >= 1, got {v}")
        return v

    @field_validator("seed")
    @classmethod
    def _seed(cls, v: int) -> int:
        if not 0 <= v < 2**63:  # torch, numpy and random all take this range
            raise ValueError(f"must be between 0 and 2**63 - 1, got {v}")
        return v

    @field_validator("params", "layers", "vocab_size", "seq_len", "batch", "tokens", "prompt_len", "sample_every",
                     "warmup", "repeats", "round", "steps", "tbptt", "eval_every", "chunk")
    @classmethod
    def _within_reach(cls, v: int | None, info) -> int | None:
        # 2^40 (~1e12) tokens, steps or repeats is beyond any machine: a larger value was a typo (and would not even
        # fit the store's 64-bit integers: an OverflowError after the trial had run)
        if v is not None and v > MAX_COUNT:
            raise ValueError(f"{info.field_name} {v} is beyond any machine's reach (at most {MAX_COUNT:,})")
        return v

    @field_validator("warmup", "sample_every", "round")
    @classmethod
    def _non_negative(cls, v: int, info) -> int:
        if v < 0:
            raise ValueError(f"{info.field_name} must be >= 0, got {v}")
        return v

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, v: str) -> str:
        if v not in DTYPES:
            raise ValueError(f"unknown dtype {v!r}; choose from: {', '.join(DTYPES)}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> TrialSpec:
        if self.params is not None and self.params < 1:
            raise ValueError(f"params must be >= 1, got {self.params}")
        if self.memory_cap_mb is not None and self.memory_cap_mb <= 0:
            raise ValueError(f"memory cap must be > 0 MB, got {self.memory_cap_mb}")
        if self.min_seconds < 0:
            raise ValueError(f"min_seconds must be >= 0, got {self.min_seconds}")
        if self.autocast is not None and self.dtype != "float32":
            raise ValueError(f"autocast keeps float32 weights and computes in {self.autocast}: use dtype float32")
        if self.scenario == "train":
            if not self.task:
                raise ValueError("the train scenario needs a task")
            if self.budget_s is None and self.steps is None:
                raise ValueError("give a training budget: seconds or steps")
            if (self.budget_s is not None and self.budget_s <= 0) or (self.steps is not None and self.steps < 1):
                raise ValueError("the training budget must be positive")
            if self.dtype not in ("float32", "float64"):
                raise ValueError("training runs in float32 or float64 (mixed precision: autocast)")
            for name in ("lr", "tbptt"):
                value = getattr(self, name)
                if value is not None and value <= 0:
                    raise ValueError(f"{name} must be > 0, got {value}")
            if self.eval_every < 1:
                raise ValueError(f"eval_every must be >= 1, got {self.eval_every}")
            if self.tbptt is not None and self.checkpointing:
                raise ValueError("truncated BPTT carries a state; activation checkpointing keeps none: use one")
            if self.tune_more and not self.tune_lr:
                raise ValueError(f"tuning {' and '.join(self.tune_more)} happens at the tuned LR: set tune_lr too")
        return self

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def risky(self) -> bool:
        """Trials that may take the process down or leave it bloated run in a fresh worker: capped ones (a cap is
        enforced on the worker's whole RSS) and very large ones. Uncapped memory trials reuse the worker: the peak is
        measured above a baseline taken after returning freed memory to the OS (``malloc_trim``), and a fresh spawn
        plus ``import torch`` costs ~2.5 s per trial on a 2-core machine."""
        return self.memory_cap_mb is not None or self.seq_len * self.batch >= 65_536

    @property
    def timed(self) -> bool:
        """Timing and memory trials: their numbers are the machine's speed, so a busy machine spoils them (quality
        trials only take longer)."""
        return self.scenario not in ("train", "gradients")

    def label(self) -> str:
        """Short human label: model[fields] and the point."""
        fields = ",".join(f"{k}={v}" for k, v in sorted(self.options.items()))
        name = f"{self.model}:{fields}" if fields else self.model
        point = f"n={self.seq_len} B={self.batch}"
        if self.scenario == "generation":
            point = f"{self.mode} N={self.tokens}"
        elif self.scenario == "train":
            params = ",".join(f"{k}={v}" for k, v in sorted(self.task_params.items()))
            point = f"{self.task}" + (f"({params})" if params else "")
        elif self.scenario == "memory":
            point += f" {self.kind}"
        return f"{self.scenario} {name} {point}" + (f" round {self.round + 1}" if self.round else "")

    def spec_hash(self) -> str:
        """Identity of the measurement: the spec plus the machine and software it runs on (a store copied to another
        machine does not make that machine skip its own measurements). The git commit is left out on purpose: a
        re-run after an unrelated commit resumes instead of re-measuring; the commit is stored with each row."""
        # a setting added after stores existed stays out of the identity at its default: old rows keep their hashes
        later = {name for name, default in LATER_FIELDS.items() if getattr(self, name) == default}
        identity = {
            "spec": self.model_dump(mode="json", exclude=later),
            "machine": machine_identity(self.device),
            "implementation": {"scenario": SCENARIO_VERSIONS[self.scenario],
                               "model": getattr(get_class(self.model), "impl_version", 1)},
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]


#: The machine trials are identified as while judging another machine's store (:func:`judged_as`); None: this one.
_JUDGED_AS: contextvars.ContextVar[dict[str, str | None] | None] = contextvars.ContextVar("judged_as", default=None)


@contextlib.contextmanager
def judged_as(machine: dict[str, str | None]) -> Iterator[None]:
    """Identify trials as measured on ``machine`` ({cpu, cores, gpu, torch}) inside the block: how a store made on
    another machine is judged here (``seqarena compare``) without measuring anything."""
    token = _JUDGED_AS.set(machine)
    try:
        yield
    finally:
        _JUDGED_AS.reset(token)


def machine_identity(device: str) -> dict[str, str | None]:
    """What makes a measurement machine-specific: CPU/GPU model, usable cores and torch version."""
    if (machine := _JUDGED_AS.get()) is not None:
        return machine
    dev = torch.device(device)
    gpu = torch.cuda.get_device_name(dev) if dev.type == "cuda" and torch.cuda.is_available() else None
    return {"cpu": cpu_model(), "cores": str(usable_cores()), "gpu": gpu, "torch": torch.__version__}


def target_cores() -> int:
    """Usable cores of the machine the trials run on: a cluster's node kind inside :func:`judged_as` (the Ray
    executor routes every trial to one kind), else this process's."""
    machine = _JUDGED_AS.get()
    if machine is not None and str(machine.get("cores") or "").isdigit():
        return int(machine["cores"])
    return usable_cores()


def check_threads(threads: int | None) -> None:
    """A thread count the measuring machine can run: >= 1 and at most its usable cores (:func:`target_cores`).
    More threads than cores oversubscribe them (spin-waiting OpenMP threads preempt each other): timings come out
    orders of magnitude too slow yet look like valid measurements."""
    if threads is None:
        return
    if threads < 1:
        raise SpecError(f"threads must be >= 1, got {threads}")
    cores = target_cores()
    if threads > cores:
        raise SpecError(f"threads {threads} is more than the {cores} usable CPU cores of the measuring machine; "
                        f"use --threads {cores} or fewer")


#: The measuring machine's memory for the trials' device when they run elsewhere (a cluster's node kind: its
#: smallest node), as (bytes, what to call it); None: this machine's.
_TARGET_MEMORY: contextvars.ContextVar[tuple[int, str] | None] = contextvars.ContextVar("target_memory", default=None)


@contextlib.contextmanager
def measured_with_memory(memory: tuple[int, str] | None) -> Iterator[None]:
    """Check trials against ``memory`` (bytes, name) inside the block instead of this machine's device memory: the
    memory of the nodes that will run them (:func:`check_trial_fits`)."""
    token = _TARGET_MEMORY.set(memory)
    try:
        yield
    finally:
        _TARGET_MEMORY.reset(token)


def device_memory_bytes(device: str) -> tuple[int | None, str]:
    """Total memory of ``device`` and what to call it: the GPU's own memory, or the machine's RAM; inside
    :func:`measured_with_memory`, that of the machine that measures."""
    if (target := _TARGET_MEMORY.get()) is not None:
        return target
    dev = torch.device(device)
    if dev.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_properties(dev).total_memory, f"{torch.cuda.get_device_name(dev)} memory"
    return ram_bytes(), "RAM"


def least_bytes(*, params: int | None, tokens: int, vocab_size: int | None, dtype: str, full_logits: bool,
                backward: bool) -> int:
    """A lower bound on the memory one call needs: the weights (and their gradients when it trains), the int64 token
    ids, and the (tokens, vocabulary) logits when the whole sequence is scored at once. Real use is far higher
    (activations, caches, optimizer state): this only catches what plainly cannot run."""
    width = torch.empty((), dtype=DTYPES.get(dtype, torch.float32)).element_size()
    need = (params or 0) * width * (2 if backward else 1) + tokens * 8
    if full_logits and vocab_size:
        need += tokens * vocab_size * width
    return need


def check_fits(need: int, device: str, what: str) -> None:
    """One-line :class:`SpecError` when ``need`` bytes exceed the device's total memory."""
    have, memory = device_memory_bytes(device)
    if have is not None and need > have:
        whose = "the measuring machine's" if _TARGET_MEMORY.get() is not None else "this machine's"
        raise SpecError(f"{what} needs at least {need / 2**30:,.1f} GiB, more than {whose} "
                        f"{have / 2**30:,.1f} GiB of {memory}; lower the sizes")


def check_trial_fits(spec: TrialSpec) -> None:
    """Reject a trial that plainly cannot fit on its device, before any worker starts (it would only fail there)."""
    training = spec.scenario in ("train", "train_step", "gradients") or (spec.scenario == "memory"
                                                                           and spec.kind != "infer")
    if spec.scenario == "train":  # the task fixes the sequences: only the weights are known here
        tokens, logits = 0, False
    else:
        tokens = spec.seq_len * spec.batch
        logits = not ((spec.scenario == "generation" and spec.mode != "recompute")
                      or (spec.scenario == "memory" and spec.chunk is not None))
    need = least_bytes(params=spec.params, tokens=tokens, vocab_size=spec.vocab_size, dtype=spec.dtype,
                       full_logits=logits, backward=training)
    point = "" if spec.scenario == "train" else f" at n={spec.seq_len:,}, batch {spec.batch:,}"
    params = f"{spec.params:,} parameters" if spec.params else "its parameters"
    check_fits(need, spec.device, f"{spec.scenario} of {spec.model} with {params}{point}")


def make_trial(**fields: Any) -> TrialSpec:
    """Validate a trial spec, and that it can run here (threads, memory); any problem becomes one
    :class:`SpecError` line."""
    from pydantic import ValidationError

    try:
        spec = TrialSpec(**fields)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        raise SpecError(f"{loc}: {msg}" if loc else msg) from None
    check_threads(spec.threads)
    check_compile(spec.compile, spec.device)
    check_trial_fits(spec)
    data_file = spec.task_params.get("file") if spec.scenario == "train" else None
    if data_file and spec.data_digest is None:  # a changed file is a new trial, not a resume
        spec = spec.model_copy(update={"data_digest": file_digest(Path(str(data_file)))})
    return spec


def file_digest(path: Path) -> str:
    """sha256 of a user's data file (recorded in the trial spec, so an edited file is measured again)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
