"""RNN-family tests: random initial states, constant state size, step form and initialisation."""

from __future__ import annotations

import pytest
import torch

from seqarena.models import RNNState, build
from tests.conftest import VOCAB, small_model

B, T = 3, 17
RNNS = ["elman", "lstm", "gru"]


@pytest.mark.parametrize("name", RNNS)
@torch.no_grad()
def test_forward_and_step_from_random_initial_state(name):
    model = small_model(name)
    L, D = model.spec.layers, model.spec.d_model
    state = RNNState(torch.randn(L, B, D), torch.randn(L, B, D) if name == "lstm" else None)
    x = torch.randint(0, VOCAB, (B, T))
    y_full, end = model(x, state)
    s = state
    for t in range(T):
        y_t, s = model.step(x[:, t], s)
        torch.testing.assert_close(y_t, y_full[:, t], atol=1e-4, rtol=0)
    torch.testing.assert_close(s.h, end.h, atol=1e-4, rtol=0)
    if name == "lstm":
        torch.testing.assert_close(s.c, end.c, atol=1e-4, rtol=0)
    # the random state matters: starting from zeros gives other outputs
    assert not torch.allclose(model(x)[0][:, 0], y_full[:, 0], atol=1e-3)


@pytest.mark.parametrize("name", RNNS)
@torch.no_grad()
def test_state_bytes_do_not_grow(name):
    model = small_model(name)
    x = torch.randint(0, VOCAB, (B, 40))
    per_tensor = model.spec.layers * B * model.spec.d_model * 4
    expect = per_tensor * (2 if name == "lstm" else 1)
    sizes = {model.state_nbytes(model(x[:, :k])[1]) for k in (1, 10, 40)}
    state = model.init_state(B)
    for k in range(40):
        _, state = model.step(x[:, k], state)
        sizes.add(model.state_nbytes(state))
    assert sizes == {expect}


def test_lstm_forget_gate_bias_starts_at_one():
    fresh = build("lstm", vocab_size=VOCAB, d_model=8, layers=2)
    for layer in range(2):
        b = getattr(fresh.rnn, f"bias_ih_l{layer}") + getattr(fresh.rnn, f"bias_hh_l{layer}")
        assert torch.all(b[8:16] == 1.0)


@torch.no_grad()
def test_step_does_not_modify_the_given_state():
    model = small_model("lstm")
    state = model.init_state(B)
    h0 = state.h.clone()
    _, new = model.step(torch.zeros(B, dtype=torch.long), state)
    assert torch.equal(state.h, h0) and not torch.equal(new.h, h0)


def test_mean_pooling_cannot_step():
    from seqarena.errors import SpecError

    model = small_model("gru", head="classify", output_dim=3, pool="mean")
    with pytest.raises(SpecError, match="mean pooling"):
        model.step(torch.zeros(2, dtype=torch.long), model.init_state(2))
