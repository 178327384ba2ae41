"""The store as pandas: :func:`load` for analysis, :func:`export` for users' own tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from seqarena.store.sqlite import DEFAULT_DB, Store

EXPORT_FORMATS = ("csv", "parquet", "json")


#: Metrics that are series over generated positions: kept as one {position: value} cell, not 30 columns.
SERIES = frozenset({"decode_ms_by_position", "state_bytes_by_position", "decode_samples_by_position",
                    "grad_norm_by_distance"})


def _flatten(prefix: str, d: dict[str, Any], out: dict[str, Any]) -> None:
    for key, value in d.items():
        if isinstance(value, dict) and key not in SERIES:
            _flatten(f"{prefix}{key}.", value, out)
        else:
            out[f"{prefix}{key}"] = value


def load(
    db: Path | str = DEFAULT_DB,
    *,
    scenario: str | None = None,
    status: str | None = "ok",
    include_samples: bool = False,
) -> pd.DataFrame:
    """Trials as a DataFrame: one row per trial, spec fields as ``spec.*`` columns, metrics flattened (``time.median``,
    ``memory.peak_bytes``, ...), environment as ``env.*``. Per-call timing samples are dropped unless asked for.

    Args:
        scenario: only this scenario.
        status: ``"ok"`` (default), ``"failed"``, or None for both.
    """
    path = Path(db)
    if not path.exists():
        raise FileNotFoundError(f"no results store at {path}")
    clauses, params = [], []
    if scenario is not None:
        clauses.append("scenario = ?")
        params.append(scenario)
    if status is not None:
        clauses.append("status = ?")
        params.append(status)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    records = []
    with Store(path) as store:
        for row in store.rows(where, tuple(params)):
            flat: dict[str, Any] = {k: row[k] for k in row if k not in ("spec", "metrics", "env")}
            _flatten("spec.", row["spec"], flat)
            metrics = dict(row["metrics"])
            if not include_samples and isinstance(metrics.get("time"), dict):
                metrics["time"] = {k: v for k, v in metrics["time"].items() if k != "samples"}
            _flatten("", metrics, flat)
            _flatten("env.", row["env"], flat)
            records.append(flat)
    return pd.DataFrame.from_records(records)


def export(db: Path | str, out: Path | str, fmt: str) -> Path:
    """Write every trial (ok and failed, per-call timing samples included) to ``out`` as csv, parquet or json;
    nested cells become JSON text in csv and parquet."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from: {', '.join(EXPORT_FORMATS)}")
    df = load(db, status=None, include_samples=True)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        df.to_json(out, orient="records", indent=1)
        return out
    for col in df.columns:  # csv and parquet need flat cells
        if df[col].map(lambda v: isinstance(v, (dict, list))).any():
            df[col] = df[col].map(lambda v: json.dumps(v) if isinstance(v, (dict, list)) else v)
    if fmt == "csv":
        df.to_csv(out, index=False)
    else:
        df.to_parquet(out, index=False)
    return out
