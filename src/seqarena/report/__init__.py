"""The report: figures, tables and verdicts from the store, as self-contained HTML and Markdown.

``build_report(db, out_dir)`` rebuilds it without measuring anything; ``seqarena report`` calls it.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Served lazily, so the report's matplotlib-free parts (data, tables, figure_data) import without matplotlib.
_LAZY = {"build_report": "seqarena.report.build", "default_out_dir": "seqarena.report.build",
         "FIGURES": "seqarena.report.figures", "FIGURE_IDS": "seqarena.report.figures"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seqarena.report' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = ["FIGURES", "FIGURE_IDS", "build_report", "default_out_dir"]
