"""The typed suites: attribute access, validated overrides, one-line errors."""

from __future__ import annotations

import pydantic
import pytest

from seqarena.claims import FULL, QUICK, SUITES, Suite, resolve_suite
from seqarena.errors import SpecError


def test_named_suites_resolve_to_the_frozen_instances():
    assert resolve_suite("quick") is QUICK and resolve_suite("full") is FULL
    assert SUITES == {"quick": QUICK, "full": FULL}
    assert QUICK.smoke and not FULL.smoke and QUICK.q_steps < FULL.q_steps
    assert resolve_suite(FULL) is FULL
    with pytest.raises(pydantic.ValidationError):
        QUICK.model_copy().__setattr__("q_steps", 1)  # frozen


def test_a_dict_overrides_quick_and_is_named_custom():
    s = resolve_suite({"q_steps": 3, "short": [16]})
    assert isinstance(s, Suite) and s.name == "custom" and s.q_steps == 3 and s.short == (16,)
    assert s.params == QUICK.params


@pytest.mark.parametrize("override, message", [({"q_stepz": 3}, "unknown suite setting 'q_stepz'"),
                                               ({"q_steps": "many"}, "suite setting q_steps")])
def test_bad_overrides_are_one_line_spec_errors(override, message):
    with pytest.raises(SpecError, match=message) as e:
        resolve_suite(override)
    assert len(str(e.value).splitlines()) == 1


def test_unknown_names_are_spec_errors():
    with pytest.raises(SpecError, match="unknown suite 'huge'"):
        resolve_suite("huge")
    with pytest.raises(AttributeError):
        QUICK.no_such_size  # noqa: B018  (a typo fails where it is written)


@pytest.mark.parametrize("suite", ["quick", "full"])
def test_every_synthetic_task_a_suite_trains_on_has_examples_in_every_split(suite):
    """The full suite's gradient probe trained on copy with a 2-symbol pattern of 8 symbols: 64 distinct examples,
    all of them drawn into validation, so every trial failed ("no test example left once the splits are made
    disjoint") after the suite had run for 6 hours elsewhere. Build every generated task a suite plans (the file-backed
    ones, char_lm and forecast, have their own tests)."""
    from seqarena.claims import ClaimsPlan
    from seqarena.tasks import make_task

    tasks = {(t.task, tuple(sorted(t.task_params.items()))) for t in ClaimsPlan.build(suite).unique() if t.task}
    synthetic = sorted(k for k in tasks if k[0] not in ("char_lm", "forecast"))
    assert synthetic
    for name, params in synthetic:
        task = make_task(name, **dict(params))  # raises SpecError when a split comes out empty
        assert all(len(s) > 0 for s in task.splits.values()), (name, params)
