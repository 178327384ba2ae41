"""``seqarena demo``: a first look at every model, small, timed once on this machine (the main job is
``seqarena run``, the claims suite).

For each model: build it at a parameter budget, time a forward+backward on random tokens (train tokens/s), generate
tokens in every generation mode it has (decode ms/token, median over steps), report the state bytes after 64 tokens,
and check that all modes produced the same tokens. Numbers are single-run medians on a possibly noisy machine; the
measurement harness (``seqarena bench``) is where careful timings live.
"""

from __future__ import annotations

import dataclasses
import os
import platform
from collections.abc import Callable

import torch

from seqarena.bench.spec import DTYPES, MAX_COUNT, check_threads
from seqarena.errors import SpecError
from seqarena.measure.system import cpu_model
from seqarena.measure.timer import time_callable
from seqarena.models import SequenceModel, available, build, generate, parse_model_string
from seqarena.models.compiled import check_compile, compile_model
from seqarena.run import check_model


@dataclasses.dataclass(frozen=True)
class DemoSettings:
    """What every model in one demo shares (fairness: same budget, batch, length, dtype, threads, device)."""

    params: int = 200_000  # parameter budget per model (embeddings and head included)
    vocab_size: int = 256
    layers: int = 2
    batch: int = 8  # training batch
    seq_len: int = 256  # training sequence length
    tokens: int = 64  # tokens generated per mode (batch 1)
    prompt_len: int = 16
    repeats: int = 5  # timed forward+backward repeats (median)
    device: str = "cpu"
    dtype: str = "float32"
    threads: int | None = None  # None: torch's default
    seed: int = 0
    compile: str | None = None  # torch.compile backend of every model's layers; None: eager

    def validate(self) -> None:
        """Raise a one-line :class:`SpecError` for settings that cannot run here."""
        for field in ("params", "vocab_size", "layers", "batch", "seq_len", "tokens", "prompt_len", "repeats"):
            if getattr(self, field) < 1:
                raise SpecError(f"{field} must be >= 1, got {getattr(self, field)}")
            if getattr(self, field) > MAX_COUNT:  # a typo: torch would abort (not raise) on such a tensor
                raise SpecError(f"{field} {getattr(self, field)} is beyond any machine's reach (at most "
                                f"{MAX_COUNT:,})")
        check_compile(self.compile, self.device)
        if self.dtype not in DTYPES:
            raise SpecError(f"unknown dtype {self.dtype!r}; choose from: {', '.join(DTYPES)}")
        try:
            device = torch.device(self.device)
        except RuntimeError:
            raise SpecError(f"unknown device {self.device!r}; use cpu, cuda or cuda:N") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise SpecError("device cuda requested but no CUDA device is available")
        if device.type not in ("cpu", "cuda"):
            raise SpecError(f"unsupported device {self.device!r}; use cpu, cuda or cuda:N")
        check_threads(self.threads)


@dataclasses.dataclass
class DemoRow:
    """One model's demo results."""

    model: str
    params: int
    spec: dict  # the model's full, validated spec
    train_tokens_per_s: float
    decode_ms_per_token: dict[str, float]  # by generation mode
    state_bytes_64: int | None  # logical state bytes after 64 tokens at batch 1 (None: no state)
    modes_agree: bool | None  # every mode's greedy tokens == the parallel forward's argmax; None: no generation


def environment(settings: DemoSettings) -> dict[str, str]:
    """Hardware and settings printed with the numbers."""
    device = torch.device(settings.device)
    hw = cpu_model() if device.type == "cpu" else torch.cuda.get_device_name(device)
    return {
        "device": f"{device} ({hw})",
        "cores": str(os.cpu_count()),
        "threads": str(torch.get_num_threads()),
        "dtype": settings.dtype,
        "compile": settings.compile or "eager",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "budget": f"{settings.params:,} params, {settings.layers} layers, vocab {settings.vocab_size}",
        "train": f"batch {settings.batch} x {settings.seq_len} tokens, median of {settings.repeats}",
        "decode": f"batch 1, prompt {settings.prompt_len}, {settings.tokens} tokens",
    }


def demo_model(text: str, settings: DemoSettings) -> DemoRow:
    """Build, time and generate with one model (``name[:field=value,...]``)."""
    name, fields = parse_model_string(text)
    fields = {"vocab_size": settings.vocab_size, "layers": settings.layers, **fields}
    device, dtype = torch.device(settings.device), DTYPES[settings.dtype]
    torch.manual_seed(settings.seed)
    model: SequenceModel = build(name, params=settings.params, **fields).to(device=device, dtype=dtype)
    if settings.compile is not None:
        compile_model(model, settings.compile, settings.device)
    B, T = settings.batch, settings.seq_len
    tokens_in = model.spec.vocab_size is not None
    V = model.spec.vocab_size
    x = torch.randint(0, V, (B, T), device=device) if tokens_in else torch.randn(B, T, model.spec.input_dim,
                                                                                  device=device, dtype=dtype)

    def train_step() -> None:
        model.zero_grad(set_to_none=True)
        y, _ = model(x)
        # the loss's value is irrelevant to the timing; it only has to reach every output
        y.float().square().mean().backward()

    model.train()
    # warm-up once (allocator, oneDNN primitive caches; compilation), then exactly `repeats` timed calls
    train_s = time_callable(train_step, device=device, warmup=1, min_repeats=settings.repeats, min_seconds=0.0).median
    model.eval()
    decode: dict[str, float] = {}
    state_bytes, agree = None, None
    if model.causal and model.spec.head == "lm":
        prompt = torch.randint(0, V, (1, settings.prompt_len), device=device)
        runs = {mode: generate(model, prompt, settings.tokens, mode) for mode in model.generation_modes}
        decode = {mode: run.decode_ms_per_token for mode, run in runs.items()}
        first = next(iter(runs.values())).tokens
        with torch.no_grad():  # teacher forcing: every greedy token must be the parallel forward's argmax
            logits, _ = model(torch.cat([prompt, first[:, :-1]], dim=1))
        forward_tokens = logits[:, settings.prompt_len - 1 :].argmax(-1)
        agree = all(torch.equal(run.tokens, forward_tokens) for run in runs.values())
        with torch.no_grad():
            _, state = model(torch.randint(0, V, (1, 64), device=device))
        state_bytes = model.state_nbytes(state)
    return DemoRow(
        model=text,
        params=model.num_params(),
        spec=model.spec.model_dump(),
        train_tokens_per_s=B * T / train_s,
        decode_ms_per_token=decode,
        state_bytes_64=state_bytes,
        modes_agree=agree,
    )


def run_demo(
    models: list[str] | None = None,
    settings: DemoSettings | None = None,
    on_model: Callable[[str], None] | None = None,
) -> list[DemoRow]:
    """Run the demo for ``models`` (default: every registered model) with shared ``settings``."""
    settings = settings or DemoSettings()
    settings.validate()
    models = list(models or available())
    for text in models:  # fail fast, before any timing, on a bad name, field or budget
        check_model(text, settings.params, vocab_size=settings.vocab_size, layers=settings.layers)
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    rows = []
    for text in models:
        if on_model is not None:
            on_model(text)
        rows.append(demo_model(text, settings))
    return rows
