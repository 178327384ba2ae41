"""The report's figures: one function per figure; each takes DataFrames of stored trials and returns a matplotlib
:class:`~matplotlib.figure.Figure`.

Figures are built on bare ``Figure`` objects with the Agg canvas (no pyplot, no global state, no display needed).
Points are medians over rounds (timing) or seeds (quality); log-log fits use every round's value, as the claims do.
A figure with nothing to show is a placeholder that says which command fills it (:func:`placeholder`), never an error.
"""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter

from seqarena.analysis.labels import fmt_compact, plain, present
from seqarena.analysis.scaling import fit_loglog
from seqarena.essay import ESSAY_CONTENDERS
from seqarena.report.data import ReportData, label_contenders, medians, numeric

NO_DATA = "no-data"  # the label of a placeholder figure
DPI = 110
MB = 2**20

#: Stable colours per model family, so a model has one colour in every figure.
_COLOURS = {"lstm": "#1f77b4", "transformer": "#ff7f0e", "gru": "#2ca02c", "elman": "#9467bd", "ssm": "#d62728",
            "min_gru": "#8c564b", "min_lstm": "#e377c2", "linear_attention": "#17becf", "performer": "#bcbd22",
            "local": "#7f7f7f", "transformer_xl": "#aec7e8", "linformer": "#ffbb78", "hybrid": "#98df8a"}
_EXTRA = ["#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354"]
_STYLES = ["-", "--", ":", "-."]
_MODE_STYLE = {"state": "-", "cache": "--", "recompute": ":"}


def colour(label: str) -> str:
    """The colour of a contender: its model family's, or a stable pick for unknown models."""
    model = label.split(" · ")[0].split(":")[0]
    if model in _COLOURS:
        return _COLOURS[model]
    return _EXTRA[sum(map(ord, model)) % len(_EXTRA)]


class _Styler:
    """Colour by model family; a second contender of the same family in one axes gets the next line style."""

    def __init__(self) -> None:
        self.used: dict[str, int] = {}

    def __call__(self, label: str) -> dict[str, Any]:
        c = colour(label)
        k = self.used.get(c, 0)
        self.used[c] = k + 1
        return {"color": c, "linestyle": _STYLES[k % len(_STYLES)], "marker": "os^Dv<>"[k % 7]}


def new_figure(width: float = 7.5, height: float = 4.2, panels: int = 1) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    return fig, list(axes)


def placeholder(title: str, command: str, why: str = "no data") -> Figure:
    """A small image that says the figure has no data yet and which command measures it."""
    fig = Figure(figsize=(7.5, 1.8), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.set_label(NO_DATA)
    fig.text(0.5, 0.68, title, ha="center", va="center", fontsize=12, weight="bold")
    fig.text(0.5, 0.38, f"{why}: run `{command}`", ha="center", va="center", fontsize=10, color="#8a5a00",
             family="monospace", wrap=True)
    fig.patch.set_facecolor("#fdf6e3")
    return fig


def is_placeholder(fig: Figure) -> bool:
    return fig.get_label() == NO_DATA


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor=fig.get_facecolor())
    return buf.getvalue()


def _slope_label(label: str, n: pd.Series, y: pd.Series) -> tuple[str, Any]:
    fit = fit_loglog(list(n), list(y))
    if fit is None:
        return label, None
    return f"{label} (slope {fit})", fit


def _draw_fit(ax: Axes, fit: Any, scale: float, style: dict[str, Any]) -> None:
    xs = np.geomspace(fit.n_range[0], fit.n_range[1], 20)
    ax.plot(xs, [fit.predict(x) * scale for x in xs], color=style["color"], linestyle=(0, (1, 1)), linewidth=1,
            alpha=0.8)


