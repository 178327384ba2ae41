"""The report's figures: one function per figure (:mod:`~seqarena.report.speed_figures`,
:mod:`~seqarena.report.quality_figures`), each taking DataFrames of stored trials and returning a matplotlib
:class:`~matplotlib.figure.Figure`, and the catalogue here that names, captions and renders them.

Points are medians over rounds (timing) or seeds (quality); log-log fits use every round's value, as the claims do.
A figure with nothing to show is a placeholder that says which command fills it (:func:`placeholder`), never an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pandas as pd
from matplotlib.figure import Figure

from seqarena.report.data import ReportData
from seqarena.report.figure_commands import COMMANDS
from seqarena.report.figure_data import with_diverged
from seqarena.report.plotting import is_placeholder, placeholder, png
from seqarena.report.quality_figures import (
    accuracy_vs_distance,
    forecast_command,
    forecasting,
    lr_robustness,
    sample_efficiency,
)
from seqarena.report.speed_figures import (
    decode_vs_position,
    latency_vs_n,
    memory_vs_n,
    mfu_by_model,
    throughput_vs_batch,
    train_throughput_vs_n,
)


@dataclasses.dataclass(frozen=True)
class FigureDef:
    """A figure of the report: its stable id (the HTML ``<img id>``), title, what it shows, and how to draw it."""

    id: str
    title: str
    caption: str
    scenarios: tuple[str, ...]  # whose rows it reads (their settings go under it)
    draw: Callable[[ReportData], Figure]
    #: the command for the data at hand (e.g. the user's forecast file), when the figure has one; else COMMANDS
    command_for: Callable[[ReportData], str | None] | None = None

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
              ("train",), lambda d: accuracy_vs_distance(with_diverged(d.get("train"), d.failed_rows("train")))),
    FigureDef("fig-sample-efficiency", "Sample efficiency",
              "Test metric against the number of training examples; line: median over seeds, band: min–max over "
              "seeds.", ("train",), lambda d: sample_efficiency(with_diverged(d.get("train"), d.failed_rows("train")))),
    FigureDef("fig-lr-robustness", "Learning-rate robustness",
              "Test metric of runs at fixed learning rates (no tuning); a wide flat region means the model tolerates "
              "more learning rates. Crosses mark runs that diverged.",
              ("train",), lambda d: lr_robustness(with_diverged(d.get("train"), d.failed_rows("train")))),
    FigureDef("fig-forecast", "Forecasting vs baselines",
              "Test error on real series (standardised) for each model beside the last-value, seasonal-naive and "
              "linear baselines of the same split.", ("train",), lambda d: forecasting(d.get("train")),
              lambda d: forecast_command(d.get("train"))),
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
    command: str = ""  # the command that adds data to it (shown under it)


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
        command = (f.command_for(data) if f.command_for else None) or f.command
        out.append(RenderedFigure(f, png(fig), not is_placeholder(fig), settings(used), error, command))
    return out
