"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): gates that depend on the input only, so the
recurrence is linear in h and trains in parallel with a scan; ``step`` runs it one position at a time.

    minGRU:  z = sigmoid(W_z x), h~ = g(W_h x),  h_t = (1 - z) * h_{t-1} + z * h~
    minLSTM: f, i = sigmoid(W_f x), sigmoid(W_i x); f', i' = f / (f + i), i / (f + i); h_t = f' * h_{t-1} + i' * h~

with g(x) = x + 0.5 for x >= 0 and sigmoid(x) otherwise (positive, so the scan runs in log space). Each layer is a
pre-norm residual block x + W_o minRNN(LN(x)); the state is every layer's h (L, B, D), constant in length.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from seqarena.models.base import ModelSpec, SequenceModel, State
from seqarena.models.blocks import io_init
from seqarena.models.ops.scan import scan_log, scan_naive
from seqarena.models.registry import register


@dataclasses.dataclass
class MinRNNState(State):
    """Hidden state per layer (L, B, D); all entries positive."""

    h: Tensor


class MinRNNSpec(ModelSpec):
    """Stacked residual minGRU / minLSTM layers."""

    chunk: int = Field(128, ge=1, description="scan chunk length (parallel within, sequential across)")


def _log_g(x: Tensor) -> Tensor:
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def _g(x: Tensor) -> Tensor:
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


class _MinLayer(nn.Module):
    def __init__(self, d: int, gates: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.proj = nn.Linear(d, (gates + 1) * d)
        self.out = nn.Linear(d, d)
        self.gates = gates

    def coefficients(self, x: Tensor, log: bool) -> tuple[Tensor, Tensor]:
        """(a, b) or (log a, log b) of h_t = a h_{t-1} + b for inputs x (..., D)."""
        parts = self.proj(self.norm(x)).chunk(self.gates + 1, dim=-1)
        k, pre = parts[0], parts[-1]
        if self.gates == 1:  # minGRU: a = 1 - z, b = z * g(h~)
            log_a, log_z = -F.softplus(k), -F.softplus(-k)
        else:  # minLSTM: a = f / (f + i), b = i / (f + i) * g(h~), in log space
            log_f, log_i = -F.softplus(-k), -F.softplus(-parts[1])
            norm = torch.logaddexp(log_f, log_i)
            log_a, log_z = log_f - norm, log_i - norm
        if log:
            return log_a, log_z + _log_g(pre)
        return log_a.exp(), log_z.exp() * _g(pre)


class _MinRNN(SequenceModel):
    Spec = MinRNNSpec
    family = "recurrent"
    generation_modes = ("state",)
    gates = 1
    #: 2: input layer, final norm and head took N(0, 0.02); 3: input unit-variance, head N(0, 0.02) (blocks.io_init)
    impl_version = 3

    def __init__(self, spec: MinRNNSpec) -> None:
        super().__init__(spec)
        self.layers = nn.ModuleList(_MinLayer(spec.d_model, self.gates) for _ in range(spec.layers))
        io_init(self)

    def mix(self, h: Tensor, state: MinRNNState | None, naive: bool | None = None) -> tuple[Tensor, MinRNNState]:
        """``naive``: None picks the form measured fastest (benchmarks/efficient_forms.py, 2-core CPU, B=8, D=128):
        for training the log-space scan (fwd+bwd at n=1024: 114 ms vs 706 ms for the loop and 219 ms for nn.GRU);
        for inference on CPU the plain loop (it needs no exp/log/logcumsumexp: 45 ms vs 105 ms at n=4096)."""
        if naive is None:
            naive = not torch.is_grad_enabled() and h.device.type == "cpu"
        finals = []
        for i, layer in enumerate(self.layers):
            h0 = state.h[i] if state is not None else None
            if naive:
                a, b = layer.coefficients(h, log=False)
                hs, final = scan_naive(a, b, initial_state=h0, output_final_state=True)
            else:
                log_a, log_b = layer.coefficients(h, log=True)
                hs, final = scan_log(log_a, log_b, initial_state=h0, output_final_state=True,
                                     chunk=self.spec.chunk)  # (B, T, D), (B, D)
            finals.append(final)
            h = h + self.drop(layer.out(hs))
        return h, MinRNNState(torch.stack(finals))

    def layer_units(self) -> list[tuple[str, Callable[..., None]]]:
        """Each layer's gate coefficients (norm, projection, gates; the scan between layers runs as written)."""

        def coefficients(layer: _MinLayer) -> Callable[..., None]:
            def compile_it(backend: str) -> None:
                layer.coefficients = torch.compile(layer.coefficients, backend=backend)
            return compile_it

        return [(f"layers[{i}].coefficients", coefficients(layer)) for i, layer in enumerate(self.layers)]

    def step(self, x_t: Tensor, state: MinRNNState) -> tuple[Tensor, MinRNNState]:
        self._check_can_continue()
        h = self.drop(self.embed_inputs(x_t, state))  # (B, D)
        finals = []
        for i, layer in enumerate(self.layers):
            a, b = layer.coefficients(h, log=False)
            new = a * state.h[i] + b
            finals.append(new)
            h = h + self.drop(layer.out(new))
        y = self.readout(h.unsqueeze(1))
        return (y if self.spec.head == "classify" else y[:, 0]), MinRNNState(torch.stack(finals))

    def init_state(self, batch_size: int, *, device=None, dtype=None, max_len: int | None = None) -> MinRNNState:
        """Zeros (L, B, D): the scan treats them as log 0 = -inf."""
        kw = self.state_kwargs(device, dtype)
        return MinRNNState(torch.zeros(self.spec.layers, batch_size, self.spec.d_model, **kw))


@register("min_gru")
class MinGRU(_MinRNN):
    """minGRU (Feng et al. 2024): input-only update gate, parallel log-space scan."""

    gates = 1


@register("min_lstm")
class MinLSTM(_MinRNN):
    """minLSTM (Feng et al. 2024): input-only, normalised forget/input gates, parallel log-space scan."""

    gates = 2
