"""seqarena's contenders beside the implementations a user would pick instead, timed in one run, interleaved.

    python benchmarks/peers.py [--device cpu|cuda] [--dtype float32|bfloat16] [--seconds 2] [--threads N]
                               [--sections train,decode,lstm,loop]

Sections (each prints medians, the ratio seqarena / peer and its target; < 1 means seqarena is faster):
  train   training step (forward + cross-entropy + backward + AdamW) of seqarena's transformer vs HF
          ``GPT2LMHeadModel`` at equal dims: random init, learned positions, tied head, tanh GELU, dropout 0,
          B=8, T=256; d=256 x 4 layers (4 heads) and d=64 x 2 layers (2 heads). Target <= 1.0.
  decode  greedy decode per token at batch 1 after a 16-token prompt, same models: seqarena's KV-cache generation
          vs HF ``generate`` (greedy, its cache) and vs a hand loop over HF's forward with its cache. Per token =
          (time for 129 tokens - time for 1 token) / 128, so the prefill cancels. Target <= 0.5 vs ``generate``.
  lstm    seqarena's LSTM vs a raw ``nn.Embedding -> nn.LSTM -> LayerNorm -> nn.Linear`` on the same weights
          (training step and inference forward, B=8, T=256, d=256, 2 layers). Target <= 1.05.
  loop    ``seqarena.models.generate`` vs a hand-written loop over the same model's ``step`` (the loop's own
          overhead: timing, bookkeeping), transformer and LSTM. Target <= 1.05.

Needs the ``hf`` extra for ``train`` and ``decode`` (``pip install -e '.[hf]'``; without it those sections say so).
"""

from __future__ import annotations

import argparse
import importlib.util
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from seqarena.measure.system import cpu_model
from seqarena.measure.timer import time_interleaved
from seqarena.models import build, generate
from seqarena.models.gpt2_layout import GPT2_FIELDS, to_gpt2_state_dict

VOCAB = 256
PROMPT, TOKENS = 16, 129
SIZES = ((256, 4, 4), (64, 2, 2))  # (d_model, layers, heads)


def _row(label: str, ours: float, peer: float, target: float) -> None:
    ratio = ours / peer
    mark = "met" if ratio <= target else "NOT MET"
    print(f"  {label:<44} seqarena {1e3 * ours:9.3f} ms   peer {1e3 * peer:9.3f} ms   "
          f"ratio {ratio:5.2f} (target <= {target:g}: {mark})")


def ours_gpt2(d: int, layers: int, heads: int, max_len: int, device: str, dtype: torch.dtype) -> nn.Module:
    """seqarena's transformer laid out as GPT-2: learned positions, tied head, tanh GELU, dropout 0."""
    return build("transformer", d_model=d, layers=layers, n_heads=heads, vocab_size=VOCAB, max_len=max_len,
                 **GPT2_FIELDS).to(device, dtype)


