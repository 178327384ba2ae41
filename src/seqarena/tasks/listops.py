"""ListOps-style nested expressions (Nangia & Bowman 2018; Long Range Arena), generated here."""

from __future__ import annotations

import random
import statistics
from typing import Any

import torch
from pydantic import Field

from seqarena.tasks.base import Split, Task, TaskParams, fixed_splits, register_task

OPS = ("MAX", "MIN", "MED", "SM")
TOKENS = ("<pad>", *(str(d) for d in range(10)), *(f"[{op}" for op in OPS), "]")
IDS = {t: i for i, t in enumerate(TOKENS)}


def evaluate_expression(tree: Any) -> int:
    """Value of a tree: an int, or (op, [children]). SM is the sum mod 10, MED the (lower) median."""
    if isinstance(tree, int):
        return tree
    op, args = tree
    values = [evaluate_expression(a) for a in args]
    if op == "MAX":
        return max(values)
    if op == "MIN":
        return min(values)
    if op == "MED":
        return int(statistics.median_low(values))
    return sum(values) % 10


def tokens_of(tree: Any) -> list[str]:
    if isinstance(tree, int):
        return [str(tree)]
    op, args = tree
    return [f"[{op}", *(t for a in args for t in tokens_of(a)), "]"]


def random_tree(rng: random.Random, depth: int, max_args: int, budget: int) -> Any:
    """A random expression of nesting depth <= ``depth`` whose token count stays within ``budget``."""
    if depth == 0 or budget < 4 or rng.random() < 0.25:
        return rng.randrange(10)
    n_args = rng.randint(2, max_args)
    args, left = [], budget - 2  # the operator and the closing bracket
    for i in range(n_args):
        share = max(1, left // (n_args - i))
        child = random_tree(rng, depth - 1, max_args, share)
        size = len(tokens_of(child))
        if size > left:
            break
        args.append(child)
        left -= size
    if len(args) < 2:
        return rng.randrange(10)
    return (rng.choice(OPS), args)


class ListOpsParams(TaskParams):
    length: int = Field(128, ge=8, description="maximum tokens per expression (left-padded to this)")
    depth: int = Field(3, ge=1, description="maximum nesting depth")
    max_args: int = Field(5, ge=2, description="maximum arguments per operator")


@register_task
class ListOps(Task):
    """Evaluate a nested expression of MAX, MIN, MED (median) and SM (sum mod 10) over digits; 10 classes.

    Expressions are left-padded to ``length`` so a causal model reads the closing bracket last. Metric accuracy;
    baseline: the majority class of the training split.

    Example: [MAX 2 9 [MIN 4 7 ] 0 ] -> 9;  [SM 3 [MED 1 5 8 ] 9 ] -> (3 + 5 + 9) mod 10 = 7.
    """

    name = "listops"
    length_fields = ("length",)
    Params = ListOpsParams
    target = "class"

    def make_splits(self) -> dict[str, Split]:
        p: ListOpsParams = self.params
        rng = random.Random(p.data_seed)

        def make(n: int, _gen: torch.Generator) -> Split:
            x = torch.zeros(n, p.length, dtype=torch.long)
            y = torch.zeros(n, dtype=torch.long)
            for i in range(n):
                tree = random_tree(rng, p.depth, p.max_args, p.length)
                while isinstance(tree, int):  # a bare digit is not an expression
                    tree = random_tree(rng, p.depth, p.max_args, p.length)
                toks = tokens_of(tree)
                x[i, p.length - len(toks) :] = torch.tensor([IDS[t] for t in toks])
                y[i] = evaluate_expression(tree)
            return Split(x, y)

        return fixed_splits(self, make)  # the trees come from `rng` (seeded above), not from the generator

    def model_fields(self) -> dict[str, Any]:
        return {"vocab_size": len(TOKENS), "head": "classify", "output_dim": 10}

    def baseline(self, split: str = "test") -> dict[str, float]:
        majority = int(torch.bincount(self.splits["train"].y, minlength=10).argmax())
        return {"name": "majority class", "accuracy": float((self.splits[split].y == majority).float().mean())}
