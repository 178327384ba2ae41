"""The plotting kit every report figure is drawn with: bare Agg figures (no pyplot, no global state, no display),
one colour per model, line styles, log axes with plain numbers, legends that make room, placeholders and PNG bytes.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter

from seqarena.analysis.labels import fmt_compact
from seqarena.analysis.scaling import fit_loglog
from seqarena.errors import SpecError
from seqarena.essay import ATTN, RNN
from seqarena.models import families, family_of
from seqarena.models.hf_families import FAMILIES as HF_FAMILIES
from seqarena.models.hf_families import PREFIX as HF_PREFIX
from seqarena.report.data import medians, numeric

NO_DATA = "no-data"  # the label of a placeholder figure
DPI = 110

#: Stable colours per model family, so a model has one colour in every figure.
#: One palette per model family (recurrent: blues and greens, attention: oranges and reds, hybrid: greys and
#: olives), so a figure reads by family at a glance; within a family, the essay's contender comes first, then the
#: registered models in order. A model of no known family (a user's class without one) gets a stable pick of _OTHER.
_PALETTES = {
    "recurrent": ["#1f77b4", "#2ca02c", "#17becf", "#9467bd", "#393b79", "#637939", "#3182bd", "#31a354",
                  "#6baed6", "#74c476", "#5254a3", "#9ecae1"],
    "attention": ["#ff7f0e", "#d62728", "#e377c2", "#8c564b", "#bcbd22", "#e6550d", "#843c39", "#ffbb78",
                  "#fd8d3c", "#ad494a"],
    "hybrid": ["#7f7f7f", "#98df8a", "#8c6d31", "#7b4173"],
}
_OTHER = ["#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354"]
STYLES = ["-", "--", ":", "-."]
MODE_STYLE = {"state": "-", "cache": "--", "recompute": ":"}


def colour_for(model: str) -> str:
    """The colour of a model, from its family's palette. Every colour lookup goes through here."""
    try:
        fam = family_of(model)
    except SpecError:  # a label that names no model (e.g. a baseline): a stable pick
        fam = None
    if fam not in _PALETTES:
        return _OTHER[sum(map(ord, model)) % len(_OTHER)]
    members = [m for m in (RNN, ATTN) if family_of(m) == fam]
    members += [m for m, f in families().items() if f == fam and m not in members]
    members += [f.label for f in HF_FAMILIES if f.family == fam]  # each HF architecture its own shade
    palette = _PALETTES[fam]
    # a model outside the registry (import path) gets a stable shade of its family
    index = members.index(model) if model in members else sum(map(ord, model))
    return palette[index % len(palette)]


def colour(label: str) -> str:
    """The colour of a contender (``model:options · settings``): its model's."""
    head = label.split(" · ")[0]
    parts = head.split(":")
    return colour_for(":".join(parts[:2]) if head.startswith(HF_PREFIX) else parts[0])


class Styler:
    """Colour by model family; a second contender of the same family in one axes gets the next line style."""

    def __init__(self) -> None:
        self.used: dict[str, int] = {}

    def __call__(self, label: str) -> dict[str, Any]:
        c = colour(label)
        k = self.used.get(c, 0)
        self.used[c] = k + 1
        return {"color": c, "linestyle": STYLES[k % len(STYLES)], "marker": "os^Dv<>"[k % 7]}


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


def slope_label(label: str, n: pd.Series, y: pd.Series) -> tuple[str, Any]:
    fit = fit_loglog(list(n), list(y))
    if fit is None:
        return label, None
    return f"{label} (slope {fit})", fit


def draw_fit(ax: Axes, fit: Any, scale: float, style: dict[str, Any]) -> None:
    xs = np.geomspace(fit.n_range[0], fit.n_range[1], 20)
    ax.plot(xs, [fit.predict(x) * scale for x in xs], color=style["color"], linestyle=(0, (1, 1)), linewidth=1,
            alpha=0.8)


def loglog_lines(ax: Axes, df: pd.DataFrame, metric: str, *, scale: float = 1.0, fit: bool = True) -> int:
    """One line per contender: per-n medians of ``metric`` (times ``scale``), with the log-log slope in the legend
    and the fitted line dotted over the range it was fitted on. Returns the number of lines drawn."""
    styler = Styler()
    drawn = 0
    for label, g in df.groupby("contender", sort=True):
        y = numeric(g, metric)
        g = g[y.notna() & (y > 0)]
        if not len(g):
            continue
        med = medians(g, metric, ["seq_len"]).sort_values("seq_len")
        style = styler(str(label))
        text, f = slope_label(str(label), g["seq_len"], numeric(g, metric)) if fit else (str(label), None)
        ax.plot(med["seq_len"], med[metric] * scale, label=text, markersize=4, **style)
        if f is not None:
            draw_fit(ax, f, scale, style)
        drawn += 1
    log_axes(ax)
    return drawn


def legend(ax: Axes, **kw: Any) -> None:
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


def int_axis(axis: Any, base: float = 10) -> None:
    """Plain numbers (16, 1,024, 250k) on a log axis."""
    axis.set_major_formatter(_Compact(base=base))
    axis.set_minor_formatter(_Compact(base=base, labelOnlyBase=False))


def fit_legends(fig: Figure, axes: list[Axes]) -> Figure:
    """Grow the figure so legends placed below the axes (more than 4 entries) have room."""
    entries = max((len(ax.get_legend_handles_labels()[0]) for ax in axes), default=0)
    if entries > 4:
        w, h = fig.get_size_inches()
        fig.set_size_inches(w, h + 0.16 * entries + 0.2)
    return fig


def log_axes(ax: Axes) -> None:
    """Log-log axes (base 2 along x) with plain-number ticks and a light grid."""
    ax.set_xscale("log", base=2)
    int_axis(ax.xaxis, 2)
    ax.set_yscale("log")
    int_axis(ax.yaxis)
    ax.grid(True, which="both", alpha=0.25)
