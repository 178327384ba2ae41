"""The quality figures: test metric against dependency distance, training-set size and learning rate, and
forecasting error beside the task's baselines."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from seqarena.analysis.labels import present
from seqarena.report.data import label_contenders, medians, numeric
from seqarena.report.figure_commands import COMMANDS
from seqarena.report.figure_data import Series, grid_series, quality_series
from seqarena.report.plotting import Styler, colour, fit_legends, int_axis, legend, new_figure, placeholder
from seqarena.store.columns import SPEC_TUNE_LR


def _quality_figure(series: list[Series], title: str, xlabel: str, *, band: bool, command: str,
                    xlog: bool = True) -> Figure:
    if not series:
        return placeholder(title, command)
    tasks = sorted({s.task for s in series})[:4]
    fig, axes = new_figure(max(7.5, min(4.2 * len(tasks) + 1.5, 16)), 4.4, len(tasks))
    for ax, task in zip(axes, tasks):
        styler = Styler()
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
            int_axis(ax.xaxis)
        ax.grid(True, which="both", alpha=0.25)
        ax.set_title(task, fontsize=10)
        legend(ax)
    fig.suptitle(title, fontsize=11)
    return fit_legends(fig, axes)


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
    fixed = train[~train[SPEC_TUNE_LR].astype(bool)] if len(train) and SPEC_TUNE_LR in train else train
    series = quality_series(fixed, "lr", min_points=3)
    title = "Learning-rate robustness (fixed learning rates, no tuning; x: diverged)"
    if not series and len(train) and "lr_grid" in train:
        series = grid_series(train)
        title = "Learning-rate robustness (validation metric over the LR tuning grids; x: diverged)"
    return _quality_figure(series, title, "learning rate", band=False, command=COMMANDS["fig-lr-robustness"])


def series_label(row: dict) -> str:
    """The data a forecast row was trained on: the user's file and column when it had one (a bundled dataset's
    default name stays in the parameters even then), else the bundled dataset."""
    file, column, dataset = (row.get(f"task.params.{k}") for k in ("file", "column", "dataset"))
    if present(file):
        return f"{Path(str(file)).name} [{column}]" if present(column) else Path(str(file)).name
    return str(dataset) if present(dataset) else "series"


def forecast_command(train: pd.DataFrame) -> str | None:
    """The command that adds a model to the forecast figure, on the data its rows were trained on (None: no rows)."""
    rows = train[train["task.task"] == "forecast"] if len(train) and "task.task" in train else pd.DataFrame()
    if not len(rows):
        return None
    r = rows.iloc[0].to_dict()
    file, column, dataset, lookback = (r.get(f"task.params.{k}") for k in ("file", "column", "dataset", "lookback"))
    bundled = dataset if present(dataset) else "sunspots"
    data = f"--file {file} --column {column}" if present(file) else f"--dataset {bundled}"
    look = f" --lookback {int(lookback)}" if present(lookback) else ""
    return f"seqarena train --model MODEL --task forecast {data}{look} --budget 500steps"


def forecasting(train: pd.DataFrame) -> Figure:
    """Forecasting test error per model beside the task's baselines (last value, seasonal naive, linear)."""
    title = "Forecasting vs baselines"
    rows = train[train["task.task"] == "forecast"] if len(train) and "task.task" in train else pd.DataFrame()
    if not len(rows):
        return placeholder(title, COMMANDS["fig-forecast"])
    df = label_contenders(rows)
    df = df.assign(_series=[series_label(r) for r in df.to_dict("records")],
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
