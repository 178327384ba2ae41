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
from collections.abc import Callable, Collection, Sequence
from typing import Any

import pandas as pd

from seqarena.bench.spec import TrialSpec, make_trial
from seqarena.claims.suites import Suite
from seqarena.claims.verdict import FAILED, MISSING, UNTESTED, Verdict, decide, zone_bounds
from seqarena.essay import ATTN, RNN
from seqarena.run.sweep import interleave
from seqarena.store.columns import ENV_CPU, SPEC_DEVICE
from seqarena.store.failures import SIZE_KINDS, is_size_failure, kind_of

GPU_CAVEAT = "the essay speaks of GPUs; measured here on {device}"
SMOKE_CAVEAT = ("smoke-sized (quick suite): a few hundred training steps, nothing tuned (learning rate, clip 1.0, "
                "weight decay 0.01, dropout 0 for every model); run --suite full for the robust verdict")


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
    zone: float = 0.0  # equivalence zone around the threshold (relative; absolute when the threshold is 0)
    tie_supports: bool = False  # "competitive with or better": an interval inside the zone supports the claim
    check: bool = False  # holds by construction: a check of the implementation, not evidence about the essay
    tolerates: frozenset[str] = frozenset()  # failure kinds the judge reads as results (besides cap / OOM)
    adaptive: bool = False  # timing / memory: repeat more rounds while the interval straddles the threshold
    training: bool = False  # trains models (smoke-sized in the quick suite)
    parallel: bool = False  # about parallel hardware (GPUs): measured elsewhere, the verdict holds "on this machine"
    rnn: str = RNN
    attn: str = ATTN

    def verdict(self, effect: float, ci: tuple[float, float] | None, evidence: list[dict], caveats: list[str], *,
                floor: float | None = None) -> Verdict:
        """The verdict of ``effect`` and its interval (None: a point estimate, which decides only beyond a measured
        noise ``floor``) against the threshold and its zone."""
        status, reason = decide(ci, effect, self.threshold, self.direction, zone=self.zone,
                                tie_supports=self.tie_supports, floor=floor)
        if floor is not None:
            caveats = [*caveats, f"point estimate judged against a measured noise floor of {floor:.3g}"]
        return Verdict(self.id, status, effect, ci, self.threshold, self.direction, self.effect_name, evidence,
                       caveats, reason=reason, zone=zone_bounds(self.threshold, self.zone) if self.zone else None,
                       check=self.check)

    def no_data(self, df: pd.DataFrame, why: str = f"{MISSING}: no successful trials for this claim",
                evidence: list[dict] | None = None) -> Verdict:
        """Inconclusive for ``why`` (missing or failed rows: never evidence)."""
        v = self.verdict(math.nan, None, evidence or [], caveats(df))
        return v.because("inconclusive", why)

    def untested(self, df: pd.DataFrame, why: str, evidence: list[dict] | None = None) -> Verdict:
        """Inconclusive because the measured sizes do not reach the regime the claim speaks of."""
        return self.no_data(df, f"{UNTESTED}: {why}", evidence)


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
    return matching(df, "ok", **match)


def matching(df: pd.DataFrame, status: str | None = "ok", **match: Any) -> pd.DataFrame:
    """Rows of ``status`` (None: any) whose columns equal the given values."""
    if not len(df) or "status" not in df:
        return df.iloc[0:0]
    keep = df["status"] == status if status is not None else df["status"].notna()
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


def missing(df: pd.DataFrame, *, size_ok: bool = False, strict: bool = False, results: Collection[str] = (),
            **match: Any) -> str | None:
    """Why the rows matching ``match`` cannot be judged, in words (the failed rows' kind and detail, or that no row
    exists); None when successful rows match. The one home of "why is this data unusable".

    Args:
        size_ok: a cap / out-of-memory failure is a result (the caller reads it), not missing data.
        strict: any failed row counts, even beside successful ones (a failed seed could be the one that disagrees).
        results: further failure kinds the caller reads as results (a learning-rate grid: ``diverged``).
    """
    allowed = (SIZE_KINDS if size_ok else frozenset()) | frozenset(results)
    what = ", ".join(f"{k.replace('__', '.')}={v}" for k, v in match.items())
    if len(ok_rows(df, **match)):
        if not strict:
            return None
        failed = matching(df, "failed", **match)
        if allowed:
            failed = failed[[kind_of(_failure(r)) not in allowed for _, r in failed.iterrows()]]
        return _failed(what, failed.iloc[0]) if len(failed) else None
    failed = matching(df, "failed", **match)
    if allowed and len(failed) and all(kind_of(_failure(r)) in allowed for _, r in failed.iterrows()):
        return None
    if len(failed):
        return _failed(what, failed.iloc[0])
    return f"{MISSING}: no row for {what}"


def first_missing(df: pd.DataFrame, models: Sequence[str], ns: Sequence[int] | None = None, *,
                  size_ok: bool = False, strict: bool = False, results: Collection[str] = (), **match: Any
                  ) -> str | None:
    """The first reason (:func:`missing`) why a verdict cannot rest on ``df``, model by model; None when each model
    has usable rows.

    Args:
        ns: the lengths each model must have (``seq_len``); None: every n the models' rows have; empty: the model's
            rows as a whole, whatever their n.
        size_ok: a cap / out-of-memory failure is a result, and the larger n a memory sweep then prunes for that model
            are not missing.
        strict, results, match: as for :func:`missing`.
    """
    if ns is None:
        mine = df[df["model"].isin(models)] if len(df) and "model" in df else df.iloc[0:0]
        ns = sorted({int(n) for n in mine.get("seq_len", pd.Series(dtype=float)).dropna()})
    for model in models:
        if not ns:
            why = missing(df, size_ok=size_ok, strict=strict, results=results, model=model, **match)
            if why:
                return why
            continue
        too_big = size_failed_at(df, model) if size_ok else None
        for n in ns:
            if too_big is not None and n > too_big:
                continue
            why = missing(df, size_ok=size_ok, strict=strict, results=results, model=model, seq_len=n, **match)
            if why:
                return why
    return None


def size_failed_at(df: pd.DataFrame, model: str) -> int | None:
    """The smallest n where ``model`` failed the cap or ran out of memory (None: nowhere)."""
    failed = matching(df, "failed", model=model)
    ns = [int(r["seq_len"]) for _, r in failed.iterrows() if is_size_failure(_failure(r))]
    return min(ns) if ns else None


def _failed(what: str, row: pd.Series) -> str:
    return f"{FAILED}: {what}: {row.get('reason') or kind_of(_failure(row)) or 'failed'}"[:200]


def _failure(row: pd.Series) -> str | None:
    f = row.get("failure")
    return f if isinstance(f, str) and f else row.get("reason")


def caveats(df: pd.DataFrame) -> list[str]:
    """The GPU caveat when the measurements come from a CPU (the essay speaks of GPUs)."""
    devices = sorted(set(df[SPEC_DEVICE].dropna())) if SPEC_DEVICE in df else []
    cpu = df[ENV_CPU].dropna().iloc[0] if ENV_CPU in df and df[ENV_CPU].notna().any() else "this CPU"
    where = ", ".join(devices) if devices else "cpu"
    return [GPU_CAVEAT.format(device=f"{where} ({cpu})")] if "cuda" not in where else []
