"""Build the report from the store, without measuring anything.

``build_report`` loads every stored trial, judges the claims from what is there (``judge_claims``), draws the
figures, derives the tables, and writes beside each other:

- ``index.html``: self-contained (inline CSS, embedded PNGs, no scripts), opens offline;
- ``report.md``: the same tables and numbers, figures linked from ``figures/``;
- ``figures/<id>.png``: each figure;
- ``results.json`` / ``results.csv``: every trial (the store's export, per-call samples included);
- ``claims.json``: every verdict with its effect, interval, threshold, zone, margin, reason, evidence, caveats,
  provenance and whether it is an implementation check (strict JSON: NaN / inf are null).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from seqarena.claims import ClaimsPlan, Suite, Verdict, judge_claims, resolve_suite, select
from seqarena.report.compare import compare_stores
from seqarena.report.compare_section import comparison_section
from seqarena.report.content import ReportContent, normalize_recommendations
from seqarena.report.data import load_data, settings_line
from seqarena.report.figures import render_all
from seqarena.report.html import render_html
from seqarena.report.markdown import render_markdown
from seqarena.report.performance import performance
from seqarena.report.tables import claim_rows, failures_table, settings_table, trials_table
from seqarena.report.verdicts import jsonable
from seqarena.store import Store, export
from seqarena.store.errors import StoreError
from seqarena.store.outputs import atomic_dir, check_output_dir
from seqarena.store.sqlite import now

#: What a report folder holds: the only names a rebuild may replace.
REPORT_FILES = frozenset({"index.html", "report.md", "results.json", "results.csv", "claims.json", "figures"})


def default_out_dir(db: Path | str) -> Path:
    """``<store folder>/report``: ``seqarena-results/report`` for the default store."""
    return Path(db).parent / "report"


def judge(suite: str | dict[str, Any] | Suite, db: Path, device: str, known: Iterable[Verdict] = ()
          ) -> tuple[list[Any], dict[str, Any], dict[str, str]]:
    """(claims, verdict by id, error by id): the ``known`` verdicts (judged by the job that measured them) as they
    are, every other claim judged from the store with one plan. If that raises, one by one, so a claim whose
    predicate fails shows as 'not judged' with the error instead of taking the report down."""
    claims = select()
    by_id: dict[str, Any] = {v.claim: v for v in known}
    rest = [c.id for c in claims if c.id not in by_id]
    if not rest:
        return claims, by_id, {}
    try:
        verdicts = judge_claims(ClaimsPlan.build(suite, rest, device=device), db=str(db))
        return claims, {**by_id, **{v.claim: v for v in verdicts}}, {}
    except Exception:  # judged again one by one below; each error is shown in the report
        pass
    errors = {}
    for cid in rest:
        try:  # "8" also selects "8b": keep the verdict of this claim
            plan = ClaimsPlan.build(suite, [cid], device=device)
            by_id[cid] = next(v for v in judge_claims(plan, db=str(db)) if v.claim == cid)
        except Exception as e:  # shown in the report, never hidden
            errors[cid] = f"could not be judged: {type(e).__name__}: {e}"
    return claims, by_id, errors


def stored_recommendations(db: Path) -> list[tuple[str, list[str]]] | None:
    """The recommendations the store at ``db`` keeps (the newest per profile), as (title, lines), each naming the
    store and trial ids it was made from; None when it keeps none."""
    with Store(db, readonly=True) as store:
        kept = store.recommendations()
    out = []
    for r in kept:
        if "result" in r["profile"]:  # recommend --data's: the report leads with the newest (stored_data_result)
            continue
        ids = r["trial_ids"]
        rows = f"trials #{ids[0]}-#{ids[-1]} ({len(ids)})" if ids else "no trials"
        out.append((r["title"], [*r["lines"], f"made {r['created_at']} from the store {db}: {rows}"]))
    return out or None


def stored_data_result(db: Path) -> dict | None:
    """The newest ``recommend --data`` result the store keeps (its whole dict), or None."""
    with Store(db, readonly=True) as store:
        kept = [r for r in store.recommendations() if "result" in r["profile"]]
    return max(kept, key=lambda r: r["created_at"])["profile"]["result"] if kept else None


def build_report(
    db: Path | str,
    out_dir: Path | str | None = None,
    *,
    suite: str | dict[str, Any] | Suite = "quick",
    device: str = "cpu",
    recommendations: Iterable[Any] | None = None,
    compare: Path | str | None = None,
    verdicts: Iterable[Verdict] = (),
) -> Path:
    """Rebuild the report from the store at ``db`` into ``out_dir`` (default: ``report/`` beside the store) and
    return the path of ``index.html``.

    Args:
        suite: the claims suite whose trials the verdicts are judged from (``quick`` or ``full``).
        device: the device the claims were measured on (part of each trial's identity).
        recommendations: what the recommender suggests, shown in the Recommendation section: ``(title, lines)``
            pairs, dicts or objects with ``title`` and ``lines``; None: those the store keeps (the newest per
            profile, each naming the store and trial ids it rests on), else a note that there are none.
        compare: another store: adds the side-by-side section (its measurements / this store's, with intervals over
            rounds) and its figure (``figures/compare.png``).
        verdicts: verdicts the calling job already judged (``run_job``): shown as they are, not judged again; the
            other claims are judged from the store.

    Raises:
        StoreError: there is no store at ``db``, or the report folder cannot be written.
        SpecError: an unknown suite.
    """
    db = Path(db)
    if not db.exists():
        raise StoreError(f"no results store at {db}; measure first (seqarena claims, bench or train)")
    suite_name = resolve_suite(suite).name  # a dict of overrides on the quick suite is "custom"
    out = check_output_dir(Path(out_dir) if out_dir is not None else default_out_dir(db), "report folder")
    data = load_data(db)
    claims, judged, errors = judge(suite, db, device, verdicts)
    rows = claim_rows(claims, judged, errors)
    figures = render_all(data, settings_line)
    files = ["report.md", "results.json", "results.csv", "claims.json", "figures/"]
    section = comparison_section(compare_stores(db, compare, suite=suite)) if compare is not None else None
    content = ReportContent(
        db=db, suite=suite_name, device=device, generated=now(), total_trials=data.total,
        settings=settings_table(data), trials=trials_table(data), claims=rows, figures=figures,
        performance=performance(data), failures=failures_table(data),
        recommendations=normalize_recommendations(recommendations if recommendations is not None
                                                  else stored_recommendations(db)),
        files=files, comparison=section, data_recommendation=stored_data_result(db),
    )
    # a failure half-way leaves the previous report as it was, not half of a new one
    with atomic_dir(out, REPORT_FILES) as staging:
        (staging / "figures").mkdir()
        for f in figures:
            (staging / "figures" / f"{f.definition.id}.png").write_bytes(f.png)
        if section is not None:
            (staging / "figures" / "compare.png").write_bytes(section.figure)
        (staging / "index.html").write_text(render_html(content), encoding="utf-8")
        (staging / "report.md").write_text(render_markdown(content), encoding="utf-8")
        export(db, staging / "results.json", "json")
        export(db, staging / "results.csv", "csv")
        # the raw verdict (to_dict, as `claims --json` prints it) with the claim's words and its check flag
        verdict_dicts = [{"id": r.id, "short": r.short, "quote": r.quote, "status": r.status, **jsonable(r.raw),
                          "check": r.check} for r in rows]
        (staging / "claims.json").write_text(json.dumps(verdict_dicts, indent=1, allow_nan=False), encoding="utf-8")
    return out / "index.html"
