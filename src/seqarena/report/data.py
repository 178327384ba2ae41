"""The store as the report reads it: one load, rows split by scenario, contenders labelled with the settings that tell
them apart, and the settings every number was measured under.

The report never measures. It reads what ``bench``, ``train`` and ``claims`` stored and pools the rounds of a point
by their median (rounds are repeated measurements of the same point, interleaved in time).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from seqarena.analysis.labels import fmt_count, present, row_label
from seqarena.store import load
from seqarena.store.columns import (
    ENV_CPU,
    ENV_GPU,
    ENV_THREADS,
    ENV_TORCH,
    SPEC_CHECKPOINTING,
    SPEC_CHUNK,
    SPEC_DEVICE,
    SPEC_DTYPE,
    SPEC_KIND,
    SPEC_MODE,
    SPEC_PARAMS,
    SPEC_ROUND,
    SPEC_SCENARIO,
    SPEC_TBPTT,
)

#: Settings that make two measurements of one model different contenders (never pooled, never compared as one).
#: (column, how a value is written in a label)
SETTING_COLUMNS: tuple[tuple[str, Callable[[Any], str]], ...] = (
    (SPEC_PARAMS, lambda v: f"{fmt_count(v)} params"),
    (SPEC_DTYPE, str),
    (SPEC_DEVICE, str),
    (ENV_THREADS, lambda v: f"{int(v)} threads"),
    (ENV_CPU, str),
)


#: Spec fields that change what a trial measures: always named in a label when set.
TAGS: tuple[tuple[str, Callable[[Any], str]], ...] = (
    (SPEC_CHUNK, lambda v: f"chunked prefill {int(v)}"),
    (SPEC_TBPTT, lambda v: f"TBPTT {int(v)}"),
    (SPEC_CHECKPOINTING, lambda v: "checkpointing" if bool(v) else ""),
)


def numeric(df: pd.DataFrame, col: str) -> pd.Series:
    """The column as floats (None and text become NaN); an all-NaN series when the column is absent."""
    if col not in df:
        return pd.Series(math.nan, index=df.index, dtype=float)
    return pd.to_numeric(df[col], errors="coerce").astype(float)


@dataclasses.dataclass
class ReportData:
    """Every trial in the store, split by scenario: ``ok`` rows for the numbers, ``failed`` rows for what did not
    fit (memory caps, OOMs) and for the settings summary."""

    db: Path
    ok: dict[str, pd.DataFrame]
    failed: pd.DataFrame
    total: int

    def get(self, scenario: str) -> pd.DataFrame:
        """The scenario's successful rows (an empty frame when there are none)."""
        return self.ok.get(scenario, pd.DataFrame())

    def failed_rows(self, scenario: str) -> pd.DataFrame:
        if not len(self.failed) or "scenario" not in self.failed:
            return pd.DataFrame()
        return self.failed[self.failed["scenario"] == scenario]

    def all_rows(self) -> pd.DataFrame:
        frames = [f for f in (*self.ok.values(), self.failed) if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_data(db: Path | str) -> ReportData:
    """Read the whole store once (per-call timing samples left out: the claims engine reads those itself)."""
    df = load(db, status=None)
    if not len(df):
        return ReportData(Path(db), {}, pd.DataFrame(), 0)
    ok = df[df["status"] == "ok"]
    frames = {}
    for scenario, g in ok.groupby("scenario"):
        frames[str(scenario)] = g.dropna(axis=1, how="all").reset_index(drop=True)
    failed = df[df["status"] != "ok"].dropna(axis=1, how="all").reset_index(drop=True)
    return ReportData(Path(db), frames, failed, len(df))


def label_contenders(df: pd.DataFrame, extra: Iterable[tuple[str, Callable[[Any], str]]] = ()) -> pd.DataFrame:
    """Add a ``contender`` column: the model with its spec options, the :data:`TAGS` that are set (chunked prefill,
    TBPTT, checkpointing), and every setting (params, dtype, device, threads, CPU, and ``extra`` columns such as the
    batch) that varies within ``df``, so two budgets of one model are two lines, never one pooled line."""
    df = df.copy()
    if not len(df):
        df["label"] = []
        df["contender"] = []
        return df
    df["label"] = [row_label(r) for _, r in df.iterrows()]
    parts: list[pd.Series] = []
    for col, fmt in (*SETTING_COLUMNS, *extra):
        if col in df and df[col].map(_key).nunique() > 1:
            parts.append(df[col].map(lambda v, f=fmt: f(v) if present(v) else "?"))
    for col, fmt in TAGS:
        if col in df:
            parts.append(df[col].map(lambda v, f=fmt: f(v) if present(v) else ""))
    labels = df["label"].astype(str)
    for p in parts:
        p = p.astype(str)
        labels = labels + p.map(lambda x: f" · {x}" if x else "")
    df["contender"] = labels
    return df


def _key(v: Any) -> str:
    return "" if not present(v) else str(v)


def medians(df: pd.DataFrame, metric: str, by: list[str]) -> pd.DataFrame:
    """Median of ``metric`` over rounds (and seeds) per ``by`` group, with the number of rows pooled (``rounds``)."""
    df = df.assign(_value=numeric(df, metric))
    df = df[df["_value"].notna()]
    if not len(df):
        return pd.DataFrame(columns=[*by, metric, "rounds"])
    g = df.groupby(by, dropna=False)["_value"]
    out = g.median().rename(metric).to_frame()
    out["rounds"] = g.size()
    return out.reset_index()


def _values(df: pd.DataFrame, col: str) -> list[Any]:
    if col not in df:
        return []
    return sorted({v for v in df[col] if present(v)}, key=str)


def settings_line(df: pd.DataFrame) -> str:
    """The settings a set of rows was measured under, e.g. '1M params · float32 · cpu · 2 threads · <CPU> · torch
    2.13.0 · 2 rounds per point (medians shown)'. Several values are joined with ' / '."""
    if not len(df):
        return ""
    bits = []
    params = _values(df, SPEC_PARAMS)
    if params:
        bits.append(" / ".join(fmt_count(p) for p in params) + " params")
    for col in (SPEC_DTYPE, SPEC_DEVICE):
        vals = _values(df, col)
        if vals:
            bits.append(" / ".join(map(str, vals)))
    threads = _values(df, ENV_THREADS)
    if threads:
        bits.append(" / ".join(str(int(t)) for t in threads) + " threads")
    for col, prefix in ((ENV_CPU, ""), (ENV_GPU, "GPU "), (ENV_TORCH, "torch ")):
        vals = _values(df, col)
        if vals:
            bits.append(" / ".join(f"{prefix}{v}" for v in vals))
    if SPEC_ROUND in df and "seq_len" in df and SPEC_SCENARIO in df and df[SPEC_SCENARIO].ne("train").any():
        point = ("model", "seq_len", "batch", SPEC_PARAMS, SPEC_MODE, SPEC_KIND, SPEC_CHUNK, SPEC_TBPTT)
        keys = [c for c in point if c in df] + [c for c in df if c.startswith("spec.options.")]
        per_point = df[keys].map(_key).groupby(keys).size()
        lo, hi = int(per_point.min()), int(per_point.max())
        rounds = f"{lo}" if lo == hi else f"{lo}–{hi}"
        bits.append(f"{rounds} round{'s' if hi > 1 else ''} per point (medians shown)")
    return " · ".join(bits)
