"""What every claim shares: the :class:`Claim` record, and helpers to build trials and read results (the suites'
sizes are in :mod:`seqarena.claims.suites`).

A claim lists the harness trials it needs (``trials(suite, claim)``) and judges a DataFrame of their stored results
(``judge(df, claim)``), so it can be re-judged from the store and tested on synthetic tables. The contenders are
roles: ``claim.rnn`` (default the LSTM) and ``claim.attn`` (default the decoder-only transformer), parameter-matched
at the suite's budget with the same dtype, threads and batch; the engine can swap them (``--rnn gru``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from seqarena.bench.spec import TrialSpec, make_trial
from seqarena.claims.suites import Suite
from seqarena.claims.verdict import Verdict, decide
from seqarena.essay import ATTN, RNN
from seqarena.run.sweep import interleave

GPU_CAVEAT = "the essay speaks of GPUs; measured here on {device}"
SMOKE_CAVEAT = "smoke-sized (quick suite): a few hundred training steps; run --suite full for the robust verdict"


@dataclasses.dataclass(kw_only=True)
class Claim:
    """One claim: the essay's words, what it needs measured, and the predicate that judges the measurements."""

    id: str
    short: str
    quote: str
    threshold: float
    direction: str  # the effect must be "above" / "below" the threshold
    effect_name: str
    trials: Callable[[Suite, Claim], list[TrialSpec]]
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
    """Trials for explicit points (``expand`` derives its points from the scenario instead, and gives every trial
    the shuffle seed as its seed: here a point may carry its own ``seed`` and ``options``), interleaved by
    :func:`seqarena.run.sweep.interleave`. A model is a name or (name, options); a point's options are merged under
    the model's."""

    def group(point: dict[str, Any], r: int) -> list[TrialSpec]:
        members = []
        for m in models:
            name, options = (m, {}) if isinstance(m, str) else m
            fields = {**common, **point}
            opts = {**fields.pop("options", {}), **options}
            members.append(make_trial(scenario=scenario, model=name, options=opts, round=r, **fields))
        return members

    return interleave(points, rounds, seed, group)


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
