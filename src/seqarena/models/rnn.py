"""The RNN family: ``elman`` (tanh RNN), ``lstm`` and ``gru``.

The parallel forward runs torch's multi-layer kernels (nn.RNN / nn.LSTM / nn.GRU). On CPU only nn.LSTM is fused
(oneDNN); nn.GRU and nn.RNN run a loop of per-step matmuls inside ATen, so a GRU-vs-LSTM speed gap on CPU is partly a
kernel gap, not an architecture gap.

``step`` reuses the module's own weights through ATen's cell functions (``torch.lstm_cell``, ``torch.gru_cell``,
``torch.rnn_tanh_cell``), the cheapest form that needs no copy of them as measured by ``benchmarks/step_forms.py``
(2 layers, d=128, batch 1, 2-core CPU). Calling the multi-layer module with T=1 pays its set-up on every token
(~3x slower for the LSTM). One matmul on cat(x, h) against pre-concatenated weights is close or faster for the
Elman RNN, but it needs a second copy of the recurrent weights, which would inflate exactly the inference memory
that the RNN-vs-KV-cache claims measure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqarena.models.base import ModelSpec, SequenceModel, State
from seqarena.models.blocks import io_init
from seqarena.models.registry import register


@dataclasses.dataclass
class RNNState(State):
    """Hidden state per layer, ``h`` (L, B, D), and the LSTM's cell state ``c`` (L, B, D). Constant in length."""

    h: Tensor
    c: Tensor | None = None


class RNNSpec(ModelSpec):
    """Stacked recurrent layers of width d_model (dropout applies between layers)."""


class _Recurrent(SequenceModel):
    Spec = RNNSpec
    family = "recurrent"
    generation_modes = ("state",)
    module: ClassVar[type[nn.RNNBase]]
    has_cell: ClassVar[bool] = False
    #: 2: input layer, final norm and head took the attention families' N(0, 0.02); 3: the input layer unit-variance
    #: again (the LSTM learned nothing in 100 steps from a 0.02 embedding), the head N(0, 0.02) (blocks.io_init)
    impl_version = 3

    def __init__(self, spec: RNNSpec) -> None:
        super().__init__(spec)
        d = spec.d_model
        between = spec.dropout if spec.layers > 1 else 0.0
        self.rnn = self.module(d, d, num_layers=spec.layers, batch_first=True, dropout=between)
        io_init(self)

    def _cell(self, x: Tensor, h: Tensor, c: Tensor | None, w: list[Tensor]) -> tuple[Tensor, Tensor | None]:
        """One layer, one position: ATen's cell function on that layer's [w_ih, w_hh, b_ih, b_hh]."""
        raise NotImplementedError

    def mix(self, h: Tensor, state: RNNState | None) -> tuple[Tensor, RNNState]:
        hx = None
        if state is not None:
            hx = (state.h, state.c) if self.has_cell else state.h
        out, hn = self.rnn(h, hx)  # (B, T, D)
        if self.has_cell:
            return out, RNNState(hn[0], hn[1])
        return out, RNNState(hn)

    def layer_units(self) -> list[tuple[str, Callable[..., None]]]:
        """The single-step function (its per-layer cells and the stacking of the new state). The parallel forward is
        one ATen kernel (nn.LSTM / GRU / RNN), which dynamo does not trace: it runs as it is."""

        def compile_step(backend: str) -> None:
            self.step_mixer = torch.compile(self.step_mixer, backend=backend)

        return [("step_mixer", compile_step)]

    def step(self, x_t: Tensor, state: RNNState) -> tuple[Tensor, RNNState]:
        """One position: embed, :meth:`step_mixer`, head."""
        self._check_can_continue()
        h, new = self.step_mixer(self.drop(self.embed_inputs(x_t, state)), state)  # (B, D)
        y = self.readout(h.unsqueeze(1))  # (B, 1, V|F) or (B, C)
        return (y if self.spec.head == "classify" else y[:, 0]), new

    def step_mixer(self, inp: Tensor, state: RNNState) -> tuple[Tensor, RNNState]:
        """The recurrent stack for one position, (B, D) -> (B, D), on the module's own weights."""
        # nn.RNNBase keeps _flat_weights = [w_ih, w_hh, b_ih, b_hh] per layer current (also after .to()); reading
        # it avoids 4 getattr per layer per token, and skipping the no-op dropout call saves more (see benchmark)
        weights = self.rnn._flat_weights
        p = self.rnn.dropout if self.training else 0.0
        L = self.spec.layers
        hs, cs = [], []
        for layer in range(L):
            h, c = self._cell(inp, state.h[layer], state.c[layer] if self.has_cell else None, weights[4 * layer :])
            hs.append(h)
            cs.append(c)
            inp = F.dropout(h, p, True) if p > 0 and layer < L - 1 else h
        return inp, RNNState(torch.stack(hs), torch.stack(cs) if self.has_cell else None)

    def init_state(
        self,
        batch_size: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        max_len: int | None = None,
    ) -> RNNState:
        """Zero hidden (and cell) state, (L, B, D). ``max_len`` is ignored: the state does not grow."""
        kw = self.state_kwargs(device, dtype)
        zeros = lambda: torch.zeros(self.spec.layers, batch_size, self.spec.d_model, **kw)  # noqa: E731  (L, B, D)
        return RNNState(zeros(), zeros() if self.has_cell else None)


@register("elman")
class Elman(_Recurrent):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""

    module = nn.RNN

    def _cell(self, x, h, c, w):
        return torch.rnn_tanh_cell(x, h, w[0], w[1], w[2], w[3]), None


@register("lstm")
class LSTM(_Recurrent):
    """LSTM (Hochreiter & Schmidhuber 1997) with forget-gate bias initialised to 1 (Jozefowicz et al. 2015)."""

    module = nn.LSTM
    has_cell = True

    def __init__(self, spec: RNNSpec) -> None:
        super().__init__(spec)
        d = spec.d_model
        with torch.no_grad():
            for layer in range(spec.layers):
                # gate order in torch's weights: input, forget, cell, output
                getattr(self.rnn, f"bias_ih_l{layer}")[d : 2 * d].fill_(1.0)
                getattr(self.rnn, f"bias_hh_l{layer}")[d : 2 * d].zero_()

    def _cell(self, x, h, c, w):
        return torch.lstm_cell(x, (h, c), w[0], w[1], w[2], w[3])


@register("gru")
class GRU(_Recurrent):
    """GRU (Cho et al. 2014), torch's formulation (reset gate applied after the hidden matmul)."""

    module = nn.GRU

    def _cell(self, x, h, c, w):
        return torch.gru_cell(x, h, w[0], w[1], w[2], w[3]), None
