"""``seqarena check -m pkg.module:Class``: the documented template passes every interface check; a half-written
class gets one line naming what is missing or wrong (exit 2); a class that breaks an invariant fails the checks that
catch it (exit 1)."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from tests.conftest import run_cli

BROKEN = '''
import torch
from seqarena.models import SequenceModel, State
import dataclasses


@dataclasses.dataclass
class S(State):
    h: torch.Tensor


class NoState(SequenceModel):
    family = "recurrent"

    def mix(self, h, state):
        return h, None


class WrongShape(SequenceModel):
    family = "recurrent"

    def mix(self, h, state):
        return h[:, :1], S(h[:, -1])

    def init_state(self, batch_size, *, device=None, dtype=None, max_len=None):
        return S(torch.zeros(batch_size, self.spec.d_model))


class Peeks(SequenceModel):
    """Mixes in the *next* position: the parallel forward sees the future, a step cannot."""

    family = "recurrent"

    def mix(self, h, state):
        ahead = torch.cat([h[:, 1:], torch.zeros_like(h[:, :1])], dim=1)
        return h + ahead, S(h[:, -1])

    def init_state(self, batch_size, *, device=None, dtype=None, max_len=None):
        return S(torch.zeros(batch_size, self.spec.d_model))
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "user_models.py").write_text(textwrap.dedent(BROKEN))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "user_models"
    sys.modules.pop("user_models", None)


def test_the_template_passes_every_check():
    result = run_cli("check", "-m", "examples.my_model:MyRNN", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 10 and all(r["status"] == "ok" for r in rows)


@pytest.mark.parametrize(("cls", "message"), [
    ("NoState", "does not implement init_state"),
    ("WrongShape", "returns y of shape (2, 1, 50)"),
    ("Missing", "cannot import model class"),
])
def test_a_half_written_class_gets_one_line(user_module, cls, message):
    result = run_cli("check", "-m", f"{user_module}:{cls}")
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_class_that_sees_the_future_fails_the_checks_that_catch_it(user_module):
    result = run_cli("check", "-m", f"{user_module}:Peeks", "--json")
    assert result.returncode == 1
    by_check = {r["check"]: r for r in json.loads(result.stdout)}
    assert by_check["causality"]["status"] == "failed"
    assert by_check["step == forward (tokens)"]["status"] == "failed"
    assert "interface checks" in result.stderr
