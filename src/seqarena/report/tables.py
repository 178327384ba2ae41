"""The report's tables, formatted once so the HTML and the Markdown show the same numbers.

The centre piece is the essay's "Performance by Sequence Length" table re-derived from this machine: for short
(n < 100), medium (100 <= n <= 1,000) and long (n > 1,000) sequences, the winner in training throughput, batch-1
latency and peak memory, from the medians measured here, with the crossover lengths where the winner changes.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from seqarena.analysis.scaling import find_crossovers, fit_loglog
from seqarena.essay import BANDS, ESSAY_CONTENDERS, ESSAY_WINNERS
from seqarena.report.data import ReportData, count, label_contenders, medians, numeric, present, settings_line

MB = 2**20
TIE = 0.05  # a winner must be ahead by more than 5%; closer is a tie


@dataclasses.dataclass
class Table:
    """A table of already formatted cells."""

    id: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str = ""


def fmt(v: Any, spec: str = ".4g") -> str:
    """A number as text ('—' when missing); tuples and lists element-wise; other values as str."""
    if isinstance(v, bool) or v is None:
        return "—" if v is None else str(v)
    if isinstance(v, numbers.Real):
        return f"{float(v):{spec}}" if math.isfinite(v) else "—"
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(fmt(x, spec) for x in v) + ")"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {fmt(x, spec)}" for k, x in v.items()) + "}"
    return str(v)


def fmt_value(v: float) -> str:
    """A measured value: 4 significant digits, thousands separated from 10,000 on (tokens/s)."""
    if isinstance(v, numbers.Real) and math.isfinite(v) and abs(v) >= 1e4:
        return f"{v:,.0f}"
    return fmt(v)


# -- performance by sequence length -------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Measure:
    """A column of the performance table: which rows, which metric, which way is better."""

    key: str
    title: str
    unit: str
    scale: float  # stored value * scale = shown value
    higher_is_better: bool
    select: Callable[[ReportData], tuple[pd.DataFrame, str]]  # (rows, where they come from)
    metric: str


def _training(d: ReportData) -> tuple[pd.DataFrame, str]:
    return d.get("train_step"), "train_step: tokens/s of a forward + backward + AdamW step"


def _latency(d: ReportData) -> tuple[pd.DataFrame, str]:
    fl = d.get("forward_latency")
    return (fl[fl["batch"] == 1] if len(fl) else fl), "forward_latency at batch 1: median latency of one forward"


def _memory(kind: str) -> Callable[[ReportData], tuple[pd.DataFrame, str]]:
    def select(d: ReportData) -> tuple[pd.DataFrame, str]:
        mem = d.get("memory")
        if len(mem) and "spec.kind" in mem and (mem["spec.kind"] == kind).any():
            rows = mem[mem["spec.kind"] == kind]
            return rows[numeric(rows, "peak_bytes") > 0], f"memory scenario ({kind}): peak RSS above the baseline"
        if kind == "train":
            ts = d.get("train_step")
            return (ts[numeric(ts, "peak_bytes") > 0] if len(ts) else ts), \
                "train_step trials: peak RSS above the baseline (no memory-scenario rows)"
        fl = d.get("forward_latency")
        fl = fl[(fl["batch"] == 1) & (numeric(fl, "peak_bytes") > 0)] if len(fl) else fl
        return fl, "forward_latency at batch 1: peak RSS above the baseline (no memory-scenario rows)"

    return select


MEASURES: tuple[Measure, ...] = (
    Measure("training", "training", "tokens/s", 1.0, True, _training, "tokens_per_s"),
    Measure("latency", "latency", "ms", 1e3, False, _latency, "latency_s"),
    Measure("memory_train", "memory (training)", "MB", 1 / MB, False, _memory("train"), "peak_bytes"),
    Measure("memory_infer", "memory (inference)", "MB", 1 / MB, False, _memory("infer"), "peak_bytes"),
)

#: What must be equal for two rows to be compared (the batch too: tokens/s at B=8 is not tokens/s at B=1).
GROUP_KEYS = ("spec.params", "spec.dtype", "spec.device", "env.threads", "env.cpu", "batch")



def essay_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of the essay's two contenders when both are there (no spec options, no chunking or TBPTT); all rows
    otherwise, so a store of other models still gets a table."""
    if not len(df):
        return df
    labelled = label_contenders(df)
    plain = labelled["contender"].isin(ESSAY_CONTENDERS)
    if labelled.loc[plain, "contender"].nunique() == len(ESSAY_CONTENDERS):
        return df[plain.to_numpy()]
    return df


