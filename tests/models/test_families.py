"""Model families (``SequenceModel.family``), the registry's family queries, the package's automatic model import
(registration order) and the transformer spec's identity (its JSON feeds spec hashes)."""

from __future__ import annotations

from typing import get_args

import pytest
import torch

from seqarena.models import (
    FAMILIES,
    Family,
    SequenceModel,
    SpecError,
    TransformerSpec,
    available,
    families,
    family_of,
    register,
)
from seqarena.models import registry as registry_module
from seqarena.models.base import HeadsSpec

EXPECTED = {
    "elman": "recurrent", "lstm": "recurrent", "gru": "recurrent", "min_gru": "recurrent", "min_lstm": "recurrent",
    "ssm": "recurrent", "transformer": "attention", "transformer_xl": "attention", "local": "attention",
    "linformer": "attention", "performer": "attention", "linear_attention": "attention", "hybrid": "hybrid",
}


def test_family_values():
    assert FAMILIES == ("recurrent", "attention", "hybrid") == get_args(Family)


def test_every_registered_model_has_a_valid_family():
    fams = families()
    assert list(fams) == available()
    for name in available():
        assert fams[name] in FAMILIES
        assert family_of(name) == fams[name]


def test_built_in_families():
    assert {name: families()[name] for name in EXPECTED} == EXPECTED


def test_built_in_registration_order_is_unchanged():
    """The package imports its model modules itself; listings keep the order they had when it imported them by
    hand (a later model may slot in between)."""
    order = ["transformer", "hybrid", "linear_attention", "linformer", "local", "min_gru", "min_lstm", "performer",
             "elman", "lstm", "gru", "ssm", "transformer_xl"]
    assert [name for name in available() if name in order] == order


class _NoFamily(SequenceModel):
    def mix(self, h, state):
        return h, None


class _BadFamily(_NoFamily):
    family = "convolutional"


@pytest.mark.parametrize("cls", [_NoFamily, _BadFamily])
def test_register_without_a_valid_family_is_a_clear_error(cls):
    with pytest.raises(TypeError, match=r"cannot register .* as 'nameless': set the class attribute family to one of "
                                        r"'recurrent', 'attention', 'hybrid'"):
        register("nameless")(cls)
    assert "nameless" not in available()


def test_family_of_import_path_classes():
    assert family_of("seqarena.models.rnn:GRU") == "recurrent"
    assert family_of(f"{__name__}:_NoFamily") is None  # a user's class need not say
    assert family_of(f"{__name__}:_BadFamily") is None
    with pytest.raises(SpecError, match="unknown model"):
        family_of("no_such_model")


def test_unregistered_subclass_inherits_its_family():
    class Bigger(registry_module.get_class("lstm")):
        pass

    assert Bigger.family == "recurrent"


def test_transformer_spec_is_a_heads_spec_with_unchanged_json():
    """Subclassing HeadsSpec must not move a field (a new field comes with its default: trials name only the
    options they set, so their spec hashes stay)."""
    assert issubclass(TransformerSpec, HeadsSpec)
    assert TransformerSpec().model_dump_json() == (
        '{"vocab_size":256,"input_dim":null,"head":"lm","output_dim":null,"pool":"auto","d_model":128,"layers":2,'
        '"dropout":0.0,"tie_embeddings":false,"n_heads":4,"d_ff":null,"positions":"rope","causal":true,"max_len":2048,'
        '"gelu":"exact","attn_impl":"sdpa"}'
    )
    assert TransformerSpec.budget_fields == ("d_model", "d_ff")
    spec = TransformerSpec(n_heads=3, d_model=96, positions="sinusoidal")
    assert (spec.width_multiple(), spec.ff_width) == (6, 384)
    assert TransformerSpec(n_heads=3, d_model=96, positions="rope").width_multiple() == 6
    assert TransformerSpec(n_heads=3, d_model=96, positions="alibi").width_multiple() == 3


def test_state_kwargs_default_to_the_models_parameters():
    model = registry_module.build("gru", d_model=8, layers=1).double()
    assert model.state_kwargs(None, None) == {"device": torch.device("cpu"), "dtype": torch.float64}
    assert model.init_state(2, dtype=torch.float32).h.dtype == torch.float32
