"""Autoregressive generation shared by every causal LM, in the modes each model declares.

- ``recompute``: re-run the whole prefix through the parallel forward for every new token (no cache).
- ``cache``: prefill the prompt into a KV cache, then one ``step`` per token.
- ``state``: the same loop for recurrent models, whose state is the hidden state.

All modes must produce the same tokens under greedy decoding; the tests check it for every model.
"""

from __future__ import annotations

import dataclasses
import itertools
import time

import torch
from torch import Tensor

from seqarena.errors import SpecError
from seqarena.models.base import SequenceModel, State


@dataclasses.dataclass
class Generation:
    """What :func:`generate` returns. Times are wall seconds (CUDA-synchronised on GPU)."""

    tokens: Tensor  # (B, n) generated token ids
    mode: str
    state: State | None  # final state (None for recompute)
    prefill_s: float  # time to the first new token
    step_s: list[float]  # time of each later token, in order

    @property
    def decode_ms_per_token(self) -> float:
        """Median per-token decode time after the first token, in ms (NaN when n < 2)."""
        if not self.step_s:
            return float("nan")
        return 1e3 * float(torch.tensor(self.step_s).median())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _pick(logits: Tensor, temperature: float, top_k: int | None, generator: torch.Generator | None) -> Tensor:
    """Next token from (B, V) logits: argmax when temperature == 0, else sampled."""
    if temperature == 0.0:
        return logits.argmax(dim=-1)
    logits = logits / temperature
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits.float(), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


@torch.no_grad()
def generate(
    model: SequenceModel,
    prompt: Tensor,
    n: int,
    mode: str | None = None,
    *,
    temperature: float = 0.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> Generation:
    """Generate ``n`` tokens after ``prompt`` (B, T0) with a causal LM.

    Args:
        mode: one of ``model.generation_modes`` (default: the last, i.e. the incremental one).
        temperature: 0 for greedy decoding; > 0 samples (with ``top_k`` and ``generator`` if given).
    """
    if not model.causal:
        raise SpecError(f"generation needs a causal model; {model.name} is bidirectional")
    if model.spec.head != "lm":
        raise SpecError(f"generation needs an lm head; this model has head={model.spec.head}")
    mode = mode or model.generation_modes[-1]
    if mode not in model.generation_modes:
        choices = ", ".join(model.generation_modes)
        raise SpecError(f"mode {mode!r} is not available for {model.name}; choose from: {choices}")
    if n < 1 or prompt.ndim != 2 or prompt.shape[1] < 1:
        raise SpecError("generate needs n >= 1 and a (B, T) prompt with T >= 1")
    device = prompt.device
    B, T0 = prompt.shape
    times: list[float] = []
    state = None

    _sync(device)
    t0 = time.perf_counter()
    if mode == "recompute":
        seq = torch.empty(B, T0 + n, dtype=prompt.dtype, device=device)
        seq[:, :T0] = prompt
        for i in range(n):
            logits, _ = model(seq[:, : T0 + i])
            seq[:, T0 + i] = _pick(logits[:, -1], temperature, top_k, generator)
            _sync(device)
            times.append(time.perf_counter())
        out = seq[:, T0:]
    else:
        # tokens kept in a list and stacked once: a write into a preallocated (B, n) tensor per token (and a view to
        # read it back) cost ~10% of an LSTM's decode step here (benchmarks/peers.py, section loop)
        state = model.init_state(B, device=device, max_len=T0 + n)
        logits, state = model(prompt, state)
        tok = _pick(logits[:, -1], temperature, top_k, generator)  # (B,)
        toks = [tok]
        _sync(device)
        times.append(time.perf_counter())
        greedy, cuda, clock = temperature == 0.0, device.type == "cuda", time.perf_counter
        for _ in range(1, n):
            logits, state = model.step(tok, state)
            tok = logits.argmax(dim=-1) if greedy else _pick(logits, temperature, top_k, generator)
            toks.append(tok)
            if cuda:
                torch.cuda.synchronize(device)
            times.append(clock())
        out = torch.stack(toks, dim=1)  # (B, n)
    steps = [b - a for a, b in itertools.pairwise(times)]
    return Generation(out.to(torch.long), mode, state, times[0] - t0, steps)
