"""Generic model tests, parametrized over the registry (so every later model is covered too).

The invariants: step-by-step == parallel forward; continuing from a state == one pass over the concatenation;
causality; every generation mode gives the same tokens. Sizes follow the foundation issue: B > 1, T not a multiple of
any chunk / segment / window and >= 3x it, split points off those boundaries, and a nonzero starting state.

Each check is a plain function of a model name and spec fields (``check_*``), so a model registered elsewhere (the toy
model of ``test_toy_registration.py``) runs the same checks through :func:`run_interface_checks`; the ``test_*``
functions here parametrize them over the registry.
"""

from __future__ import annotations

import pytest
import torch

from seqarena.models import generate
from tests.conftest import VOCAB, model_cases, small_model

B, T = 3, 23
SPLITS = (7, 13)
ATOL = 1e-4

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _inputs(io: str, batch: int = B, length: int = T) -> torch.Tensor:
    if io == "tokens":
        return torch.randint(0, VOCAB, (batch, length))
    return torch.randn(batch, length, 5)


def _io_fields(io: str) -> dict:
    if io == "tokens":
        return {}
    return {"vocab_size": None, "input_dim": 5, "head": "regression"}


def _causal(name: str, fields: dict | None, **extra):
    model = small_model(name, fields, **extra)
    if not model.causal:
        pytest.skip(f"{name} is not causal")
    return model


@torch.no_grad()
def check_step_equals_parallel_forward(name: str, fields: dict | None = None, io: str = "tokens") -> None:
    model = _causal(name, fields, **_io_fields(io))
    x = _inputs(io)
    y_full, _ = model(x)  # (B, T, V|F)
    state = model.init_state(B)
    for t in range(T):
        y_t, state = model.step(x[:, t], state)
        torch.testing.assert_close(y_t, y_full[:, t], atol=ATOL, rtol=0, msg=f"position {t}")


@pytest.mark.parametrize("io", ["tokens", "features"])
@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_step_equals_parallel_forward(name, fields, io):
    check_step_equals_parallel_forward(name, fields, io)


@torch.no_grad()
def check_step_from_nonzero_state(name: str, fields: dict | None = None) -> None:
    """Start from the state a random prefix left behind: steps == forward from that state == forward over all."""
    model = _causal(name, fields)
    prefix, x = _inputs("tokens", length=9), _inputs("tokens")
    _, state0 = model(prefix)
    y_all, _ = model(torch.cat([prefix, x], dim=1))
    y_from_state, _ = model(x, state0.clone())
    torch.testing.assert_close(y_from_state, y_all[:, 9:], atol=ATOL, rtol=0)
    state = state0.clone()
    for t in range(T):
        y_t, state = model.step(x[:, t], state)
        torch.testing.assert_close(y_t, y_all[:, 9 + t], atol=ATOL, rtol=0, msg=f"position {t}")


@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_step_from_nonzero_state(name, fields):
    check_step_from_nonzero_state(name, fields)


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
        torch.testing.assert_close(torch.cat(ys, dim=1), y_full, atol=ATOL, rtol=0)


@pytest.mark.parametrize("io", ["tokens", "features"])
@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_chunked_continuation(name, fields, io):
    check_chunked_continuation(name, fields, io)


@torch.no_grad()
def check_classify_last_pooling_matches_step(name: str, fields: dict | None = None) -> None:
    model = _causal(name, fields, head="classify", output_dim=4)
    x = _inputs("tokens")
    y_pooled, _ = model(x)  # (B, C)
    assert y_pooled.shape == (B, 4)
    state = model.init_state(B)
    for t in range(T):
        y_t, state = model.step(x[:, t], state)
    torch.testing.assert_close(y_t, y_pooled, atol=ATOL, rtol=0)


@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_classify_last_pooling_matches_step(name, fields):
    check_classify_last_pooling_matches_step(name, fields)


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
        torch.testing.assert_close(y2[:, : t + 1], y[:, : t + 1], atol=1e-5, rtol=0)
        assert not torch.allclose(y2[:, t + 1 :], y[:, t + 1 :], atol=1e-4), "later outputs should react"


@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_causality(name, fields):
    check_causality(name, fields)


def check_generation_modes_agree(name: str, fields: dict | None = None) -> None:
    model = _causal(name, fields)
    prompt = _inputs("tokens", length=5)
    runs = {mode: generate(model, prompt, 19, mode) for mode in model.generation_modes}
    first = next(iter(runs.values()))
    assert first.tokens.shape == (B, 19)
    assert len(first.step_s) == 18
    for mode, run in runs.items():
        assert torch.equal(run.tokens, first.tokens), f"{mode} differs from {first.mode}"


@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_generation_modes_agree(name, fields):
    check_generation_modes_agree(name, fields)


def check_generation_follows_forward_argmax(name: str, fields: dict | None = None) -> None:
    """Greedy tokens are the argmax of the parallel forward over prompt + generated tokens (teacher forcing)."""
    model = _causal(name, fields)
    prompt = _inputs("tokens", length=4)
    gen = generate(model, prompt, 10)
    with torch.no_grad():
        y, _ = model(torch.cat([prompt, gen.tokens[:, :-1]], dim=1))
    torch.testing.assert_close(y[:, 3:].argmax(-1), gen.tokens, atol=0, rtol=0)


@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_generation_follows_forward_argmax(name, fields):
    check_generation_follows_forward_argmax(name, fields)


def check_sampled_generation_agrees_across_modes_with_one_seed(name: str, fields: dict | None = None) -> None:
    model = _causal(name, fields)
    prompt = _inputs("tokens", length=5)
    runs = [
        generate(model, prompt, 12, mode, temperature=0.8, top_k=10, generator=torch.Generator().manual_seed(3))
        for mode in model.generation_modes
    ]
    for run in runs[1:]:
        assert torch.equal(run.tokens, runs[0].tokens)
    greedy = generate(model, prompt, 12)
    assert not torch.equal(runs[0].tokens, greedy.tokens), "sampling at temperature 0.8 should leave the argmax path"


@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_sampled_generation_agrees_across_modes_with_one_seed(name, fields):
    check_sampled_generation_agrees_across_modes_with_one_seed(name, fields)


def run_interface_checks(name: str, fields: dict | None = None) -> None:
    """Every generic check above on one model (token and feature inputs where a check takes both)."""
    for io in ("tokens", "features"):
        check_step_equals_parallel_forward(name, fields, io)
    check_step_from_nonzero_state(name, fields)
    for io in ("tokens", "features"):
        check_chunked_continuation(name, fields, io)
    check_classify_last_pooling_matches_step(name, fields)
    check_causality(name, fields)
    check_generation_modes_agree(name, fields)
    check_generation_follows_forward_argmax(name, fields)
    check_sampled_generation_agrees_across_modes_with_one_seed(name, fields)
