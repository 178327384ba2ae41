"""The claims suites' sizes as a typed, frozen record: :class:`Suite`, its two instances :data:`QUICK` and
:data:`FULL`, and :func:`resolve_suite`.

quick fits `make run` (training claims are smoke-sized: a few hundred steps, one seed unless the claim needs seeds);
full gives the robust verdicts (see ``budget_table``). Read a size as an attribute (``suite.q_steps``): a misspelt
name fails when the module loads or the suite is built, not half-way through a run. Override sizes with
``resolve_suite({"q_steps": 3})`` (validated against quick) or ``QUICK.model_copy(update=...)`` for trusted values.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seqarena.errors import SpecError

Lengths = tuple[int, ...]


class Suite(BaseModel):
    """The sizes every claim reads, flat so that a dict of overrides names each one directly; grouped below by
    section: timing, memory, training time, quality."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="'quick', 'full' or 'custom' (overrides): names the sweeps in the store")
    smoke: bool = Field(description="training claims are smoke-sized: fixed lr 1e-3 instead of tuning it")

    # -- timing (latency, batching, generation) --
    params: int = Field(description="parameter budget of the timing and memory contenders")
    timing_threads: int | None = Field(None, description="torch threads of the timing and memory trials; None: half "
                                       "the usable cores, at least 1 (seqarena.measure.system.timing_threads)")
    compile: Literal["inductor", "aot_eager"] | None = Field(
        None, description="torch.compile backend of every model (the gradient probes excepted); None: eager")
    dtype: Literal["float32", "bfloat16", "float16", "float64"] = Field(
        "float32", description="dtype of the timing and memory trials (training runs in float32)")
    autocast: Literal["bfloat16", "float16"] | None = Field(
        None, description="mixed precision of every model but the gradient probes: float32 weights, this compute")
    repeats: int = Field(description="minimum timed calls per trial")
    min_seconds: float = Field(description="minimum timed seconds per trial")
    rounds: int = Field(description="interleaved rounds of each timing point")
    max_rounds: int = Field(description="cap of the adaptive repetition of timing and memory claims")
    tokens: int = Field(description="tokens generated per generation trial")
    recompute_tokens: int = Field(description="tokens generated without a cache (13b, 13c: quadratic cost)")
    gen_rounds: int = Field(description="rounds of the generation trials")
    gen_repeats: int = Field(description="generations per generation trial")
    short: Lengths = Field(description="n of claim 10 (< 100 tokens)")
    medium: Lengths = Field(description="n of claim 11 (100-1,000 tokens: inside the band, 1,024 is not)")
    long: Lengths = Field(description="n of claims 2 and 12 (> 1,000 tokens)")
    quadratic_params: int = Field(description="claim 2a's budget: a narrow model, so n >= 18 d_model is reachable")
    quadratic_lens: Lengths = Field(description="n of claim 2a")
    parallel_params: int = Field(description="claim 1's budget (d_model >= 256)")
    parallel_tokens: int = Field(description="claim 1's fixed token budget B x n")
    parallel_lens: Lengths = Field(description="claim 1's n")

    # -- memory --
    mem_rounds: int = Field(description="rounds of the memory slope claims (a fitted slope needs repeats)")
    prefill_lens: Lengths = Field(description="n of the chunked prefill (13d, 15a)")
    chunk: int = Field(description="prefill chunk, tokens")
    naive_lens: Lengths = Field(description="n of the attention memory claims (15b SDPA, 15c written out): from "
                                "1,024 up, where the n^2 scores outgrow the activations' linear part (from 512 the "
                                "full suite read 1.54)")
    train_mem_lens: Lengths = Field(description="n of the training-memory claim (16a)")
    tbptt: int = Field(description="truncated-BPTT segment, tokens (16c, 7)")
    tbptt_lens: Lengths = Field(description="n of the TBPTT claim (16c)")
    long_train_lens: Lengths = Field(description="n of long-sequence training (7; its regime is n >= 10,000)")
    long_train_cap_mb: int = Field(description="claim 7's memory cap, MB")
    xl_lens: Lengths = Field(description="evaluated lengths of Transformer-XL (18a/b)")
    edge_params: int = Field(description="the edge deployment's budget (24)")
    edge_cap_mb: int = Field(description="the edge deployment's memory cap, MB")
    edge_lens: Lengths = Field(description="n of the edge deployment")
    edge_rounds: int = Field(description="rounds of the edge deployment")
    optimizer_params: int = Field(description="budget of the AdamW-state claim (16b)")

    # -- training time --
    train_lens: Lengths = Field(description="n of the training-step claim (6)")
    train_batch: int = Field(description="batch of the training-step claim")
    conclusion_lens: Lengths = Field(description="n of the conclusion's training-step times (26: up to ~4,000)")
    linear_lens: Lengths = Field(description="n of the efficient attentions' scaling (19a/b, 20a)")
    local_window: int = Field(description="local attention's window in the scaling claims")

    # -- quality (smoke-sized in quick) --
    q_params: int = Field(description="parameter budget of the trained models")
    q_steps: int = Field(description="default training steps")
    q_batch: int = Field(description="training batch")
    seeds: Lengths = Field(description="default training seeds")
    distances: Lengths = Field(description="copy distances of claim 4")
    distance_seeds: Lengths = Field(description="seeds of claim 4")
    forecast_seeds: Lengths = Field(description="seeds of claim 22")
    lr_grid: tuple[float, ...] = Field(description="learning rates of claims 8 / 8b")
    lr_steps: int = Field(description="training steps per learning rate")
    sizes: Lengths = Field(description="training-set sizes of claims 9 / 9b")
    size_seeds: Lengths = Field(description="seeds of claims 9 / 9b")
    size_steps: int = Field(description="training steps of claims 9 / 9b")
    lm_steps: int = Field(description="training steps of the char LM (19c, 20b, 21, 25, 26); 0: no LM trained")
    lm_seq: int = Field(description="the char LM's context")
    forecast_lookbacks: Lengths = Field(description="look-backs of claim 22")
    forecast_steps: int = Field(description="training steps of claim 22")
    grad_len: int = Field(description="sequence length of the gradient probe (5a/b)")
    grad_steps: int = Field(description="training steps on copy at distance 256 before the gradient probe (0: "
                            "probes at initialisation only, context: 5a/b not tested)")
    grad_seeds: Lengths = Field(description="seeds of the gradient probe (5a/b): the interval is over seeds")
    order_seeds: Lengths = Field(description="seeds of the order claims (3a/b)")
    lr_seeds: Lengths = Field(description="seeds of the learning-rate grid (8 / 8b): every seed must agree")
    lm_seeds: Lengths = Field(description="seeds of the char LM (19c, 20b, 21, 25, 26)")


