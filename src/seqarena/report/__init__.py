"""The report: figures, tables and verdicts from the store, as self-contained HTML and Markdown.

``build_report(db, out_dir)`` rebuilds it without measuring anything; ``seqarena report`` calls it.
"""

from __future__ import annotations

from seqarena.lazy import lazy_exports

#: Served lazily, so the report's matplotlib-free parts (data, tables, figure_data) import without matplotlib.
_LAZY = {"build_report": "seqarena.report.build", "default_out_dir": "seqarena.report.build",
         "FIGURES": "seqarena.report.figures", "FIGURE_IDS": "seqarena.report.figures",
         "write_data_page": "seqarena.report.data_page"}


__getattr__, __dir__ = lazy_exports("seqarena.report", _LAZY, globals())


__all__ = ["FIGURES", "FIGURE_IDS", "build_report", "default_out_dir", "write_data_page"]
