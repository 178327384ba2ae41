"""Which single-step form should the RNNs' ``step`` use? Times every correct form on the module's own weights.

Forms, for the whole recurrent stack (inference, batch 1 by default):
  module     the multi-layer nn.LSTM / nn.GRU / nn.RNN called with T=1 (pays its set-up on every token)
  aten-cell  ATen cell functions (torch.lstm_cell / gru_cell / rnn_tanh_cell) per layer
  linear     the cell's equations written out: two F.linear + pointwise per layer
  fused      one matmul on cat(x, h) against cat(W_ih, W_hh): needs a *copy* of the recurrent weights
  step       what ``model.step`` runs (``step_mixer``): aten-cell plus stacking the new (h, c) state, which the
             other forms skip (they return only the top layer's h)

All forms are checked against each other before timing. Timing: torch.utils.benchmark.Timer with the thread count
passed explicitly (it defaults to 1 thread), forms interleaved in a shuffled order over several rounds, median of
the per-round medians.

    python benchmarks/step_forms.py [--d-model 128] [--layers 2] [--batch 1] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import statistics

import torch
import torch.nn.functional as F
from torch.utils.benchmark import Timer

from seqarena.models import RNNState, build

ATEN_CELL = {"lstm": torch.lstm_cell, "gru": torch.gru_cell, "elman": torch.rnn_tanh_cell}


def _weights(rnn, layer):
    return tuple(getattr(rnn, f"{n}_l{layer}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def _lstm_update(gates, c_prev):
    i, f, g, o = gates.chunk(4, 1)
    c_new = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_new)


def forms(name: str, model, x, h, c) -> tuple[dict, int]:
    """Callables computing one step of the stack (each returns the top hidden state), and the fused copy's bytes."""
    rnn, L = model.rnn, model.spec.layers
    W = [_weights(rnn, layer) for layer in range(L)]
    fused_w = [(torch.cat([w_ih, w_hh], 1).contiguous(), b_ih + b_hh) for w_ih, w_hh, b_ih, b_hh in W]
    copy_bytes = sum(w.nbytes + b.nbytes for w, b in fused_w)

    def module():
        out, _ = rnn(x[:, None], (h, c) if name == "lstm" else h)
        return out[:, 0]

    def aten_cell():
        inp = x
        for layer in range(L):
            if name == "lstm":
                inp = torch.lstm_cell(inp, (h[layer], c[layer]), *W[layer])[0]
            else:
                inp = ATEN_CELL[name](inp, h[layer], *W[layer])
        return inp

    def linear():
        inp = x
        for layer, (w_ih, w_hh, b_ih, b_hh) in enumerate(W):
            gi, gh = F.linear(inp, w_ih, b_ih), F.linear(h[layer], w_hh, b_hh)
            if name == "lstm":
                inp = _lstm_update(gi + gh, c[layer])
            elif name == "gru":
                ir, iz, in_ = gi.chunk(3, 1)
                hr, hz, hn = gh.chunk(3, 1)
                r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
                inp = (1 - z) * torch.tanh(in_ + r * hn) + z * h[layer]
            else:
                inp = torch.tanh(gi + gh)
        return inp

    def fused():
        inp = x
        for layer, (w, b) in enumerate(fused_w):
            gates = F.linear(torch.cat([inp, h[layer]], 1), w, b)
            inp = _lstm_update(gates, c[layer]) if name == "lstm" else torch.tanh(gates)
        return inp

    def step():
        return model.step_mixer(x, RNNState(h, c))[0]

    out = {"module": module, "aten-cell": aten_cell, "linear": linear, "fused": fused, "step": step}
    if name == "gru":  # the reset gate multiplies only the hidden part: no single matmul
        del out["fused"]
    return out, copy_bytes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-run-time", type=float, default=0.3, help="seconds per form per round")
    args = ap.parse_args()
    threads = torch.get_num_threads()
    print(
        f"torch {torch.__version__}, threads {threads}, d_model {args.d_model}, layers {args.layers}, "
        f"batch {args.batch}, fp32, CPU, no_grad; median of {args.rounds} interleaved rounds"
    )
    torch.manual_seed(0)
    B, D, L = args.batch, args.d_model, args.layers
    for name in ("lstm", "gru", "elman"):
        model = build(name, d_model=D, layers=L).eval()
        x, h = torch.randn(B, D), torch.randn(L, B, D)
        c = torch.randn(L, B, D) if name == "lstm" else None
        fns, copy_bytes = forms(name, model, x, h, c)
        with torch.no_grad():
            ref = fns["module"]()
            for form, fn in fns.items():
                torch.testing.assert_close(fn(), ref, atol=1e-5, rtol=1e-5, msg=f"{name} {form}")
        per_round: dict[str, list[float]] = {f: [] for f in fns}
        for _ in range(args.rounds):
            for form in random.sample(list(fns), len(fns)):
                t = Timer("with torch.no_grad(): fn()", globals={"fn": fns[form], "torch": torch}, num_threads=threads)
                per_round[form].append(t.blocked_autorange(min_run_time=args.min_run_time).median)
        us = {f: statistics.median(v) * 1e6 for f, v in per_round.items()}
        no_copy = {f: t for f, t in us.items() if f not in ("fused", "step")}
        best = min(no_copy, key=no_copy.get)
        print(f"\n{name}: µs per step for the {L}-layer stack")
        for form, t in sorted(us.items(), key=lambda kv: kv[1]):
            note = f"  (+{copy_bytes / 2**20:.2f} MiB weight copy)" if form == "fused" else ""
            print(f"  {form:<10} {t:8.1f}   x{t / us['step']:.2f} vs step{note}")
        print(f"  fastest without a weight copy: {best}; step() is {us['step'] / us[best]:.2f}x its time")


if __name__ == "__main__":
    main()