def hf_gpt2(d: int, layers: int, heads: int, max_len: int, device: str, dtype: torch.dtype) -> nn.Module:
    """HF GPT-2 at the same dims, random init, no dropout (the library's default SDPA attention)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=VOCAB, n_positions=max_len, n_embd=d, n_layer=layers, n_head=heads,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, activation_function="gelu_new",
                        tie_word_embeddings=True, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    return GPT2LMHeadModel(config).to(device, dtype)


def _train_step(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, logits_of) -> None:
    opt.zero_grad(set_to_none=True)
    logits = logits_of(model, x[:, :-1])  # (B, T, V)
    F.cross_entropy(logits.reshape(-1, VOCAB).float(), x[:, 1:].reshape(-1)).backward()
    opt.step()


def train(args: argparse.Namespace) -> None:
    B, T = 8, 256
    print(f"\ntraining step (fwd + cross-entropy + bwd + AdamW), B={B}, T={T}")
    for d, layers, heads in SIZES:
        torch.manual_seed(0)
        ours = ours_gpt2(d, layers, heads, T, args.device, args.dtype)
        peer = hf_gpt2(d, layers, heads, T, args.device, args.dtype)
        assert ours.num_params() == sum(p.numel() for p in peer.parameters()), "parameter counts differ"
        x = torch.randint(0, VOCAB, (B, T + 1), device=args.device)
        stats = _time_train_steps({"ours": (ours, lambda m, t: m(t)[0]),
                                   "hf": (peer, lambda m, t: m(input_ids=t).logits)}, x, args)
        _row(f"d={d}, {layers} layers ({ours.num_params():,} params)", stats["ours"].median,
             stats["hf"].median, 1.0)


def _time_train_steps(models: dict, x: torch.Tensor, args: argparse.Namespace) -> dict:
    """Interleaved training steps of each (model, logits_of) under its own AdamW."""
    steps = {}
    for name, (model, logits_of) in models.items():
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        steps[name] = lambda model=model, opt=opt, logits_of=logits_of: _train_step(model, opt, x, logits_of)
    return time_interleaved(steps, device=args.device, threads=args.threads, min_seconds=args.seconds, rounds=5)


@torch.no_grad()
def _hf_hand_loop(model: nn.Module, prompt: torch.Tensor, n: int) -> torch.Tensor:
    """Greedy decoding by hand over HF's forward and its cache (no logits processors, no stopping criteria)."""
    out = model(input_ids=prompt, use_cache=True)
    cache, tok = out.cache, out.logits[:, -1].argmax(-1, keepdim=True)
    toks = [tok]
    for _ in range(n - 1):
        out = model(input_ids=tok, cache=cache, use_cache=True)
        cache, tok = out.cache, out.logits[:, -1].argmax(-1, keepdim=True)
        toks.append(tok)
    return torch.cat(toks, dim=1)


def _time_decoders(ours: nn.Module, peer: nn.Module, prompt: torch.Tensor, args: argparse.Namespace) -> dict:
    """Interleaved: each decoder for TOKENS tokens and for 1 token."""
    contenders = {}
    for n, tag in ((TOKENS, "N"), (1, "1")):
        contenders[f"ours {tag}"] = lambda n=n: generate(ours, prompt, n, "cache")
        contenders[f"generate {tag}"] = lambda n=n: peer.generate(
            prompt, max_new_tokens=n, min_new_tokens=n, do_sample=False, use_cache=True, pad_token_id=0)
        contenders[f"hand {tag}"] = lambda n=n: _hf_hand_loop(peer, prompt, n)
    return time_interleaved(contenders, device=args.device, threads=args.threads, min_seconds=args.seconds,
                            rounds=5, warmup=1)


def _per_token(stats: dict, name: str) -> float:
    return (stats[f"{name} N"].median - stats[f"{name} 1"].median) / (TOKENS - 1)


def decode(args: argparse.Namespace) -> None:
    print(f"\ngreedy decode per token, batch 1, prompt {PROMPT}, {TOKENS - 1} tokens after the first")
    for d, layers, heads in SIZES:
        torch.manual_seed(0)
        ours = ours_gpt2(d, layers, heads, PROMPT + TOKENS, args.device, args.dtype).eval()
        peer = hf_gpt2(d, layers, heads, PROMPT + TOKENS, args.device, args.dtype).eval()
        prompt = torch.randint(1, VOCAB, (1, PROMPT), device=args.device)
        # on copied weights both compute the same function: the same greedy tokens (reported, not assumed)
        peer.load_state_dict(to_gpt2_state_dict(ours), strict=False)
        same = torch.equal(generate(ours, prompt, TOKENS, "cache").tokens, _hf_hand_loop(peer, prompt, TOKENS))
        stats = _time_decoders(ours, peer, prompt, args)
        print(f"  d={d}, {layers} layers: same greedy tokens as HF on copied weights: {same}")
        _row(f"d={d} vs HF generate", _per_token(stats, "ours"), _per_token(stats, "generate"), 0.5)
        _row(f"d={d} vs a hand loop over HF's forward + cache", _per_token(stats, "ours"),
             _per_token(stats, "hand"), 1.0)


class RawLSTM(nn.Module):
    """What a user writes by hand: embedding -> nn.LSTM -> LayerNorm -> linear head."""

    def __init__(self, d: int, layers: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d)
        self.rnn = nn.LSTM(d, d, layers, batch_first=True)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, VOCAB, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(self.rnn(self.embed(x))[0]))


