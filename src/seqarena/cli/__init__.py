"""The ``seqarena`` command line: thin; each command parses, calls the Python API (:mod:`seqarena.job`, the
recommender, the report) and renders with rich.

Every user error (unknown model or spec field, bad option value) is one line on stderr and exit code 2.

- :mod:`~seqarena.cli.app`: the typer app, consoles, shared options, the entry point and its error mapping
- :mod:`~seqarena.cli.parsing`: option values (counts like 1.5M, budgets like 2m or 500steps, lists)
- :mod:`~seqarena.cli.render`, :mod:`~seqarena.cli.render_sweep`: rich tables and progress
- :mod:`~seqarena.cli.commands` (show, rebuild) and :mod:`~seqarena.cli.measure` (measure): the commands
"""

from seqarena.cli import commands as _commands  # noqa: F401  (registers list, tasks, demo, report, results)
from seqarena.cli import measure as _measure  # noqa: F401  (registers bench, train, claims, run, recommend)
from seqarena.cli.app import app, main
from seqarena.cli.parsing import parse_budget, parse_count
from seqarena.cli.render import report_contended, warn_if_busy

__all__ = ["app", "main", "parse_budget", "parse_count", "report_contended", "warn_if_busy"]
