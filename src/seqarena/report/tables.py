"""The report's general tables (settings, trials in the store, failures, claims and their evidence), formatted once
so the HTML and the Markdown show the same cells. The performance table lives in :mod:`seqarena.report.performance`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from seqarena.analysis.labels import fmt_count, fmt_number, present
from seqarena.claims.verdict import zone_bounds
from seqarena.report.data import ReportData, settings_line
from seqarena.report.verdicts import fmt_provenance, fmt_threshold, fmt_zone, is_check
from seqarena.store.columns import (
    ENV_CORES,
    ENV_CPU,
    ENV_GIT_COMMIT,
    ENV_GIT_DIRTY,
    ENV_GPU,
    ENV_PLATFORM,
    ENV_PYTHON,
    ENV_RAM_BYTES,
    ENV_THREADS,
    ENV_TORCH,
    SPEC_DEVICE,
    SPEC_DTYPE,
    SPEC_KIND,
    SPEC_PARAMS,
    SPEC_TASK,
)


@dataclasses.dataclass
class Table:
    """A table of already formatted cells."""

    id: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""


# -- hardware and settings ----------------------------------------------------------------------------------------

def _distinct(df: pd.DataFrame, col: str, show: Callable[[Any], str] = str) -> str:
    if col not in df:
        return "—"
    counts = df[col].map(lambda v: show(v) if present(v) else None).dropna().value_counts()
    if not len(counts):
        return "—"
    if len(counts) == 1:
        return str(counts.index[0])
    return "; ".join(f"{v} ({n} trials)" for v, n in counts.items())


def settings_table(data: ReportData) -> Table:
    """Hardware, software and settings of every stored trial (several values are listed with their counts)."""
    df = data.all_rows()
    n_ok = int((df["status"] == "ok").sum()) if len(df) else 0
    rows = [["results store", str(data.db)], ["trials", f"{data.total} ({n_ok} ok, {data.total - n_ok} failed)"]]
    if len(df):
        commit = df.get(ENV_GIT_COMMIT)
        dirty = df.get(ENV_GIT_DIRTY)
        if commit is not None:
            tags = [f"{str(c)[:10]}{' (uncommitted changes)' if d is True else ''}"
                    for c, d in zip(commit, dirty if dirty is not None else [None] * len(df)) if present(c)]
            commits = pd.Series(tags).value_counts()
            commit_text = "; ".join(f"{c} ({n})" for c, n in commits.items()) if len(commits) > 1 else \
                (commits.index[0] if len(commits) else "—")
        else:
            commit_text = "—"
        rows += [
            ["CPU", _distinct(df, ENV_CPU)],
            ["usable cores", _distinct(df, ENV_CORES, lambda v: str(int(v)))],
            ["torch threads", _distinct(df, ENV_THREADS, lambda v: str(int(v)))],
            ["RAM", _distinct(df, ENV_RAM_BYTES, lambda v: f"{float(v) / 2**30:.1f} GiB")],
            ["GPU", _distinct(df, ENV_GPU) if ENV_GPU in df and df[ENV_GPU].map(present).any() else "none"],
            ["device", _distinct(df, SPEC_DEVICE)],
            ["dtype", _distinct(df, SPEC_DTYPE)],
            ["parameter budget", _distinct(df, SPEC_PARAMS, lambda v: f"{fmt_count(v)} (embeddings included)")],
            ["torch", _distinct(df, ENV_TORCH)],
            ["python", _distinct(df, ENV_PYTHON)],
            ["platform", _distinct(df, ENV_PLATFORM)],
            ["git commit", commit_text],
            ["measured", _span(df)],
        ]
    return Table("settings", "Hardware and settings", ["", "value"], rows,
                 note="From the environment fingerprint and spec stored with every trial. Parameter budgets include "
                      "embeddings; every contender of a sweep shares budget, dtype, threads, batch, data and seed.")


def _span(df: pd.DataFrame) -> str:
    if "finished_at" not in df:
        return "—"
    times = sorted(str(t) for t in df["finished_at"] if present(t))
    return f"{times[0]} … {times[-1]}" if times else "—"


def trials_table(data: ReportData) -> Table:
    """What the store holds, per scenario: counts, models, lengths and settings."""
    rows = []
    scenarios = sorted(set(data.ok) | set(data.failed["scenario"]) if len(data.failed) else set(data.ok))
    for s in scenarios:
        ok, failed = data.get(s), data.failed_rows(s)
        both = pd.concat([f for f in (ok, failed) if len(f)], ignore_index=True)
        models = ", ".join(sorted({str(m) for m in both["model"]}))
        if s == "train":
            col = "task.task" if "task.task" in both else SPEC_TASK
            span = ", ".join(sorted({str(t) for t in both[col] if present(t)})) if col in both else "—"
        elif "seq_len" in both and len(both):
            span = f"n {int(both['seq_len'].min()):,}–{int(both['seq_len'].max()):,}"
        else:
            span = "—"
        rows.append([s, str(len(ok)), str(len(failed)), models, span, settings_line(ok if len(ok) else both)])
    return Table("trials", "Trials in the store", ["scenario", "ok", "failed", "models", "lengths / tasks",
                                                   "settings"], rows)


def failures_table(data: ReportData, limit: int = 30) -> Table:
    """Failed trials with their reasons (memory caps, OOM, timeouts, divergence raised as errors)."""
    rows = []
    f = data.failed
    if len(f):
        for _, r in f.head(limit).iterrows():
            n = r.get("seq_len")
            point = f"n={int(n)}" if present(n) else ""
            kind = r.get(SPEC_KIND) if r.get("scenario") == "memory" else None
            rows.append([str(r["scenario"]), str(r["model"]), " ".join(x for x in (point, kind) if x),
                         str(r.get("reason") or "")])
    note = f"First {limit} of {len(f)}." if len(f) > limit else ""
    return Table("failures", "Failed trials", ["scenario", "model", "point", "reason"], rows, note=note)


# -- claims -------------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class ClaimRow:
    """One claim with its verdict, formatted."""

    id: str
    short: str
    quote: str
    conditions: str
    status: str  # supported / refuted / inconclusive / not-applicable-here / not judged
    effect: str
    ci: str
    threshold: str  # the claim's side and threshold, with its zone: "< 1 (zone 0.95-1.05)"
    margin: str
    effect_name: str
    caveats: list[str]
    evidence: Table
    raw: dict[str, Any]  # the verdict as a dict (results json)
    sizes: str = ""  # what was measured (trials, lengths, rounds), when the verdict says
    reason: str = ""  # why it is inconclusive (or how a tie was read as support), in the verdict's words
    check: bool = False  # an implementation check: holds by construction, not evidence about the essay
    zone: str = ""  # the equivalence zone around the threshold, "0.95-1.05" ('' without one)
    provenance: str = ""  # commits, torch, device, dtype, threads and trials behind the verdict, one line
    scope: str = ""  # where it was measured: "cpu, 1 thread of 2 cores (CPU model)" / "cuda, H100"
    local: bool = False  # a parallelism claim measured without that parallelism: shown "on this machine"

    @property
    def words(self) -> str:
        """The status as shown: "refuted on this machine" for a parallelism claim measured without it."""
        return f"{self.status} on this machine" if self.local and self.status in ("supported", "refuted") \
            else self.status


def claim_rows(claims: Sequence[Any], verdicts: dict[str, Any], errors: dict[str, str]) -> list[ClaimRow]:
    """Format every claim: its verdict when judged, 'not judged' with the error otherwise."""
    rows = []
    for c in claims:
        v = verdicts.get(c.id)
        check = is_check(c, v)
        if v is None:
            zone = zone_bounds(c.threshold, c.zone) if getattr(c, "zone", 0) else None
            rows.append(ClaimRow(c.id, c.short, c.quote, getattr(c, "conditions", ""), "not judged", "—", "—",
                                 fmt_threshold(c.direction, c.threshold, zone), "—", c.effect_name,
                                 [errors.get(c.id, "not judged")], Table(f"evidence-{c.id}-table", "evidence", [], []),
                                 {"claim": c.id, "status": "not judged", "error": errors.get(c.id), "provenance": {}},
                                 check=check, zone=fmt_zone(zone)))
            continue
        finite = v.effect is not None and math.isfinite(v.effect)
        effect = fmt_number(v.effect, ".3g") if finite else "no data"
        ci = f"[{fmt_number(v.ci[0], '.3g')}, {fmt_number(v.ci[1], '.3g')}]" if v.ci and finite else \
            ("(point estimate)" if finite else "")
        margin = f"{v.margin:+.3g}" if finite else "—"
        caveats = list(v.caveats)
        if not finite:
            caveats.append(f"no measurements for this claim in the store: run `seqarena claims --only {c.id}`")
        zone = getattr(v, "zone", None)
        prov = getattr(v, "provenance", None) or {}
        rows.append(ClaimRow(c.id, c.short, c.quote, getattr(c, "conditions", ""), v.status, effect, ci,
                             fmt_threshold(v.direction, v.threshold, zone), margin, v.effect_name, caveats,
                             evidence_table(c.id, v.evidence), v.to_dict(), str(getattr(v, "sizes", "") or ""),
                             reason=str(getattr(v, "reason", "") or ""), check=check, zone=fmt_zone(zone),
                             provenance=fmt_provenance(prov) if prov else "", scope=str(getattr(v, "scope", "") or ""),
                             local=bool(getattr(v, "local", False))))
    return rows


def essay_and_checks(rows: Sequence[ClaimRow]) -> tuple[list[ClaimRow], list[ClaimRow]]:
    """The essay's claims, then the implementation checks (which are not evidence about the essay)."""
    return [r for r in rows if not r.check], [r for r in rows if r.check]


def evidence_table(claim_id: str, evidence: Sequence[dict[str, Any]]) -> Table:
    """A verdict's evidence rows as a table (the union of their keys, in order of appearance)."""
    columns: list[str] = []
    for row in evidence:
        for k in row:
            if k not in columns:
                columns.append(str(k))
    rows = [[fmt_number(row.get(k)) if k in row else "" for k in columns] for row in evidence]
    return Table(f"evidence-{claim_id}-table", f"evidence for claim {claim_id}", columns, rows)
