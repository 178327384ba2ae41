"""The ``seqarena`` command line: thin; each command parses, calls the Python API (:mod:`seqarena.job`, the
recommender, the report) and renders with rich.

Every user error (unknown model or spec field, bad option value) is one line on stderr and exit code 2.

- :mod:`~seqarena.cli.app`: the typer app, consoles, shared options, the entry point and its error mapping
- :mod:`~seqarena.cli.parsing`: option values (counts like 1.5M, budgets like 2m or 500steps, lists)
- :mod:`~seqarena.cli.render`, :mod:`~seqarena.cli.render_sweep`: rich tables and progress
- :mod:`~seqarena.cli.commands` (show, rebuild), :mod:`~seqarena.cli.measure` (measure) and
  :mod:`~seqarena.cli.recommend`: the commands; :mod:`~seqarena.cli.render_data`: recommend --data's output
"""

from __future__ import annotations

from seqarena.cli.parsing import parse_budget, parse_count
from seqarena.lazy import lazy_exports


def main(argv: list[str] | None = None) -> None:
    """Console entry point (:func:`seqarena.cli.app.main`). The commands, and the whole API they call (scipy, pandas,
    matplotlib), are imported when the CLI runs, not when this package is imported: every trial worker is started
    with ``spawn``, which re-imports the console script's module, and must not pay for them (~2 s per worker here)."""
    from seqarena.cli import commands, compare, measure, recommend  # noqa: F401  (register the commands on the app)
    from seqarena.cli.app import main as run

    run(argv)


_LAZY = {"warn_if_busy": "seqarena.cli.render", "report_contended": "seqarena.cli.render"}
__getattr__, __dir__ = lazy_exports("seqarena.cli", _LAZY, globals())

__all__ = ["main", "parse_budget", "parse_count", "report_contended", "warn_if_busy"]
