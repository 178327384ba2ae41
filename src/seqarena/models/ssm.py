"""``ssm``: a Mamba-style selective state-space model in pure PyTorch (Gu & Dao 2023; Mamba-2 form, Dao & Gu 2024).

Each layer is a pre-norm residual block x + out(y * silu(z)) where, from LN(x):
- a linear projection gives the SSM input, the gate z, B, C (N each) and a step size per head;
- a short causal depthwise convolution (kernel 4) and SiLU mix the input, B and C locally;
- dt = softplus(dt_raw + bias) > 0 (input-dependent), A = -exp(A_log) < 0 per head;
- the selective scan (``models/ops/ssm.py``, chunked; checked against an independent sequential reference) gives
  y = h C + D x.
The state is the convolution's last 3 inputs and the SSM state per layer: constant in length.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from seqarena.models.base import ModelSpec, SequenceModel, State
from seqarena.models.blocks import io_init
from seqarena.models.ops.ssm import ssd_chunked, ssm_naive
from seqarena.models.registry import register


@dataclasses.dataclass
class SSMState(State):
    """conv (L, B, K-1, channels): the last inputs of the causal convolution; ssm (L, B, H, P, N)."""

    conv: Tensor
    ssm: Tensor


class SSMSpec(ModelSpec):
    """Stacked Mamba-style blocks."""

    d_state: int = Field(16, ge=1, description="SSM state size N")
    expand: int = Field(2, ge=1, description="inner width = expand x d_model, rounded up to whole heads")
    head_dim: int = Field(8, ge=1, description="channels per SSM head (P)")
    conv_kernel: int = Field(4, ge=1, description="causal depthwise convolution width")
    # measured (benchmarks/efficient_forms.py, 2-core CPU, 2 threads, B=8, H=32, P=8, N=16): chunk 32 / 64 -> 1.6 /
    # 2.1 ms at n=256, 18 / 17 ms at n=1024, 86 / 72 ms at n=4096; the loop 24 / 89 / 488 ms. 32 is kept: at n <= 1k
    # it is as fast or faster, and a chunk shrinks only where it decays past the dtype's range (ops/ssm.py)
    chunk: int = Field(32, ge=1, description="scan chunk length")
    naive: bool = Field(False, description="use the sequential reference scan (tests)")

    @property
    def inner(self) -> int:
        """expand x d_model rounded up to whole heads (any d_model is valid, so budgets can be met finely)."""
        return self.head_dim * math.ceil(self.expand * self.d_model / self.head_dim)


class _Block(nn.Module):
    def __init__(self, spec: SSMSpec) -> None:
        super().__init__()
        d, N = spec.d_model, spec.d_state
        self.inner = spec.inner
        self.heads, self.P, self.N, self.K = self.inner // spec.head_dim, spec.head_dim, N, spec.conv_kernel
        self.chunk, self.naive = spec.chunk, spec.naive
        self.norm = nn.LayerNorm(d)
        self.conv_dim = self.inner + 2 * N
        self.in_proj = nn.Linear(d, 2 * self.inner + 2 * N + self.heads)
        self.conv = nn.Conv1d(self.conv_dim, self.conv_dim, self.K, groups=self.conv_dim)
        self.A_log = nn.Parameter(torch.log(torch.linspace(1.0, 16.0, self.heads)))
        self.D = nn.Parameter(torch.ones(self.heads))
        # dt initialised in [1e-3, 1e-1] (log-uniform), as in Mamba
        dt = torch.exp(torch.linspace(math.log(1e-3), math.log(1e-1), self.heads))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
        self.out = nn.Linear(self.inner, d)
        self.drop = nn.Dropout(spec.dropout)

    def forward(self, x: Tensor, conv_state: Tensor | None, ssm_state: Tensor | None):
        b, T, _ = x.shape
        z, xbc, dt = self.in_proj(self.norm(x)).split([self.inner, self.conv_dim, self.heads], dim=-1)
        past = conv_state if conv_state is not None else xbc.new_zeros(b, self.K - 1, self.conv_dim)
        seq = torch.cat([past, xbc], dim=1)  # (b, K-1+T, C): the convolution sees the previous inputs
        xbc = F.silu(self.conv(seq.transpose(1, 2)).transpose(1, 2))  # (b, T, C), causal
        u, B, C = xbc.split([self.inner, self.N, self.N], dim=-1)
        u = u.view(b, T, self.heads, self.P)
        dt = F.softplus(dt + self.dt_bias)  # (b, T, H) > 0
        A = -torch.exp(self.A_log.float()).to(x.dtype)
        # one position (generation): the recurrence itself is the cheapest form
        if self.naive or T == 1:
            y, ssm_state = ssm_naive(u, dt, A, B, C, initial_state=ssm_state, output_final_state=True)
        else:
            y, ssm_state = ssd_chunked(u, dt, A, B, C, initial_state=ssm_state, output_final_state=True,
                                       chunk=self.chunk)
        y = (y + self.D[:, None] * u).reshape(b, T, self.inner) * F.silu(z)
        return x + self.drop(self.out(y)), seq[:, -(self.K - 1) :] if self.K > 1 else seq[:, :0], ssm_state


@register("ssm")
class SSM(SequenceModel):
    """Mamba-style selective SSM (input-dependent dt, B, C; causal conv; gating), chunked scan; constant state."""

    Spec = SSMSpec
    family = "recurrent"
    #: 2: the chunked scan computes every chunk at once (~5x faster than version 1's chunk loop); 3: input layer,
    #: final norm and head took N(0, 0.02); 4: input unit-variance, head N(0, 0.02) (blocks.io_init, issue 29)
    impl_version = 4
    generation_modes = ("state",)
    test_variants = ({"chunk": 3}, {"naive": True, "d_state": 4})

    def __init__(self, spec: SSMSpec) -> None:
        super().__init__(spec)
        self.blocks = nn.ModuleList(_Block(spec) for _ in range(spec.layers))
        io_init(self)

    def mix(self, h: Tensor, state: SSMState | None) -> tuple[Tensor, SSMState]:
        convs, ssms = [], []
        for i, block in enumerate(self.blocks):
            conv, ssm = (state.conv[i], state.ssm[i]) if state is not None else (None, None)
            h, c, s = block(h, conv, ssm)
            convs.append(c)
            ssms.append(s)
        return h, SSMState(torch.stack(convs), torch.stack(ssms))

    def init_state(self, batch_size: int, *, device=None, dtype=None, max_len: int | None = None) -> SSMState:
        kw = self.state_kwargs(device, dtype)
        blk = self.blocks[0]
        return SSMState(torch.zeros(self.spec.layers, batch_size, blk.K - 1, blk.conv_dim, **kw),
                        torch.zeros(self.spec.layers, batch_size, blk.heads, blk.P, blk.N, **kw))
