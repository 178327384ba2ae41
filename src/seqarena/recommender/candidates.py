"""The candidates the recommender ranks: model strings parsed and labelled, and the family each belongs to."""

from __future__ import annotations

import dataclasses
from typing import Any

from seqarena.analysis.labels import model_label
from seqarena.models import get_class, parse_model_string

# TODO(family): these two sets go once every model has a ``family`` class attribute; family() then calls
# seqarena.models.family_of(name) (mapping "recurrent" -> "rnn"; "hybrid" favoured by neither prior)
RECURRENT = frozenset({"elman", "lstm", "gru", "min_gru", "min_lstm", "ssm"})
ATTENTION = frozenset({"transformer", "transformer_xl", "local", "linformer", "performer", "linear_attention"})


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
    """"rnn", "attention" or None (neither): the essay's two families, for its data-size prior. The only place the
    recommender reads RECURRENT / ATTENTION."""
    # TODO(family): return {"recurrent": "rnn", "attention": "attention"}.get(family_of(name)) once models have one
    return "rnn" if name in RECURRENT else "attention" if name in ATTENTION else None
