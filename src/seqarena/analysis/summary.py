"""Sweep summaries as DataFrames: the tables ``seqarena bench`` prints (and the report will show)."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from seqarena.analysis.labels import row_label
from seqarena.analysis.scaling import Crossover, SlopeFit, find_crossovers, fit_loglog
from seqarena.store.columns import (
    ENV_CPU,
    ENV_THREADS,
    SPEC_COMPILE,
    SPEC_DEVICE,
    SPEC_DTYPE,
    SPEC_KIND,
    SPEC_PARAMS,
    SPEC_SCENARIO,
    SPEC_TOKENS,
)

#: The headline metric of each scenario (lower is better), the column it lives in and its display name.
HEADLINE = {
    "forward_latency": ("latency_s", "latency"),
    "throughput": ("latency_s", "latency"),
    "train_step": ("step_s", "step time"),
    "memory": ("peak_bytes", "peak memory"),
}


def with_labels(df: pd.DataFrame) -> pd.DataFrame:
    """Add a ``label`` column: model plus its spec options (two transformer variants are two contenders)."""
    df = df.copy()
    # values as stored (a NaN-padded option column writes 128.0): the CLI's tables have always shown them so
    df["label"] = [row_label(r, whole_numbers=False) for _, r in df.iterrows()] if len(df) else []
    return df


#: Settings that make two measurements of the same model incomparable: never fitted or compared across them.
SETTINGS = (SPEC_DEVICE, SPEC_DTYPE, SPEC_PARAMS, SPEC_COMPILE, ENV_THREADS, ENV_CPU)


def _groups(df: pd.DataFrame) -> list[str]:
    keys = ["batch"]
    if SPEC_KIND in df and df[SPEC_SCENARIO].eq("memory").any():
        keys.append(SPEC_KIND)
    return keys + [k for k in SETTINGS if k in df]


def _numeric(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    # peak_bytes is None where /proc cannot measure it: an object column that must not reach the log
    df = df.copy()
    df[metric] = pd.to_numeric(df[metric], errors="coerce")
    return df[df[metric].notna() & (df[metric] > 0)]


def _prepare(df: pd.DataFrame, metric: str | None) -> tuple[pd.DataFrame | None, str, list[str]]:
    """Labelled rows with a usable numeric metric (the scenario's headline by default) and the grouping keys;
    (None, ...) when there is nothing to analyse."""
    df = with_labels(df)
    if df.empty:
        return None, metric or "", []
    metric = metric or HEADLINE[df["scenario"].iloc[0]][0]
    if metric not in df:
        return None, metric, []
    df = _numeric(df, metric)
    return df, metric, _groups(df)


def fit_groups(df: pd.DataFrame, by: Sequence[str], metric: str) -> list[tuple[tuple[Any, ...], SlopeFit]]:
    """The log-log fit of ``metric`` vs ``seq_len`` in each ``by`` group (sorted; a group without two distinct
    lengths is left out). Every row is a point: rounds narrow the interval."""
    out = []
    for key, g in df.groupby(list(by), dropna=False, sort=True):
        fit = fit_loglog(list(g["seq_len"]), list(pd.to_numeric(g[metric], errors="coerce")))
        if fit is not None:
            out.append((key if isinstance(key, tuple) else (key,), fit))
    return out


@dataclasses.dataclass(frozen=True)
class PairCrossings:
    """Two contenders compared at the lengths both were measured at."""

    a: str
    b: str
    n: pd.Index  # the common lengths
    crossings: list[Crossover]  # where the better one changes (empty: never in range)
    better: str | None  # the one better at every common length; None when neither is


def pair_crossovers(per: Mapping[str, pd.Series], *, higher_is_better: bool = False) -> list[PairCrossings]:
    """Every pair of contenders (sorted) with at least two common lengths: where the better one changes, from each
    contender's value per length (``per``: contender -> Series indexed by n)."""
    out = []
    for a, b in itertools.combinations(sorted(per), 2):
        common = per[a].index.intersection(per[b].index)
        if len(common) < 2:
            continue
        ya, yb = per[a][common], per[b][common]
        if higher_is_better:  # find_crossovers looks for the smaller y: compare 1/y
            ya, yb = 1 / ya, 1 / yb
        found = find_crossovers(list(common), list(ya), list(yb))
        better = a if (ya < yb).all() else b if (yb < ya).all() else None
        out.append(PairCrossings(a, b, common, found, better))
    return out


def slopes(df: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """Log-log slope of the scenario's headline metric vs n per contender (and batch / memory kind)."""
    df, metric, keys = _prepare(df, metric)
    if df is None:
        return pd.DataFrame()
    rows = []
    for key, fit in fit_groups(df, ["label", *keys], metric):
        kind = key[1 + keys.index(SPEC_KIND)] if SPEC_KIND in keys else None
        rows.append({"label": key[0], "batch": key[1], "kind": kind,
                     "slope": fit.slope, "ci_low": fit.ci_low, "ci_high": fit.ci_high, "r2": fit.r2,
                     "n_from": fit.n_range[0], "n_to": fit.n_range[1], "points": fit.points})
    return pd.DataFrame(rows)


def crossovers(df: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """For every pair of contenders at each batch: where the one with the lower metric changes ("none in range" rows
    included, with the winner over the whole range)."""
    df, metric, keys = _prepare(df, metric)
    if df is None:
        return pd.DataFrame()
    rows = []
    for key, g in df.groupby(keys, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        per = {label: s.groupby("seq_len")[metric].median() for label, s in g.groupby("label")}
        kind = key[keys.index(SPEC_KIND)] if SPEC_KIND in keys else None
        for pair in pair_crossovers(per):
            base = {"a": pair.a, "b": pair.b, "batch": key[0], "kind": kind,
                    "n_from": float(pair.n.min()), "n_to": float(pair.n.max())}
            if not pair.crossings:
                winner = pair.better or "tie"
                rows.append({**base, "crossover_n": math.nan, "below": winner, "above": winner})
            for c in pair.crossings:
                below, above = (pair.a, pair.b) if c.a_below else (pair.b, pair.a)
                rows.append({**base, "crossover_n": c.n, "below": below, "above": above})
    return pd.DataFrame(rows)


def generation_table(df: pd.DataFrame, positions: tuple[int, ...] = (64, 512, 1024)) -> pd.DataFrame:
    """Per contender and mode: prefill, decode ms at the given positions (those generated), total, state bytes."""
    df = with_labels(df)
    rows = []
    for _, r in df.iterrows():
        decode = r.get("decode_ms_by_position") or {}
        row = {"label": r["label"], "mode": r.get("mode"), "batch": r["batch"], "tokens": r.get(SPEC_TOKENS),
               "prefill_ms": 1e3 * r["prefill_s"], "decode_ms_median": r.get("decode_ms_median")}
        for p in positions:
            row[f"decode_ms@{p}"] = decode.get(str(p), math.nan)
        row["total_s"] = r["total_s"]
        row["state_bytes"] = r.get("state_bytes")
        row["peak_bytes"] = r.get("peak_bytes")
        rows.append(row)
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows)
    keys = ["label", "mode", "batch", "tokens"]
    pooled = table.groupby(keys, dropna=False).median(numeric_only=True)  # over rounds
    pooled["rounds"] = table.groupby(keys, dropna=False).size()
    return pooled.reset_index().sort_values(["label", "mode"])


def pooled_points(df: pd.DataFrame) -> pd.DataFrame:
    """One row per contender and point, pooling the rounds of a sweep: timing statistics over all their per-call
    samples (needs ``load(..., include_samples=True)``), other metrics as medians over rounds; ``rounds`` counts them,
    ``contended`` those flagged as measured under load, and ``failed`` lists the reasons of failed rounds."""
    df = with_labels(df)
    keys = ["label", "seq_len", "batch"] + [k for k in (SPEC_KIND, SPEC_COMPILE) if k in df]
    rows = []
    for key, g in df.groupby(keys, dropna=False):
        row = dict(zip(keys, key))
        ok = g[g["status"] == "ok"]
        row["rounds"] = len(ok)
        row["contended"] = int(pd.to_numeric(ok["contended"], errors="coerce").fillna(0).astype(bool).sum()) \
            if "contended" in ok else 0  # rounds measured while other processes kept the CPU busy (flagged)
        row["failed"] = "; ".join(sorted(set(g.loc[g["status"] != "ok", "reason"].astype(str))))
        if "time.samples" in ok and len(ok):
            samples = np.concatenate([np.asarray(v, dtype=float) for v in ok["time.samples"] if isinstance(v, list)])
            if samples.size:
                p25, p50, p75 = np.percentile(samples, [25, 50, 75])
                row.update(median_s=p50, iqr_rel=(p75 - p25) / p50, calls=samples.size)
        for col in ("tokens_per_s", "sequences_per_s", "peak_bytes", "saved_bytes", "state_bytes", "mfu",
                    "compile.compile_s"):
            if col in ok:
                values = pd.to_numeric(ok[col], errors="coerce").dropna()
                row[col] = float(values.median()) if len(values) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


#: The one definition of a trial's memory in the report and the recommender: the peak RSS above the process's
#: baseline before the model was built, weights and inputs included (what a deployment's memory budget holds, and
#: what a trial's memory cap limits).
MEMORY_DEFINITION = "peak RSS above the process baseline, weights included"


def memory_of(metrics: dict) -> float | None:
    """A trial's memory by :data:`MEMORY_DEFINITION`: the memory scenario's ``peak_with_weights_bytes``, else the
    whole trial's peak above its worker's baseline (``trial_peak_bytes``: the model, its inputs and the calls)."""
    for key in ("peak_with_weights_bytes", "trial_peak_bytes"):
        value = metrics.get(key)
        if value is not None and value == value and value > 0:
            return float(value)
    return None


def memory_bytes(rows: pd.DataFrame) -> pd.Series:
    """:func:`memory_of` for every row of a frame of flattened metrics (NaN where neither is known)."""
    nan = pd.Series(math.nan, index=rows.index)
    cols = [pd.to_numeric(rows[k], errors="coerce") if k in rows else nan
            for k in ("peak_with_weights_bytes", "trial_peak_bytes")]
    out = cols[0].where(cols[0] > 0)
    return out.fillna(cols[1].where(cols[1] > 0))
