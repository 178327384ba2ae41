"""Registry, spec validation, the parameter-budget constructor and user-registered models."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqarena.models import (
    SequenceModel,
    SpecError,
    State,
    available,
    build,
    count_params,
    get_class,
    make_spec,
    parse_model_string,
    register,
)
from seqarena.models import registry as registry_module
from tests.conftest import model_cases


def test_available_lists_the_foundation_models():
    assert {"elman", "lstm", "gru", "transformer"} <= set(available())


# ----------------------------------------------------------------------------------------------------------------
# Budget constructor


@pytest.mark.parametrize("budget", [60_000, 250_000, 2_000_000])
@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_budget_lands_within_five_percent(name, fields, budget):
    model = build(name, params=budget, vocab_size=256, layers=2, **fields)
    assert abs(model.num_params() - budget) <= 0.05 * budget, model.spec
    assert model.num_params() == count_params(name, model.spec), "meta-device count must equal the real one"


@pytest.mark.parametrize("layers", [1, 4])
@pytest.mark.parametrize("name", ["lstm", "transformer"])
def test_budget_with_other_depths_and_feature_inputs(name, layers):
    model = build(name, params=100_000, vocab_size=None, input_dim=7, head="regression", layers=layers)
    assert abs(model.num_params() - 100_000) <= 5_000


@pytest.mark.parametrize("n_heads", [3, 5, 6])
def test_budget_with_head_counts_that_do_not_divide_the_default_width(n_heads):
    model = build("transformer", params=200_000, n_heads=n_heads, d_model=None)
    assert model.spec.d_model % n_heads == 0
    assert abs(model.num_params() - 200_000) <= 10_000


def test_vocab_is_accepted_as_shorthand():
    model = build("lstm", params=200_000, vocab=100, layers=2)
    assert model.spec.vocab_size == 100 and abs(model.num_params() - 200_000) <= 10_000


def test_budget_keeps_user_fixed_fields():
    model = build("transformer", params=300_000, d_ff=256, n_heads=2)
    assert model.spec.d_ff == 256 and model.spec.n_heads == 2
    assert abs(model.num_params() - 300_000) <= 15_000


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"params": 100, "vocab_size": 256}, "within 5%"),
        ({"params": -5}, "positive"),
        ({"params": 100_000, "d_model": 64}, "left free"),
    ],
)
def test_impossible_budgets_are_clear_errors(kwargs, match):
    with pytest.raises(SpecError, match=match):
        build("lstm", **kwargs)


GRADIENT_CASES = [
    *model_cases(),
    pytest.param("transformer", {"causal": False}, id="transformer-causal=False"),
    pytest.param("transformer", {"causal": False, "positions": "learned"}, id="transformer-encoder-learned"),
    pytest.param("transformer", {"tie_embeddings": True}, id="transformer-tied"),
    pytest.param("lstm", {"tie_embeddings": True}, id="lstm-tied"),
]


@pytest.mark.parametrize("head", ["lm", "classify", "regression"])
@pytest.mark.parametrize(("name", "fields"), GRADIENT_CASES)
def test_every_counted_parameter_gets_a_gradient(name, fields, head):
    """One training step at the maximum length: every parameter tensor receives a nonzero gradient."""
    if fields.get("tie_embeddings") and head != "lm":
        pytest.skip("tied embeddings need an lm head")
    io = {"vocab_size": None, "input_dim": 4} if head == "regression" else {"vocab_size": 40}
    if head == "classify":
        io["output_dim"] = 3
    T = 32
    if "max_len" in get_class(name).Spec.model_fields:
        io["max_len"] = T  # every learned-position row is used
    model = build(name, params=30_000, layers=2, head=head, **io, **fields)
    model.train()
    x = torch.randn(4, T, 4) if head == "regression" else torch.randint(0, 40, (4, T))
    y, _ = model(x)
    if head == "lm":
        loss = F.cross_entropy(y.flatten(0, 1), torch.randint(0, 40, (4 * T,)))
    elif head == "classify":
        loss = F.cross_entropy(y, torch.randint(0, 3, (4,)))
    else:
        loss = F.mse_loss(y, torch.randn_like(y))
    loss.backward()
    counted = 0
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"{pname} got no gradient"
        counted += p.numel()
    assert counted == model.num_params()


def test_embedding_parameters_can_be_excluded():
    model = build("transformer", vocab_size=100, d_model=16, positions="learned", max_len=50)
    assert model.num_params() - model.num_params(exclude_embeddings=True) == 100 * 16 + 50 * 16


# ----------------------------------------------------------------------------------------------------------------
# Spec validation: one clear line


@pytest.mark.parametrize(
    ("name", "fields", "match"),
    [
        ("lstmm", {}, "unknown model 'lstmm'; choose from: .*lstm"),
        ("lstm", {"n_heads": 2}, "unknown spec field 'n_heads' for model 'lstm'; valid fields: .*d_model"),
        ("lstm", {"layers": 0}, "layers: Input should be greater than or equal to 1"),
        ("transformer", {"positions": "spiral"}, "positions: Input should be"),
        ("transformer", {"d_model": 30, "n_heads": 4}, "multiple of"),
        ("gru", {"vocab_size": None}, "exactly one of vocab_size"),
        ("gru", {"vocab_size": None, "input_dim": 3, "head": "lm"}, "needs token inputs"),
        ("gru", {"head": "classify"}, "output_dim"),
        ("gru", {"vocab_size": None, "input_dim": 3, "head": "regression", "tie_embeddings": True}, "tie_embeddings"),
        ("no.such.module:Model", {}, "cannot import"),
    ],
)
def test_invalid_specs_raise_one_line(name, fields, match):
    with pytest.raises(SpecError, match=match) as err:
        make_spec(name, **fields)
    assert "\n" not in str(err.value)


def test_parse_model_string():
    assert parse_model_string("lstm") == ("lstm", {})
    assert parse_model_string("transformer:positions=alibi,layers=3,dropout=0.1,causal=false,d_ff=none") == (
        "transformer",
        {"positions": "alibi", "layers": 3, "dropout": 0.1, "causal": False, "d_ff": None},
    )
    assert parse_model_string("seqarena.models.rnn:GRU:layers=1") == ("seqarena.models.rnn:GRU", {"layers": 1})
    with pytest.raises(SpecError, match="unknown model"):
        parse_model_string("nope:layers=2")
    with pytest.raises(SpecError, match="field=value"):
        parse_model_string("lstm:layers")


# ----------------------------------------------------------------------------------------------------------------
# A user's own model


@dataclasses.dataclass
class _EMAState(State):
    h: torch.Tensor  # (B, D)


class _EMA(SequenceModel):
    """A user model: a per-channel exponential moving average, h_t = a * h_{t-1} + (1 - a) * W x_t."""

    family = "recurrent"

    def __init__(self, spec):
        super().__init__(spec)
        self.inp = nn.Linear(spec.d_model, spec.d_model)
        self.logit_a = nn.Parameter(torch.zeros(spec.d_model))

    def mix(self, h, state):
        a = torch.sigmoid(self.logit_a)
        u = self.inp(h)
        prev = state.h if state is not None else torch.zeros_like(u[:, 0])
        outs = []
        for t in range(u.shape[1]):
            prev = a * prev + (1 - a) * u[:, t]
            outs.append(prev)
        return torch.stack(outs, dim=1), _EMAState(prev)

    def init_state(self, batch_size, *, device=None, dtype=None, max_len=None):
        return _EMAState(torch.zeros(batch_size, self.spec.d_model, device=device, dtype=dtype))


@pytest.fixture
def ema_registered():
    register("test_ema")(_EMA)
    yield
    registry_module._REGISTRY.pop("test_ema")


def test_users_can_register_their_own_model(ema_registered):
    assert "test_ema" in available()
    model = build("test_ema", params=20_000, vocab_size=64)
    assert abs(model.num_params() - 20_000) <= 1_000
    x = torch.randint(0, 64, (2, 9))
    with torch.no_grad():
        y, _ = model(x)
        state = model.init_state(2)
        for t in range(9):
            y_t, state = model.step(x[:, t], state)
            torch.testing.assert_close(y_t, y[:, t], atol=1e-5, rtol=0)
    assert model.state_nbytes(state) == 2 * model.spec.d_model * 4


def test_build_by_import_path():
    model = build("seqarena.models.rnn:GRU", d_model=8, layers=1)
    assert type(model).__name__ == "GRU"
    with pytest.raises(SpecError, match=r"not a seqarena\.models\.SequenceModel"):
        build("torch.nn:Linear")


def test_register_rejects_clashes_and_non_models():
    with pytest.raises(ValueError, match="already registered"):
        register("lstm")(_EMA)
    with pytest.raises(TypeError):
        register("bad")(nn.Linear)
