"""A template for your own model: copy this file, rename the class, replace the recurrence.

Check it, then use it anywhere a model name goes (bench, train, claims roles, recommend, demo)::

    seqarena check -m examples.my_model:MyRNN       # the generic interface checks, one line per check
    seqarena bench forward_latency -m examples.my_model:MyRNN,lstm --seq-lens 64,256

Run from the folder that holds your package (or install it): ``examples.my_model`` is imported by that path.
What the class must provide (``seqarena check`` names whatever is missing, in one line):

- ``family``: ``recurrent``, ``attention`` or ``hybrid`` (colours, the recommender's priors);
- ``mix(h, state)``: the sequence mixer, (B, T, D) -> (B, T, D), continuing from ``state`` (None: a fresh start),
  returning ``(h, state_after_the_last_position)``;
- ``init_state(batch_size, *, device, dtype, max_len)``: the empty state (here a zero hidden state).

The base class supplies the input layer (token embedding or feature projection), the final norm and the head, the
parameter budget (``params=`` solves ``d_model``), ``step`` (one position through ``mix``), generation and
``state_nbytes``. Add ``@register("my_rnn")`` from ``seqarena.models`` to use a short name instead of the path.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor, nn

from seqarena.models import SequenceModel, State


@dataclasses.dataclass
class MyState(State):
    """What the model carries between calls: every tensor field is cloned, detached and counted by the base class."""

    h: Tensor  # (B, D)


class MyRNN(SequenceModel):
    """A diagonal tanh RNN: h_t = tanh(W x_t + a * h_{t-1}), one learned decay per channel."""

    family = "recurrent"

    def __init__(self, spec) -> None:
        super().__init__(spec)
        self.w_in = nn.Linear(spec.d_model, spec.d_model)
        self.decay = nn.Parameter(torch.full((spec.d_model,), 0.5))

    def mix(self, h: Tensor, state: MyState | None) -> tuple[Tensor, MyState]:
        u = self.w_in(h)  # (B, T, D)
        hidden = state.h if state is not None else torch.zeros_like(u[:, 0])  # (B, D)
        outs = []
        for t in range(u.shape[1]):
            hidden = torch.tanh(u[:, t] + self.decay * hidden)
            outs.append(hidden)
        return torch.stack(outs, dim=1), MyState(hidden)  # (B, T, D)

    def init_state(self, batch_size: int, *, device=None, dtype=None, max_len=None) -> MyState:
        return MyState(torch.zeros(batch_size, self.spec.d_model, **self.state_kwargs(device, dtype)))