def _loglog_lines(ax: Axes, df: pd.DataFrame, metric: str, *, scale: float = 1.0, fit: bool = True) -> int:
    """One line per contender: per-n medians of ``metric`` (times ``scale``), with the log-log slope in the legend
    and the fitted line dotted over the range it was fitted on. Returns the number of lines drawn."""
    styler = _Styler()
    drawn = 0
    for label, g in df.groupby("contender", sort=True):
        y = numeric(g, metric)
        g = g[y.notna() & (y > 0)]
        if not len(g):
            continue
        med = medians(g, metric, ["seq_len"]).sort_values("seq_len")
        style = styler(str(label))
        text, f = _slope_label(str(label), g["seq_len"], numeric(g, metric)) if fit else (str(label), None)
        ax.plot(med["seq_len"], med[metric] * scale, label=text, markersize=4, **style)
        if f is not None:
            _draw_fit(ax, f, scale, style)
        drawn += 1
    ax.set_xscale("log", base=2)
    _int_axis(ax.xaxis, 2)
    ax.set_yscale("log")
    _int_axis(ax.yaxis)
    ax.grid(True, which="both", alpha=0.25)
    return drawn


def _legend(ax: Axes, **kw: Any) -> None:
    """The legend inside the axes when short; below them when it would hide the data."""
    handles = ax.get_legend_handles_labels()[0]
    if not handles:
        return
    if len(handles) > 4 or kw.pop("below", False):
        kw.pop("loc", None)
        ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False, **kw)
    else:
        ax.legend(fontsize=7.5, **kw)


class _Compact(LogFormatter):
    """Matplotlib's choice of which log ticks get a label, written as plain numbers instead of 10^3."""

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        return fmt_compact(x)


def _int_axis(axis: Any, base: float = 10) -> None:
    """Plain numbers (16, 1,024, 250k) on a log axis."""
    axis.set_major_formatter(_Compact(base=base))
    axis.set_minor_formatter(_Compact(base=base, labelOnlyBase=False))


def _fit_legends(fig: Figure, axes: list[Axes]) -> Figure:
    """Grow the figure so legends placed below the axes (more than 4 entries) have room."""
    entries = max((len(ax.get_legend_handles_labels()[0]) for ax in axes), default=0)
    if entries > 4:
        w, h = fig.get_size_inches()
        fig.set_size_inches(w, h + 0.16 * entries + 0.2)
    return fig


# -- speed --------------------------------------------------------------------------------------------------------

def latency_vs_n(fl: pd.DataFrame) -> Figure:
    """Forward latency vs sequence length on log-log axes, one panel per batch, fitted slopes in the legend."""
    title = "Forward latency vs sequence length"
    if not len(fl) or "latency_s" not in fl:
        return placeholder(title, COMMANDS["fig-latency"])
    df = label_contenders(fl)
    batches = sorted(int(b) for b in df["batch"].dropna().unique())
    batches = batches[:1] + batches[-1:] if len(batches) > 2 else batches  # batch 1 and the largest
    fig, axes = new_figure(10 if len(batches) > 1 else 7.5, 4.4, len(batches))
    for ax, b in zip(axes, batches):
        _loglog_lines(ax, df[df["batch"] == b], "latency_s", scale=1e3)
        ax.set_title(f"batch {b}", fontsize=10)
        ax.set_xlabel("sequence length n (tokens)")
        ax.set_ylabel("latency per forward (ms)")
        _legend(ax, loc="upper left")
    fig.suptitle(f"{title} (log-log; slope of the dotted fit over the larger n, 95% CI)", fontsize=11)
    return _fit_legends(fig, axes)


def train_throughput_vs_n(ts: pd.DataFrame) -> Figure:
    """Training throughput (tokens/s in a forward + backward + AdamW step) vs sequence length."""
    title = "Training throughput vs sequence length"
    if not len(ts) or "tokens_per_s" not in ts:
        return placeholder(title, COMMANDS["fig-train-throughput"])
    df = label_contenders(ts, extra=[("batch", lambda b: f"B={int(b)}")])
    fig, (ax,) = new_figure()
    _loglog_lines(ax, df, "tokens_per_s", fit=False)
    ax.set_xlabel("sequence length n (tokens)")
    ax.set_ylabel("training tokens/s (higher is better)")
    batches = ", ".join(str(int(b)) for b in sorted(df["batch"].dropna().unique()))
    ax.set_title(f"{title} (train step, batch {batches})", fontsize=11)
    _legend(ax)
    return _fit_legends(fig, [ax])


