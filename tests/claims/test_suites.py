"""The typed suites: attribute access, validated overrides, one-line errors."""

from __future__ import annotations

import pydantic
import pytest

from seqarena.claims import FULL, QUICK, SUITES, Suite, resolve_suite
from seqarena.models import SpecError


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
