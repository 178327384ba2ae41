"""The selective state-space recurrence of a Mamba-style block (Mamba-2 form: one scalar decay per head).

    h_t = exp(dt_t * A) * h_{t-1} + dt_t * x_t B_t^T          h (H, P, N) per sequence
    y_t = h_t C_t                                             y (H, P)

with input-dependent step sizes dt_t > 0 (per head), A < 0 (per head), and input-dependent B_t, C_t (N). The fast form
(``ssd_chunked``) is the chunked "state-space duality" computation (Dao & Gu 2024): inside a chunk of C steps the
outputs are a masked, decay-weighted attention-like product (every exponent <= 0, so nothing overflows), and the state
is carried between chunks. ``ssm_naive`` is the recurrence above, one step at a time, written independently.

Shapes: x (b, T, H, P), dt (b, T, H), A (H,), B and C (b, T, N), h0 (b, H, P, N).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from seqarena.models.ops import run_eagerly


def ssd_chunked(x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, *, initial_state: Tensor | None = None,
                output_final_state: bool = False, chunk: int = 64) -> tuple[Tensor, Tensor | None]:
    """(y (b, T, H, P), the final state (b, H, P, N) when ``output_final_state``) from ``initial_state`` (b, H, P, N;
    None: zeros), fla's convention.

    Every chunk at once: inside a chunk the decay exp(cum_t - cum_s) factors as exp(cum_t - m) exp(m - cum_s), with
    m the chunk's mid-decay, so one masked C B^T per chunk serves every head as a plain (l x l) @ (l x H*P) matmul
    (no (H, l, l) decay tensor). Only the state passed between chunks is a loop: T / chunk small steps. Each factor
    stays within exp(+-limit) of the dtype: where a chunk decays further than 2 x limit the chunk shrinks, and a
    single step is held at 2 x limit (a decay past e^-88 in float32 leaves nothing of the state either way).
    """
    b, T, H, P = x.shape
    N = B.shape[-1]
    step = dt * A  # (b, T, H), <= 0
    # exp(limit) is the square root of the dtype's range (44 in float32 and bf16, 5.5 in fp16): the other half is
    # headroom for the inputs it multiplies and the sums over a chunk
    limit = math.log(torch.finfo(x.dtype).max) / 2
    steepest = _steepest(step)
    if steepest * chunk > 2 * limit:
        chunk = max(1, int(2 * limit // steepest))
        step = step.clamp(min=-2 * limit)
    pad = (-T) % chunk
    if pad:  # dt = 0 on the padding: decay 1 and no input, so the final state is untouched
        x, B, C = F.pad(x, (0, 0, 0, 0, 0, pad)), F.pad(B, (0, 0, 0, pad)), F.pad(C, (0, 0, 0, pad))
        dt, step = F.pad(dt, (0, 0, 0, pad)), F.pad(step, (0, 0, 0, pad))
    c = (T + pad) // chunk
    cum = step.view(b, c, chunk, H).cumsum(2)  # (b, c, l, H): decay from the chunk's start, decreasing
    mid = cum[:, :, -1:] / 2  # (b, c, 1, H)
    grow, shrink = (mid - cum).exp(), (cum - mid).exp()  # (b, c, l, H), each within exp(+-limit)
    Bc, Cc = B.view(b, c, chunk, N), C.view(b, c, chunk, N)
    u = (x.view(b, c, chunk, H, P) * (dt.view(b, c, chunk, H) * grow)[..., None]).view(b, c, chunk, H * P)
    half = mid[:, :, 0].exp()  # (b, c, H): exp(m), from the chunk's start to its middle and from there to its end
    states = (u.transpose(-1, -2) @ Bc).view(b, c, H, P, N) * half[..., None, None]  # each chunk's own input
    decay = (2 * mid[:, :, 0]).exp()[..., None, None]  # (b, c, H, 1, 1): the whole chunk
    h_in, h = _pass_states(states, decay, x.new_zeros(b, H, P, N) if initial_state is None else initial_state)
    h_in = (h_in * half[..., None, None]).view(b, c, H * P, N)  # decayed to the middle
    cb = (Cc @ Bc.transpose(-1, -2)).tril_()  # (b, c, l, s): causal within the chunk
    y = torch.baddbmm((cb @ u).flatten(0, 1), Cc.flatten(0, 1), h_in.transpose(-1, -2).flatten(0, 1))
    y = y.view(b, c, chunk, H, P) * shrink[..., None]  # (b, c, l, H, P): within the chunk + from before it
    return y.reshape(b, c * chunk, H, P)[:, :T], h if output_final_state else None


@run_eagerly
def _steepest(step: Tensor) -> float:
    """The largest single-step decay -min(dt A) (a host sync)."""
    return float(-step.detach().min()) if step.numel() else 0.0


@run_eagerly
def _pass_states(states: Tensor, decay: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
    """The state entering each chunk (b, c, H, P, N) and the final one: h <- h * decay_i + states_i, chunk by chunk."""
    entering = []
    for i in range(states.shape[1]):
        entering.append(h)
        h = h * decay[:, i] + states[:, i]
    return torch.stack(entering, dim=1), h


@run_eagerly
def ssm_naive(x: Tensor, dt: Tensor, A: Tensor, B: Tensor, C: Tensor, *, initial_state: Tensor | None = None,
              output_final_state: bool = False) -> tuple[Tensor, Tensor | None]:
    """The recurrence one step at a time (vectorised over batch, heads and width)."""
    b, T, H, P = x.shape
    h = x.new_zeros(b, H, P, B.shape[-1]) if initial_state is None else initial_state
    ys = []
    for t in range(T):
        a = torch.exp(dt[:, t] * A)  # (b, H)
        h = a[:, :, None, None] * h + (dt[:, t, :, None] * x[:, t])[..., None] * B[:, t, None, None, :]
        ys.append(torch.einsum("bhpn,bn->bhp", h, C[:, t]))
    return torch.stack(ys, dim=1), h if output_final_state else None