QUICK = Suite(
    name="quick", smoke=True,
    params=1_000_000, repeats=3, min_seconds=0.1, rounds=3, max_rounds=6, tokens=1024, gen_rounds=3, gen_repeats=1,
    recompute_tokens=384,  # 13b at ~5x (threshold 3); each recompute generation costs ~n^2: 512 took ~9 s a round
    short=(16, 32, 64), medium=(128, 256, 512), long=(1024, 2048, 4096),
    quadratic_params=100_000, quadratic_lens=(1024, 2048, 4096),
    parallel_params=2_000_000, parallel_tokens=2048, parallel_lens=(16, 256),
    mem_rounds=3, prefill_lens=(1024, 2048, 4096), chunk=256, naive_lens=(1024, 2048, 4096),
    train_mem_lens=(256, 1024), tbptt=128, tbptt_lens=(1024, 4096, 8192),
    long_train_lens=(), long_train_cap_mb=4096,  # 7 speaks of 10k+ tokens: quick says "not tested in this range"
    xl_lens=(1024, 4096, 16384), edge_params=5_000_000, edge_cap_mb=256,
    edge_lens=(), edge_rounds=2,  # 24 needs the LSTM measured at 10x the transformer's max n (~20k): full only
    optimizer_params=10_000_000,
    # timed on one of two cores (timing_threads), the top sizes cost ~2x: 6 shares n=256 with 17, 19a/b and 20a fit
    # their slopes over the same two octaves one octave lower (full: 512 ... 8192)
    train_lens=(128, 256), train_batch=8, conclusion_lens=(128, 256), linear_lens=(512, 2048), local_window=128,
    q_params=100_000, q_steps=250, q_batch=32, seeds=(0,),
    distances=(), distance_seeds=(0,),  # 4 speaks of hundreds of steps: out of quick's reach
    forecast_seeds=(0,), lr_grid=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1), lr_steps=100,
    sizes=(100, 1000), size_seeds=(0, 1, 2), size_steps=150,
    lm_steps=0,  # 19c-21, 25, 26: a smoke-sized LM learns nothing; full only
    lm_seq=128, forecast_lookbacks=(),  # 22 needs look-backs >= 720: full only
    forecast_steps=60, grad_len=300, grad_steps=0,  # 5a/b: copy at distance 256 is out of quick's reach
    grad_seeds=(0, 1, 2), order_seeds=(0, 1), lr_seeds=(0, 1), lm_seeds=(0,),
)

