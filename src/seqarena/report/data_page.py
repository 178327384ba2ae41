"""The data recommendation as HTML: a section the report leads with, and a self-contained page of its own.

Everything is drawn from the recommendation's dict (:meth:`seqarena.recommender.DataRecommendation.to_dict`, as
the store keeps it), so a report built later from the store alone shows the same section. Figures: quality against
latency and against memory (the Pareto view: intervals over runs, budgets drawn, the baseline as a line), and each
candidate's validation curve.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

from matplotlib.ticker import NullFormatter, ScalarFormatter

from seqarena.analysis.labels import fmt_gain, fmt_mean_ci
from seqarena.report.plotting import colour, legend, new_figure, png
from seqarena.report.style import CSS

SECTION_ID = "your-data"


def pareto_png(rec: dict[str, Any]) -> bytes:
    """Test metric (mean, 95% CI over runs) against latency and against inference memory, one point per candidate;
    dashed: the budgets; dotted: the best baseline."""
    d, s = rec["data"], rec["settings"]
    fig, axes = new_figure(10, 4.2, panels=2)
    base = rec["baselines"].get(rec["baseline"], {}).get(d["metric"])
    for ax, key, unit, budget in ((axes[0], "latency_ms", "latency per call, ms", s.get("latency_budget_ms")),
                                  (axes[1], "memory_mb", "inference peak, MB", s.get("memory_cap_mb"))):
        for c in rec["candidates"]:
            x, y = c.get(key), c.get("mean")
            if x is None or y is None:
                continue
            err = None if not c.get("ci") else [[y - c["ci"][0]], [c["ci"][1] - y]]
            marker = "*" if c["model"] == rec["pick"] else "o"
            ax.errorbar([x], [y], yerr=err, fmt=marker, ms=12 if marker == "*" else 7, capsize=3,
                        color=colour(c["model"]), label=f"{c['model']} ({c['status']})")
        if base is not None:
            ax.axhline(base, ls=":", color="#555555", label=f"baseline: {rec['baseline']}")
        if budget is not None:
            ax.axvline(budget, ls="--", color="#c62828", label="budget")
        xs = [c[key] for c in rec["candidates"] if c.get(key)]
        if xs and max(xs) / min(xs) > 10:  # a log axis only where the costs span a decade (else its labels clash)
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(f"{unit} (n = {d['seq_len']}, batch {s['batch']}, {s['threads']} threads)")
        ax.set_ylabel(f"test {d['metric']} ({'higher' if d['higher_is_better'] else 'lower'} is better)")
        lows = [c["ci"][0] if c.get("ci") else c.get("mean") for c in rec["candidates"] if c.get("mean") is not None]
        if not d["higher_is_better"] and lows and min(lows) > 0:  # a loss: its intervals come from the log scale
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.grid(alpha=0.3)
    legend(axes[1])
    fig.suptitle(f"quality vs cost on {Path(d['path']).name}: the pick is the star", fontsize=11)
    return png(fig)


def curves_png(rec: dict[str, Any]) -> bytes:
    """Validation metric against training seconds, the first run of each candidate."""
    d = rec["data"]
    fig, axes = new_figure(7.5, 4.0)
    ax = axes[0]
    key = f"val_{d['metric']}"
    for label, curve in rec["curves"].items():
        pts = [(p["wall_s"], p[key]) for p in curve if key in p]
        if pts:
            ax.plot(*zip(*pts, strict=True), marker=".", color=colour(label), label=label)
    base = rec["baselines"].get(rec["baseline"], {}).get(d["metric"])
    if base is not None:
        ax.axhline(base, ls=":", color="#555555", label=f"baseline (test): {rec['baseline']}")
    ax.set_xlabel("training seconds (run 1, at the tuned learning rate)")
    ax.set_ylabel(f"validation {d['metric']}")
    ax.grid(alpha=0.3)
    legend(ax)
    return png(fig)


def _img(data: bytes, ident: str, alt: str) -> str:
    return (f'<figure class="fig"><img id="{ident}" alt="{escape(alt)}" '
            f'src="data:image/png;base64,{base64.b64encode(data).decode()}"></figure>')


def _fmt(v: Any, spec: str = ".4g") -> str:
    return "—" if v is None else format(v, spec)


def _rows(rec: dict[str, Any]) -> str:
    d = rec["data"]
    head = ("model", "status", f"test {d['metric']} [95% CI]", f"gain over {rec['baseline']}", "latency ms",
            "infer MB", "train MB", "lr", "to best s", "trials", "why")
    out = ["<tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for c in rec["candidates"]:
        trials = ", ".join(f"#{t}" for t in c["trials"])
        cells = (c["model"], c["status"], fmt_mean_ci(c["mean"], c.get("ci")),
                 fmt_gain(c.get("gain"), c.get("gain_ci")), _fmt(c["latency_ms"], ".3g"),
                 _fmt(c["memory_mb"], ".3g"), _fmt(c.get("train_memory_mb"), ".3g"), _fmt(c["lr"], "g"),
                 _fmt(c.get("time_to_best_s"), ".3g"), trials, c.get("why") or "")
        out.append("<tr>" + "".join(f"<td>{escape(str(x))}</td>" for x in cells) + "</tr>")
    for name, scores in rec["baselines"].items():
        best = " (best on validation)" if name == rec["baseline"] else ""
        out.append(f"<tr><td>{escape(name)}</td><td>baseline{best}</td><td>{_fmt(scores.get(d['metric']))}</td>"
                   + "<td></td>" * 8 + "</tr>")
    return "<table>" + "".join(out) + "</table>"


def _tuning(rec: dict[str, Any]) -> str:
    out = ["<tr><th>model</th><th>learning rate</th><th>status</th><th>validation</th><th>trial</th></tr>"]
    for model, tried in rec["tuning"].items():
        for p in tried:
            out.append(f"<tr><td>{escape(model)}</td><td>{p['lr']:g}</td><td>{escape(str(p['status']))}</td>"
                       f"<td>{_fmt(p['val'])}</td><td>{'#' + str(p['trial']) if p['trial'] else '—'}</td></tr>")
    return "<table>" + "".join(out) + "</table>"


def section_html(rec: dict[str, Any], heading: str = "h2") -> str:
    """The recommendation's section: the pick and its lines, the table, the figures, tuning, split, machine."""
    d, s, b, m = rec["data"], rec["settings"], rec["budget"], rec["machine"]
    lines = "".join(f"<li>{escape(x)}</li>" for x in rec["lines"])
    failures = ("<p class='note'>Failed or missing trials: " + escape("; ".join(rec["failures"])) + "</p>"
                if rec["failures"] else "")
    model = (f"<p>The picked model is saved at <code>{escape(rec['model_path'])}</code> "
             "(<code>seqarena.models.load(path)</code>).</p>" if rec.get("model_path") else "")
    return f"""
<section id="{SECTION_ID}">
<{heading}>Your data: {escape(Path(d['path']).name)} ({escape(d['kind'])}) → {escape(rec['pick'])}</{heading}>
<div class="rec"><ul>{lines}</ul></div>
{model}
<p class="note">Rule: candidates must beat the best baseline (paired gain over runs, 95% t-interval above 0); those
breaking a budget rank below those that meet them; the rest rank by mean test {escape(d['metric'])}; candidates whose
mean loss (MSE, bits per character, or error rate) is within {s['margin']:.0%} of the best's are tied, and the tie goes
to the lower latency, then memory.</p>
{_rows(rec)}
{_img(pareto_png(rec), "fig-data-pareto", "quality against latency and memory")}
{_img(curves_png(rec), "fig-data-curves", "validation curves")}
<h3>Learning-rate tuning (validation, seed 0)</h3>
{_tuning(rec)}
<dl class="facts">
<dt>split</dt><dd>{escape(d['split'])}</dd>
<dt>budget</dt><dd>{s['budget_s']:g} s in all; {b['per_candidate_s']:.0f} s per candidate: {b['grid']} learning rates
x {b['tune_s']:.1f} s, then {b['runs']} runs x {b['run_s']:.1f} s with early stopping on validation</dd>
<dt>models</dt><dd>~{s['params']:,} parameters each, float32, training batch {s['train_batch']}</dd>
<dt>cost measured</dt><dd>n = {d['seq_len']}, batch {s['batch']}, {s['threads']} threads: forward latency (median
of 3 interleaved rounds), peak memory of inference and of a training step</dd>
<dt>machine</dt><dd>{escape(str(m['cpu']))}; torch {escape(m['torch'])}, Python {escape(m['python'])}</dd>
<dt>store</dt><dd><code>{escape(rec['db'])}</code></dd>
</dl>
{failures}
</section>"""


def write_data_page(rec: dict[str, Any], path: Path | str) -> Path:
    """A self-contained HTML page of the recommendation (inline CSS, embedded figures)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    html = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>seqarena recommend: "
            f"{escape(rec['pick'])}</title><style>{CSS}</style></head><body><main>"
            f"{section_html(rec, 'h1')}</main></body></html>")
    path.write_text(html, encoding="utf-8")
    return path
