"""Sweep summaries as DataFrames: the tables ``seqarena bench`` prints (and the report will show)."""

from __future__ import annotations

import itertools
import math

import pandas as pd

from seqarena.analysis.scaling import find_crossovers, fit_loglog

#: The headline metric of each scenario (lower is better), the column it lives in and its display name.
HEADLINE = {
    "forward_latency": ("latency_s", "latency"),
    "throughput": ("latency_s", "latency"),
    "train_step": ("step_s", "step time"),
    "memory": ("peak_bytes", "peak memory"),
}


def _model_label(row: pd.Series) -> str:
    # spec options arrive flattened as spec.options.<field> columns (NaN where a row has no such option)
    extra = [f"{k.removeprefix('spec.options.')}={row[k]}" for k in row.index
             if k.startswith("spec.options.") and pd.notna(row[k])]
    return f"{row['model']}:{','.join(sorted(extra))}" if extra else str(row["model"])


def with_labels(df: pd.DataFrame) -> pd.DataFrame:
    """Add a ``label`` column: model plus its spec options (two transformer variants are two contenders)."""
    df = df.copy()
    df["label"] = [_model_label(r) for _, r in df.iterrows()] if len(df) else []
    return df


def _groups(df: pd.DataFrame) -> list[str]:
    keys = ["batch"]
    if "spec.kind" in df and df["spec.scenario"].eq("memory").any():
        keys.append("spec.kind")
    return keys


def slopes(df: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """Log-log slope of the scenario's headline metric vs n per contender (and batch / memory kind)."""
    df = with_labels(df)
    if df.empty:
        return pd.DataFrame()
    metric = metric or HEADLINE[df["scenario"].iloc[0]][0]
    rows = []
    for key, g in df.groupby(["label", *_groups(df)], dropna=False):
        fit = fit_loglog(g["seq_len"], g[metric])
        if fit is None:
            continue
        rows.append({"label": key[0], "batch": key[1], "kind": key[2] if len(key) > 2 else None,
                     "slope": fit.slope, "ci_low": fit.ci_low, "ci_high": fit.ci_high, "r2": fit.r2,
                     "n_from": fit.n_range[0], "n_to": fit.n_range[1], "points": fit.points})
    return pd.DataFrame(rows)


def crossovers(df: pd.DataFrame, metric: str | None = None) -> pd.DataFrame:
    """For every pair of contenders at each batch: where the one with the lower metric changes ("none in range" rows
    included, with the winner over the whole range)."""
    df = with_labels(df)
    if df.empty:
        return pd.DataFrame()
    metric = metric or HEADLINE[df["scenario"].iloc[0]][0]
    rows = []
    for key, g in df.groupby(_groups(df), dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        per = {label: s.groupby("seq_len")[metric].median() for label, s in g.groupby("label")}
        for a, b in itertools.combinations(sorted(per), 2):
            common = per[a].index.intersection(per[b].index)
            if len(common) < 2:
                continue
            ya, yb = per[a][common], per[b][common]
            found = find_crossovers(list(common), list(ya), list(yb))
            base = {"a": a, "b": b, "batch": key[0], "kind": key[1] if len(key) > 1 else None,
                    "n_from": float(common.min()), "n_to": float(common.max())}
            if not found:
                winner = a if (ya < yb).all() else b if (yb < ya).all() else "tie"
                rows.append({**base, "crossover_n": math.nan, "below": winner, "above": winner})
            for c in found:
                rows.append({**base, "crossover_n": c.n, "below": a if c.a_below else b,
                             "above": b if c.a_below else a})
    return pd.DataFrame(rows)


def generation_table(df: pd.DataFrame, positions: tuple[int, ...] = (64, 512, 1024)) -> pd.DataFrame:
    """Per contender and mode: prefill, decode ms at the given positions (those generated), total, state bytes."""
    df = with_labels(df)
    rows = []
    for _, r in df.iterrows():
        decode = r.get("decode_ms_by_position") or {}
        row = {"label": r["label"], "mode": r.get("mode"), "batch": r["batch"], "tokens": r.get("spec.tokens"),
               "prefill_ms": 1e3 * r["prefill_s"], "decode_ms_median": r.get("decode_ms_median")}
        for p in positions:
            row[f"decode_ms@{p}"] = decode.get(str(p), math.nan)
        row["total_s"] = r["total_s"]
        row["state_bytes"] = r.get("state_bytes")
        row["peak_bytes"] = r.get("peak_bytes")
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["label", "mode"]) if rows else pd.DataFrame()
