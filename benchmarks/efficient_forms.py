"""Fast forms of the efficient models against their naive loops, local vs full attention, minGRU vs nn.GRU, and
per-token decode of every model. Prints medians and ratios measured in one run (contenders interleaved in shuffled
rounds by ``seqarena.measure.time_interleaved``, threads fixed and recorded).

    python benchmarks/efficient_forms.py [--sections ops,mingru,local,decode] [--seconds 1.0] [--threads N]

Sections:
  ops     each fast op vs its naive twin (forward, no grad) at n = 256, 1024, 4096:
          minGRU log-space scan (B=8, D=128), chunked linear attention (B=8, H=4, Dh=32),
          chunked selective scan (B=8, H=32, P=8, N=16: a 128-wide model's SSM), blockwise local attention (w=64)
  mingru  training step (forward + backward) of one 128-wide layer at n = 1024, B=8: minGRU scan vs its own step loop
          vs nn.GRU
  local   sliding-window (w=128, blockwise) vs full causal SDPA attention at n = 2k, 4k, 8k (B=1, H=4, Dh=32)
  decode  per-token decode of every causal model (200k params, batch 1) at position ~1024 (prompt 1000, 48 tokens)
"""

from __future__ import annotations

import argparse
import statistics

import torch
import torch.nn.functional as F

from seqarena.measure.system import cpu_model
from seqarena.measure.timer import time_interleaved
from seqarena.models import available, build, generate, get_class
from seqarena.models.ops.linear_attention import linear_attention_chunked, linear_attention_naive
from seqarena.models.ops.local_attention import local_attention_blockwise, local_attention_naive
from seqarena.models.ops.scan import scan_log, scan_naive
from seqarena.models.ops.ssm import ssd_chunked, ssm_naive


def _report(title: str, results: dict, base: str) -> None:
    print(f"\n{title}")
    ref = results[base].median
    for name, s in results.items():
        print(f"  {name:<28} {1e3 * s.median:10.3f} ms  (IQR {100 * s.iqr / s.median:4.0f}%, n={s.n:3d})"
              f"  {ref / s.median:6.2f}x vs {base}")


def ops(seconds: float, threads: int) -> None:
    g = torch.Generator().manual_seed(0)
    for n in (256, 1024, 4096):
        _ops_at(n, g, seconds, threads)


def _ops_at(n: int, g: torch.Generator, seconds: float, threads: int) -> None:
    la = -F.softplus(torch.randn(8, n, 128, generator=g))
    lb = torch.randn(8, n, 128, generator=g)
    a, b = la.exp(), lb.exp()
    q = F.elu(torch.randn(8, 4, n, 32, generator=g)) + 1
    k = F.elu(torch.randn(8, 4, n, 32, generator=g)) + 1
    v = torch.randn(8, 4, n, 32, generator=g)
    x = torch.randn(8, n, 32, 8, generator=g)
    dt = F.softplus(torch.randn(8, n, 32, generator=g)) * 0.1
    A = -torch.rand(32, generator=g)
    Bm, Cm = torch.randn(8, n, 16, generator=g), torch.randn(8, n, 16, generator=g)
    lq, lk, lv = (torch.randn(8, 4, n, 32, generator=g) for _ in range(3))
    with torch.no_grad():
        for title, contenders, base in [
            (f"minGRU scan, n={n}", {"log-space chunked (128)": lambda: scan_log(la, lb)[0],
                                     "log-space chunked (512)": lambda: scan_log(la, lb, chunk=512)[0],
                                     "naive loop": lambda: scan_naive(a, b)[0]}, "naive loop"),
            (f"linear attention, n={n}", {"chunked (64)": lambda: linear_attention_chunked(q, k, v, chunk=64)[0],
                                          "chunked (256)": lambda: linear_attention_chunked(q, k, v, chunk=256)[0],
                                          "naive loop": lambda: linear_attention_naive(q, k, v)[0]}, "naive loop"),
            (f"selective scan (SSD), n={n}", {"chunked (32)": lambda: ssd_chunked(x, dt, A, Bm, Cm, chunk=32)[0],
                                              "chunked (64)": lambda: ssd_chunked(x, dt, A, Bm, Cm, chunk=64)[0],
                                              "naive loop": lambda: ssm_naive(x, dt, A, Bm, Cm)[0]}, "naive loop"),
            (f"local attention w=64, n={n}", {"blockwise": lambda: local_attention_blockwise(lq, lk, lv, 64)[0],
                                              "naive loop": lambda: local_attention_naive(lq, lk, lv, 64)[0]},
             "naive loop"),
        ]:
            _report(title, time_interleaved(contenders, threads=threads, min_seconds=seconds, rounds=3,
                                            warmup=1), base)


