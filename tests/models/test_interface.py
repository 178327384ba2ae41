"""Generic model tests, parametrized over the registry (so every later model is covered too).

The checks themselves live in :mod:`seqarena.models.checks` (``seqarena check -m pkg.module:Class`` runs the same
ones on a user's class); each test here runs one of them on one registered model and spec variant.
"""

from __future__ import annotations

import pytest

from seqarena.models import checks
from seqarena.models.checks import NotApplicable
from tests.conftest import model_cases

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _run(check, *args) -> None:
    try:
        check(*args)
    except NotApplicable as e:
        pytest.skip(str(e))


@pytest.mark.parametrize("io", ["tokens", "features"])
@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_step_equals_parallel_forward(name, fields, io):
    _run(checks.check_step_equals_parallel_forward, name, fields, io)


@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_step_from_nonzero_state(name, fields):
    _run(checks.check_step_from_nonzero_state, name, fields)


@pytest.mark.parametrize("io", ["tokens", "features"])
@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_chunked_continuation(name, fields, io):
    _run(checks.check_chunked_continuation, name, fields, io)


@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_classify_last_pooling_matches_step(name, fields):
    _run(checks.check_classify_last_pooling_matches_step, name, fields)


@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_causality(name, fields):
    _run(checks.check_causality, name, fields)


@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_generation_modes_agree(name, fields):
    _run(checks.check_generation_modes_agree, name, fields)


@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_generation_follows_forward_argmax(name, fields):
    _run(checks.check_generation_follows_forward_argmax, name, fields)


@pytest.mark.parametrize(("name", "fields"), model_cases())
def test_sampled_generation_agrees_across_modes_with_one_seed(name, fields):
    _run(checks.check_sampled_generation_agrees_across_modes_with_one_seed, name, fields)


def run_interface_checks(name: str, fields: dict | None = None) -> None:
    """Every generic check on one model (a model registered elsewhere, e.g. the toy model): the first failure
    raises."""
    for result in checks.run_checks(name, fields):
        assert result.status != "failed", f"{result.check}: {result.message}"
