"""The store as pandas: :func:`load` for analysis, :func:`export` for users' own tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from seqarena.store.columns import SPEC_SEQ_LEN
from seqarena.store.outputs import EXPORT_FORMATS, atomic_file, check_output_file
from seqarena.store.sqlite import DEFAULT_DB, Store

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
    ``memory.peak_bytes``, ...), environment as ``env.*``. Per-call timing samples are dropped unless asked for. A
    training row's ``seq_len`` is its task's sequence length (``task.seq_len``; the spec's field is unused there).

    Args:
        scenario: only this scenario.
        status: ``"ok"`` (default), ``"failed"``, or None for both.
    """
    records = []
    with Store(db, readonly=True) as store:
        for row in store.rows(scenario=scenario, status=status):
            flat: dict[str, Any] = {k: row[k] for k in row if k not in ("spec", "metrics", "env")}
            _flatten("spec.", row["spec"], flat)
            metrics = dict(row["metrics"])
            if not include_samples and isinstance(metrics.get("time"), dict):
                metrics["time"] = {k: v for k, v in metrics["time"].items() if k != "samples"}
            _flatten("", metrics, flat)
            _flatten("env.", row["env"], flat)
            task_n = (row["metrics"].get("task") or {}).get("seq_len") if row.get("scenario") == "train" else None
            if task_n is not None:  # a training's length is its task's: the spec's seq_len is unused (a default)
                flat["seq_len"] = task_n
                flat.pop(SPEC_SEQ_LEN, None)
            records.append(flat)
    return pd.DataFrame.from_records(records)


def export(db: Path | str, out: Path | str, fmt: str) -> Path:
    """Write every trial (ok and failed, per-call timing samples included) to ``out`` as csv, parquet or json;
    nested cells become JSON text in csv and parquet."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from: {', '.join(EXPORT_FORMATS)}")
    out = check_output_file(out, f"{fmt} export")
    df = load(db, status=None, include_samples=True)
    with atomic_file(out) as tmp:
        if fmt == "json":
            df.to_json(tmp, orient="records", indent=1)
            return out
        for col in df.columns:  # csv and parquet need flat cells
            if df[col].map(lambda v: isinstance(v, (dict, list))).any():
                df[col] = df[col].map(lambda v: json.dumps(v) if isinstance(v, (dict, list)) else v)
        if fmt == "csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False)
    return out
