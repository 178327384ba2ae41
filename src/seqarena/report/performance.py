"""The essay's "Performance by Sequence Length" table re-derived from this machine.

For short (n < 100), medium (100 <= n <= 1,000) and long (n > 1,000) sequences: the winner in training throughput,
batch-1 latency and peak memory, from the medians measured here, with the medians behind it, the crossover lengths
where the winner changes and the scaling exponents.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from seqarena.analysis.labels import MB, fmt_count, fmt_range, fmt_ratio, fmt_value, present
from seqarena.analysis.stats import ZONE
from seqarena.analysis.summary import MEMORY_DEFINITION, fit_groups, memory_bytes, pair_crossovers
from seqarena.essay import BANDS, ESSAY_CONTENDERS, ESSAY_WINNERS
from seqarena.report.data import ReportData, label_contenders, medians
from seqarena.report.tables import Table
from seqarena.store.columns import ENV_CPU, ENV_THREADS, SPEC_DEVICE, SPEC_DTYPE, SPEC_KIND, SPEC_PARAMS

TIE = ZONE  # a winner must be ahead by more than the equivalence zone (5%); closer is a tie


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
        if len(mem) and SPEC_KIND in mem and (mem[SPEC_KIND] == kind).any():
            rows, where = mem[mem[SPEC_KIND] == kind], f"memory scenario ({kind})"
        elif kind == "train":
            rows, where = d.get("train_step"), "train_step trials (no memory-scenario rows)"
        else:
            fl = d.get("forward_latency")
            rows, where = (fl[fl["batch"] == 1] if len(fl) else fl), \
                "forward_latency at batch 1 (no memory-scenario rows)"
        if not len(rows):
            return rows, f"{where}: {MEMORY_DEFINITION}"
        rows = rows.assign(memory_bytes=memory_bytes(rows))
        return rows[rows["memory_bytes"] > 0], f"{where}: {MEMORY_DEFINITION}"

    return select


MEASURES: tuple[Measure, ...] = (
    Measure("training", "training", "tokens/s", 1.0, True, _training, "tokens_per_s"),
    Measure("latency", "latency", "ms", 1e3, False, _latency, "latency_s"),
    Measure("memory_train", "memory (training)", "MB", 1 / MB, False, _memory("train"), "memory_bytes"),
    Measure("memory_infer", "memory (inference)", "MB", 1 / MB, False, _memory("infer"), "memory_bytes"),
)

#: What must be equal for two rows to be compared (the batch too: tokens/s at B=8 is not tokens/s at B=1).
GROUP_KEYS = (SPEC_PARAMS, SPEC_DTYPE, SPEC_DEVICE, ENV_THREADS, ENV_CPU, "batch")


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
    if present(settings.get(SPEC_PARAMS)):
        bits.append(f"{fmt_count(settings['spec.params'])} params")
    for k in (SPEC_DTYPE, SPEC_DEVICE):
        if present(settings.get(k)):
            bits.append(str(settings[k]))
    if present(settings.get(ENV_THREADS)):
        bits.append(f"{int(settings['env.threads'])} threads")
    if present(settings.get("batch")):
        bits.append(f"batch {int(settings['batch'])}")
    if present(settings.get(ENV_CPU)):
        bits.append(str(settings[ENV_CPU]))
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
    return f"{r.winner} ({fmt_ratio(r.advantage)} {r.runner_up})"


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


def _measured(groups: dict[str, pd.DataFrame]) -> Iterator[tuple[Measure, pd.DataFrame]]:
    """The measures with rows, in table order."""
    for m in MEASURES:
        g = groups.get(m.key, pd.DataFrame())
        if len(g):
            yield m, g


def crossover_table(groups: dict[str, pd.DataFrame]) -> Table:
    """Where the better contender changes, per measure and pair (interpolated in log n and log y)."""
    rows = []
    for m, g in _measured(groups):
        med = per_n_medians(g, m.metric)
        per = {c: s.set_index("seq_len")[m.metric] for c, s in med.groupby("contender")}
        for pair in pair_crossovers(per, higher_is_better=m.higher_is_better):
            span = fmt_range(pair.n.min(), pair.n.max())
            if not pair.crossings:
                better = pair.better or "neither throughout"
                rows.append([m.title, f"{pair.a} vs {pair.b}", "none in range", better, better, "—", span])
            for c in pair.crossings:
                below, above = (pair.a, pair.b) if c.a_below else (pair.b, pair.a)
                rows.append([m.title, f"{pair.a} vs {pair.b}", f"{c.n:,.0f}", below, above, fmt_range(*c.between),
                             span])
    return Table("crossovers", "Crossover points", ["measure", "pair", "crossover n", "better below", "better above",
                                                    "between measured n", "n measured"], rows,
                 note="Interpolated linearly in log n and log y between the two measured lengths that bracket the "
                      "change; 'none in range' is an answer (the better one is named).")


def slope_table(groups: dict[str, pd.DataFrame]) -> Table:
    """Log-log slopes vs n per measure and contender, fitted on every round over the larger half of the lengths."""
    rows = []
    for m, g in _measured(groups):
        metric = "step_s" if m.key == "training" and "step_s" in g else m.metric
        what = "step time" if metric == "step_s" else m.title
        for (c,), fit in fit_groups(label_contenders(g), ["contender"], metric):
            rows.append([what, str(c), str(fit), fmt_range(*fit.n_range), str(fit.points)])
    return Table("slopes", "Scaling exponents (log-log slope vs n)",
                 ["measure", "contender", "slope [95% CI]", "n fitted", "points"], rows,
                 note="About 2: quadratic (softmax attention at large n); about 1: linear (recurrences); about 0: "
                      "constant. The interval is a Student-t interval over the rounds.")
