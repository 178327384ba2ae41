"""The report: figures, tables and verdicts from the store, as self-contained HTML and Markdown.

``build_report(db, out_dir)`` rebuilds it without measuring anything; ``seqarena report`` calls it.
"""

from seqarena.report.build import build_report, default_out_dir
from seqarena.report.figures import FIGURE_IDS, FIGURES

__all__ = ["FIGURES", "FIGURE_IDS", "build_report", "default_out_dir"]
