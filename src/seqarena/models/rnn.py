"""The RNN family: ``elman`` (tanh RNN), ``lstm`` and ``gru``.

The parallel forward runs torch's multi-layer kernels (nn.RNN / nn.LSTM / nn.GRU). On CPU only nn.LSTM is fused
(oneDNN); nn.GRU and nn.RNN run a loop of per-step matmuls inside ATen, so a GRU-vs-LSTM speed gap on CPU is partly a
kernel gap, not an architecture gap. ``step`` reuses the same weights through the ATen cell functions
(``torch.lstm_cell`` and friends): calling the multi-layer module with T=1 pays its set-up on every token and was
~3.5x slower per step (see ``benchmarks/step_forms.py``).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqarena.models.base import ModelSpec, SequenceModel, State
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
    generation_modes = ("state",)
    module: ClassVar[type[nn.RNNBase]]
    has_cell: ClassVar[bool] = False

    def __init__(self, spec: RNNSpec) -> None:
        super().__init__(spec)
        d = spec.d_model
        between = spec.dropout if spec.layers > 1 else 0.0
        self.rnn = self.module(d, d, num_layers=spec.layers, batch_first=True, dropout=between)

    def _cell(self, x: Tensor, h: Tensor, c: Tensor | None, layer: int) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError

    def _weights(self, layer: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        r = self.rnn
        return (
            getattr(r, f"weight_ih_l{layer}"),
            getattr(r, f"weight_hh_l{layer}"),
            getattr(r, f"bias_ih_l{layer}"),
            getattr(r, f"bias_hh_l{layer}"),
        )

    def mix(self, h: Tensor, state: RNNState | None) -> tuple[Tensor, RNNState]:
        hx = None
        if state is not None:
            hx = (state.h, state.c) if self.has_cell else state.h
        out, hn = self.rnn(h, hx)  # (B, T, D)
        if self.has_cell:
            return out, RNNState(hn[0], hn[1])
        return out, RNNState(hn)

    def step(self, x_t: Tensor, state: RNNState) -> tuple[Tensor, RNNState]:
        """One position through every layer with the ATen cell functions on the module's own weights."""
        inp = self.drop(self.embed_inputs(x_t, state))  # (B, D)
        hs, cs = [], []
        for layer in range(self.spec.layers):
            h, c = self._cell(inp, state.h[layer], state.c[layer] if self.has_cell else None, layer)
            hs.append(h)
            cs.append(c)
            last = layer == self.spec.layers - 1
            inp = h if last else F.dropout(h, self.rnn.dropout, self.training)
        y = self.readout(inp.unsqueeze(1))  # (B, 1, V|F) or (B, C)
        new = RNNState(torch.stack(hs), torch.stack(cs) if self.has_cell else None)
        return (y if self.spec.head == "classify" else y[:, 0]), new

    def init_state(
        self,
        batch_size: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        max_len: int | None = None,
    ) -> RNNState:
        """Zero hidden (and cell) state, (L, B, D). ``max_len`` is ignored: the state does not grow."""
        p = next(self.parameters())
        shape = (self.spec.layers, batch_size, self.spec.d_model)
        zeros = lambda: torch.zeros(shape, device=device or p.device, dtype=dtype or p.dtype)  # noqa: E731
        return RNNState(zeros(), zeros() if self.has_cell else None)


@register("elman")
class Elman(_Recurrent):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""

    module = nn.RNN

    def _cell(self, x, h, c, layer):
        return torch.rnn_tanh_cell(x, h, *self._weights(layer)), None


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

    def _cell(self, x, h, c, layer):
        return torch.lstm_cell(x, (h, c), *self._weights(layer))


@register("gru")
class GRU(_Recurrent):
    """GRU (Cho et al. 2014), torch's formulation (reset gate applied after the hidden matmul)."""

    module = nn.GRU

    def _cell(self, x, h, c, layer):
        return torch.gru_cell(x, h, *self._weights(layer)), None
