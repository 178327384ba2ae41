"""Everything one report shows, gathered once; the HTML and Markdown renderers only lay it out."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from seqarena.report.compare_section import ComparisonSection
from seqarena.report.figures import RenderedFigure
from seqarena.report.performance import Performance
from seqarena.report.tables import ClaimRow, Table


@dataclasses.dataclass
class Recommendation:
    """A recommendation as the report shows it: a title and lines of text."""

    title: str
    lines: list[str]


@dataclasses.dataclass
class ReportContent:
    """The report, ready to lay out."""

    db: Path
    suite: str
    device: str
    generated: str  # UTC timestamp
    total_trials: int
    settings: Table
    trials: Table
    claims: list[ClaimRow]
    figures: list[RenderedFigure]
    performance: Performance
    failures: Table
    recommendations: list[Recommendation] | None  # None: none were passed in
    files: list[str]  # the files written beside index.html (relative names)
    comparison: ComparisonSection | None = None  # report --compare B.db: the side-by-side section
    data_recommendation: dict | None = None  # recommend --data's newest result: the report leads with it


def normalize_recommendations(items: Iterable[Any] | None) -> list[Recommendation] | None:
    """Accept what a caller has: ``(title, lines)`` pairs, ``{"title": ..., "lines": [...]}`` dicts, objects with
    ``lines`` and a ``title`` / ``name`` / ``top`` (a :class:`seqarena.recommender.Recommendation` shows its profile
    and top choice), other dataclasses, or plain strings."""
    if items is None:
        return None
    out = []
    for item in items:
        out.append(_one(item))
    return out


def _lines(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [f"{k}: {v}" for k, v in value.items()]
    if isinstance(value, Iterable):
        return [str(x) for x in value]
    return [str(value)]


def _one(item: Any) -> Recommendation:
    if isinstance(item, Recommendation):
        return item
    if isinstance(item, str):
        return Recommendation(item, [])
    if isinstance(item, tuple) and len(item) == 2:
        return Recommendation(str(item[0]), _lines(item[1]))
    if not isinstance(item, Mapping) and hasattr(item, "lines"):  # e.g. seqarena.recommender.Recommendation
        title = next((str(getattr(item, k)) for k in ("title", "name", "top") if getattr(item, k, None)),
                     "recommendation")
        profile = getattr(item, "profile", None)
        if profile is not None and hasattr(profile, "describe"):
            title = f"{profile.describe()}: {title}"
        return Recommendation(title, _lines(item.lines))
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        item = dataclasses.asdict(item)
    elif hasattr(item, "model_dump"):  # pydantic
        item = item.model_dump()
    if isinstance(item, Mapping):
        d = dict(item)
        title = next((str(d.pop(k)) for k in ("title", "name", "architecture", "choice", "model") if k in d), "")
        lines = []
        for k in ("lines", "reasons", "text", "why", "summary"):
            if k in d:
                lines += _lines(d.pop(k))
        lines += [f"{k}: {v}" for k, v in d.items()]
        return Recommendation(title or "recommendation", lines)
    title = next((str(getattr(item, k)) for k in ("title", "name") if hasattr(item, k)), str(item))
    lines = next((_lines(getattr(item, k)) for k in ("reasons", "text") if hasattr(item, k)), [])
    return Recommendation(title, lines)