def decode_vs_position(gen: pd.DataFrame) -> Figure:
    """Per-token decode time vs generated position, one line per contender and generation mode."""
    title = "Per-token decode time vs position"
    if not len(gen) or "decode_ms_by_position" not in gen:
        return placeholder(title, COMMANDS["fig-decode"])
    df = label_contenders(gen, extra=[("batch", lambda b: f"B={int(b)}")])
    fig, (ax,) = new_figure()
    drawn = 0
    mode_col = "mode" if "mode" in df else "spec.mode"
    for (label, mode), g in df.groupby(["contender", mode_col], sort=True):
        cells = [c for c in g["decode_ms_by_position"] if isinstance(c, dict) and c]
        if not cells:
            continue
        table = pd.DataFrame(cells).apply(pd.to_numeric, errors="coerce")
        per_pos = table.median()  # over rounds
        per_pos.index = per_pos.index.astype(int)
        per_pos = per_pos.sort_index()
        ax.plot(per_pos.index, per_pos.values, color=colour(str(label)), linestyle=_MODE_STYLE.get(str(mode), "-."),
                marker=".", markersize=3, label=f"{label} · {mode}")
        drawn += 1
    if not drawn:
        return placeholder(title, COMMANDS["fig-decode"])
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.25)
    ax.set_xlabel("generated position (tokens)")
    ax.set_ylabel("decode time per token (ms, log)")
    ax.set_title(f"{title} (recompute / KV cache / recurrent state)", fontsize=11)
    _legend(ax)
    return _fit_legends(fig, [ax])


def throughput_vs_batch(tp: pd.DataFrame) -> Figure:
    """Inference throughput (tokens/s) as the batch grows at a fixed n."""
    title = "Inference throughput vs batch size"
    if not len(tp) or "tokens_per_s" not in tp:
        return placeholder(title, COMMANDS["fig-batch-throughput"])
    df = label_contenders(tp, extra=[("seq_len", lambda n: f"n={int(n)}")])
    fig, (ax,) = new_figure()
    styler = _Styler()
    shown: set[int] = set()
    for label, g in df.groupby("contender", sort=True):
        med = medians(g, "tokens_per_s", ["batch"]).sort_values("batch")
        if len(med) > 1:  # a single batch is not a batching curve (e.g. a fixed-token-budget point)
            ax.plot(med["batch"], med["tokens_per_s"], label=str(label), markersize=4, **styler(str(label)))
            shown |= {int(n) for n in g["seq_len"]}
    if not shown:
        return placeholder(title, COMMANDS["fig-batch-throughput"])
    ax.set_xscale("log", base=2)
    _int_axis(ax.xaxis, 2)
    ax.set_yscale("log")
    _int_axis(ax.yaxis)
    ax.grid(True, which="both", alpha=0.25)
    ax.set_xlabel("batch size (sequences)")
    ax.set_ylabel("inference tokens/s (higher is better)")
    ax.set_title(f"{title} (forward, n = {', '.join(map(str, sorted(shown)))})", fontsize=11)
    _legend(ax)
    return _fit_legends(fig, [ax])


_BATCH = (("batch", lambda b: f"B={int(b)}"),)


