"""``seqarena compare A.db B.db``: two stores side by side, and a regression gate for CI."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from seqarena.cli.app import AsJson, app, fail, out
from seqarena.cli.parsing import finite
from seqarena.errors import SpecError

if TYPE_CHECKING:
    from seqarena.report.compare import Comparison


def _ratio(ratio: float, ci: tuple[float, float] | None) -> str:
    return f"{ratio:.3g}" + (f" [{ci[0]:.3g}, {ci[1]:.3g}]" if ci else " (one round: no interval)")


def _value(values: list[float], unit: str) -> str:
    from seqarena.analysis.labels import fmt_number

    mean = float(sum(values) / len(values))
    return fmt_number(mean / 2**20, ".4g") + " MB" if unit == "peak bytes" else f"{fmt_number(mean)} {unit}"


def print_comparison(c: Comparison, fail_above: float | None) -> None:
    """The side-by-side table, the per-scenario summary and the claims whose verdicts differ."""
    out.print(f"A: {c.a} ({c.machine_a})\nB: {c.b} ({c.machine_b})", highlight=False)
    if not c.same_machine:
        out.print("[bold]different machines[/bold]: B / A compares two machines, not two versions of the code")
    table = Table(title="shared measurements (B / A; interval over rounds, Welch t on logs)", title_justify="left")
    for col, justify in (("measurement", "left"), ("A", "right"), ("B", "right"), ("B / A", "left"),
                         ("rounds A/B", "right")):
        table.add_column(col, justify=justify)
    slow = {id(s) for s in c.regressions(fail_above)} if fail_above else set()
    for s in c.shared:
        mark = " [bold red]slower[/]" if id(s) in slow else ""
        table.add_row(s.label, _value(s.a, s.unit), _value(s.b, s.unit), _ratio(s.ratio, s.ci) + mark, s.rounds)
    out.print(table)
    summary = Table(title="per scenario (geometric mean of the ratios)", title_justify="left")
    for col in ("scenario", "B / A", "measurements"):
        summary.add_column(col)
    for scenario, (ratio, ci, n) in c.by_scenario.items():
        summary.add_row(scenario, _ratio(ratio, ci), str(n))
    out.print(summary)
    out.print(f"only in A: {c.only_a} measurement(s); only in B: {c.only_b}", highlight=False)
    if c.verdicts:
        out.print(f"claims whose verdicts differ ({c.verdict_note}):", highlight=False)
        for d in c.verdicts:
            out.print(f"  {d['id']}: A {d['a'].status} {d['a'].effect:.3g}, B {d['b'].status} {d['b'].effect:.3g}",
                      highlight=False)
    else:
        out.print(f"no claim's verdict differs ({c.verdict_note})", highlight=False)


@app.command("compare")
def compare_command(
    a: Annotated[Path, typer.Argument(help="The baseline store (SQLite).")],
    b: Annotated[Path, typer.Argument(help="The store compared with it: ratios are B / A.")],
    fail_above: Annotated[float | None, typer.Option(
        callback=finite, help="Exit 1 when a measurement's B / A interval lies wholly above this (e.g. 1.10).")
    ] = None,
    suite: Annotated[str, typer.Option(help="The claims suite whose verdicts are compared.")] = "quick",
    as_json: AsJson = False,
) -> None:
    """Compare two results stores: shared measurements side by side with B / A and its interval, a summary per
    scenario, the claims whose verdicts differ; with --fail-above, a regression gate."""
    from seqarena.cli.render import print_json
    from seqarena.report.compare import compare_stores

    if fail_above is not None and fail_above <= 0:
        raise SpecError(f"--fail-above must be positive, got {fail_above:g}")
    if a.exists() and b.exists() and a.resolve() == b.resolve():  # every ratio would be 1 by construction
        raise SpecError(f"both stores are {a}: compare a store with another one")
    c = compare_stores(a, b, suite=suite)
    regressions = c.regressions(fail_above) if fail_above else []
    if as_json:
        print_json({"a": str(c.a), "b": str(c.b), "machine_a": c.machine_a, "machine_b": c.machine_b,
                    "same_machine": c.same_machine,
                    "shared": [{"scenario": s.scenario, "measurement": s.label, "unit": s.unit, "a": s.a, "b": s.b,
                                "ratio": s.ratio, "ci": s.ci} for s in c.shared],
                    "by_scenario": {k: {"ratio": r, "ci": ci, "n": n} for k, (r, ci, n) in c.by_scenario.items()},
                    "verdicts_differ": [{"id": d["id"], "a": d["a"].status, "b": d["b"].status} for d in c.verdicts],
                    "regressions": [s.label for s in regressions]})
    else:
        print_comparison(c, fail_above)
    if regressions:
        what = "slower or larger" + ("" if c.same_machine else " (on a different machine)")
        fail(f"{len(regressions)} measurement(s) {what} than {fail_above:g}x A beyond their interval", 1)
