"""The generic interface checks every causal model must pass, on the registry's models and on a user's own class.

The invariants: step-by-step == parallel forward; continuing from a state == one pass over the concatenation;
causality; every generation mode gives the same tokens. Sizes follow the foundation issue: B > 1, T not a multiple of
any chunk / segment / window and >= 3x it, split points off those boundaries, and a nonzero starting state.

The test suite parametrizes these over the registry (``tests/models/test_interface.py``); ``seqarena check -m
pkg.module:Class`` runs them on a user's class (:func:`run_checks`), after :func:`validate_model` has named, in one
line, a missing method or a wrong return shape.

>>> [r.status for r in run_checks("lstm")]  # doctest: +SKIP
['ok', 'ok', ...]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch

from seqarena.errors import SpecError, first_line
from seqarena.models.base import SequenceModel
from seqarena.models.generate import generate
from seqarena.models.registry import build, get_class

VOCAB = 50
SMALL = {"d_model": 32, "layers": 2}
B, T = 3, 23
SPLITS = (7, 13)
ATOL = 1e-4


class NotApplicable(Exception):
    """The check does not apply to this model (e.g. a bidirectional encoder has no step)."""


class CheckFailed(AssertionError):
    """A model broke an interface invariant; the message says which, in one line."""


def require(ok: bool, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``ok`` (not ``assert``: ``python -O`` would strip it)."""
    if not ok:
        raise CheckFailed(message)


def small_model(name: str, fields: dict | None = None, **extra: Any) -> SequenceModel:
    """A small seeded model in eval mode, with weights at unit scale.

    GPT-style init (std 0.02) makes attention nearly uniform, so position or mask bugs would move outputs by less
    than the test tolerance; unit-scale weights make every position scheme and mask matter.
    """
    torch.manual_seed(0)
    spec = {"vocab_size": VOCAB, **SMALL, **(fields or {}), **extra}
    model = build(name, **spec).eval()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if p.ndim >= 2:
                p.normal_(0.0, p.shape[-1] ** -0.5)
            elif pname.endswith("weight"):  # norm gains
                p.normal_(1.0, 0.1)
            else:
                p.normal_(0.0, 0.1)
    return model


def _inputs(io: str, batch: int = B, length: int = T) -> torch.Tensor:
    if io == "tokens":
        return torch.randint(0, VOCAB, (batch, length))
    return torch.randn(batch, length, 5)


def _io_fields(io: str) -> dict:
    if io == "tokens":
        return {}
    return {"vocab_size": None, "input_dim": 5, "head": "regression"}


def _causal(name: str, fields: dict | None, **extra: Any) -> SequenceModel:
    model = small_model(name, fields, **extra)
    if not model.causal:
        raise NotApplicable(f"{name} is not causal")
    return model


def _close(actual: torch.Tensor, expected: torch.Tensor, what: str, atol: float = ATOL) -> None:
    require(actual.shape == expected.shape, f"{what}: shape {tuple(actual.shape)}, expected {tuple(expected.shape)}")
    gap = (actual.double() - expected.double()).abs().max().item() if actual.numel() else 0.0
    require(gap <= atol, f"{what}: max |difference| {gap:.3g} > {atol:g}")


@torch.no_grad()
def check_step_equals_parallel_forward(name: str, fields: dict | None = None, io: str = "tokens") -> None:
    """step() position by position == the parallel forward."""
    model = _causal(name, fields, **_io_fields(io))
    x = _inputs(io)
    y_full, _ = model(x)  # (B, T, V|F)
    state = model.init_state(B)
    for t in range(T):
        y_t, state = model.step(x[:, t], state)
        _close(y_t, y_full[:, t], f"step at position {t} vs the parallel forward")


@torch.no_grad()
def check_step_from_nonzero_state(name: str, fields: dict | None = None) -> None:
    """Start from the state a random prefix left behind: steps == forward from that state == forward over all."""
    model = _causal(name, fields)
    prefix, x = _inputs("tokens", length=9), _inputs("tokens")
    _, state0 = model(prefix)
    y_all, _ = model(torch.cat([prefix, x], dim=1))
    y_from_state, _ = model(x, state0.clone())
    _close(y_from_state, y_all[:, 9:], "forward from a prefix's state vs one pass over both")
    state = state0.clone()
    for t in range(T):
        y_t, state = model.step(x[:, t], state)
        _close(y_t, y_all[:, 9 + t], f"step at position {t} after a prefix")


