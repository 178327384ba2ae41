"""Synthetic long-range tasks, each with its dependency distance as a parameter.

All are generated from a seeded ``torch.Generator``; validation and test sets are fixed, and training examples that
also occur in them are dropped (splits never overlap).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from pydantic import Field

from seqarena.errors import SpecError
from seqarena.tasks.base import IGNORE, Split, Task, TaskParams, fixed_splits, register_task


class CopyParams(TaskParams):
    distance: int = Field(50, ge=1, description="blanks between the pattern and the recall cue")
    pattern: int = Field(10, ge=1, description="symbols to remember")
    alphabet: int = Field(8, ge=2, description="distinct symbols")


@register_task
class CopyMemory(Task):
    """Copy memory (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): see a pattern, wait, reproduce it.

    Tokens: 0 blank, 1..A symbols, A+1 the recall cue. Input = pattern (P) + blanks (distance) + cue + blanks (P-1);
    the targets are the pattern at the last P positions (from the cue on) and ignored elsewhere. Metric: accuracy
    on the recalled symbols. Memoryless baseline: log(A) nats per symbol, accuracy 1/A.

    Example (P=2, A=3, distance=3): x = [2 1 0 0 0 4 0], y = [- - - - - 2 1].
    """

    name = "copy"
    length_fields = ("pattern", "distance", "pattern")
    Params = CopyParams
    target = "tokens"

    def make_splits(self) -> dict[str, Split]:
        p: CopyParams = self.params
        P, T, A = p.pattern, p.distance, p.alphabet

        def make(n: int, gen: torch.Generator) -> Split:
            pattern = torch.randint(1, A + 1, (n, P), generator=gen)
            x = torch.zeros(n, 2 * P + T, dtype=torch.long)
            x[:, :P] = pattern
            x[:, P + T] = A + 1
            y = torch.full_like(x, IGNORE)
            y[:, P + T :] = pattern
            return Split(x, y)

        return fixed_splits(self, make)

    def model_fields(self) -> dict[str, Any]:
        return {"vocab_size": self.params.alphabet + 2, "head": "lm"}

    def baseline(self, split: str = "test") -> dict[str, float]:
        A = self.params.alphabet
        return {"name": "memoryless", "loss": math.log(A), "accuracy": 1 / A, "bits_per_token": math.log2(A)}


class AddingParams(TaskParams):
    distance: int = Field(100, ge=2, description="sequence length; the two marked values lie in different halves")


@register_task
class Adding(Task):
    """The adding problem (Hochreiter & Schmidhuber 1997): sum the two marked values of a long sequence.

    Features per step: (value ~ U[0, 1], marker in {0, 1}); one marker in each half. Target: the sum, read at the
    last position. Metric MSE. Baseline: predict the training mean (MSE ~ 1/6, the variance of a sum of two
    uniforms).

    Example (distance=4): x = [(.2, 1), (.7, 0), (.1, 0), (.5, 1)] -> y = 0.7.
    """

    name = "adding"
    length_fields = ("distance",)
    Params = AddingParams
    target = "regression"
    metric = "mse"
    higher_is_better = False

    def make_splits(self) -> dict[str, Split]:
        L = self.params.distance

        def make(n: int, gen: torch.Generator) -> Split:
            values = torch.rand(n, L, generator=gen)
            first = torch.randint(0, L // 2, (n,), generator=gen)
            second = torch.randint(L // 2, L, (n,), generator=gen)
            marks = torch.zeros(n, L)
            rows = torch.arange(n)
            marks[rows, first] = 1.0
            marks[rows, second] = 1.0
            y = (values * marks).sum(1, keepdim=True)
            return Split(torch.stack([values, marks], dim=-1), y)

        return fixed_splits(self, make)

    def model_fields(self) -> dict[str, Any]:
        return {"vocab_size": None, "input_dim": 2, "head": "regression", "output_dim": 1}

    def baseline(self, split: str = "test") -> dict[str, float]:
        mean = self.splits["train"].y.mean()
        y = self.splits[split].y
        return {"name": "predict the training mean", "mse": float(((y - mean) ** 2).mean()),
                "mae": float((y - mean).abs().mean())}


class SelectiveCopyParams(TaskParams):
    distance: int = Field(64, ge=2, description="length of the region the symbols are scattered over")
    pattern: int = Field(8, ge=1, description="symbols to remember, in order")
    alphabet: int = Field(8, ge=2, description="distinct symbols")


@register_task
class SelectiveCopy(CopyMemory):
    """Selective copying (Gu & Dao 2023): symbols scattered at random positions among blanks; after the cue,
    reproduce them in order. The model must select by content, not by a fixed offset.

    Tokens: 0 blank, 1..A symbols, A+1 cue. Metric: accuracy on the recalled symbols; memoryless baseline 1/A.

    Example (P=2, distance=5): x = [0 3 0 0 1 4 0], y = [- - - - - 3 1].
    """

    name = "selective_copy"
    length_fields = ("distance", "pattern")
    Params = SelectiveCopyParams
    target = "tokens"

    def make_splits(self) -> dict[str, Split]:
        p: SelectiveCopyParams = self.params
        P, L, A = p.pattern, p.distance, p.alphabet
        if P > L:
            raise SpecError(f"task selective_copy: pattern ({P}) must fit in distance ({L})")

        def make(n: int, gen: torch.Generator) -> Split:
            symbols = torch.randint(1, A + 1, (n, P), generator=gen)
            slots = torch.rand(n, L, generator=gen).argsort(dim=1)[:, :P].sort(dim=1).values  # P positions, in order
            x = torch.zeros(n, L + P, dtype=torch.long)
            x.scatter_(1, slots, symbols)
            x[:, L] = A + 1
            y = torch.full_like(x, IGNORE)
            y[:, L:] = symbols
            return Split(x, y)

        return fixed_splits(self, make)


class MQARParams(TaskParams):
    pairs: int = Field(8, ge=1, description="key-value pairs in the context")
    queries: int = Field(8, ge=1, description="keys queried after the gap (<= pairs)")
    distance: int = Field(32, ge=0, description="blanks between the pairs and the queries")
    keys: int = Field(32, ge=2, description="key vocabulary (values use as many more tokens)")


@register_task
class MQAR(Task):
    """Multi-query associative recall (Arora et al. 2023, Zoology): read key-value pairs, then answer queries.

    Tokens: 0 blank, 1..K keys, K+1..2K values. Input = k1 v1 ... kn vn, blanks (distance), q1 ... qm (keys seen in
    the context); the target at each query is its value. Metric: accuracy on queries. Baseline: guessing among the
    n values in the context, 1/n.

    Example (2 pairs, K=4, distance=1): x = [3 7 1 5 0 1 3], y = [- - - - - 5 7].
    """

    name = "mqar"
    length_fields = ("pairs", "pairs", "distance", "queries")
    Params = MQARParams
    target = "tokens"

    def make_splits(self) -> dict[str, Split]:
        p: MQARParams = self.params
        if p.queries > p.pairs or p.pairs > p.keys:
            raise SpecError("task mqar: need queries <= pairs <= keys")
        K, n_pairs, m, D = p.keys, p.pairs, p.queries, p.distance

        def make(n: int, gen: torch.Generator) -> Split:
            keys = torch.rand(n, K, generator=gen).argsort(dim=1)[:, :n_pairs] + 1  # distinct keys
            values = torch.randint(K + 1, 2 * K + 1, (n, n_pairs), generator=gen)
            order = torch.rand(n, n_pairs, generator=gen).argsort(dim=1)[:, :m]
            x = torch.zeros(n, 2 * n_pairs + D + m, dtype=torch.long)
            x[:, 0 : 2 * n_pairs : 2] = keys
            x[:, 1 : 2 * n_pairs : 2] = values
            x[:, 2 * n_pairs + D :] = keys.gather(1, order)
            y = torch.full_like(x, IGNORE)
            y[:, 2 * n_pairs + D :] = values.gather(1, order)
            return Split(x, y)

        return fixed_splits(self, make)

    def model_fields(self) -> dict[str, Any]:
        return {"vocab_size": 2 * self.params.keys + 1, "head": "lm"}

    def baseline(self, split: str = "test") -> dict[str, float]:
        return {"name": "guess among the context's values", "accuracy": 1 / self.params.pairs,
                "loss": math.log(self.params.pairs)}


NOUNS = ("lion", "wolf", "fox", "cat", "owl", "snake", "frog", "mouse")  # the order of the food chain
VERBS = ("ate", "chased", "caught", "hunted")
FILLERS = ("very", "big", "old", "grey", "quick", "small", "wild", "shy")
ORDER_VOCAB = ("<pad>", "the", *NOUNS, *VERBS, *FILLERS)


class OrderParams(TaskParams):
    distance: int = Field(2, ge=0, description="filler words between the subject and the verb")


@register_task
class WordOrder(Task):
    """Word order decides the label: "the cat ate the mouse" (plausible, 1) vs "the mouse ate the cat" (0).

    The label is 1 when the subject ranks above the object in a fixed food chain (lion > wolf > ... > mouse).
    Examples come in minimal pairs (subject and object swapped, opposite labels) in the same split, so every bag of
    words occurs with both labels: a bag-of-words model stays at chance, and so does a transformer without positions.
    ``distance`` filler words sit between the subject and the verb. Splits are made of disjoint pair *types* (noun
    pair, verb, fillers): 70% of the types train, 15% validate, 15% test, so no sentence is in two splits even when
    the space is small (28 x 4 x 8^distance types). Metric accuracy; baseline: majority class (50%).

    Example (distance=1): "the lion very ate the fox" -> 1; "the fox very ate the lion" -> 0.
    """

    name = "order"
    length_fields = ("distance",)
    Params = OrderParams
    target = "class"

    def make_splits(self) -> dict[str, Split]:
        p: OrderParams = self.params
        ids = {w: i for i, w in enumerate(ORDER_VOCAB)}
        pairs = [(a, b) for a in range(len(NOUNS)) for b in range(a + 1, len(NOUNS))]
        n_fill = len(FILLERS) ** p.distance
        n_types = len(pairs) * len(VERBS) * n_fill
        L = 5 + p.distance
        gen = torch.Generator().manual_seed(p.data_seed)
        # a type's split is fixed by a seeded random key: 70 / 15 / 15
        key = torch.rand(n_types, generator=gen) if n_types <= 2_000_000 else None

        def in_split(t: torch.Tensor, split: str) -> torch.Tensor:
            u = key[t] if key is not None else (t * 2654435761 % 1000).float() / 1000  # hash for huge spaces
            lo, hi = {"train": (0.0, 0.7), "val": (0.7, 0.85), "test": (0.85, 1.0)}[split]
            return (u >= lo) & (u < hi)

        def make(n: int, split: str) -> Split:
            want = (n + 1) // 2
            chosen = []
            while sum(len(c) for c in chosen) < want:
                t = torch.randint(0, n_types, (4 * want + 64,), generator=gen)
                chosen.append(t[in_split(t, split)])
            types = torch.cat(chosen)[:want]
            fill_code, rest = types % n_fill, types // n_fill
            verb, pair = rest % len(VERBS), rest // len(VERBS)
            a = torch.tensor([pairs[i][0] for i in pair.tolist()], dtype=torch.long)
            b = torch.tensor([pairs[i][1] for i in pair.tolist()], dtype=torch.long)
            fill = torch.stack([(fill_code // len(FILLERS) ** k) % len(FILLERS) for k in range(p.distance)], dim=1) \
                if p.distance else torch.zeros(want, 0, dtype=torch.long)
            x = torch.zeros(2 * want, L, dtype=torch.long)
            y = torch.zeros(2 * want, dtype=torch.long)
            for swap in (0, 1):
                subj, obj = (a, b) if swap == 0 else (b, a)
                rows = slice(swap, None, 2)  # a pair's two sentences sit side by side
                x[rows, 0] = ids["the"]
                x[rows, 1] = subj + ids[NOUNS[0]]
                x[rows, 2 : 2 + p.distance] = fill + ids[FILLERS[0]]
                x[rows, 2 + p.distance] = verb + ids[VERBS[0]]
                x[rows, 3 + p.distance] = ids["the"]
                x[rows, 4 + p.distance] = obj + ids[NOUNS[0]]
                y[rows] = (subj < obj).long()  # lower index = higher in the food chain
            return Split(x, y)

        return {"train": make(p.n_train, "train"), "val": make(p.n_val, "val"), "test": make(p.n_test, "test")}

    def model_fields(self) -> dict[str, Any]:
        return {"vocab_size": len(ORDER_VOCAB), "head": "classify", "output_dim": 2}

    def baseline(self, split: str = "test") -> dict[str, float]:
        train_majority = int(self.splits["train"].y.float().mean() >= 0.5)
        return {"name": "majority class", "accuracy": float((self.splits[split].y == train_majority).float().mean())}

    @staticmethod
    def decode(x: torch.Tensor) -> str:
        """Token ids back to words (for examples and debugging)."""
        return " ".join(ORDER_VOCAB[i] for i in x.tolist() if i)
