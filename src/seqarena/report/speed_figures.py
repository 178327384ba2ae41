"""The speed and memory figures: latency, training and inference throughput, decode time per token, peak memory
and MFU against sequence length or batch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from seqarena.analysis.labels import MB
from seqarena.report.data import label_contenders, medians
from seqarena.report.figure_commands import COMMANDS
from seqarena.report.figure_data import (
    BATCH,
    MemoryPanel,
    decode_per_position,
    failed_points,
    memory_panels,
    mfu_bars,
)
from seqarena.report.plotting import (
    MODE_STYLE,
    STYLES,
    Styler,
    colour,
    fit_legends,
    legend,
    log_axes,
    loglog_lines,
    new_figure,
    placeholder,
)


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
        loglog_lines(ax, df[df["batch"] == b], "latency_s", scale=1e3)
        ax.set_title(f"batch {b}", fontsize=10)
        ax.set_xlabel("sequence length n (tokens)")
        ax.set_ylabel("latency per forward (ms)")
        legend(ax, loc="upper left")
    fig.suptitle(f"{title} (log-log; slope of the dotted fit over the larger n, 95% CI)", fontsize=11)
    return fit_legends(fig, axes)


def train_throughput_vs_n(ts: pd.DataFrame) -> Figure:
    """Training throughput (tokens/s in a forward + backward + AdamW step) vs sequence length."""
    title = "Training throughput vs sequence length"
    if not len(ts) or "tokens_per_s" not in ts:
        return placeholder(title, COMMANDS["fig-train-throughput"])
    df = label_contenders(ts, extra=BATCH)
    fig, (ax,) = new_figure()
    loglog_lines(ax, df, "tokens_per_s", fit=False)
    ax.set_xlabel("sequence length n (tokens)")
    ax.set_ylabel("training tokens/s (higher is better)")
    batches = ", ".join(str(int(b)) for b in sorted(df["batch"].dropna().unique()))
    ax.set_title(f"{title} (train step, batch {batches})", fontsize=11)
    legend(ax)
    return fit_legends(fig, [ax])


def decode_vs_position(gen: pd.DataFrame) -> Figure:
    """Per-token decode time vs generated position, one line per contender and generation mode."""
    title = "Per-token decode time vs position"
    lines = decode_per_position(gen)
    if not lines:
        return placeholder(title, COMMANDS["fig-decode"])
    fig, (ax,) = new_figure()
    for (label, mode), per_pos in lines.items():
        ax.plot(per_pos.index, per_pos.values, color=colour(label), linestyle=MODE_STYLE.get(mode, "-."),
                marker=".", markersize=3, label=f"{label} · {mode}")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.25)
    ax.set_xlabel("generated position (tokens)")
    ax.set_ylabel("decode time per token (ms, log)")
    ax.set_title(f"{title} (recompute / KV cache / recurrent state)", fontsize=11)
    legend(ax)
    return fit_legends(fig, [ax])


def throughput_vs_batch(tp: pd.DataFrame) -> Figure:
    """Inference throughput (tokens/s) as the batch grows at a fixed n."""
    title = "Inference throughput vs batch size"
    if not len(tp) or "tokens_per_s" not in tp:
        return placeholder(title, COMMANDS["fig-batch-throughput"])
    df = label_contenders(tp, extra=[("seq_len", lambda n: f"n={int(n)}")])
    fig, (ax,) = new_figure()
    styler = Styler()
    shown: set[int] = set()
    for label, g in df.groupby("contender", sort=True):
        med = medians(g, "tokens_per_s", ["batch"]).sort_values("batch")
        if len(med) > 1:  # a single batch is not a batching curve (e.g. a fixed-token-budget point)
            ax.plot(med["batch"], med["tokens_per_s"], label=str(label), markersize=4, **styler(str(label)))
            shown |= {int(n) for n in g["seq_len"]}
    if not shown:
        return placeholder(title, COMMANDS["fig-batch-throughput"])
    log_axes(ax)
    ax.set_xlabel("batch size (sequences)")
    ax.set_ylabel("inference tokens/s (higher is better)")
    ax.set_title(f"{title} (forward, n = {', '.join(map(str, sorted(shown)))})", fontsize=11)
    legend(ax)
    return fit_legends(fig, [ax])


def _memory_panel(ax: Axes, panel: MemoryPanel) -> None:
    loglog_lines(ax, label_contenders(panel.rows, extra=BATCH), "peak_bytes", scale=1 / MB)
    for i, cap in enumerate(panel.caps):
        ax.axhline(cap, color="#c0392b", linestyle=STYLES[i % len(STYLES)], linewidth=1.2,
                   label=f"memory cap: {cap:g} MB above baseline")
    for label, (n, y) in failed_points(panel).items():
        ax.plot(n, y, linestyle="none", marker="X", markersize=9, color=colour(label),
                markeredgecolor="black", label=f"{label}: failed (cap / out of memory)")
    ax.set_xlabel("sequence length n (tokens)")
    ax.set_ylabel("peak memory above baseline (MB)")
    legend(ax, loc="upper left")


def memory_vs_n(mem: pd.DataFrame, failed: pd.DataFrame | None = None, *, train_step: pd.DataFrame | None = None,
                forward: pd.DataFrame | None = None) -> Figure:
    """Peak memory above the trial's baseline vs n: training (left) and inference (right), the cap marked, failed
    trials drawn on the cap. Without memory-scenario rows a panel falls back to the train_step / batch-1
    forward_latency peaks (measured the same way, without a cap)."""
    title = "Memory vs sequence length"
    panels = memory_panels(mem, failed, train_step=train_step, forward=forward)
    if not panels:
        return placeholder(title, COMMANDS["fig-memory"])
    fig, axes = new_figure(10 if len(panels) > 1 else 7.5, 4.6, len(panels))
    for ax, panel in zip(axes, panels):
        _memory_panel(ax, panel)
        batches = ", ".join(str(int(b)) for b in sorted(panel.rows["batch"].dropna().unique()))
        ax.set_title(f"{panel.name}, batch {batches}\n({panel.source})", fontsize=9.5)
    fig.suptitle(f"{title} (measured peak RSS above the trial's baseline; log-log, slopes with 95% CI)", fontsize=11)
    return fit_legends(fig, axes)


def mfu_by_model(ts: pd.DataFrame, fl: pd.DataFrame | None = None) -> Figure:
    """Model FLOP utilisation (achieved FLOP/s over the GEMM peak measured in the same worker) per contender: a
    training step and an inference forward at the (n, batch) point measured for the most contenders."""
    title = "MFU per model"
    bars = mfu_bars(ts, fl)
    if bars is None:
        return placeholder(title, COMMANDS["fig-mfu"])
    labels, groups = bars.labels, bars.percent
    fig, (ax,) = new_figure(max(7.5, 1.3 * len(labels) + 3), 4.2)
    width = 0.8 / len(groups)
    x = np.arange(len(labels))
    for i, (name, values) in enumerate(groups.items()):
        drawn = ax.bar(x + (i - (len(groups) - 1) / 2) * width, values, width, label=name,
                       color="#4c72b0" if name.startswith("training") else "#dd8452")
        ax.bar_label(drawn, labels=[(f"{v:.1f}%" if v >= 1 else f"{v:.2g}%") if math.isfinite(v) else ""
                                    for v in values], fontsize=7.5)
    ax.set_xticks(x, labels, rotation=15 if len(labels) > 4 else 0, fontsize=8)
    ax.set_ylabel("MFU (% of the measured GEMM peak)")
    ax.set_title(f"{title} at n = {bars.n} (higher: the kernels use the hardware better)", fontsize=11)
    ax.grid(True, axis="y", alpha=0.25)
    legend(ax)
    return fit_legends(fig, [ax])
