"""The report as Markdown (``report.md``): the same tables and numbers as the HTML, figures linked from
``figures/<id>.png`` beside it."""

from __future__ import annotations

from seqarena.report.content import ReportContent
from seqarena.report.tables import ClaimRow, Table, essay_and_checks
from seqarena.report.verdicts import CHECKS_NOTE, RULE_NOTE


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table_md(t: Table, *, heading: str | None = "###") -> str:
    """A :class:`Table` as a pipe table, with its title and note."""
    lines = [f"{heading} {t.title}", ""] if heading else []
    if t.rows:
        lines.append("| " + " | ".join(_cell(c) or " " for c in t.columns) + " |")
        lines.append("|" + "|".join("---" for _ in t.columns) + "|")
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
    else:
        lines.append("No rows.")
    if t.note:
        lines += ["", f"_{_cell(t.note)}_"]
    return "\n".join(lines) + "\n"


def _claims(claims: list[ClaimRow]) -> str:
    lines = ["| id | claim | verdict | effect [CI] | threshold | margin | measured on |",
             "|---|---|---|---|---|---|---|"]
    for c in claims:
        lines.append(f"| [{c.id}](#evidence-{c.id}) | {_cell(c.short)} | **{c.words}** | {c.effect} {c.ci} | "
                     f"{_cell(c.threshold)} | {c.margin} | {_cell(c.scope)} |")
    return "\n".join(lines) + "\n"


def _claims_sections(rows: list[ClaimRow]) -> list[str]:
    """The essay's claims with the rule that decides a verdict, then the implementation checks apart."""
    essay, checks = essay_and_checks(rows)
    out = ["## Claims", "", _claims(essay), f"_{RULE_NOTE}_", ""]
    if checks:
        out += ["## Checks of the implementation", "", CHECKS_NOTE, "", _claims(checks)]
    return out


def _evidence(c: ClaimRow) -> str:
    title = f"{c.id}: {c.short}" + (" (implementation check)" if c.check else "")
    lines = [f'<a id="evidence-{c.id}"></a>', "", f"### {title}", "", f"> {c.quote}", "",
             f"- verdict: **{c.words}**"]
    if c.reason:
        lines.append(f"- {'why inconclusive' if c.status == 'inconclusive' else 'why'}: {c.reason}")
    lines += [f"- effect: {c.effect} {c.ci}", f"- measured quantity: {c.effect_name}", f"- threshold: {c.threshold}"]
    if c.zone:
        lines.append(f"- equivalence zone: {c.zone}")
    lines.append(f"- margin: {c.margin}")
    if c.conditions:
        lines.append(f"- conditions: {c.conditions}")
    if c.scope:
        lines.append(f"- measured on: {c.scope}")
    if c.sizes:
        lines.append(f"- measured: {c.sizes}")
    if c.provenance:
        lines.append(f"- provenance: {c.provenance}")
    lines += [f"- caveat: {x}" for x in c.caveats]
    lines.append("")
    if c.evidence.rows:
        lines.append(table_md(c.evidence, heading=None))
    return "\n".join(lines) + "\n"


def _data_section(rec: dict | None) -> list[str]:
    """``recommend --data``'s pick first: the user's question before the essay's claims."""
    if not rec:
        return []
    d = rec["data"]
    out = [f"## Your data: {d['path']} ({d['kind']}) → {rec['pick']}", "", *[f"- {_cell(x)}" for x in rec["lines"]],
           "", f"| model | status | test {d['metric']} | latency ms | infer MB |", "|---|---|---|---|---|"]
    for c in rec["candidates"]:
        fmt = lambda v, spec=".4g": "—" if v is None else format(v, spec)  # noqa: E731
        out.append(f"| {c['model']} | {c['status']} | {fmt(c['mean'])} | {fmt(c['latency_ms'], '.3g')} | "
                   f"{fmt(c['memory_mb'], '.3g')} |")
    out += ["", f"_Split: {_cell(d['split'])}. Baseline: {rec['baseline']}. The HTML report has the figures._", ""]
    return out


def render_markdown(c: ReportContent) -> str:
    """The whole report as Markdown."""
    out = ["# seqarena report — Transformer or RNN, measured on this machine", "",
           f"Built {c.generated} from `{c.db}` ({c.total_trials} stored trials, claims judged for the **{c.suite}** "
           f"suite on **{c.device}**). Nothing was re-measured: every number comes from the store. The HTML version "
           "(`index.html`) has the same content with the figures embedded.", "",
           *_data_section(c.data_recommendation),
           "## Hardware and settings", "", table_md(c.settings, heading=None), table_md(c.trials),
           *_claims_sections(c.claims),
           "## Figures", ""]
    for f in c.figures:
        d = f.definition
        out.append(f"### {d.title}")
        out.append("")
        out.append(f"![{d.title}](figures/{d.id}.png)")
        out.append("")
        text = d.caption if f.has_data else f"No data yet. {d.caption}"
        out.append(f"_{text}_" + (f" Measured under: {f.settings}." if f.settings and f.has_data else ""))
        out.append(f"More data: `{f.command or d.command}`")
        out.append("")
    perf = c.performance
    out += ["## Performance by sequence length", "",
            "The essay's table (\"Performance by Sequence Length\"), re-derived from this machine's medians.", "",
            table_md(perf.winners, heading=None), table_md(perf.crossovers), table_md(perf.slopes),
            table_md(perf.medians), "## Recommendation", ""]
    if c.recommendations is None:
        out += ["No recommendation was passed to this build (the recommender supplies one).", ""]
    elif not c.recommendations:
        out += ["The recommender returned no recommendation for this store.", ""]
    for r in c.recommendations or []:
        out += [f"### {r.title}", ""] + [f"- {x}" for x in r.lines] + [""]
    essay, checks = essay_and_checks(c.claims)
    out += ["## Evidence", ""] + [_evidence(row) for row in essay + checks]
    if c.comparison is not None:
        k = c.comparison
        out += ["## Compared with another store", "", k.intro, "", "![B / A per measurement](figures/compare.png)", "",
                table_md(k.scenarios), table_md(k.verdicts), table_md(k.measurements)]
    out += ["## Failed trials", "", table_md(c.failures, heading=None)]
    out += ["## Files", ""] + [f"- [{f}]({f})" for f in c.files] + [""]
    return "\n".join(out)
