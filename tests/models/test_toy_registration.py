"""Adding a model is one file with one ``@register`` line: a toy recurrent model, written to a temporary module,
is listed (``seqarena list``), meets a parameter budget, passes the same generic interface checks as the built-in
models, gets its family's colour in the figures and its family's data-size prior in the recommender."""

from __future__ import annotations

import importlib
import json
import sys
import textwrap

import pytest

from seqarena.models import available, build, families, family_of
from seqarena.models import registry as registry_module
from seqarena.models.registry import BUDGET_TOLERANCE
from seqarena.recommender.candidates import candidate
from seqarena.recommender.candidates import family as prior_family
from seqarena.report.plotting import _PALETTES, Styler, colour_for
from tests.conftest import run_cli
from tests.models.test_interface import run_interface_checks

TOY_NAME = "toy_rnn"
TOY_MODULE = "seqarena_toy_model"

#: The whole of a new model: one module, one class, one ``@register`` line (and its family).
TOY_SOURCE = '''
"""A toy recurrent model: a diagonal tanh RNN, h_t = tanh(W x_t + a * h_{t-1})."""

import dataclasses

import torch
from torch import nn

from seqarena.models import SequenceModel, State, register


@dataclasses.dataclass
class ToyState(State):
    h: torch.Tensor  # (B, D)


@register("toy_rnn")
class ToyRNN(SequenceModel):
    family = "recurrent"

    def __init__(self, spec):
        super().__init__(spec)
        self.w_in = nn.Linear(spec.d_model, spec.d_model)
        self.decay = nn.Parameter(torch.full((spec.d_model,), 0.5))

    def mix(self, h, state):
        u = self.w_in(h)  # (B, T, D)
        hidden = state.h if state is not None else torch.zeros_like(u[:, 0])  # (B, D)
        outs = []
        for t in range(u.shape[1]):
            hidden = torch.tanh(u[:, t] + self.decay * hidden)
            outs.append(hidden)
        return torch.stack(outs, dim=1), ToyState(hidden)

    def init_state(self, batch_size, *, device=None, dtype=None, max_len=None):
        return ToyState(torch.zeros(batch_size, self.spec.d_model, **self.state_kwargs(device, dtype)))
'''


@pytest.fixture
def toy_registered(tmp_path, monkeypatch):
    """Import the toy module from a temporary folder; afterwards unregister it, so the parametrization of the other
    tests over ``available()`` never sees it."""
    (tmp_path / f"{TOY_MODULE}.py").write_text(textwrap.dedent(TOY_SOURCE))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield importlib.import_module(TOY_MODULE)
    finally:
        registry_module._REGISTRY.pop(TOY_NAME, None)
        sys.modules.pop(TOY_MODULE, None)


def test_toy_model_is_one_file_and_passes_the_generic_checks(toy_registered):
    # One test on purpose: every place a new model must reach is checked from this one registration, with no other
    # edit anywhere.
    assert TOY_NAME in available()
    listed = run_cli("list", "--json")
    assert listed.returncode == 0 and TOY_NAME in json.loads(listed.stdout)
    assert family_of(TOY_NAME) == "recurrent" == families()[TOY_NAME]

    budget = 30_000
    model = build(TOY_NAME, params=budget, vocab_size=64)
    assert type(model) is toy_registered.ToyRNN
    assert abs(model.num_params() - budget) <= BUDGET_TOLERANCE * budget

    run_interface_checks(TOY_NAME)

    # the figures colour it as a recurrent model, apart from the LSTM; the recommender gives it the RNN prior
    assert colour_for(TOY_NAME) in _PALETTES["recurrent"] and colour_for(TOY_NAME) != colour_for("lstm")
    assert Styler()(f"{TOY_NAME} · 1M params")["color"] == colour_for(TOY_NAME)
    assert candidate(TOY_NAME).name == TOY_NAME and prior_family(TOY_NAME) == "rnn"


def test_toy_model_is_gone_after_its_test():
    assert TOY_NAME not in available()
    assert TOY_MODULE not in sys.modules