def mingru(seconds: float, threads: int) -> None:
    torch.manual_seed(0)
    n, B, D = 1024, 8, 128
    fast = build("min_gru", d_model=D, layers=1, vocab_size=None, input_dim=D, head="regression")
    gru = torch.nn.GRU(D, D, batch_first=True)
    x = torch.randn(B, n, D)

    def scan_step():
        fast.zero_grad(set_to_none=True)
        fast.mix(x, None)[0].sum().backward()

    def loop_step():
        fast.zero_grad(set_to_none=True)
        fast.mix(x, None, naive=True)[0].sum().backward()

    def gru_step():
        gru.zero_grad(set_to_none=True)
        gru(x)[0].sum().backward()

    _report(f"minGRU layer training step (fwd+bwd), n={n}, B={B}, D={D}",
            time_interleaved({"minGRU scan": scan_step, "minGRU step loop": loop_step, "nn.GRU": gru_step},
                             threads=threads, min_seconds=seconds, rounds=3, warmup=1), "nn.GRU")


def local(seconds: float, threads: int) -> None:
    g = torch.Generator().manual_seed(0)
    for n in (2048, 4096, 8192):
        q, k, v = (torch.randn(1, 4, n, 32, generator=g) for _ in range(3))
        with torch.no_grad():
            _report(f"attention n={n}", time_interleaved(
                {"local w=128 (blockwise)": lambda q=q, k=k, v=v: local_attention_blockwise(q, k, v, 128)[0],
                 "full causal (SDPA)": lambda q=q, k=k, v=v: F.scaled_dot_product_attention(q, k, v, is_causal=True)},
                threads=threads, min_seconds=seconds, rounds=3, warmup=1), "full causal (SDPA)")


def decode(threads: int) -> None:
    print("\nper-token decode at position ~1024 (200k params, batch 1, prompt 1000, median of 47 tokens)")
    torch.set_num_threads(threads)
    for name in available():
        cls = get_class(name)
        if not getattr(cls, "causal", True) or not cls.generation_modes:
            continue
        extra = {"max_len": 2048} if name == "transformer" else {}
        model = build(name, params=200_000, vocab_size=256, **extra).eval()
        prompt = torch.randint(0, 256, (1, 1000))
        for mode in cls.generation_modes:
            generate(model, prompt[:, :16], 4, mode)  # warm-up
            run = generate(model, prompt, 48, mode)
            print(f"  {name:<18} {mode:<10} {1e3 * statistics.median(run.step_s):8.3f} ms/token")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", default="ops,mingru,local,decode")
    parser.add_argument("--seconds", type=float, default=1.0, help="timed seconds per contender")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    print(f"{cpu_model()}, torch {torch.__version__}, {args.threads} threads, fp32")
    sections = args.sections.split(",")
    if "ops" in sections:
        ops(args.seconds, args.threads)
    if "mingru" in sections:
        mingru(args.seconds, args.threads)
    if "local" in sections:
        local(args.seconds, args.threads)
    if "decode" in sections:
        decode(args.threads)


if __name__ == "__main__":
    main()
