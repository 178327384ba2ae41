"""Transformer-specific tests: reference parity, masks with a cache, positions and order, KV-cache memory."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from seqarena.errors import SpecError
from seqarena.measure.memory import release_free_memory
from seqarena.models import build, generate
from seqarena.models.attention import attention_mask
from seqarena.models.positions import POSITION_SCHEMES
from tests.conftest import VOCAB, small_model

B, T = 2, 11


# ----------------------------------------------------------------------------------------------------------------
# Parity with references written independently of the model code


def _layer_norm(x, ln):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + ln.eps) * ln.weight + ln.bias


def _reference_logits(model, x):
    """The whole model in plain matmuls: positions, masks and ALiBi written out from the papers."""
    spec = model.spec
    H, D = spec.n_heads, spec.d_model
    Dh = D // H
    n = x.shape[1]
    h = model.embed.weight[x]  # (B, T, D)
    p = torch.arange(n, dtype=torch.float64)
    if spec.positions == "sinusoidal":
        i = torch.arange(D // 2, dtype=torch.float64)
        angle = p[:, None] / 10000 ** (2 * i[None, :] / D)
        pe = torch.zeros(n, D, dtype=torch.float64)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(angle), torch.cos(angle)
        h = h + pe.float()
    elif spec.positions == "learned":
        h = h + model.abs_pos.table.weight[:n]
    visible = p[None, :] <= p[:, None]  # key j visible to query i
    for blk in model.blocks:
        a = _layer_norm(h, blk.ln1)
        qkv = a @ blk.mixer.qkv.weight.T + blk.mixer.qkv.bias
        q, k, v = (t.reshape(*t.shape[:2], H, Dh).transpose(1, 2) for t in qkv.split(D, dim=-1))
        if spec.positions == "rope":  # rotate pairs (x_i, x_{i+Dh/2}) by angle p * 10000^(-2i/Dh), as complex numbers
            theta = p[:, None] * 10000 ** (-2 * torch.arange(Dh // 2, dtype=torch.float64) / Dh)
            rot = torch.polar(torch.ones_like(theta), theta).to(torch.complex64)

            def rope(t, rot=rot):
                z = torch.complex(t[..., : Dh // 2], t[..., Dh // 2 :]) * rot
                return torch.cat([z.real, z.imag], dim=-1)

            q, k = rope(q), rope(k)
        scores = q @ k.transpose(-1, -2) / math.sqrt(Dh)  # (B, H, T, T)
        if spec.positions == "alibi":
            slopes = torch.tensor([2.0 ** (-8 * (h_ + 1) / H) for h_ in range(H)])
            scores = scores - slopes[:, None, None] * (p[:, None] - p[None, :]).abs().float()
        if spec.causal:
            scores = scores.masked_fill(~visible, float("-inf"))
        o = torch.softmax(scores, dim=-1) @ v
        o = o.transpose(1, 2).reshape(*h.shape)
        h = h + o @ blk.mixer.proj.weight.T + blk.mixer.proj.bias
        m = _layer_norm(h, blk.ln2) @ blk.mlp.fc1.weight.T + blk.mlp.fc1.bias
        m = 0.5 * m * (1 + torch.erf(m / math.sqrt(2)))
        h = h + m @ blk.mlp.fc2.weight.T + blk.mlp.fc2.bias
    return _layer_norm(h, model.norm) @ model.head.weight.T


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("positions", POSITION_SCHEMES)
@torch.no_grad()
def test_model_equals_plain_matmul_reference(positions, causal):
    model = small_model("transformer", positions=positions, causal=causal)
    x = torch.randint(0, VOCAB, (B, T))
    torch.testing.assert_close(model(x)[0], _reference_logits(model, x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("causal", [True, False])
@torch.no_grad()
def test_block_equals_torch_encoder_layer(causal):
    model = small_model("transformer", positions="none", causal=causal, d_ff=48)
    blk = model.blocks[0]
    ref = nn.TransformerEncoderLayer(32, 4, 48, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
    ref.self_attn.in_proj_weight.copy_(blk.mixer.qkv.weight)
    ref.self_attn.in_proj_bias.copy_(blk.mixer.qkv.bias)
    ref.self_attn.out_proj.load_state_dict(blk.mixer.proj.state_dict())
    ref.linear1.load_state_dict(blk.mlp.fc1.state_dict())
    ref.linear2.load_state_dict(blk.mlp.fc2.state_dict())
    ref.norm1.load_state_dict(blk.ln1.state_dict())
    ref.norm2.load_state_dict(blk.ln2.state_dict())
    ref.eval()
    x = torch.randn(B, T, 32)
    mask = nn.Transformer.generate_square_subsequent_mask(T) if causal else None
    torch.testing.assert_close(blk(x, None), ref(x, src_mask=mask, is_causal=causal), atol=1e-5, rtol=1e-5)


# ----------------------------------------------------------------------------------------------------------------
# Masks with fewer queries than keys (the SDPA top-left pitfall)


@pytest.mark.parametrize("alibi", [False, True])
@torch.no_grad()
def test_lower_right_mask_matches_explicit_mask(alibi):
    Tq, Tk, H = 4, 9, 4
    q, k, v = torch.randn(1, H, Tq, 8), torch.randn(1, H, Tk, 8), torch.randn(1, H, Tk, 8)
    slopes = torch.tensor([0.5, 0.25, 0.125, 0.0625]) if alibi else None
    mask, is_causal = attention_mask(Tq, Tk, True, slopes, torch.float32)
    ours = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal)
    i = torch.arange(Tk - Tq, Tk)[:, None]  # absolute query positions
    j = torch.arange(Tk)[None, :]
    bias = torch.zeros(H, Tq, Tk)
    if alibi:
        bias = -slopes[:, None, None] * (i - j).float()
    bias = bias.masked_fill(j > i, float("-inf"))
    ref = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(8) + bias, dim=-1) @ v
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    # the pitfall this guards against: is_causal=True with Tq < Tk masks top-left, which is different
    wrong = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert not torch.allclose(wrong, ref, atol=1e-3)


# ----------------------------------------------------------------------------------------------------------------
# Order and positions


def _perm(n):
    g = torch.Generator().manual_seed(7)
    while True:
        p = torch.randperm(n, generator=g)
        if not torch.equal(p, torch.arange(n)):
            return p


@torch.no_grad()
def test_bidirectional_without_positions_is_permutation_equivariant():
    model = small_model("transformer", positions="none", causal=False)
    x = torch.randint(0, VOCAB, (B, T))
    p = _perm(T)
    torch.testing.assert_close(model(x[:, p])[0], model(x)[0][:, p], atol=1e-5, rtol=1e-5)
    # "the cat ate the mouse" and "the mouse ate the cat" pool to the same vector
    clf = small_model("transformer", positions="none", causal=False, head="classify", output_dim=3)
    torch.testing.assert_close(clf(x[:, p])[0], clf(x)[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("positions", [p for p in POSITION_SCHEMES if p != "none"])
@torch.no_grad()
def test_bidirectional_with_positions_sees_order(positions):
    model = small_model("transformer", positions=positions, causal=False)
    x = torch.randint(0, VOCAB, (B, T))
    p = _perm(T)
    assert not torch.allclose(model(x[:, p])[0], model(x)[0][:, p], atol=1e-4)
    clf = small_model("transformer", positions=positions, causal=False, head="classify", output_dim=3)
    assert not torch.allclose(clf(x[:, p])[0], clf(x)[0], atol=1e-4)


@torch.no_grad()
def test_one_layer_causal_decoder_without_positions_is_order_blind_within_prefix():
    """One layer: the output at t depends on x_t and the *set* of earlier tokens; shuffling x_<t changes nothing."""
    model = small_model("transformer", positions="none", layers=1)
    x = torch.randint(0, VOCAB, (B, T))
    y, _ = model(x)
    for t in range(2, T):
        x2 = x.clone()
        x2[:, :t] = x[:, :t][:, _perm(t)]
        torch.testing.assert_close(model(x2)[0][:, t], y[:, t], atol=1e-5, rtol=1e-5)


@torch.no_grad()
def test_two_layer_causal_decoder_without_positions_sees_order():
    """The causal mask leaks order once layers stack (Haviv et al. 2022): the claim holds for encoders only."""
    model = small_model("transformer", positions="none", layers=2)
    x = torch.randint(0, VOCAB, (B, T))
    y, _ = model(x)
    changed = []
    for t in range(2, T):
        x2 = x.clone()
        x2[:, :t] = x[:, :t][:, _perm(t)]
        changed.append(not torch.allclose(model(x2)[0][:, t], y[:, t], atol=1e-4))
    assert all(changed[1:]), changed  # t=2 may only swap two tokens whose order layer 1 already hides


# ----------------------------------------------------------------------------------------------------------------
# The KV cache: size, in-place filling, growth, deterministic mode


@pytest.mark.parametrize("layers", [1, 3])
@torch.no_grad()
def test_state_bytes_equal_kv_formula(layers):
    model = small_model("transformer", layers=layers)
    x = torch.randint(0, VOCAB, (B, 20))
    expect = lambda k: 2 * layers * B * k * model.spec.d_model * 4  # noqa: E731
    for k in (1, 6, 20):
        assert model.state_nbytes(model(x[:, :k])[1]) == expect(k)
    state = model.init_state(B, max_len=64)
    assert model.state_nbytes(state) == 0
    assert model.state_nbytes(state, allocated=True) == expect(64)
    for k in range(20):
        _, state = model.step(x[:, k], state)
        assert model.state_nbytes(state) == expect(k + 1)
    assert model.state_nbytes(state, allocated=True) == expect(64)


@torch.no_grad()
def test_cache_fills_in_place_and_grows_when_full():
    model = small_model("transformer")
    x = torch.randint(0, VOCAB, (B, T))
    y_full, _ = model(x)
    state = model.init_state(B, max_len=4)
    buf = state.caches[0].k
    _, state = model(x[:, :2], state)
    _, state = model.step(x[:, 2], state)
    assert state.caches[0].k.data_ptr() == buf.data_ptr(), "appending within capacity must not reallocate"
    y_rest, state = model(x[:, 3:], state)  # needs 11 slots: the cache grows
    assert state.caches[0].capacity >= T
    torch.testing.assert_close(y_rest, y_full[:, 3:], atol=1e-4, rtol=0)


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
@torch.no_grad()
def test_preallocated_cache_stays_uncommitted_with_deterministic_algorithms():
    """torch fills torch.empty with NaN under deterministic algorithms, committing every page; the cache must not."""
    model = small_model("transformer", layers=1)
    size = 1 << 26  # 64 MiB per buffer
    torch.use_deterministic_algorithms(True)
    try:
        assert torch.utils.deterministic.fill_uninitialized_memory  # what makes torch.empty commit its pages
        # freed heap pages an earlier test left resident would be reused without growing the RSS: return them first
        release_free_memory()
        before = _rss_bytes()
        control = torch.empty(size // 4)  # the behaviour we avoid: NaN-filled, so committed
        assert _rss_bytes() - before > size // 2
        del control
        release_free_memory()
        before = _rss_bytes()
        state = model.init_state(1, max_len=size // (4 * 32))  # k and v: 64 MiB each
        assert model.state_nbytes(state, allocated=True) == 2 * size
        assert _rss_bytes() - before < size // 8
        assert torch.utils.deterministic.fill_uninitialized_memory, "the global flag must be restored"
        x = torch.randint(0, VOCAB, (1, T))
        y, state = model(x, state)
        torch.testing.assert_close(y, model(x)[0], atol=1e-5, rtol=0)
    finally:
        torch.use_deterministic_algorithms(False)


# ----------------------------------------------------------------------------------------------------------------
# Errors


def test_learned_positions_past_max_len_is_a_clear_error():
    model = small_model("transformer", positions="learned", max_len=8)
    with pytest.raises(SpecError, match="max_len=8"):
        model(torch.randint(0, VOCAB, (1, 9)))


def test_bidirectional_model_has_no_state_or_generation():
    model = small_model("transformer", causal=False)
    with pytest.raises(SpecError, match="bidirectional"):
        model.init_state(1)
    with pytest.raises(SpecError, match="bidirectional"):
        generate(model, torch.zeros(1, 3, dtype=torch.long), 2)
    assert model(torch.randint(0, VOCAB, (1, 5)))[1] is None


def test_tied_embeddings_share_one_tensor():
    tied = build("transformer", vocab_size=VOCAB, d_model=32, tie_embeddings=True)
    untied = build("transformer", vocab_size=VOCAB, d_model=32)
    assert tied.head.weight is tied.embed.weight
    assert untied.num_params() - tied.num_params() == VOCAB * 32


def test_gradients_flow_through_chunked_calls_with_a_state():
    """Training through several stateful calls (no in-place cache writes under autograd) == one call."""
    model = small_model("transformer")
    x = torch.randint(0, VOCAB, (B, T))
    model(x)[0].square().mean().backward()
    whole = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    for state in (None, model.init_state(B, max_len=64)):
        model.zero_grad()
        ys = []
        for lo, hi in ((0, 4), (4, 5), (5, T)):
            y, state = model(x[:, lo:hi], state)
            ys.append(y)
        torch.cat(ys, dim=1).square().mean().backward()
        for n, p in model.named_parameters():
            torch.testing.assert_close(p.grad, whole[n], atol=1e-5, rtol=1e-4, msg=n)


@torch.no_grad()
def test_clone_branches_independently_and_copies_only_the_filled_part():
    model = small_model("transformer")
    x = torch.randint(0, VOCAB, (B, T))
    state = model.init_state(B, max_len=1024)
    _, state = model(x[:, :5], state)
    branch = state.clone()
    assert model.state_nbytes(branch, allocated=True) == model.state_nbytes(branch) == model.state_nbytes(state)
    y_a, _ = model(x[:, 5:], branch)
    y_b, state = model(x[:, 5:].flip(1), state)  # continue the original differently
    y_a2, _ = model(x[:, 5:], model(x[:, :5])[1])
    torch.testing.assert_close(y_a, y_a2, atol=1e-5, rtol=0)
    assert not torch.allclose(y_a, y_b, atol=1e-3)


@torch.no_grad()
def test_state_from_a_plain_forward_owns_just_its_keys_and_values():
    """Without autograd, a state made by model(x) holds K and V only, not the fused qkv output they came from."""
    for positions in ("none", "rope"):
        model = small_model("transformer", positions=positions)
        _, state = model(torch.randint(0, VOCAB, (B, T)))
        assert model.state_nbytes(state, allocated=True) == model.state_nbytes(state) == 2 * 2 * B * T * 32 * 4


def test_rope_angles_stay_exact_in_bfloat16():
    from seqarena.models.positions import Rotary

    x = torch.randn(1, 1, 1, 16)
    far = 4000
    ref = Rotary(16)(x.double(), far)
    low = Rotary(16).to(torch.bfloat16)(x.to(torch.bfloat16), far)
    assert (low.double() - ref).abs().max() < 0.05


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("positions", ["rope", "alibi"])
def test_math_attention_equals_sdpa(positions, causal):
    """The written-out attention (claim 15's n^2 memory) is the fused kernel's naive twin: same outputs, also when a
    cached continuation needs the lower-right causal mask."""
    torch.manual_seed(0)
    fields = dict(d_model=32, n_heads=4, layers=2, vocab_size=50, positions=positions, causal=causal)
    fused = build("transformer", **fields).double()
    naive = build("transformer", **fields, attn_impl="math").double()
    naive.load_state_dict(fused.state_dict())
    x = torch.randint(0, 50, (2, 12))
    torch.testing.assert_close(naive(x)[0], fused(x)[0])
    if causal:
        _, s1 = fused(x[:, :5])
        _, s2 = naive(x[:, :5])
        torch.testing.assert_close(naive(x[:, 5:], s2)[0], fused(x[:, 5:], s1)[0])