def _memory_panel(ax: Axes, rows: pd.DataFrame, failed: pd.DataFrame, caps: list[float]) -> None:
    df = label_contenders(rows, extra=_BATCH)
    _loglog_lines(ax, df, "peak_bytes", scale=1 / MB)
    for i, cap in enumerate(caps):
        ax.axhline(cap, color="#c0392b", linestyle=_STYLES[i % len(_STYLES)], linewidth=1.2,
                   label=f"memory cap: {cap:g} MB above baseline")
    if len(failed) and "seq_len" in failed:
        top = numeric(rows, "peak_bytes").max() / MB if len(rows) else 1.0
        failed = label_contenders(failed, extra=_BATCH)
        # a failed trial is drawn on its own cap (or at the top of the data when it had none: an OOM)
        failed = failed.assign(_y=numeric(failed, "spec.memory_cap_mb").fillna(top))
        for label, g in failed.groupby("contender"):
            ax.plot(g["seq_len"], g["_y"], linestyle="none", marker="X", markersize=9, color=colour(str(label)),
                    markeredgecolor="black", label=f"{label}: failed (cap / out of memory)")
    ax.set_xlabel("sequence length n (tokens)")
    ax.set_ylabel("peak memory above baseline (MB)")
    _legend(ax, loc="upper left")


def memory_vs_n(mem: pd.DataFrame, failed: pd.DataFrame | None = None, *, train_step: pd.DataFrame | None = None,
                forward: pd.DataFrame | None = None) -> Figure:
    """Peak memory above the trial's baseline vs n: training (left) and inference (right), the cap marked, failed
    trials drawn on the cap. Without memory-scenario rows a panel falls back to the train_step / batch-1
    forward_latency peaks (measured the same way, without a cap)."""
    title = "Memory vs sequence length"
    failed = failed if failed is not None else pd.DataFrame()
    panels = []
    for kind, fallback, name in (("train", train_step, "training (fwd + bwd + AdamW)"),
                                 ("infer", forward, "inference (forward)")):
        rows = mem[mem["spec.kind"] == kind] if len(mem) and "spec.kind" in mem else pd.DataFrame()
        fails = failed[failed["spec.kind"] == kind] if len(failed) and "spec.kind" in failed else pd.DataFrame()
        source = "memory scenario"
        if not len(rows) and fallback is not None and len(fallback) and "peak_bytes" in fallback:
            rows = fallback[fallback["batch"] == fallback["batch"].min()] if kind == "infer" else fallback
            source = "train_step trials" if kind == "train" else "forward_latency trials"
        if len(rows) and numeric(rows, "peak_bytes").gt(0).any():
            caps = sorted({float(c) for c in rows.get("spec.memory_cap_mb", pd.Series(dtype=float)) if present(c)})
            panels.append((name, source, rows, fails, caps))
    if not panels:
        return placeholder(title, COMMANDS["fig-memory"])
    fig, axes = new_figure(10 if len(panels) > 1 else 7.5, 4.6, len(panels))
    for ax, (name, source, rows, fails, caps) in zip(axes, panels):
        _memory_panel(ax, rows, fails, caps)
        batches = ", ".join(str(int(b)) for b in sorted(rows["batch"].dropna().unique()))
        ax.set_title(f"{name}, batch {batches}\n({source})", fontsize=9.5)
    fig.suptitle(f"{title} (measured peak RSS above the trial's baseline; log-log, slopes with 95% CI)", fontsize=11)
    return _fit_legends(fig, axes)


