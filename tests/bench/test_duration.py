"""bench/duration.py: a model says what it costs (``SequenceModel.cost_in_n``); the estimate reads the declaration,
never a list of names, so a new attention model gets attention's estimate and timeout with no edit there."""

from __future__ import annotations

import pytest

from seqarena.bench.duration import _attention, estimate_seconds
from seqarena.bench.spec import TrialSpec
from seqarena.models import available, get_class, register
from seqarena.models import registry as registry_module
from seqarena.models.linear_attention import LinearAttention
from seqarena.models.rnn import LSTM


@pytest.fixture
def toy_models():
    """Two toy registrations that differ only in what they declare; unregistered afterwards."""

    @register("toy_quadratic")
    class ToyQuadratic(LinearAttention):
        cost_in_n = "attention"

    @register("toy_linear")
    class ToyLinear(LinearAttention):
        pass

    try:
        yield
    finally:
        for name in ("toy_quadratic", "toy_linear"):
            registry_module._REGISTRY.pop(name, None)


def test_a_new_model_declaring_attention_cost_gets_the_attention_estimate(toy_models):
    def seconds(model):
        return estimate_seconds(TrialSpec(scenario="forward_latency", model=model, seq_len=4096, batch=1))

    assert _attention("toy_quadratic") and not _attention("toy_linear")
    assert seconds("toy_quadratic") > 1.5 * seconds("toy_linear")
    assert seconds("toy_linear") == pytest.approx(seconds("lstm"))  # linear: what a recurrence gets


def test_every_registered_model_declares_one_of_the_two_costs_and_the_recurrences_are_linear():
    for name in available():
        assert get_class(name).cost_in_n in ("linear", "attention"), name
    assert LSTM.cost_in_n == "linear" and get_class("transformer").cost_in_n == "attention"


def test_hf_families_are_judged_by_their_kind_without_importing_transformers():
    assert _attention("hf:gpt2") and _attention("hf:llama")  # llama was estimated as a recurrence by the old list
    assert not _attention("hf:mamba") and not _attention("hf:no_such_family")
