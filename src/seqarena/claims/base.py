"""What every claim shares: the suites' sizes, the :class:`Claim` record, and helpers to build trials and read results.

A claim lists the harness trials it needs (``trials(suite, claim)``) and judges a DataFrame of their stored results
(``judge(df, claim)``), so it can be re-judged from the store and tested on synthetic tables. The contenders are
roles: ``claim.rnn`` (default the LSTM) and ``claim.attn`` (default the decoder-only transformer), parameter-matched
at the suite's budget with the same dtype, threads and batch; the engine can swap them (``--rnn gru``).
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from seqarena.bench.spec import TrialSpec, make_trial
from seqarena.claims.verdict import Verdict, decide
from seqarena.essay import ATTN, RNN
from seqarena.models import SpecError

#: Sizes of each suite. quick fits `make run` (training claims are smoke-sized: a few hundred steps, one seed unless
#: the claim needs seeds); full gives the robust verdicts (see ``budget_table``). ``max_rounds`` caps the adaptive
#: repetition of timing and memory claims.
SUITES: dict[str, dict[str, Any]] = {
    "quick": {
        "name": "quick", "smoke": True,
        "params": 1_000_000, "repeats": 6, "min_seconds": 0.2, "rounds": 2, "max_rounds": 3, "tokens": 1024,
        "gen_rounds": 1, "gen_repeats": 2, "mem_rounds": 2,
        "short": (16, 32, 64), "medium": (128, 256, 512, 1024), "long": (1024, 2048, 4096),
        # claim 1: fixed token budget, d_model >= 256
        "parallel_params": 2_000_000, "parallel_tokens": 2048, "parallel_lens": (16, 64, 256),
        # memory: chunked prefill / naive attention / training with and without TBPTT
        "prefill_lens": (2048, 4096, 8192), "chunk": 256, "naive_lens": (1024, 2048, 4096),
        "train_mem_lens": (256, 1024), "tbptt": 128, "tbptt_lens": (1024, 4096, 8192),
        "long_train_lens": (2048, 8192), "long_train_cap_mb": 4096,
        "xl_lens": (1024, 4096, 16384), "edge_params": 5_000_000, "edge_cap_mb": 256, "edge_lens": (1024, 2048, 4096),
        "edge_rounds": 1, "optimizer_params": 10_000_000,
        # training-time claims
        "train_lens": (128, 256, 512), "train_batch": 8, "linear_lens": (512, 1024, 2048, 4096), "local_window": 128,
        # quality claims (smoke-sized)
        "q_params": 100_000, "q_steps": 250, "q_batch": 32, "seeds": (0,), "distances": (8, 32, 64),
        "distance_seeds": (0,), "forecast_seeds": (0,),
        "lr_grid": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1), "lr_steps": 100,
        "sizes": (100, 1000), "size_seeds": (0, 1, 2), "size_steps": 150,
        "lm_steps": 150, "lm_seq": 128, "forecast_lookbacks": (96, 336), "forecast_steps": 60,
        "grad_len": 300, "grad_steps": 0,
    },
    "full": {
        "name": "full", "smoke": False,
        "params": 1_000_000, "repeats": 30, "min_seconds": 1.0, "rounds": 3, "max_rounds": 9, "tokens": 2048,
        "gen_rounds": 2, "gen_repeats": 3, "mem_rounds": 3, "edge_rounds": 2,
        "short": (16, 32, 64), "medium": (128, 256, 512, 1024), "long": (1024, 2048, 4096, 8192, 16384),
        "parallel_params": 2_000_000, "parallel_tokens": 4096, "parallel_lens": (16, 32, 64, 128, 256),
        "prefill_lens": (2048, 4096, 8192, 16384), "chunk": 256, "naive_lens": (512, 1024, 2048, 4096),
        "train_mem_lens": (512, 1024, 2048, 4096), "tbptt": 128, "tbptt_lens": (1024, 4096, 16384, 65536),
        "long_train_lens": (2048, 4096, 8192, 16384), "long_train_cap_mb": 8192,
        "xl_lens": (1024, 4096, 16384), "edge_params": 25_000_000, "edge_cap_mb": 256,
        "edge_lens": (1024, 2048, 4096, 8192), "optimizer_params": 25_000_000,
        "train_lens": (128, 256, 512), "train_batch": 8, "linear_lens": (512, 1024, 2048, 4096, 8192),
        "local_window": 128,
        "q_params": 300_000, "q_steps": 1000, "q_batch": 32, "seeds": (0, 1, 2), "distances": (8, 32, 128, 512),
        "distance_seeds": (0,), "lr_grid": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1), "lr_steps": 600,
        "sizes": (100, 1000, 10000), "size_seeds": (0, 1, 2), "size_steps": 800,
        "lm_steps": 800, "lm_seq": 256, "forecast_lookbacks": (96, 720, 2880), "forecast_steps": 400,
        "forecast_seeds": (0,),
        "grad_len": 300, "grad_steps": 500,
    },
}

GPU_CAVEAT = "the essay speaks of GPUs; measured here on {device}"
SMOKE_CAVEAT = "smoke-sized (quick suite): a few hundred training steps; run --suite full for the robust verdict"


def resolve_suite(suite: str | dict[str, Any]) -> dict[str, Any]:
    """A suite by name, or a dict of overrides on the quick suite (tests use tiny sizes)."""
    if isinstance(suite, dict):
        return {**SUITES["quick"], "name": "custom", **suite}
    if suite not in SUITES:
        raise SpecError(f"unknown suite {suite!r}; choose {' or '.join(SUITES)}")
    return SUITES[suite]


@dataclasses.dataclass
class Claim:
    """One claim: the essay's words, what it needs measured, and the predicate that judges the measurements."""

    id: str
    short: str
    quote: str
    threshold: float
    direction: str  # the effect must be "above" / "below" the threshold
    effect_name: str
    trials: Callable[[dict[str, Any], Claim], list[TrialSpec]]
    judge: Callable[[pd.DataFrame, Claim], Verdict]
    conditions: str = ""
    adaptive: bool = False  # timing / memory: repeat more rounds while the interval straddles the threshold
    training: bool = False  # trains models (smoke-sized in the quick suite)
    rnn: str = RNN
    attn: str = ATTN

    def verdict(self, effect: float, ci: tuple[float, float] | None, evidence: list[dict], caveats: list[str]
                ) -> Verdict:
        return Verdict(self.id, decide(ci, effect, self.threshold, self.direction), effect, ci, self.threshold,
                       self.direction, self.effect_name, evidence, caveats)

    def no_data(self, df: pd.DataFrame, why: str = "no successful trials for this claim") -> Verdict:
        return self.verdict(math.nan, None, [], [*caveats(df), why])


