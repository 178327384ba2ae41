"""The candidates the recommender ranks: model strings parsed and labelled, and the family each belongs to."""

from __future__ import annotations

import dataclasses
from typing import Any

from seqarena.analysis.labels import model_label
from seqarena.models import family_of, get_class, parse_model_string

#: The essay's two families, as the data-size prior names them; a hybrid is favoured by neither.
_PRIOR_FAMILY = {"recurrent": "rnn", "attention": "attention"}


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A model string as given (``transformer:positions=alibi``), its registry name and spec options."""

    label: str
    name: str
    options: dict[str, Any]


def candidate(text: str) -> Candidate:
    """Parse and validate a candidate model string; one-line SpecError when unknown."""
    name, options = parse_model_string(text.strip())
    get_class(name)
    return Candidate(model_label(name, options), name, options)


def family(name: str) -> str | None:
    """"rnn", "attention" or None (neither): the essay's two families, for its data-size prior, from the model's own
    ``family`` (so a newly registered recurrent model gets the prior too)."""
    return _PRIOR_FAMILY.get(family_of(name) or "")


def owns(c: Candidate, model: str, options: dict[str, Any], fields: dict[str, Any] | None = None) -> bool:
    """Whether a trial of ``model`` with ``options`` is candidate ``c``'s (``fields``: what the trial added to the
    candidate's own options, e.g. the task's inputs and head for a cost trial)."""
    return model == c.name and options == {**(fields or {}), **c.options}
