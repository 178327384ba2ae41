"""The HF adapter: every architecture the installed transformers has passes the generic interface checks at tiny
sizes, meets a parameter budget, passes config fields through, and every bad input is one line."""

from __future__ import annotations

import json

import pytest

from seqarena.errors import SpecError
from seqarena.models import build, family_of, get_class, parse_model_string
from seqarena.models import hf as hf_module
from seqarena.models.checks import run_checks, small_model
from seqarena.models.hf_families import FAMILIES, hf_note
from seqarena.models.registry import BUDGET_TOLERANCE
from seqarena.report.plotting import colour, colour_for
from tests.conftest import run_cli

pytest.importorskip("transformers", reason="the hf extra (transformers) is not installed")

SUPPORTED = [f.label for f in FAMILIES if not f.unsupported]
#: The smallest width each family's shape rules allow at its default heads (xLSTM: multiples of 128).
TINY = {"hf:xlstm": {"d_model": 128}}


@pytest.mark.parametrize("name", SUPPORTED)
def test_every_supported_family_passes_the_interface_checks(name):
    failed = [f"{r.check}: {r.message}" for r in run_checks(name, TINY.get(name)) if r.status == "failed"]
    assert not failed


@pytest.mark.parametrize("name", [n for n in SUPPORTED if n != "hf:xlstm"])  # xLSTM's widths step by 128
def test_a_parameter_budget_is_met_by_width(name):
    model = build(name, params=200_000, vocab_size=256)
    assert abs(model.num_params() - 200_000) <= BUDGET_TOLERANCE * 200_000
    assert model.spec.d_model % model.spec.width_multiple() == 0


def test_config_fields_pass_through_and_shape_rules_hold():
    name, fields = parse_model_string("hf:llama:num_key_value_heads=2")
    assert name == "hf:llama" and fields == {"num_key_value_heads": 2}
    gqa, mha = build(name, d_model=64, **fields), build(name, d_model=64)
    assert gqa.backbone.config.num_key_value_heads == 2 and gqa.num_params() < mha.num_params()
    m2 = build("hf:mamba2", d_model=64)  # heads x head_dim = expand x hidden
    cfg = m2.backbone.config
    assert cfg.num_heads * cfg.head_dim == cfg.expand * cfg.hidden_size
    assert build("hf:xlstm", d_model=128).backbone.config.autocast_kernel_dtype == "float32"  # not bf16 by default


def test_families_and_colours_follow_the_architecture():
    assert family_of("hf:llama") == family_of("hf:gpt2") == "attention"
    assert family_of("hf:mamba2") == "recurrent"
    assert colour_for("hf:llama") != colour_for("hf:gpt2") != colour_for("transformer")
    assert colour("hf:llama:num_key_value_heads=2 · 1M params") == colour_for("hf:llama")
    assert "fallback" in hf_note("hf:mamba") and hf_note("lstm") == ""


def test_state_bytes_come_from_the_library_cache():
    import torch

    llama, mamba = small_model("hf:llama"), small_model("hf:mamba")
    x = torch.randint(0, 50, (2, 16))
    with torch.no_grad():
        kv = [llama.state_nbytes(llama(x[:, :n])[1]) for n in (4, 16)]
        ssm = [mamba.state_nbytes(mamba(x[:, :n])[1]) for n in (4, 16)]
    assert kv[1] == 4 * kv[0] > 0  # the KV cache grows with the tokens
    assert ssm[0] == ssm[1] > 0  # the recurrent state does not


@pytest.mark.parametrize(("text", "message"), [
    ("hf:llama:not_a_field=1", "not a field of transformers' LlamaConfig"),
    ("hf:llama:hidden_size=64", "set by seqarena's d_model"),
    ("hf:nope", "unknown HF architecture"),
    ("hf:rwkv", "not supported"),
    ("hf:recurrent_gemma", "not supported"),
    ("hf:llama:num_key_value_heads=3", "must divide the 4 attention heads"),
])
def test_bad_hf_input_is_one_line(text, message):
    with pytest.raises(SpecError, match=message) as e:
        name, fields = parse_model_string(text)
        build(name, **fields)
    assert "\n" not in str(e.value)
    result = run_cli("check", "-m", text)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_without_transformers_an_hf_name_names_the_extra(monkeypatch):
    monkeypatch.setattr(hf_module, "transformers_version", lambda: None)
    hf_module.hf_class.cache_clear()
    try:
        with pytest.raises(SpecError, match=r"pip install 'seqarena\[hf\]'"):
            get_class("hf:llama")
        assert all(v["status"].startswith(("missing", "unsupported")) for v in hf_module.hf_catalogue().values())
    finally:
        hf_module.hf_class.cache_clear()


def test_list_shows_which_families_this_transformers_has():
    listed = json.loads(run_cli("list", "--json").stdout)
    assert listed["hf:llama"]["status"] == "available" and "fields" in listed["hf:llama"]
    assert listed["hf:rwkv"]["status"].startswith("unsupported")
    assert "fallback" in listed["hf:mamba2"]["note"]
