"""What each report figure plots, shaped from DataFrames of stored trials without matplotlib: quality sweeps, the
memory panels, decode times per position, the MFU comparison point. Points are medians over rounds (timing) or seeds
(quality)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from seqarena.analysis.labels import MB, plain, present
from seqarena.essay import ESSAY_CONTENDERS
from seqarena.report.data import label_contenders, medians, numeric
from seqarena.store.columns import (
    SPEC_BATCH,
    SPEC_BUDGET_S,
    SPEC_KIND,
    SPEC_LAYERS,
    SPEC_LR,
    SPEC_MEMORY_CAP_MB,
    SPEC_MODE,
    SPEC_STEPS,
    SPEC_TASK,
    SPEC_TBPTT,
    SPEC_TUNE_LR,
)

#: Contenders told apart by batch size too.
BATCH = (("batch", lambda b: f"B={int(b)}"),)


def common_point(df: pd.DataFrame) -> tuple[int, int]:
    """The (n, batch) to compare at: one where both the LSTM and the transformer were measured if any, then the one
    with the most contenders (ties: n = 256, else the largest n and batch)."""
    per = df.groupby(["seq_len", "batch"])["model"].agg(lambda m: (len(set(ESSAY_CONTENDERS) & set(m)), len(set(m))))
    return max(((int(n), int(b)) for n, b in per.index),
               key=lambda p: (*per[p], p[0] == 256, p[0], p[1]))


#: What identifies a training run besides its x variable and its seed.
_RUN_KEYS = (SPEC_STEPS, SPEC_BUDGET_S, SPEC_BATCH, SPEC_TBPTT, SPEC_TUNE_LR, SPEC_LR, SPEC_LAYERS)
_IGNORED_TASK_PARAMS = ("task.params.data_seed", "task.params.n_val", "task.params.n_test")


@dataclasses.dataclass
class Series:
    """One quality sweep: a contender on a task, ``x`` varying, other settings fixed; values pooled over seeds."""

    task: str
    label: str
    metric: str
    higher_is_better: bool
    x: np.ndarray
    median: np.ndarray
    low: np.ndarray  # min over seeds
    high: np.ndarray  # max over seeds
    seeds: int
    baseline: float
    baseline_name: str
    diverged: list[float]


def with_diverged(train: pd.DataFrame, failed: pd.DataFrame) -> pd.DataFrame:
    """``train`` rows plus the failed training runs that diverged, shaped like them (task, its parameters and the LR
    read from the spec; no test metric), so a figure marks them (x) where they would have been plotted."""
    if not len(failed) or "failure" not in failed:
        return train
    div = failed[failed["failure"] == "diverged"].copy()
    if not len(div):
        return train
    for col in [c for c in div.columns if c.startswith("spec.task_params.")]:
        div["task.params." + col.removeprefix("spec.task_params.")] = div[col]
    div["task.task"] = div.get(SPEC_TASK)
    div["lr"] = div.get(SPEC_LR)
    div["test_metric"] = math.nan
    return pd.concat([train, div], ignore_index=True) if len(train) else div


def quality_series(train: pd.DataFrame, x_col: str, *, min_points: int = 2) -> list[Series]:
    """Sweeps of ``x_col`` in stored training runs: runs grouped by task, contender and every other setting (task
    parameters, steps or budget, LR or tuning, ...), kept when ``x_col`` takes at least ``min_points`` values."""
    if not len(train) or x_col not in train:
        return []
    df = label_contenders(train)
    df = df[numeric(df, x_col).notna()]
    if not len(df):
        return []
    task_col = "task.task" if "task.task" in df else SPEC_TASK
    keys = [c for c in df.columns if c.startswith("task.params.") and c != x_col and c not in _IGNORED_TASK_PARAMS]
    keys += [c for c in _RUN_KEYS if c in df and c != x_col and not (x_col == "lr" and c == SPEC_LR)]
    ident = df[keys].map(lambda v: plain(v) if present(v) else "") if keys else pd.DataFrame(index=df.index)
    df = df.assign(_ident=ident.apply(lambda r: "|".join(r), axis=1) if keys else "")
    out = []
    for task, tg in df.groupby(task_col, sort=True):
        found = []
        for (label, ident_key), g in tg.groupby(["contender", "_ident"], sort=True):
            xs = numeric(g, x_col)
            if xs.nunique() < min_points:
                continue
            found.append((str(label), str(ident_key), g))
        varying = _varying_keys([k for _, k, _ in found], keys)
        for label, ident_key, g in found:
            out.append(_series(str(task), label, ident_key, varying, keys, g, x_col))
    return out


def _varying_keys(idents: list[str], keys: list[str]) -> list[int]:
    if len(idents) < 2:
        return []
    split = [k.split("|") for k in idents]
    return [i for i in range(len(keys)) if len({s[i] for s in split}) > 1]


def _series(task: str, label: str, ident: str, varying: list[int], keys: list[str], g: pd.DataFrame,
            x_col: str) -> Series:
    parts = ident.split("|")
    extra = [f"{keys[i].split('.')[-1]}={parts[i]}" for i in varying if parts[i]]
    metric = str(g["metric"].dropna().iloc[0]) if "metric" in g and g["metric"].notna().any() else "metric"
    hib = bool(g["task.higher_is_better"].dropna().iloc[0]) if "task.higher_is_better" in g and \
        g["task.higher_is_better"].notna().any() else metric == "accuracy"
    g = g.assign(_x=numeric(g, x_col), _y=numeric(g, "test_metric"))
    diverged = sorted(float(x) for x in g.loc[g["_y"].isna(), "_x"])
    ok = g[g["_y"].notna()]
    stats = ok.groupby("_x")["_y"].agg(["median", "min", "max"]).sort_index()
    seeds = int(ok.groupby("_x").size().max()) if len(ok) else 0
    base_col = f"baseline.{metric}"
    baseline = float(numeric(g, base_col).median()) if base_col in g else math.nan
    base_name = str(g["baseline.name"].dropna().iloc[0]) if "baseline.name" in g and g["baseline.name"].notna().any() \
        else "baseline"
    return Series(task, " · ".join([label, *extra]), metric, hib, stats.index.to_numpy(float),
                  stats["median"].to_numpy(float), stats["min"].to_numpy(float), stats["max"].to_numpy(float), seeds,
                  baseline, base_name, diverged)


def grid_series(train: pd.DataFrame) -> list[Series]:
    df = label_contenders(train[train["lr_grid"].map(lambda v: isinstance(v, list) and len(v) > 1)])
    out = []
    task_col = "task.task" if "task.task" in df else SPEC_TASK
    for (task, label), g in df.groupby([task_col, "contender"], sort=True):
        points = [p for cell in g["lr_grid"] for p in cell if isinstance(p, dict)]
        table = pd.DataFrame(points)
        if "lr" not in table or "val" not in table:
            continue
        table["val"] = pd.to_numeric(table["val"], errors="coerce")
        ok = table[table.get("status", "ok") != "diverged"].dropna(subset=["val"])
        stats = ok.groupby("lr")["val"].agg(["median", "min", "max"]).sort_index()
        if len(stats) < 2:
            continue
        metric = str(g["metric"].dropna().iloc[0]) if "metric" in g else "metric"
        base = float(numeric(g, f"baseline.{metric}").median()) if f"baseline.{metric}" in g else math.nan
        out.append(Series(str(task), f"{label} (tuning grid, val)", metric,
                          bool(g["task.higher_is_better"].dropna().iloc[0]) if "task.higher_is_better" in g else True,
                          stats.index.to_numpy(float), stats["median"].to_numpy(float), stats["min"].to_numpy(float),
                          stats["max"].to_numpy(float), len(g), base, "baseline",
                          sorted(float(x) for x in table.loc[table.get("status", "ok") == "diverged", "lr"])))
    return out


# -- speed and memory ---------------------------------------------------------------------------------------------

def decode_per_position(gen: pd.DataFrame) -> dict[tuple[str, str], pd.Series]:
    """Per (contender, generation mode), sorted: the decode time per token (ms) at each generated position, median
    over rounds. Empty when no row has per-position times."""
    if not len(gen) or "decode_ms_by_position" not in gen:
        return {}
    df = label_contenders(gen, extra=BATCH)
    mode_col = "mode" if "mode" in df else SPEC_MODE
    out = {}
    for (label, mode), g in df.groupby(["contender", mode_col], sort=True):
        cells = [c for c in g["decode_ms_by_position"] if isinstance(c, dict) and c]
        if not cells:
            continue
        per_pos = pd.DataFrame(cells).apply(pd.to_numeric, errors="coerce").median()  # over rounds
        per_pos.index = per_pos.index.astype(int)
        out[(str(label), str(mode))] = per_pos.sort_index()
    return out


@dataclasses.dataclass
class MemoryPanel:
    """One panel of the memory figure: training or inference peaks, the caps they ran under, the failed trials."""

    name: str
    source: str  # which scenario's rows
    rows: pd.DataFrame
    failed: pd.DataFrame
    caps: list[float]  # MB


def memory_panels(mem: pd.DataFrame, failed: pd.DataFrame | None = None, *,
                  train_step: pd.DataFrame | None = None, forward: pd.DataFrame | None = None) -> list[MemoryPanel]:
    """Training then inference, each with positive peaks: memory-scenario rows of that kind, else the train_step /
    batch-1 forward_latency peaks (measured the same way, without a cap)."""
    failed = failed if failed is not None else pd.DataFrame()
    panels = []
    for kind, fallback, name in (("train", train_step, "training (fwd + bwd + AdamW)"),
                                 ("infer", forward, "inference (forward)")):
        rows = mem[mem[SPEC_KIND] == kind] if len(mem) and SPEC_KIND in mem else pd.DataFrame()
        fails = failed[failed[SPEC_KIND] == kind] if len(failed) and SPEC_KIND in failed else pd.DataFrame()
        source = "memory scenario"
        if not len(rows) and fallback is not None and len(fallback) and "peak_bytes" in fallback:
            rows = fallback[fallback["batch"] == fallback["batch"].min()] if kind == "infer" else fallback
            source = "train_step trials" if kind == "train" else "forward_latency trials"
        if len(rows) and numeric(rows, "peak_bytes").gt(0).any():
            caps = sorted({float(c) for c in rows.get(SPEC_MEMORY_CAP_MB, pd.Series(dtype=float)) if present(c)})
            panels.append(MemoryPanel(name, source, rows, fails, caps))
    return panels


def failed_points(panel: MemoryPanel) -> dict[str, tuple[pd.Series, pd.Series]]:
    """Per contender, the failed trials of a panel as (n, MB): a failed trial sits on its own cap, or at the top of
    the data when it had none (an out-of-memory error)."""
    failed = panel.failed
    if not len(failed) or "seq_len" not in failed:
        return {}
    top = numeric(panel.rows, "peak_bytes").max() / MB if len(panel.rows) else 1.0
    failed = label_contenders(failed, extra=BATCH)
    failed = failed.assign(_y=numeric(failed, SPEC_MEMORY_CAP_MB).fillna(top))
    return {str(label): (g["seq_len"], g["_y"]) for label, g in failed.groupby("contender")}


@dataclasses.dataclass
class MfuBars:
    """The MFU comparison: per group (training step, inference forward), each contender's MFU in percent."""

    n: int  # the sequence length compared at
    labels: list[str]
    percent: dict[str, list[float]]  # group -> values in label order (nan: not measured)