def main_group(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The comparable settings group to tabulate: one holding both essay contenders if any, then the one with the
    most rows (other budgets or batches stay in the figures)."""
    keys = [k for k in GROUP_KEYS if k in df]
    if not len(df) or not keys:
        return df, {}
    key_frame = df[keys].map(lambda v: str(v) if present(v) else "")
    best, best_score = None, None
    for key, idx in key_frame.groupby(keys).groups.items():
        models = set(df.loc[idx, "model"])
        score = (len(models & set(ESSAY_CONTENDERS)), len(idx))
        if best_score is None or score > best_score:
            best, best_score = (key if isinstance(key, tuple) else (key,)), score
    mask = (key_frame == pd.Series(best, index=keys)).all(axis=1)
    chosen = df[mask]
    return chosen, {k: chosen[k].iloc[0] for k in keys}


def group_settings(settings: dict[str, Any]) -> str:
    bits = []
    if present(settings.get("spec.params")):
        bits.append(f"{count(settings['spec.params'])} params")
    for k in ("spec.dtype", "spec.device"):
        if present(settings.get(k)):
            bits.append(str(settings[k]))
    if present(settings.get("env.threads")):
        bits.append(f"{int(settings['env.threads'])} threads")
    if present(settings.get("batch")):
        bits.append(f"batch {int(settings['batch'])}")
    if present(settings.get("env.cpu")):
        bits.append(str(settings["env.cpu"]))
    return ", ".join(bits)


@dataclasses.dataclass
class BandResult:
    """One measure in one length band: each contender's median and the winner."""

    band: str
    measure: Measure
    values: dict[str, float]  # contender -> median over the band's n of the per-n medians over rounds (shown units)
    n_values: dict[str, list[int]]
    winner: str | None  # None: no data
    tie: bool
    advantage: float  # winner vs runner-up, >= 1 (nan with a single contender)
    runner_up: str | None


def per_n_medians(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Median over rounds per contender and n (columns: contender, seq_len, metric, rounds)."""
    df = label_contenders(rows)
    return medians(df, metric, ["contender", "seq_len"])


def band_results(rows: pd.DataFrame, m: Measure) -> list[BandResult]:
    """Winners per length band: per contender, the median over the band's lengths of its per-n medians; lengths
    common to every contender in the band are used when there are any, so nobody is judged on easier n."""
    med = per_n_medians(rows, m.metric) if len(rows) else pd.DataFrame(columns=["contender", "seq_len", m.metric])
    out = []
    for key, _, inside in BANDS:
        band = med[med["seq_len"].map(lambda n, f=inside: f(float(n)))] if len(med) else med
        ns = {c: sorted(int(n) for n in g["seq_len"]) for c, g in band.groupby("contender")}
        common = set.intersection(*(set(v) for v in ns.values())) if ns else set()
        values, used = {}, {}
        for c, g in band.groupby("contender"):
            g = g[g["seq_len"].isin(common)] if common else g
            values[str(c)] = float(g[m.metric].median()) * m.scale
            used[str(c)] = sorted(int(n) for n in g["seq_len"])
        out.append(_winner(key, m, values, used))
    return out


def _winner(band: str, m: Measure, values: dict[str, float], used: dict[str, list[int]]) -> BandResult:
    if not values:
        return BandResult(band, m, values, used, None, False, math.nan, None)
    ranked = sorted(values, key=lambda c: -values[c] if m.higher_is_better else values[c])
    best = ranked[0]
    if len(ranked) == 1:
        return BandResult(band, m, values, used, best, False, math.nan, None)
    second = ranked[1]
    a, b = values[best], values[second]
    advantage = (a / b if m.higher_is_better else b / a) if a > 0 and b > 0 else math.nan
    return BandResult(band, m, values, used, best, advantage < 1 + TIE, advantage, second)


def winner_cell(r: BandResult) -> str:
    if r.winner is None:
        return "— (no data)"
    if r.runner_up is None:
        return f"{r.winner} (only contender)"
    if r.tie:
        return f"tie: {r.winner} ≈ {r.runner_up} (within {TIE:.0%})"
    return f"{r.winner} ({r.advantage:.2f}× {r.runner_up})"


@dataclasses.dataclass
class Performance:
    """The re-derived performance table and everything behind it."""

    winners: Table
    medians: Table
    crossovers: Table
    slopes: Table
    results: dict[str, list[BandResult]]  # measure key -> per band


def performance(data: ReportData) -> Performance:
    """The essay's table from this machine's medians, with the medians, crossovers and slopes behind it."""
    results: dict[str, list[BandResult]] = {}
    sources: list[str] = []
    groups: dict[str, pd.DataFrame] = {}
    for m in MEASURES:
        rows, source = m.select(data)
        rows, settings = main_group(rows) if len(rows) else (rows, {})
        rows = essay_rows(rows)
        groups[m.key] = rows
        results[m.key] = band_results(rows, m)
        if len(rows):
            sources.append(f"{m.title}: {source}; {group_settings(settings)}")
        else:
            sources.append(f"{m.title}: no data")
    winners = Table(
        "performance", "Performance by sequence length (measured here)",
        ["length", *(f"{m.title} ({'higher' if m.higher_is_better else 'lower'} {m.unit} wins)" for m in MEASURES),
         "the essay's winner"],
        [[label, *(winner_cell(results[m.key][i]) for m in MEASURES), ESSAY_WINNERS[key]]
         for i, (key, label, _) in enumerate(BANDS)],
        note="Contenders: the essay's RNN (lstm) and Transformer (transformer) when both were measured, else every "
             "model of the settings group (all models are in the figures). "
             "Winner: the best median over the band's lengths of the per-length medians over rounds (lengths common "
             f"to all contenders); within {TIE:.0%} is a tie; the factor is the winner's advantage over the runner-up. "
             "Sources and settings — " + " | ".join(sources) + ".",
    )
    med_rows = []
    for i, (_, label, _) in enumerate(BANDS):
        for m in MEASURES:
            r = results[m.key][i]
            for c in sorted(r.values):
                med_rows.append([label, f"{m.title} ({m.unit})", c, fmt_value(r.values[c]),
                                 ", ".join(str(n) for n in r.n_values[c])])
    med_table = Table("performance-medians", "Medians behind the table",
                      ["length", "measure", "contender", "median", "n used"], med_rows,
                      note="Per contender: median over the listed lengths of the median over rounds at each length.")
    return Performance(winners, med_table, crossover_table(groups), slope_table(groups), results)


def crossover_table(groups: dict[str, pd.DataFrame]) -> Table:
    """Where the better contender changes, per measure and pair (interpolated in log n and log y)."""
    rows = []
    for m in MEASURES:
        g = groups.get(m.key, pd.DataFrame())
        if not len(g):
            continue
        med = per_n_medians(g, m.metric)
        per = {c: s.set_index("seq_len")[m.metric] for c, s in med.groupby("contender")}
        for a, b in itertools.combinations(sorted(per), 2):
            common = per[a].index.intersection(per[b].index)
            if len(common) < 2:
                continue
            ya, yb = per[a][common], per[b][common]
            if m.higher_is_better:  # find_crossovers looks for the smaller y: compare 1/y
                ya, yb = 1 / ya, 1 / yb
            found = find_crossovers(list(common), list(ya), list(yb))
            span = f"{int(common.min()):,}–{int(common.max()):,}"
            if not found:
                better = a if (ya < yb).all() else b if (yb < ya).all() else "neither throughout"
                rows.append([m.title, f"{a} vs {b}", "none in range", better, better, "—", span])
            for c in found:
                below, above = (a, b) if c.a_below else (b, a)
                rows.append([m.title, f"{a} vs {b}", f"{c.n:,.0f}", below, above,
                             f"{int(c.between[0]):,}–{int(c.between[1]):,}", span])
    return Table("crossovers", "Crossover points", ["measure", "pair", "crossover n", "better below", "better above",
                                                    "between measured n", "n measured"], rows,
                 note="Interpolated linearly in log n and log y between the two measured lengths that bracket the "
                      "change; 'none in range' is an answer (the better one is named).")


def slope_table(groups: dict[str, pd.DataFrame]) -> Table:
    """Log-log slopes vs n per measure and contender, fitted on every round over the larger half of the lengths."""
    rows = []
    for m in MEASURES:
        g = groups.get(m.key, pd.DataFrame())
        if not len(g):
            continue
        metric = "step_s" if m.key == "training" and "step_s" in g else m.metric
        df = label_contenders(g)
        for c, s in df.groupby("contender", sort=True):
            y = numeric(s, metric)
            fit = fit_loglog(list(s["seq_len"]), list(y))
            if fit is None:
                continue
            what = "step time" if metric == "step_s" else m.title
            rows.append([what, str(c), str(fit), f"{fit.n_range[0]:,.0f}–{fit.n_range[1]:,.0f}", str(fit.points)])
    return Table("slopes", "Scaling exponents (log-log slope vs n)",
                 ["measure", "contender", "slope [95% CI]", "n fitted", "points"], rows,
                 note="About 2: quadratic (softmax attention at large n); about 1: linear (recurrences); about 0: "
                      "constant. The interval is a Student-t interval over the rounds.")


# -- hardware and settings ----------------------------------------------------------------------------------------

def _distinct(df: pd.DataFrame, col: str, fmt_value: Callable[[Any], str] = str) -> str:
    if col not in df:
        return "—"
    counts = df[col].map(lambda v: fmt_value(v) if present(v) else None).dropna().value_counts()
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
        commit = df.get("env.git_commit")
        dirty = df.get("env.git_dirty")
        if commit is not None:
            tags = [f"{str(c)[:10]}{' (uncommitted changes)' if d is True else ''}"
                    for c, d in zip(commit, dirty if dirty is not None else [None] * len(df)) if present(c)]
            commits = pd.Series(tags).value_counts()
            commit_text = "; ".join(f"{c} ({n})" for c, n in commits.items()) if len(commits) > 1 else \
                (commits.index[0] if len(commits) else "—")
        else:
            commit_text = "—"
        rows += [
            ["CPU", _distinct(df, "env.cpu")],
            ["usable cores", _distinct(df, "env.cores", lambda v: str(int(v)))],
            ["torch threads", _distinct(df, "env.threads", lambda v: str(int(v)))],
            ["RAM", _distinct(df, "env.ram_bytes", lambda v: f"{float(v) / 2**30:.1f} GiB")],
            ["GPU", _distinct(df, "env.gpu") if "env.gpu" in df and df["env.gpu"].map(present).any() else "none"],
            ["device", _distinct(df, "spec.device")],
            ["dtype", _distinct(df, "spec.dtype")],
            ["parameter budget", _distinct(df, "spec.params", lambda v: f"{count(v)} (embeddings included)")],
            ["torch", _distinct(df, "env.torch")],
            ["python", _distinct(df, "env.python")],
            ["platform", _distinct(df, "env.platform")],
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
            col = "task.task" if "task.task" in both else "spec.task"
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
            kind = r.get("spec.kind") if r.get("scenario") == "memory" else None
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
    threshold: str
    margin: str
    effect_name: str
    caveats: list[str]
    evidence: Table
    raw: dict[str, Any]  # the verdict as a dict (results json)
    sizes: str = ""  # what was measured (trials, lengths, rounds), when the verdict says


def claim_rows(claims: Sequence[Any], verdicts: dict[str, Any], errors: dict[str, str]) -> list[ClaimRow]:
    """Format every claim: its verdict when judged, 'not judged' with the error otherwise."""
    rows = []
    for c in claims:
        v = verdicts.get(c.id)
        side = "<" if c.direction == "below" else ">"
        threshold = f"{side} {c.threshold:g}"
        if v is None:
            rows.append(ClaimRow(c.id, c.short, c.quote, getattr(c, "conditions", ""), "not judged", "—", "—",
                                 threshold, "—", c.effect_name, [errors.get(c.id, "not judged")],
                                 Table(f"evidence-{c.id}-table", "evidence", [], []), {"claim": c.id,
                                                                                      "status": "not judged",
                                                                                      "error": errors.get(c.id)}))
            continue
        finite = v.effect is not None and math.isfinite(v.effect)
        effect = fmt(v.effect, ".3g") if finite else "no data"
        ci = f"[{fmt(v.ci[0], '.3g')}, {fmt(v.ci[1], '.3g')}]" if v.ci and finite else \
            ("(point estimate)" if finite else "")
        margin = f"{v.margin:+.3g}" if finite else "—"
        caveats = list(v.caveats)
        if not finite:
            caveats.append(f"no measurements for this claim in the store: run `seqarena claims --only {c.id}`")
        raw = v.to_dict()
        rows.append(ClaimRow(c.id, c.short, c.quote, getattr(c, "conditions", ""), v.status, effect, ci,
                             f"{'<' if v.direction == 'below' else '>'} {v.threshold:g}", margin, v.effect_name,
                             caveats, evidence_table(c.id, v.evidence), raw, str(getattr(v, "sizes", "") or "")))
    return rows


def evidence_table(claim_id: str, evidence: Sequence[dict[str, Any]]) -> Table:
    """A verdict's evidence rows as a table (the union of their keys, in order of appearance)."""
    columns: list[str] = []
    for row in evidence:
        for k in row:
            if k not in columns:
                columns.append(str(k))
    rows = [[fmt(row.get(k)) if k in row else "" for k in columns] for row in evidence]
    return Table(f"evidence-{claim_id}-table", f"evidence for claim {claim_id}", columns, rows)