FULL = Suite(
    name="full", smoke=False,
    params=1_000_000, repeats=10, min_seconds=1.0, rounds=4, max_rounds=8, tokens=2048, gen_rounds=4, gen_repeats=2,
    recompute_tokens=1024,
    short=(16, 32, 64), medium=(128, 256, 512, 1000), long=(1024, 2048, 4096, 8192, 16384),
    quadratic_params=100_000, quadratic_lens=(1024, 2048, 4096, 8192),
    parallel_params=2_000_000, parallel_tokens=4096, parallel_lens=(16, 32, 64, 128, 256),
    mem_rounds=3, prefill_lens=(2048, 4096, 8192, 16384), chunk=256, naive_lens=(1024, 2048, 4096, 8192),
    train_mem_lens=(512, 1024, 2048, 4096), tbptt=128, tbptt_lens=(1024, 4096, 16384, 65536),
    long_train_lens=(10240, 16384), long_train_cap_mb=8192,  # claim 7's regime: 10k+ tokens
    xl_lens=(1024, 4096, 16384), edge_params=25_000_000, edge_cap_mb=256, edge_lens=(1024, 2048, 4096, 8192),
    edge_rounds=2, optimizer_params=25_000_000,
    train_lens=(128, 256, 512), train_batch=8, conclusion_lens=(256, 1024, 4000),
    linear_lens=(512, 1024, 2048, 4096, 8192), local_window=128,
    q_params=300_000, q_steps=1000, q_batch=32, seeds=(0, 1, 2), distances=(8, 64, 256, 512),
    distance_seeds=(0, 1), forecast_seeds=(0, 1), lr_grid=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1),
    lr_steps=600,
    sizes=(100, 1000, 10000), size_seeds=(0, 1, 2), size_steps=800,
    # 22 at look-backs up to 720 (its regime starts there): a transformer trial at 2,880 takes ~3 h here (8.4 s per
    # step vs the LSTM's 2.2 s), ~7.5 h for the two seeds of both models, more than the whole suite's budget
    lm_steps=800, lm_seq=256, forecast_lookbacks=(96, 720), forecast_steps=400, grad_len=300, grad_steps=500,
    grad_seeds=(0, 1, 2), order_seeds=(0, 1, 2), lr_seeds=(0, 1, 2), lm_seeds=(0, 1, 2),
)

#: The named suites (``--suite quick|full``).
SUITES: dict[str, Suite] = {"quick": QUICK, "full": FULL}


def resolve_suite(suite: str | dict[str, Any] | Suite) -> Suite:
    """A suite by name, a dict of overrides on the quick suite (tests use tiny sizes; named "custom"), or a
    :class:`Suite` as is. An unknown name or override key, or a value of the wrong type, is a one-line
    :class:`SpecError`."""
    if isinstance(suite, Suite):
        return suite
    if isinstance(suite, dict):
        unknown = sorted(set(suite) - set(Suite.model_fields))
        if unknown:
            raise SpecError(f"unknown suite setting {', '.join(map(repr, unknown))}; "
                            f"settings: {', '.join(Suite.model_fields)}")
        try:
            return Suite.model_validate({**SUITES["quick"].model_dump(), "name": "custom", **suite})
        except ValidationError as e:
            first = e.errors()[0]
            raise SpecError(f"suite setting {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    if suite not in SUITES:
        raise SpecError(f"unknown suite {suite!r}; choose {' or '.join(SUITES)}")
    return SUITES[suite]
