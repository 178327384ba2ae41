"""What the user needs: sequence length, data size, budgets. One validated object, one-line errors."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from seqarena.bench.spec import check_device, check_fits, check_threads, least_bytes, target_cores
from seqarena.errors import SpecError
from seqarena.measure.system import timing_threads

#: Bytes per float32 parameter that a training step holds at least: weights, gradients and AdamW's two moments, all
#: allocated above the process baseline (the profile trains: it states a training-set size).
TRAIN_BYTES_PER_PARAM = 16


class Profile(BaseModel):
    """A workload to recommend an architecture for."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)  # an infinite budget is no budget

    seq_len: int  # tokens per sequence (n)
    train_sequences: int  # training-set size: < 10,000 is "little data" in the essay's sense
    latency_budget_ms: float | None = None  # per forward at (n, batch); per generated token when streaming
    memory_cap_mb: float | None = None  # peak MB above the process baseline
    # what the cap binds: "inference" (the deployed model, e.g. on an edge device; training happens elsewhere) or
    # "both" (the model is also trained on this device: a training step must fit too)
    cap_scope: Literal["inference", "both"] = "inference"
    batch: int = 1  # sequences per call (inference and training step)
    streaming: bool = False  # tokens arrive one by one: per-token decode cost is what matters
    device: str = "cpu"  # cpu, cuda or cuda:N
    params: int = 1_000_000  # model size (parameters, embeddings included), the store's usual budget
    #: the deployment's thread count, which latency is measured at (None: the claims' timing threads, so the suites'
    #: stored rows answer; a model's ranking can change with it: at n = 32 an LSTM is slower than a transformer at 1
    #: thread and faster at 2 here)
    threads: int | None = None

    @field_validator("seq_len", "train_sequences", "batch", "params")
    @classmethod
    def _positive(cls, v: int, info) -> int:
        if v < 1:
            raise ValueError(f"must be >= 1, got {v}")
        return v

    @field_validator("latency_budget_ms", "memory_cap_mb")
    @classmethod
    def _positive_budget(cls, v: float | None, info) -> float | None:
        if v is not None and not v > 0:  # also rejects NaN
            raise ValueError(f"must be > 0, got {v}")
        return v

    @field_validator("threads")
    @classmethod
    def _threads(cls, v: int | None) -> int | None:
        check_threads(v)  # more than this machine's cores, or below 1: one line
        return v

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        check_device(v)  # SpecError is a ValueError: pydantic reports its line
        return v

    @model_validator(mode="after")
    def _possible(self) -> Profile:
        # the one impossibility known before measuring anything: the training state alone does not fit under the cap
        if self.memory_cap_mb is not None and self.cap_scope == "both":
            need_mb = self.params * TRAIN_BYTES_PER_PARAM / 2**20
            if self.memory_cap_mb < need_mb:
                raise ValueError(f"memory cap {self.memory_cap_mb:g} MB is below the {need_mb:.1f} MB that training "
                                 f"{self.params:,} float32 parameters needs before any activation (weights, "
                                 "gradients, AdamW moments); raise the cap or lower params")
        # a workload that cannot fit on the device at all gets no ranking (streaming holds no full-length logits)
        need = least_bytes(params=self.params, tokens=self.seq_len * self.batch, vocab_size=256, dtype="float32",
                           full_logits=not self.streaming, backward=False)
        check_fits(need, self.device, f"n={self.seq_len:,} at batch {self.batch:,} with {self.params:,} parameters")
        return self

    def measured_threads(self) -> int:
        """The thread count every timing the profile reads was measured at."""
        return self.threads or timing_threads(target_cores())

    @property
    def latency_critical(self) -> bool:
        """Latency ranks first when a budget is given, or when tokens stream one at a time at batch 1."""
        return self.latency_budget_ms is not None or (self.streaming and self.batch == 1)

    def describe(self) -> str:
        parts = [f"n={self.seq_len:,}", f"{self.train_sequences:,} training sequences", f"batch {self.batch}"]
        if self.latency_budget_ms is not None:
            parts.append(f"latency <= {self.latency_budget_ms:g} ms" + ("/token" if self.streaming else ""))
        if self.memory_cap_mb is not None:
            scope = "inference" if self.cap_scope == "inference" else "inference and training"
            parts.append(f"memory <= {self.memory_cap_mb:g} MB above baseline ({scope})")
        if self.streaming:
            parts.append("streaming")
        parts.append(f"{self.device}, {self.params:,} params" + (f", {self.threads} threads" if self.threads else ""))
        return ", ".join(parts)


def make_profile(profile: Profile | dict[str, Any] | None = None, **fields: Any) -> Profile:
    """A :class:`Profile` from a Profile, a dict and/or keyword fields; any problem is one :class:`SpecError` line."""
    from pydantic import ValidationError

    if isinstance(profile, Profile):
        if not fields:
            return profile
        profile = profile.model_dump()
    if profile is not None and not isinstance(profile, dict):
        raise SpecError(f"a profile is a Profile or a dict, got {type(profile).__name__}")
    try:
        return Profile(**{**(profile or {}), **fields})
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        raise SpecError(f"{loc}: {msg}" if loc else msg) from None
