"""Models behind one interface (see :mod:`seqarena.models.base`) and the registry that builds them.

>>> from seqarena.models import build, available
>>> model = build("lstm", params=200_000, vocab_size=256, layers=2)
"""

from seqarena.models import attention as _attention  # noqa: F401  (registers "transformer")
from seqarena.models import hybrid as _hybrid  # noqa: F401  (registers "hybrid")
from seqarena.models import linear_attention as _linear_attention  # noqa: F401  (registers "linear_attention")
from seqarena.models import linformer as _linformer  # noqa: F401  (registers "linformer")
from seqarena.models import local_attention as _local_attention  # noqa: F401  (registers "local")
from seqarena.models import min_rnn as _min_rnn  # noqa: F401  (registers "min_gru", "min_lstm")
from seqarena.models import performer as _performer  # noqa: F401  (registers "performer")
from seqarena.models import rnn as _rnn  # noqa: F401  (registers "elman", "lstm", "gru")
from seqarena.models import ssm as _ssm  # noqa: F401  (registers "ssm")
from seqarena.models import transformer_xl as _transformer_xl  # noqa: F401  (registers "transformer_xl")
from seqarena.models.attention import KVCache, Transformer, TransformerSpec, TransformerState
from seqarena.models.base import (
    FAMILIES,
    Family,
    ModelSpec,
    SequenceModel,
    SpecError,
    State,
    allocated_nbytes,
    logical_nbytes,
)
from seqarena.models.generate import Generation, generate
from seqarena.models.registry import (
    available,
    build,
    count_params,
    families,
    family_of,
    get_class,
    make_spec,
    parse_model_string,
    register,
    solve_budget,
)
from seqarena.models.rnn import GRU, LSTM, Elman, RNNSpec, RNNState

__all__ = [
    "FAMILIES",
    "GRU",
    "LSTM",
    "Elman",
    "Family",
    "Generation",
    "KVCache",
    "ModelSpec",
    "RNNSpec",
    "RNNState",
    "SequenceModel",
    "SpecError",
    "State",
    "Transformer",
    "TransformerSpec",
    "TransformerState",
    "allocated_nbytes",
    "available",
    "build",
    "count_params",
    "families",
    "family_of",
    "generate",
    "get_class",
    "logical_nbytes",
    "make_spec",
    "parse_model_string",
    "register",
    "solve_budget",
]