def mfu_by_model(ts: pd.DataFrame, fl: pd.DataFrame | None = None) -> Figure:
    """Model FLOP utilisation (achieved FLOP/s over the GEMM peak measured in the same worker) per contender: a
    training step and an inference forward at the (n, batch) point measured for the most contenders."""
    title = "MFU per model"
    both = [f for f in (ts, fl) if f is not None and len(f) and "mfu" in f and numeric(f, "mfu").notna().any()]
    if not both:
        return placeholder(title, COMMANDS["fig-mfu"])
    df = label_contenders(pd.concat(both, ignore_index=True))  # one labelling: the same contender, the same bar
    df = df[numeric(df, "mfu").notna()]
    train = df[df["scenario"] == "train_step"]
    infer = df[df["scenario"] != "train_step"]
    groups: dict[str, pd.DataFrame] = {}
    n_ref, b_ref = _common_point(train if len(train) else infer)
    if len(train):
        groups[f"training step (batch {b_ref})"] = train[(train["seq_len"] == n_ref) & (train["batch"] == b_ref)]
    infer = infer[infer["seq_len"] == n_ref]
    if len(infer):
        b = int(infer["batch"].max())
        groups[f"inference forward (batch {b})"] = infer[infer["batch"] == b]
    labels = sorted(set(groups[next(iter(groups))]["contender"]))
    fig, (ax,) = new_figure(max(7.5, 1.3 * len(labels) + 3), 4.2)
    width = 0.8 / len(groups)
    x = np.arange(len(labels))
    for i, (name, g) in enumerate(groups.items()):
        med = medians(g, "mfu", ["contender"]).set_index("contender")["mfu"]
        values = [100 * float(med.get(lab, math.nan)) for lab in labels]
        bars = ax.bar(x + (i - (len(groups) - 1) / 2) * width, values, width, label=name,
                      color="#4c72b0" if name.startswith("training") else "#dd8452")
        ax.bar_label(bars, labels=[(f"{v:.1f}%" if v >= 1 else f"{v:.2g}%") if math.isfinite(v) else ""
                                   for v in values], fontsize=7.5)
    ax.set_xticks(x, labels, rotation=15 if len(labels) > 4 else 0, fontsize=8)
    ax.set_ylabel("MFU (% of the measured GEMM peak)")
    ax.set_title(f"{title} at n = {n_ref} (higher: the kernels use the hardware better)", fontsize=11)
    ax.grid(True, axis="y", alpha=0.25)
    _legend(ax)
    return _fit_legends(fig, [ax])


def _common_point(df: pd.DataFrame) -> tuple[int, int]:
    """The (n, batch) to compare at: one where both the LSTM and the transformer were measured if any, then the one
    with the most contenders (ties: n = 256, else the largest n and batch)."""
    per = df.groupby(["seq_len", "batch"])["model"].agg(lambda m: (len(set(ESSAY_CONTENDERS) & set(m)), len(set(m))))
    return max(((int(n), int(b)) for n, b in per.index),
               key=lambda p: (*per[p], p[0] == 256, p[0], p[1]))


# -- quality ------------------------------------------------------------------------------------------------------

#: What identifies a training run besides its x variable and its seed.
_RUN_KEYS = ("spec.steps", "spec.budget_s", "spec.batch", "spec.tbptt", "spec.tune_lr", "spec.lr", "spec.layers")
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


def quality_series(train: pd.DataFrame, x_col: str, *, min_points: int = 2) -> list[Series]:
    """Sweeps of ``x_col`` in stored training runs: runs grouped by task, contender and every other setting (task
    parameters, steps or budget, LR or tuning, ...), kept when ``x_col`` takes at least ``min_points`` values."""
    if not len(train) or x_col not in train:
        return []
    df = label_contenders(train)
    df = df[numeric(df, x_col).notna()]
    if not len(df):
        return []
    task_col = "task.task" if "task.task" in df else "spec.task"
    keys = [c for c in df.columns if c.startswith("task.params.") and c != x_col and c not in _IGNORED_TASK_PARAMS]
    keys += [c for c in _RUN_KEYS if c in df and c != x_col and not (x_col == "lr" and c == "spec.lr")]
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