@torch.no_grad()
def check_chunked_continuation(name: str, fields: dict | None = None, io: str = "tokens") -> None:
    """model(x2, state=model(x1)[1]) == model(cat(x1, x2)), with splits off every chunk boundary, in 3 chunks,
    starting from nothing, from an empty state, and from the nonzero state a random prefix left."""
    model = _causal(name, fields, **_io_fields(io))
    prefix, x = _inputs(io, length=6), _inputs(io)
    _, prefix_state = model(prefix)
    y_all, _ = model(torch.cat([prefix, x], dim=1))
    a, b = SPLITS
    for start in ("none", "init", "prefix"):
        state = {"none": None, "init": model.init_state(B), "prefix": prefix_state.clone()}[start]
        y_full = y_all[:, 6:] if start == "prefix" else model(x)[0]
        ys = []
        for lo, hi in ((0, a), (a, b), (b, T)):
            y, state = model(x[:, lo:hi], state)
            ys.append(y)
        _close(torch.cat(ys, dim=1), y_full, f"three chunks from {start} state vs one pass")


@torch.no_grad()
def check_classify_last_pooling_matches_step(name: str, fields: dict | None = None) -> None:
    """A classify head with last-position pooling == the last step's output."""
    model = _causal(name, fields, head="classify", output_dim=4)
    x = _inputs("tokens")
    y_pooled, _ = model(x)  # (B, C)
    require(tuple(y_pooled.shape) == (B, 4), f"classify output shape {tuple(y_pooled.shape)}, expected {(B, 4)}")
    state = model.init_state(B)
    for t in range(T):
        y_t, state = model.step(x[:, t], state)
    _close(y_t, y_pooled, "last step vs last-position pooling")


@torch.no_grad()
def check_causality(name: str, fields: dict | None = None) -> None:
    """Changing inputs after position t never changes outputs at positions <= t."""
    model = _causal(name, fields)
    x = _inputs("tokens")
    y, _ = model(x)
    for t in (0, 5, 16, T - 2):
        x2 = x.clone()
        x2[:, t + 1 :] = (x2[:, t + 1 :] + 1 + torch.randint(0, VOCAB - 1, x2[:, t + 1 :].shape)) % VOCAB
        y2, _ = model(x2)
        _close(y2[:, : t + 1], y[:, : t + 1], f"outputs up to {t} after changing later inputs", atol=1e-5)
        require(not torch.allclose(y2[:, t + 1 :], y[:, t + 1 :], atol=1e-4),
                f"outputs after position {t} do not react to their inputs")


def check_generation_modes_agree(name: str, fields: dict | None = None) -> None:
    """Greedy decoding gives the same tokens in every generation mode the model declares."""
    model = _causal(name, fields)
    prompt = _inputs("tokens", length=5)
    runs = {mode: generate(model, prompt, 19, mode) for mode in model.generation_modes}
    first = next(iter(runs.values()))
    require(tuple(first.tokens.shape) == (B, 19), f"generated shape {tuple(first.tokens.shape)}, expected {(B, 19)}")
    require(len(first.step_s) == 18, f"{len(first.step_s)} step times for 19 tokens, expected 18")
    for mode, run in runs.items():
        require(torch.equal(run.tokens, first.tokens), f"greedy tokens of mode {mode} differ from {first.mode}'s")


def check_generation_follows_forward_argmax(name: str, fields: dict | None = None) -> None:
    """Greedy tokens are the argmax of the parallel forward over prompt + generated tokens (teacher forcing)."""
    model = _causal(name, fields)
    prompt = _inputs("tokens", length=4)
    gen = generate(model, prompt, 10)
    with torch.no_grad():
        y, _ = model(torch.cat([prompt, gen.tokens[:, :-1]], dim=1))
    require(torch.equal(y[:, 3:].argmax(-1), gen.tokens), "greedy tokens differ from the forward's argmax")