def grid(scenario: str, models: Sequence[str | tuple[str, dict]], points: Sequence[dict[str, Any]], *,
         rounds: int = 1, seed: int = 0, **common: Any) -> list[TrialSpec]:
    """Trials for explicit points; each round runs every contender once in a freshly shuffled order (as
    :func:`seqarena.run.sweep.expand` does), so drift of the machine hits all contenders alike."""
    rng = random.Random(seed)
    trials = []
    for point in points:
        for r in range(rounds):
            group = []
            for m in models:
                name, options = (m, {}) if isinstance(m, str) else m
                fields = {**common, **point}
                opts = {**fields.pop("options", {}), **options}
                group.append(make_trial(scenario=scenario, model=name, options=opts, round=r, **fields))
            rng.shuffle(group)
            trials += group
    return trials


def ok_rows(df: pd.DataFrame, **match: Any) -> pd.DataFrame:
    """Successful rows whose columns equal the given values (``spec.kind="infer"``: use the dotted column name)."""
    if not len(df) or "status" not in df:
        return df.iloc[0:0]
    keep = df["status"] == "ok"
    for col, value in match.items():
        col = col.replace("__", ".")
        if col not in df:
            return df.iloc[0:0]
        keep &= df[col].apply(lambda v, want=value: _same(v, want))
    return df[keep]


def _same(v: Any, want: Any) -> bool:
    if want is None:
        return v is None or (isinstance(v, float) and math.isnan(v))
    return v == want


def samples(df: pd.DataFrame, model: str, n: int, batch: int = 1) -> list[float]:
    """Every per-call timing sample of ``model`` at (n, batch), pooled over rounds."""
    rows = ok_rows(df, model=model, seq_len=n, batch=batch)
    return [x for s in rows.get("time.samples", []) for x in (s if isinstance(s, list) else [])]


def caveats(df: pd.DataFrame) -> list[str]:
    """The GPU caveat when the measurements come from a CPU (the essay speaks of GPUs)."""
    devices = sorted(set(df["spec.device"].dropna())) if "spec.device" in df else []
    cpu = df["env.cpu"].dropna().iloc[0] if "env.cpu" in df and df["env.cpu"].notna().any() else "this CPU"
    where = ", ".join(devices) if devices else "cpu"
    return [GPU_CAVEAT.format(device=f"{where} ({cpu})")] if "cuda" not in where else []
