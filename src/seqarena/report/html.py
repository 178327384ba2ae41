"""The report as one self-contained HTML page: inline CSS, figures as base64 PNG ``data:`` URIs, no scripts and no
external resources, so it opens offline and can be mailed as one file.

Stable anchors: every figure is ``<img id="fig-...">`` (see :data:`seqarena.report.figures.FIGURE_IDS`), every claim
row links to ``#evidence-<id>``, and the sections are ``#settings``, ``#claims``, ``#checks`` (when there are
implementation checks), ``#figures``, ``#performance``, ``#recommendations``, ``#evidence``, ``#failures``.
"""

from __future__ import annotations

import base64
from html import escape

from seqarena.report.content import ReportContent
from seqarena.report.data_page import section_html as data_section
from seqarena.report.figures import RenderedFigure
from seqarena.report.style import CSS
from seqarena.report.tables import ClaimRow, Table, essay_and_checks
from seqarena.report.verdicts import CHECKS_NOTE, RULE_NOTE

BADGE_COLOURS = {
    "supported": ("#1e7e34", "#ffffff"),
    "refuted": ("#c62828", "#ffffff"),
    "inconclusive": ("#f2b600", "#1a1a1a"),
    "not-applicable-here": ("#78909c", "#ffffff"),
    "not judged": ("#455a64", "#ffffff"),
}



def badge(status: str, words: str | None = None) -> str:
    """The status as a coloured badge; ``words``: its text when it says more ("refuted on this machine")."""
    bg, fg = BADGE_COLOURS.get(status, ("#9e9e9e", "#ffffff"))
    return (f'<span class="badge status-{escape(status.replace(" ", "-"))}" '
            f'style="background:{bg};color:{fg}">{escape(words or status)}</span>')


def _is_num(text: str) -> bool:
    t = text.replace(",", "").replace("×", "").replace("%", "").strip()
    try:
        float(t.split(" ")[0])
    except ValueError:
        return False
    return len(t.split(" ")) == 1


def table_html(t: Table, *, heading: bool = True, level: int = 3) -> str:
    """A :class:`Table` as HTML (numbers right-aligned), with its title and note."""
    parts = []
    if heading:
        parts.append(f'<h{level} id="{escape(t.id)}">{escape(t.title)}</h{level}>')
    if not t.rows:
        parts.append('<p class="note">No rows.</p>')
    else:
        head = "".join(f"<th>{escape(c)}</th>" for c in t.columns)
        body = []
        for row in t.rows:
            cells = "".join(f'<td class="num">{escape(c)}</td>' if _is_num(c) else f"<td>{escape(c)}</td>"
                            for c in row)
            body.append(f"<tr>{cells}</tr>")
        parts.append(f'<table class="data" data-table="{escape(t.id)}"><thead><tr>{head}</tr></thead>'
                     f'<tbody>{"".join(body)}</tbody></table>')
    if t.note:
        parts.append(f'<p class="note">{escape(t.note)}</p>')
    return "\n".join(parts)