def lstm(args: argparse.Namespace) -> None:
    B, T, d, layers = 8, 256, 256, 2
    print(f"\nLSTM overhead: seqarena vs raw nn.LSTM on the same weights, B={B}, T={T}, d={d}, {layers} layers")
    torch.manual_seed(0)
    ours = build("lstm", d_model=d, layers=layers, vocab_size=VOCAB).to(args.device, args.dtype)
    raw = RawLSTM(d, layers).to(args.device, args.dtype)
    raw.load_state_dict(_lstm_state(ours))
    x = torch.randint(0, VOCAB, (B, T + 1), device=args.device)
    with torch.no_grad():
        assert torch.allclose(ours(x)[0], raw(x), atol=1e-4), "the raw LSTM does not compute the same function"
    stats = _time_train_steps({"ours": (ours, lambda m, t: m(t)[0]), "raw": (raw, lambda m, t: m(t))}, x, args)
    _row("training step", stats["ours"].median, stats["raw"].median, 1.05)
    with torch.no_grad():
        stats = time_interleaved({"ours": lambda: ours(x), "raw": lambda: raw(x)}, device=args.device,
                                 threads=args.threads, min_seconds=args.seconds, rounds=5)
    _row("inference forward", stats["ours"].median, stats["raw"].median, 1.05)


def _lstm_state(ours: nn.Module) -> dict:
    """seqarena LSTM's weights under the raw model's names."""
    rnn = next(m for m in ours.modules() if isinstance(m, nn.LSTM))
    sd = {"embed.weight": ours.embed.weight, "norm.weight": ours.norm.weight, "norm.bias": ours.norm.bias,
          "head.weight": ours.head.weight}
    sd |= {f"rnn.{k}": v for k, v in rnn.state_dict().items()}
    return {k: v.detach().clone() for k, v in sd.items()}


@torch.no_grad()
def _hand_generate(model: nn.Module, prompt: torch.Tensor, n: int) -> torch.Tensor:
    """Greedy decoding written by hand over the model's own forward and step."""
    state = model.init_state(prompt.shape[0], device=prompt.device, max_len=prompt.shape[1] + n)
    logits, state = model(prompt, state)
    tok = logits[:, -1].argmax(-1)
    toks = [tok]
    for _ in range(n - 1):
        logits, state = model.step(tok, state)
        tok = logits.argmax(-1)
        toks.append(tok)
    return torch.stack(toks, dim=1)


def loop(args: argparse.Namespace) -> None:
    print(f"\ngeneration loop overhead: seqarena.models.generate vs a hand loop over step, batch 1, "
          f"{TOKENS} tokens, 200k params")
    for name in ("transformer", "lstm"):
        torch.manual_seed(0)
        model = build(name, params=200_000, vocab_size=VOCAB).to(args.device, args.dtype).eval()
        prompt = torch.randint(0, VOCAB, (1, PROMPT), device=args.device)
        mode = model.generation_modes[-1]
        assert torch.equal(generate(model, prompt, TOKENS, mode).tokens, _hand_generate(model, prompt, TOKENS))
        stats = time_interleaved({"ours": partial(generate, model, prompt, TOKENS, mode),
                                  "hand": partial(_hand_generate, model, prompt, TOKENS)},
                                 device=args.device, threads=args.threads, min_seconds=args.seconds, rounds=5)
        _row(f"{name} ({mode})", stats["ours"].median, stats["hand"].median, 1.05)


SECTIONS = {"train": train, "decode": decode, "lstm": lstm, "loop": loop}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--seconds", type=float, default=2.0, help="timed seconds per contender")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--sections", default=",".join(SECTIONS))
    args = parser.parse_args()
    args.dtype = getattr(torch, args.dtype)
    has_hf = importlib.util.find_spec("transformers") is not None
    version = __import__("transformers").__version__ if has_hf else "not installed"
    print(f"{cpu_model() if args.device == 'cpu' else torch.cuda.get_device_name(args.device)}, torch "
          f"{torch.__version__}, transformers {version}, {args.device}, {args.threads} threads, "
          f"{str(args.dtype).removeprefix('torch.')}, {args.seconds:g} s per contender in 5 interleaved rounds")
    for name in args.sections.split(","):
        if name in ("train", "decode") and not has_hf:
            print(f"\n{name}: skipped: transformers is not installed (pip install -e '.[hf]')")
            continue
        SECTIONS[name](args)


if __name__ == "__main__":
    main()