def check_sampled_generation_agrees_across_modes_with_one_seed(name: str, fields: dict | None = None) -> None:
    """Sampling with one seeded generator gives the same tokens in every mode, and leaves the greedy path."""
    model = _causal(name, fields)
    prompt = _inputs("tokens", length=5)
    runs = [
        generate(model, prompt, 12, mode, temperature=0.8, top_k=10, generator=torch.Generator().manual_seed(3))
        for mode in model.generation_modes
    ]
    for run in runs[1:]:
        require(torch.equal(run.tokens, runs[0].tokens), f"sampled tokens of mode {run.mode} differ")
    greedy = generate(model, prompt, 12)
    require(not torch.equal(runs[0].tokens, greedy.tokens), "sampling at temperature 0.8 never leaves the argmax path")


#: Every check with the inputs it runs on: (label, function, extra arguments).
CHECKS: list[tuple[str, Callable[..., None], tuple]] = [
    ("step == forward (tokens)", check_step_equals_parallel_forward, ("tokens",)),
    ("step == forward (features)", check_step_equals_parallel_forward, ("features",)),
    ("step from a nonzero state", check_step_from_nonzero_state, ()),
    ("chunked continuation (tokens)", check_chunked_continuation, ("tokens",)),
    ("chunked continuation (features)", check_chunked_continuation, ("features",)),
    ("classify: last pooling == step", check_classify_last_pooling_matches_step, ()),
    ("causality", check_causality, ()),
    ("generation modes agree", check_generation_modes_agree, ()),
    ("greedy == forward argmax", check_generation_follows_forward_argmax, ()),
    ("sampling agrees across modes", check_sampled_generation_agrees_across_modes_with_one_seed, ()),
]


@dataclasses.dataclass
class CheckResult:
    """One check's outcome: ``ok``, ``failed`` (with the reason) or ``skipped`` (not applicable, with why)."""

    check: str
    status: str
    message: str = ""


def validate_model(name: str, fields: dict | None = None) -> None:
    """Build ``name`` small and call it once: a missing method or a wrong return shape is one :class:`SpecError`
    line naming it (before any check runs, so a half-written class gets one clear message, not ten failures)."""
    cls = get_class(name)
    missing = [m for m in ("mix", "init_state") if getattr(cls, m) is getattr(SequenceModel, m)
               and (m != "mix" or cls.forward is SequenceModel.forward)]
    if missing:
        raise SpecError(f"{name} does not implement {' or '.join(missing)} (see the template in examples/my_model.py)")
    try:
        model = small_model(name, fields)
        x = _inputs("tokens", batch=2, length=5)
        with torch.no_grad():
            out = model(x)
    except SpecError:
        raise
    except Exception as e:
        raise SpecError(f"{name} fails on a (2, 5) batch of tokens: {type(e).__name__}: {first_line(e)}") from None
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], torch.Tensor)):
        raise SpecError(f"{name}.forward must return (y, state); it returned {type(out).__name__}")
    if tuple(out[0].shape) != (2, 5, VOCAB):
        raise SpecError(f"{name} returns y of shape {tuple(out[0].shape)} for (2, 5) tokens; expected "
                        f"(2, 5, {VOCAB}) (B, T, vocab_size): mix must map (B, T, D) to (B, T, D)")
    if model.causal and out[1] is None:
        raise SpecError(f"{name} is causal but forward returned no state: mix must return (h, state)")


def run_checks(name: str, fields: dict | None = None) -> list[CheckResult]:
    """Every check of :data:`CHECKS` on one model; a failure or error is recorded and the next check still runs."""
    results = []
    for label, fn, args in CHECKS:
        try:
            fn(name, fields, *args)
            results.append(CheckResult(label, "ok"))
        except NotApplicable as e:
            results.append(CheckResult(label, "skipped", str(e)))
        except CheckFailed as e:
            results.append(CheckResult(label, "failed", str(e)))
        except Exception as e:  # the model itself raised
            results.append(CheckResult(label, "failed", f"{type(e).__name__}: {first_line(e)}"))
    return results
