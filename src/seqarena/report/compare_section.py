"""The report's side-by-side section (``seqarena report --compare B.db``): the tables and the figure of a
:class:`~seqarena.report.compare.Comparison`, ready for the HTML and Markdown renderers."""

from __future__ import annotations

import dataclasses

from seqarena.report.compare import Comparison, Shared
from seqarena.report.plotting import colour_for, new_figure, png
from seqarena.report.tables import Table


@dataclasses.dataclass
class ComparisonSection:
    """What the report shows of a comparison: an intro line, the per-measurement and per-scenario tables, a figure."""

    intro: str
    measurements: Table
    scenarios: Table
    verdicts: Table
    figure: bytes


def _ratio(ratio: float, ci: tuple[float, float] | None) -> str:
    return f"{ratio:.3g}" + (f" [{ci[0]:.3g}, {ci[1]:.3g}]" if ci else " (one round)")


def _model(s: Shared) -> str:
    return s.label.split(" ")[1] if " " in s.label else s.label


def _figure(c: Comparison) -> bytes:
    """B / A per shared measurement on a log axis, with its interval over rounds, coloured by model."""
    shared = c.shared[:60]  # a readable figure; the table holds every one
    fig, (ax,) = new_figure(width=7.5, height=max(2.5, 0.22 * len(shared) + 1.2))
    for i, s in enumerate(shared):
        lo, hi = s.ci if s.ci else (s.ratio, s.ratio)
        ax.errorbar([s.ratio], [i], xerr=[[s.ratio - lo], [hi - s.ratio]], fmt="o", color=colour_for(_model(s)),
                    capsize=2, markersize=4)
    ax.axvline(1.0, color="#657b83", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(range(len(shared)), [s.label for s in shared], fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("B / A (log scale; > 1: B slower or larger)")
    ax.set_title(f"B: {c.b.name} vs A: {c.a.name}" + ("" if c.same_machine else " (different machines)"),
                 fontsize=9)
    return png(fig)


def comparison_section(c: Comparison) -> ComparisonSection:
    """The tables and the figure of ``c``."""
    machines = (f"A ({c.a}) and B ({c.b}) were measured on the same machine ({c.machine_a})" if c.same_machine
                else f"A ({c.a}: {c.machine_a}) and B ({c.b}: {c.machine_b}) come from different machines: B / A "
                     "compares two machines, not two versions of the code")
    intro = (f"{machines}. {len(c.shared)} shared measurements (matched by spec without the round); only in A: "
             f"{c.only_a}, only in B: {c.only_b}. Intervals: Welch's t over each store's rounds, on the log scale.")
    measurements = Table("compare-measurements", "Shared measurements (B / A)",
                         ["measurement", "unit", "A", "B", "B / A", "rounds A/B"],
                         [[s.label, s.unit, f"{sum(s.a) / len(s.a):.4g}", f"{sum(s.b) / len(s.b):.4g}",
                           _ratio(s.ratio, s.ci), s.rounds] for s in c.shared])
    scenarios = Table("compare-scenarios", "Per scenario (geometric mean of the ratios)",
                      ["scenario", "B / A", "measurements"],
                      [[k, _ratio(r, ci), str(n)] for k, (r, ci, n) in c.by_scenario.items()])
    verdicts = Table("compare-verdicts", "Claims whose verdicts differ", ["claim", "A", "B"],
                     [[d["id"], f"{d['a'].status} {d['a'].effect:.3g}", f"{d['b'].status} {d['b'].effect:.3g}"]
                      for d in c.verdicts], note=c.verdict_note)
    return ComparisonSection(intro, measurements, scenarios, verdicts, _figure(c))