def _quality_figure(series: list[Series], title: str, xlabel: str, *, band: bool, command: str,
                    xlog: bool = True) -> Figure:
    if not series:
        return placeholder(title, command)
    tasks = sorted({s.task for s in series})[:4]
    fig, axes = new_figure(max(7.5, min(4.2 * len(tasks) + 1.5, 16)), 4.4, len(tasks))
    for ax, task in zip(axes, tasks):
        styler = _Styler()
        baselines: dict[str, float] = {}
        mine = [s for s in series if s.task == task]
        marked = False
        for s in mine:
            style = styler(s.label)
            seeds = f", {s.seeds} seeds" if s.seeds > 1 else ""
            ax.plot(s.x, s.median, label=f"{s.label}{seeds}", markersize=4, **style)
            if band and s.seeds > 1:
                ax.fill_between(s.x, s.low, s.high, color=style["color"], alpha=0.18, linewidth=0)
            if s.diverged:  # at the bottom of the axes, in the series' colour; one legend entry for all
                ax.plot(s.diverged, [0.03] * len(s.diverged), linestyle="none", marker="x", color=style["color"],
                        markersize=8, transform=ax.get_xaxis_transform(), label=None if marked else "diverged")
                marked = True
            if math.isfinite(s.baseline):
                baselines[s.baseline_name] = s.baseline
        for name, value in baselines.items():
            ax.axhline(value, color="#555555", linestyle=":", linewidth=1.2, label=f"baseline: {name} ({value:.3g})")
        metric = mine[0].metric
        better = "higher" if mine[0].higher_is_better else "lower"
        ax.set_ylabel(f"test {metric} ({better} is better)")
        ax.set_xlabel(xlabel)
        if xlog:
            ax.set_xscale("log")
            _int_axis(ax.xaxis)
        ax.grid(True, which="both", alpha=0.25)
        ax.set_title(task, fontsize=10)
        _legend(ax)
    fig.suptitle(title, fontsize=11)
    return _fit_legends(fig, axes)


def accuracy_vs_distance(train: pd.DataFrame) -> Figure:
    """Test metric vs dependency distance (copy, selective copy, MQAR, ...), medians over seeds."""
    # at least 3 distances: two runs at two distances that differ in nothing else are rarely a distance sweep
    return _quality_figure(quality_series(train, "task.params.distance", min_points=3),
                           "Accuracy vs dependency distance (medians over seeds)",
                           "dependency distance (tokens)", band=True, command=COMMANDS["fig-accuracy-distance"])


def sample_efficiency(train: pd.DataFrame) -> Figure:
    """Test metric vs training-set size; line: median over seeds, band: min–max over seeds."""
    return _quality_figure(quality_series(train, "task.params.n_train"),
                           "Sample efficiency (line: median, band: min–max over seeds)", "training examples",
                           band=True, command=COMMANDS["fig-sample-efficiency"])


def lr_robustness(train: pd.DataFrame) -> Figure:
    """Test metric vs a fixed learning rate (runs without LR tuning); diverged runs marked with x. Without such
    sweeps, the validation grids stored by ``--tune-lr`` runs are shown instead."""
    fixed = train[~train["spec.tune_lr"].astype(bool)] if len(train) and "spec.tune_lr" in train else train
    series = quality_series(fixed, "lr", min_points=3)
    title = "Learning-rate robustness (fixed learning rates, no tuning; x: diverged)"
    if not series and len(train) and "lr_grid" in train:
        series = _grid_series(train)
        title = "Learning-rate robustness (validation metric over the LR tuning grids; x: diverged)"
    return _quality_figure(series, title, "learning rate", band=False, command=COMMANDS["fig-lr-robustness"])


def _grid_series(train: pd.DataFrame) -> list[Series]:
    df = label_contenders(train[train["lr_grid"].map(lambda v: isinstance(v, list) and len(v) > 1)])
    out = []
    task_col = "task.task" if "task.task" in df else "spec.task"
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