def _claims_table(claims: list[ClaimRow], note: str = "") -> str:
    head = "".join(f"<th>{c}</th>" for c in ("id", "claim", "verdict", "effect [CI]", "threshold", "margin",
                                             "measured on", "evidence"))
    rows = []
    for c in claims:
        rows.append(
            f'<tr id="claim-{escape(c.id)}"><td><a href="#evidence-{escape(c.id)}">{escape(c.id)}</a></td>'
            f"<td>{escape(c.short)}</td><td>{badge(c.status, c.words)}</td>"
            f'<td class="num">{escape(c.effect)} {escape(c.ci)}</td><td class="num">{escape(c.threshold)}</td>'
            f'<td class="num">{escape(c.margin)}</td><td>{escape(c.scope)}</td>'
            f'<td><a href="#evidence-{escape(c.id)}">evidence</a></td></tr>')
    return (f'<table class="claims"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            + (f'<p class="note">{escape(note)}</p>' if note else ""))


def _checks(checks: list[ClaimRow]) -> str:
    """The implementation checks' own section (none: nothing, so the page has no empty heading)."""
    if not checks:
        return ""
    return (f'<section id="checks">\n<h2>Checks of the implementation</h2>\n<p class="note">{escape(CHECKS_NOTE)}</p>'
            f"\n{_claims_table(checks)}\n</section>")


def _evidence(c: ClaimRow) -> str:
    caveats = "".join(f"<li>{escape(x)}</li>" for x in c.caveats)
    facts = [("verdict", badge(c.status, c.words))]
    if c.reason:
        facts.append(("why inconclusive" if c.status == "inconclusive" else "why", escape(c.reason)))
    facts += [("effect", escape(f"{c.effect} {c.ci}")), ("measured quantity", escape(c.effect_name)),
              ("threshold", escape(c.threshold))]
    if c.zone:
        facts.append(("equivalence zone", escape(c.zone)))
    facts.append(("margin", escape(c.margin)))
    if c.conditions:
        facts.append(("conditions", escape(c.conditions)))
    if c.scope:
        facts.append(("measured on", escape(c.scope)))
    if c.sizes:
        facts.append(("measured", escape(c.sizes)))
    if c.provenance:
        facts.append(("provenance", escape(c.provenance)))
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    evidence = table_html(c.evidence, heading=False) if c.evidence.rows else '<p class="note">No evidence rows.</p>'
    kind = ' <span class="kind">(implementation check)</span>' if c.check else ""
    back = "checks" if c.check else "claims"
    return (f'<article class="evidence" id="evidence-{escape(c.id)}"><h3>{escape(c.id)}: {escape(c.short)}{kind}</h3>'
            f"<blockquote>{escape(c.quote)}</blockquote><dl class=\"facts\">{dl}</dl>"
            + (f'<ul class="caveats">{caveats}</ul>' if caveats else "")
            + f'{evidence}<p class="note"><a href="#{back}">back to the {back}</a></p></article>')


def _summary(rows: list[ClaimRow]) -> str:
    """'2 inconclusive, 1 refuted on this machine, 5 supported' (by status as shown, alphabetical)."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.words] = counts.get(row.words, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


def _figure(f: RenderedFigure) -> str:
    data = base64.b64encode(f.png).decode("ascii")
    d = f.definition
    settings = f'<span class="settings">Measured under: {escape(f.settings)}</span>' if f.settings and f.has_data \
        else ""
    cmd = f'<span class="cmd">More data: <code>{escape(f.command or d.command)}</code></span>'
    cls = "fig" if f.has_data else "fig missing"
    return (f'<figure class="{cls}"><img id="{escape(d.id)}" src="data:image/png;base64,{data}" '
            f'alt="{escape(d.title)}"><figcaption><strong>{escape(d.title)}.</strong> {escape(d.caption)}'
            f"{settings}{cmd}</figcaption></figure>")


def _recommendations(c: ReportContent) -> str:
    if c.recommendations is None:
        return ('<p class="note">No recommendation was passed to this build. The recommender turns these '
                "measurements into a choice for a given sequence length, data size and budget; build the report "
                "through it (or pass <code>recommendations=</code> to <code>build_report</code>) to show one here."
                "</p>")
    if not c.recommendations:
        return '<p class="note">The recommender returned no recommendation for this store.</p>'
    parts = []
    for r in c.recommendations:
        lines = "".join(f"<li>{escape(x)}</li>" for x in r.lines)
        parts.append(f'<div class="rec"><h3>{escape(r.title)}</h3>' + (f"<ul>{lines}</ul>" if lines else "")
                     + "</div>")
    return "".join(parts)


def _comparison(c: ReportContent) -> str:
    """The side-by-side section of ``report --compare`` ('' without one); its figure embedded like the others."""
    k = c.comparison
    if k is None:
        return ""
    img = base64.b64encode(k.figure).decode()
    return (f'<section id="compare">\n<h2>Compared with another store</h2>\n<p class="note">{escape(k.intro)}</p>\n'
            f'<img id="compare-figure" alt="B / A per measurement" src="data:image/png;base64,{img}">\n'
            f"{table_html(k.scenarios)}{table_html(k.verdicts)}{table_html(k.measurements)}\n</section>")


def render_html(c: ReportContent) -> str:
    """The whole report as one HTML string."""
    essay, checks = essay_and_checks(c.claims)
    mine = c.data_recommendation
    nav = "".join(f'<a href="#{k}">{v}</a>' for k, v in (
        *([("your-data", "Your data")] if mine else []), ("settings", "Hardware &amp; settings"), ("claims", "Claims"),
        *([("checks", "Checks")] if checks else []),
        ("figures", "Figures"),
        ("performance", "Performance by length"), ("recommendations", "Recommendation"), ("evidence", "Evidence"),
        *([("compare", "Compared")] if c.comparison is not None else []), ("failures", "Failures"),
        ("files", "Files")))
    files = "".join(f'<li><a href="{escape(f)}">{escape(f)}</a></li>' for f in c.files)
    perf = c.performance
    summary = escape(_summary(essay)) or "none"
    if checks:
        summary += f"; checks of the implementation (not evidence): {escape(_summary(checks))}"
    body = f"""
<header>
<h1>seqarena report — Transformer or RNN, measured on this machine</h1>
<p class="meta">Built {escape(c.generated)} from <code>{escape(str(c.db))}</code> ({c.total_trials} stored trials,
claims judged for the <strong>{escape(c.suite)}</strong> suite on <strong>{escape(c.device)}</strong>). Nothing was
re-measured: every number below comes from the store. Claims: {summary}.</p>
<nav>{nav}</nav>
</header>
<main>
{data_section(mine) if mine else ""}
<section id="settings">
<h2>Hardware and settings</h2>
{table_html(c.settings, heading=False)}
{table_html(c.trials)}
</section>
<section id="claims">
<h2>Claims</h2>
{_claims_table(essay, RULE_NOTE)}
</section>
{_checks(checks)}
<section id="figures">
<h2>Figures</h2>
{"".join(_figure(f) for f in c.figures)}
</section>
<section id="performance">
<h2>Performance by sequence length</h2>
<p class="note">The essay's table ("Performance by Sequence Length"), re-derived from this machine's medians.</p>
{table_html(perf.winners, heading=False)}
{table_html(perf.crossovers)}
{table_html(perf.slopes)}
{table_html(perf.medians)}
</section>
<section id="recommendations">
<h2>Recommendation</h2>
{_recommendations(c)}
</section>
<section id="evidence">
<h2>Evidence</h2>
{"".join(_evidence(row) for row in essay + checks)}
</section>
{_comparison(c)}
<section id="failures">
<h2>Failed trials</h2>
{table_html(c.failures, heading=False)}
</section>
<section id="files">
<h2>Files</h2>
<ul>{files}</ul>
</section>
</main>
"""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>seqarena report</title>\n"
            f'<link rel="icon" href="data:,">\n'  # no favicon request: the page loads nothing from anywhere
            f"<style>{CSS}</style>\n</head>\n<body>{body}</body>\n</html>\n")