def mfu_bars(ts: pd.DataFrame, fl: pd.DataFrame | None = None) -> MfuBars | None:
    """A training step and an inference forward at the (n, batch) point measured for the most contenders (medians
    over rounds); None when no row has an MFU."""
    both = [f for f in (ts, fl) if f is not None and len(f) and "mfu" in f and numeric(f, "mfu").notna().any()]
    if not both:
        return None
    df = label_contenders(pd.concat(both, ignore_index=True))  # one labelling: the same contender, the same bar
    df = df[numeric(df, "mfu").notna()]
    train = df[df["scenario"] == "train_step"]
    infer = df[df["scenario"] != "train_step"]
    groups: dict[str, pd.DataFrame] = {}
    n_ref, b_ref = common_point(train if len(train) else infer)
    if len(train):
        groups[f"training step (batch {b_ref})"] = train[(train["seq_len"] == n_ref) & (train["batch"] == b_ref)]
    infer = infer[infer["seq_len"] == n_ref]
    if len(infer):
        b = int(infer["batch"].max())
        groups[f"inference forward (batch {b})"] = infer[infer["batch"] == b]
    labels = sorted(set(groups[next(iter(groups))]["contender"]))
    percent = {}
    for name, g in groups.items():
        med = medians(g, "mfu", ["contender"]).set_index("contender")["mfu"]
        percent[name] = [100 * float(med.get(lab, math.nan)) for lab in labels]
    return MfuBars(n_ref, labels, percent)