def forecasting(train: pd.DataFrame) -> Figure:
    """Forecasting test error per model beside the task's baselines (last value, seasonal naive, linear)."""
    title = "Forecasting vs baselines"
    rows = train[train["task.task"] == "forecast"] if len(train) and "task.task" in train else pd.DataFrame()
    if not len(rows):
        return placeholder(title, COMMANDS["fig-forecast"])
    df = label_contenders(rows)
    source = df["task.params.dataset"] if "task.params.dataset" in df else pd.Series("", index=df.index)
    if "task.params.column" in df:
        source = source.where(source.map(present), df["task.params.column"].map(lambda c: f"file column {c}"))
    df = df.assign(_series=source.map(lambda v: str(v) if present(v) else "series"),
                   _lb=numeric(df, "task.params.lookback"), _h=numeric(df, "task.params.horizon"))
    groups = list(df.groupby(["_series", "_lb", "_h"], sort=True, dropna=False))[:3]
    fig, axes = new_figure(min(5.5 * len(groups) + 1, 16), 4.6, len(groups))
    for ax, ((name, lb, h), g) in zip(axes, groups):
        metric = str(g["metric"].dropna().iloc[0]) if g["metric"].notna().any() else "mse"
        med = medians(g, "test_metric", ["contender"])
        labels = [str(x) for x in med["contender"]]
        values = [float(v) for v in med["test_metric"]]
        colours = [colour(lab) for lab in labels]
        suffix = f".{metric}"
        for col in sorted(c for c in g.columns if c.startswith("baseline.all.") and c.endswith(suffix)):
            v = numeric(g, col).median()
            if math.isfinite(v):
                labels.append(col.removeprefix("baseline.all.").removesuffix(suffix))
                values.append(float(v))
                colours.append("#b0b0b0")
        bars = ax.bar(range(len(labels)), values, color=colours, edgecolor="black", linewidth=0.5)
        ax.bar_label(bars, labels=[f"{v:.3g}" for v in values], fontsize=7.5)
        ax.set_xticks(range(len(labels)), labels, rotation=25, ha="right", fontsize=8)
        ax.set_ylabel(f"test {metric}, standardised (lower is better)")
        lbt = f", look-back {int(lb)}" if math.isfinite(lb) else ""
        ht = f", horizon {int(h)}" if math.isfinite(h) else ""
        ax.set_title(f"{name}{lbt}{ht}", fontsize=10)
        ax.grid(True, axis="y", alpha=0.25)
    fig.suptitle(f"{title} (models coloured, baselines grey; medians over seeds)", fontsize=11)
    return fig


# -- the catalogue ------------------------------------------------------------------------------------------------

#: The command that fills each figure (shown in placeholders and captions).
COMMANDS = {
    "fig-latency": "seqarena bench forward_latency --models lstm,transformer --seq-lens 16,64,256,1024,4096",
    "fig-train-throughput": "seqarena bench train_step --models lstm,transformer --seq-lens 64,256,1024",
    "fig-decode": "seqarena bench generation --models lstm,transformer --tokens 1024",
    "fig-memory": "seqarena bench memory --models lstm,transformer --seq-lens 1024,4096,16384 --memory-cap-mb 2000",
    "fig-batch-throughput": "seqarena bench throughput --models lstm,transformer --seq-lens 256",
    "fig-accuracy-distance": "seqarena train --model lstm --task copy --distance D --budget 300steps  (D = 8, 32, "
                             "128; each model)",
    "fig-sample-efficiency": "seqarena train --model lstm --task copy --n-train N --seed S --budget 300steps  (N = "
                             "100, 1000; S = 0, 1, 2; each model)",
    "fig-lr-robustness": "seqarena train --model lstm --task copy --lr LR --budget 150steps  (LR = 1e-4 ... 1e-1; "
                         "each model)",
    "fig-forecast": "seqarena train --model lstm --task forecast --dataset sunspots --budget 500steps",
    "fig-mfu": "seqarena bench train_step --models lstm,transformer --seq-lens 256",
}


@dataclasses.dataclass(frozen=True)
class FigureDef:
    """A figure of the report: its stable id (the HTML ``<img id>``), title, what it shows, and how to draw it."""

    id: str
    title: str
    caption: str
    scenarios: tuple[str, ...]  # whose rows it reads (their settings go under it)
    draw: Callable[[ReportData], Figure]

    @property
    def command(self) -> str:
        return COMMANDS[self.id]


