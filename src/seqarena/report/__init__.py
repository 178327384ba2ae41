"""The report: figures, tables and verdicts from the store, as self-contained HTML and Markdown."""