FIGURES: tuple[FigureDef, ...] = (
    FigureDef("fig-latency", "Latency vs sequence length",
              "Inference forward latency (median per point) against n on log-log axes; the legend gives each "
              "contender's log-log slope with its 95% t-interval, fitted over the larger half of the lengths (dotted). "
              "Slope ~2 is quadratic attention, ~1 linear recurrence.",
              ("forward_latency",), lambda d: latency_vs_n(d.get("forward_latency"))),
    FigureDef("fig-train-throughput", "Training throughput vs sequence length",
              "Tokens per second through a forward + backward + AdamW step, against n.",
              ("train_step",), lambda d: train_throughput_vs_n(d.get("train_step"))),
    FigureDef("fig-decode", "Per-token decode time vs position",
              "Greedy generation: time per generated token at each sampled position, for recomputing the whole "
              "context (recompute), a KV cache (cache) and a recurrent state (state).",
              ("generation",), lambda d: decode_vs_position(d.get("generation"))),
    FigureDef("fig-memory", "Memory vs sequence length",
              "Measured peak memory above the trial's baseline (VmHWM on CPU) for a training step and an inference "
              "forward; the dashed line is the memory cap, crosses mark trials that exceeded it or ran out of memory.",
              ("memory",), lambda d: memory_vs_n(d.get("memory"), d.failed_rows("memory"),
                                                 train_step=d.get("train_step"), forward=d.get("forward_latency"))),
    FigureDef("fig-batch-throughput", "Throughput vs batch size",
              "Inference tokens per second as the batch grows at a fixed n: how much batching helps each model.",
              ("throughput",), lambda d: throughput_vs_batch(d.get("throughput"))),
    FigureDef("fig-accuracy-distance", "Accuracy vs dependency distance",
              "Test metric of models trained with the same steps and parameter budget, against the distance the "
              "task asks them to remember; the dotted line is the task's trivial baseline.",
              ("train",), lambda d: accuracy_vs_distance(d.get("train"))),
    FigureDef("fig-sample-efficiency", "Sample efficiency",
              "Test metric against the number of training examples; line: median over seeds, band: min–max over "
              "seeds.", ("train",), lambda d: sample_efficiency(d.get("train"))),
    FigureDef("fig-lr-robustness", "Learning-rate robustness",
              "Test metric of runs at fixed learning rates (no tuning); a wide flat region means the model tolerates "
              "more learning rates. Crosses mark runs that diverged.",
              ("train",), lambda d: lr_robustness(d.get("train"))),
    FigureDef("fig-forecast", "Forecasting vs baselines",
              "Test error on real series (standardised) for each model beside the last-value, seasonal-naive and "
              "linear baselines of the same split.", ("train",), lambda d: forecasting(d.get("train"))),
    FigureDef("fig-mfu", "MFU per model",
              "Model FLOP utilisation: achieved FLOP/s over a square GEMM's FLOP/s measured in the same worker, "
              "for a training step and an inference forward at the same n.",
              ("train_step", "forward_latency"), lambda d: mfu_by_model(d.get("train_step"), d.get("forward_latency"))),
)

FIGURE_IDS: tuple[str, ...] = tuple(f.id for f in FIGURES)


@dataclasses.dataclass
class RenderedFigure:
    """A drawn figure: its definition, PNG bytes, whether it had data, and the settings of the rows it shows."""

    definition: FigureDef
    png: bytes
    has_data: bool
    settings: str
    error: str | None = None


def render_all(data: ReportData, settings: Callable[[pd.DataFrame], str]) -> list[RenderedFigure]:
    """Draw every figure. A figure whose drawing fails becomes a placeholder naming the error: one broken figure
    never takes the report down (the tests check that none fails on the fixture store)."""
    out = []
    for f in FIGURES:
        error = None
        try:
            fig = f.draw(data)
        except Exception as e:  # shown in the report, never hidden
            error = f"{type(e).__name__}: {e}"
            fig = placeholder(f.title, f.command, why=f"could not draw ({error})")
        rows = [data.get(s) for s in f.scenarios if len(data.get(s))]
        used = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
        out.append(RenderedFigure(f, png(fig), not is_placeholder(fig), settings(used), error))
    return out
