"""Rich rendering of what the jobs return: progress, budgets, verdicts, recommendations, training runs, listings."""

from __future__ import annotations

import json
import math
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from seqarena.analysis.labels import fmt_estimate, fmt_mb, fmt_ms, fmt_number
from seqarena.analysis.summary import MEMORY_DEFINITION
from seqarena.bench.spec import TrialSpec
from seqarena.claims import Claim, Verdict
from seqarena.cli.app import err, out
from seqarena.demo import DemoRow
from seqarena.job import ClaimsResult, Events, JobResult
from seqarena.measure import load
from seqarena.models.hf import transformers_version
from seqarena.models.hf_families import hf_note
from seqarena.recommender import Recommendation
from seqarena.report.verdicts import (
    commits_caveat,
    fmt_provenance,
    fmt_threshold,
    is_check,
    jsonable,
    merge_provenance,
    status_words,
    verdict_record,
)
from seqarena.run import SweepSummary, TrialResult
from seqarena.run.executors import current_executor
from seqarena.store import MAX_ATTEMPTS


def progress_bar() -> Progress:
    """A progress bar with ETA on stderr, refreshed twice a second: the bar's thread must not compete with a
    2-thread worker on a 2-core machine."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("eta"), TimeRemainingColumn(), console=err, transient=True, refresh_per_second=2)


class BarEvents(Events):
    """A job's events on the terminal: the busy-machine warning and a progress bar per sweep; failed trials as they
    happen (``show_failures``); the budget and the verdicts as soon as they are known, on ``console`` (stderr when
    stdout carries JSON)."""

    def __init__(self, *, show_failures: bool = False, spinner: bool = False, warn_busy: bool = True,
                 prefix: str = "", console: Console = out) -> None:
        self.show_failures, self.spinner, self.warn_busy, self.prefix = show_failures, spinner, warn_busy, prefix
        self.console = console
        self._bar: Any = None
        self._task: Any = None
        self._label = ""

    def planned(self, suite: str, budget: list[dict[str, Any]]) -> None:
        print_budget(suite, budget, full=False, console=self.console)

    def begin(self, what: str, total: int | None) -> None:
        if self.spinner:  # one training run: a status line (step, loss, ETA as the worker reports them), no bar
            self._label = what
            self._bar = err.status(what)
            self._bar.__enter__()
            return
        if self.warn_busy:
            warn_if_busy()
        self._bar = progress_bar()
        self._bar.__enter__()
        self._task = self._bar.add_task(what, total=total)
        self._label = what

    def start(self, spec: TrialSpec) -> None:
        if self._task is not None:
            self._label = self.prefix + spec.label()
            self._bar.update(self._task, description=self._label + current_executor().progress_note())

    def done(self, spec: TrialSpec, result: TrialResult | None) -> None:
        if self._task is not None:
            # a cluster runs several trials at once: the note (nodes busy / idle) changes when one returns
            self._bar.update(self._task, advance=1, description=self._label + current_executor().progress_note())
        if self.show_failures and result is not None and result.status != "ok":
            err.print(f"  failed: {spec.label()}: {result.reason}", markup=False, highlight=False)

    def progress(self, spec: TrialSpec, note: dict[str, float]) -> None:
        if self._bar is None:
            return
        text = progress_text(note)
        if self._task is None:  # the spinner of one training run
            self._bar.update(f"{self._label or 'training'}: {text}")
        else:
            self._bar.update(self._task, description=f"{self._label}: {text}")

    def end(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
        self._bar = self._task = None

    def judged(self, result: ClaimsResult) -> None:
        print_claims(result, self.console)


def progress_text(note: dict[str, float]) -> str:
    """A training's progress in words: "step 120/500 · loss 1.234 · 24% · eta 38 s"."""
    step, fraction, elapsed = int(note.get("step", 0)), float(note.get("fraction", 0.0)), note.get("elapsed_s", 0.0)
    steps = f"{step:,}/{int(note['steps']):,}" if note.get("steps") else f"{step:,}"
    eta = f" · eta {elapsed * (1 - fraction) / fraction:.0f} s" if 0 < fraction < 1 else ""
    return f"step {steps} · loss {note.get('loss', float('nan')):.4g} · {fraction:.0%}{eta}"


def warn_if_busy() -> None:
    """Before measuring: a short look at what other processes do, so a busy machine is said, not guessed."""
    if load.load_ignored():  # the user accepts the machine's load: no half-second look, no warning
        return
    sample = load.busy_now()
    if sample is not None and sample.contended:
        err.print(f"warning: the machine is busy: other processes keep {sample.others_cores:.1f} of "
                  f"{sample.cores} cores busy (load average {sample.loadavg_1m or 0:.1f}); timings taken under load "
                  f"are flagged and measured again on the next run (up to {MAX_ATTEMPTS} times)",
                  markup=False, highlight=False, soft_wrap=True)


def report_contended(summary: SweepSummary) -> None:
    """After measuring: how many timing trials other processes disturbed (stored with their flag)."""
    if summary.contended:
        err.print(f"warning: {summary.contended} timing trial(s) were measured while other processes kept the CPU "
                  f"busy; they are flagged in the store and measured again on the next run (up to {MAX_ATTEMPTS} "
                  "times in all)", markup=False, highlight=False, soft_wrap=True)


def report_training_load(spec: TrialSpec, seen: dict[str, Any] | None) -> None:
    """After a training run on a time budget: say so when other processes kept the CPU busy meanwhile (the run then
    did fewer steps than it would on a quiet machine; a step budget is not affected)."""
    if spec.budget_s is None or not seen or not seen.get("contended") or load.load_ignored():
        return
    err.print(f"warning: other processes kept {seen['others_cores']:.1f} of {seen['cores']} cores busy during this "
              f"time-budgeted training ({spec.budget_s:g} s): it ran fewer steps than on a quiet machine; compare "
              "models on a step budget (--budget 2000steps) or on a quiet machine", markup=False, highlight=False,
              soft_wrap=True)


def print_budget(suite: str, budget: list[dict[str, Any]], full: bool, console: Console = out) -> None:
    """The suite's size and expected duration; with ``full``, the table per claim."""
    todo = sum(r["to_measure"] for r in budget)
    est = sum(r["estimate_s"] for r in budget)
    console.print(f"{suite} suite: {len(budget)} claims, {sum(r['trials'] for r in budget)} trials, {todo} to measure; "
              f"expected duration ~{est / 60:.0f} min (a rough estimate for a 2-core CPU)", highlight=False)
    if full:
        table = Table(title="budget per claim (shared trials counted once, for the first claim)", title_justify="left")
        for col in ("claim", "trials", "to measure", "est. min", "sizes and seeds"):
            table.add_column(col, justify="right" if col in ("trials", "to measure", "est. min") else "left")
        for r in budget:
            table.add_row(r["claim"], str(r["trials"]), str(r["to_measure"]), f"{r['estimate_s'] / 60:.1f}", r["sizes"])
        console.print(table)


def print_claims(result: ClaimsResult, console: Console = out) -> None:
    """The verdict tables, each claim's effect, caveats and sizes, then what was measured and reused."""
    print_verdicts(result, console)
    s = result.summary
    console.print(f"  {s.ok} trials measured, {s.skipped} reused from {result.db}, {s.failed} failed", highlight=False)
    report_contended(s)


CHECKS_TITLE = "checks of the implementation (hold by construction; not evidence about the essay)"


def print_verdicts(result: ClaimsResult, console: Console = out) -> None:
    """The essay's claims, then the implementation checks in a table of their own; then each claim's effect,
    caveats, the reason an inconclusive verdict gives (``13e: why: ...``) and the sizes and seeds behind it; then
    the run's provenance (the union over verdicts), with a caveat when the rows come from several commits."""
    pairs = list(zip(result.claims, result.verdicts))
    essay = [(c, v) for c, v in pairs if not is_check(c, v)]
    checks = [(c, v) for c, v in pairs if is_check(c, v)]
    if essay or not checks:
        title = f"claims ({result.suite} suite): verdicts from this machine's measurements"
        console.print(_verdict_table(title, essay))
    if checks:
        console.print(_verdict_table(CHECKS_TITLE, checks))
    shared = set.intersection(*(set(v.caveats) for v in result.verdicts)) if result.verdicts else set()
    for text in sorted(shared):
        console.print(f"  caveat (all): {text}", highlight=False)
    for c, v in essay + checks:
        own = [x for x in v.caveats if x not in shared]
        console.print(f"  {c.id}: {v.effect_name}" + (f" — {'; '.join(own)}" if own else ""), highlight=False)
        if v.reason:
            console.print(f"  {c.id}: why: {v.reason}", highlight=False, markup=False, soft_wrap=True)
        if v.sizes:
            console.print(f"      measured: {v.sizes}", highlight=False)
    merged = merge_provenance(v.provenance for v in result.verdicts)
    if any(merged.values()):
        console.print(f"  provenance: {fmt_provenance(merged, trials=False)}", highlight=False, markup=False,
                      soft_wrap=True)
    caveat = commits_caveat(merged)
    if caveat:
        console.print(f"  caveat: {caveat}", highlight=False, markup=False, soft_wrap=True)


def _verdict_table(title: str, pairs: list[tuple[Claim, Verdict]]) -> Table:
    """One verdict table: effect with its interval, the threshold with its equivalence zone, the margin."""
    table = Table(title=title, title_justify="left")
    for col in ("id", "claim", "verdict", "effect [CI]", "threshold", "margin", "measured on"):
        table.add_column(col, justify="right" if col in ("threshold", "margin") else "left",
                         no_wrap=col in ("id",))
    styles = {"supported": "green", "refuted": "red", "inconclusive": "yellow"}
    for c, v in pairs:
        ci = f" [{v.ci[0]:.3g}, {v.ci[1]:.3g}]" if v.ci else " (point)"
        effect = f"{v.effect:.3g}{ci}" if not math.isnan(v.effect) else "n/a"
        margin = f"{v.margin:+.3g}" if not math.isnan(v.margin) else "n/a"
        table.add_row(c.id, c.short, f"[{styles.get(v.status, '')}]{status_words(v)}[/]", effect,
                      fmt_threshold(v.direction, v.threshold, v.zone), margin, v.scope)
    return table


def print_verdicts_json(result: ClaimsResult) -> None:
    """``claims --json``: every verdict as strict JSON (NaN / inf as null) on stdout, and nothing else there."""
    print_json([verdict_record(c, v) for c, v in zip(result.claims, result.verdicts)])


def print_json(value: Any) -> None:
    """``value`` as strict JSON on stdout (NaN / inf as null); a plain print: rich would wrap and colour it."""
    print(json.dumps(jsonable(value), indent=1, allow_nan=False))


def print_job(result: JobResult) -> None:
    """After the verdicts (shown as they came): the two recommendations and where the report is."""
    for a in result.recommendations:
        if a.top is None:
            out.print(f"\nrecommendation for {a.title}: none — {a.lines[0]}", highlight=False)
            continue
        out.print(f"\nrecommendation for {a.title}: [bold]{a.top}[/bold]")
        for line in a.lines:
            out.print(f"  {line}", highlight=False)
    if isinstance(result.data, str):
        out.print(f"\nrecommend --data on a bundled series: none — {result.data}", highlight=False)
    elif result.data is not None:
        d = result.data
        out.print(f"\nrecommend --data on a bundled series ({d.data['path']}, {d.budget['per_candidate_s']:.0f} s "
                  f"per candidate): [bold]{d.pick}[/bold]")
        for line in d.lines:
            out.print(f"  {line}", highlight=False)
        out.print(f"  page: {d.page}; your own: seqarena recommend --data FILE", highlight=False)
    out.print(f"\nreport: {result.report}  (also report.md, results.json, results.csv beside it)", highlight=False)


def print_registry(registry: dict[str, dict[str, Any]]) -> None:
    """``seqarena list``: per model, its fields with defaults and its generation modes; then the HF architectures
    (entries with a ``status``) in one table."""
    for name, info in registry.items():
        if "status" in info:
            continue
        table = Table(title=f"[bold]{name}[/bold] — {info['summary']}", title_justify="left", show_edge=False)
        for col in ("field", "default", "description"):
            table.add_column(col)
        for field, meta in info["fields"].items():
            table.add_row(field, repr(meta["default"]), meta["description"])
        out.print(table)
        out.print(f"  family: {info['family']}; generation modes: {', '.join(info['generation_modes'])}\n")
    hf = {name: info for name, info in registry.items() if "status" in info}
    if hf:
        version = next(iter(hf.values()))["transformers"] or "not installed"
        table = Table(title=f"[bold]HF architectures[/bold] (-m hf:NAME[:config_field=value,...]; transformers "
                            f"{version})", title_justify="left", show_edge=False)
        for col in ("model", "family", "status", "note"):
            table.add_column(col)
        for name, info in hf.items():
            table.add_row(name, info["family"], info["status"], info["note"])
        out.print(table)


def print_checks(model: str, results: list[Any]) -> None:
    """``seqarena check``: one row per interface check."""
    table = Table(title=f"[bold]{model}[/bold]: interface checks", title_justify="left", show_edge=False)
    for col in ("check", "result", "detail"):
        table.add_column(col)
    style = {"ok": "green", "failed": "bold red", "skipped": "yellow"}
    for r in results:
        table.add_row(r.check, f"[{style[r.status]}]{r.status}[/]", r.message)
    out.print(table)


def print_tasks(info: dict[str, dict[str, Any]]) -> None:
    """``seqarena tasks``: per task, its parameters with defaults."""
    for name, t in info.items():
        table = Table(title=f"[bold]{name}[/bold] — {t['summary']} (metric: {t['metric']})", title_justify="left",
                      show_edge=False)
        for col in ("parameter", "default", "description"):
            table.add_column(col)
        for k, f in t["params"].items():
            table.add_row(k, repr(f["default"]), f["description"])
        out.print(table)
        out.print()


def print_demo(rows: list[DemoRow], environment: dict[str, str], device: str) -> None:
    """The demo's one table and the settings it ran with."""
    table = Table(title="seqarena demo", title_justify="left")
    for col, justify in [("model", "left"), ("params", "right"), ("train tok/s", "right"), ("decode ms/token", "left"),
                         ("state bytes @64 tok", "right"),
                         ("modes agree", "center")]:  # with each other and with the parallel forward
        table.add_column(col, justify=justify)
    for r in rows:
        decode = ", ".join(f"{m} {ms:.3f}" for m, ms in r.decode_ms_per_token.items() if ms == ms) or "—"
        agree = "—" if r.modes_agree is None else ("yes" if r.modes_agree else "NO")
        state = "—" if r.state_bytes_64 is None else f"{r.state_bytes_64:,}"
        table.add_row(r.model, f"{r.params:,}", f"{r.train_tokens_per_s:,.0f}", decode, state, agree)
    out.print(table)
    for key, value in environment.items():
        out.print(f"  {key:<8} {value}", highlight=False)
    names = {r.model.partition(":")[0] for r in rows}
    if device == "cpu" and names & {"gru", "elman"}:
        out.print(
            "  note     on CPU only nn.LSTM is a fused (oneDNN) kernel; nn.GRU and nn.RNN (elman) loop over per-step "
            "matmuls, so their train tok/s is partly a kernel gap, not an architecture gap",
            highlight=False,
        )
    hf = sorted({":".join(r.model.split(":")[:2]) for r in rows if r.model.startswith("hf:")})
    if hf:
        out.print(f"  hf       transformers {transformers_version()}", highlight=False)
    for name in hf:
        if note := hf_note(name):
            out.print(f"  note     {name}: {note}", highlight=False)


def print_training(spec: TrialSpec, m: dict[str, Any], reused: bool) -> None:
    """A training run: its curve (at most 8 points), final metrics against the baseline, the LR grid if tuned."""
    metric = m["metric"]
    out.print(f"{spec.model} on {spec.label().split(' ', 2)[2]}: {m['params']:,} params, lr {m['lr']:g}, "
              f"batch {spec.batch}", highlight=False)
    table = Table(title_justify="left")
    for col in ("step", "wall s", "train loss", f"val {metric}"):
        table.add_column(col, justify="right")
    curve = m["curve"]
    shown = curve if len(curve) <= 8 else [curve[round(i * (len(curve) - 1) / 7)] for i in range(8)]
    for c in shown:
        table.add_row(f"{c['step']:,}", f"{c['wall_s']:.1f}", f"{c['train_loss']:.4f}",
                      f"{c.get('val_' + metric, float('nan')):.4f}")
    out.print(table)
    base = m["baseline"]
    base_value = base.get(metric, base.get("accuracy"))
    out.print(f"  status {m['train_status']}" + (f" ({m['train_reason']})" if m.get("train_reason") else "")
              + f", {m['steps']:,} steps in {m['wall_s']:.1f} s"
              + (f" (then {m['eval_s']:.1f} s of final validation and test evaluation, outside the budget)"
                 if m.get("eval_s") else ""), highlight=False)
    val, test, baseline = (fmt_number(v, ".4f") for v in (m["val_metric"], m["test_metric"], base_value))
    out.print(f"  val {metric} {val}, test {metric} {test}; baseline ({base.get('name')}) {baseline}",
              highlight=False)
    if m.get("time_to_target_s") is not None:
        out.print(f"  target reached after {m['steps_to_target']:,} steps, {m['time_to_target_s']:.1f} s",
                  highlight=False)
    if m.get("lr_grid"):
        grid = ", ".join(f"{g['lr']:g}: {fmt_number(g['val'], '.4f')}"
                         + (" (diverged)" if g["status"] == "diverged" else "") for g in m["lr_grid"])
        out.print(f"  lr grid (val {metric}): {grid}", highlight=False)
    out.print(f"  task {m['task']['task']}, {spec.device}, {m['threads']} threads, {spec.dtype}, seed {spec.seed}",
              highlight=False)
    if reused:
        out.print("  (already in the store: shown from there; change --seed or --db to train again)", highlight=False)


def print_recommendation(rec: Recommendation, streaming: bool) -> None:
    """The ranking table, the top choice and the explanation lines."""
    latency = "decode/token" if streaming else "forward"
    table = Table(title=f"recommend: {rec.profile.describe()} (ranked by {rec.cost_metric})", title_justify="left",
                  caption=f"peaks: {MEMORY_DEFINITION}", caption_justify="left")
    for col in ("#", "model", f"{latency} [interval]", "train step", "infer peak", "train peak", "budget", "cap",
                "score"):
        table.add_column(col, justify="left" if col in ("model", "budget", "cap") else "right")
    for i, r in enumerate(rec.ranking, 1):
        table.add_row(str(i), r.model, fmt_estimate(r.latency, fmt_ms), fmt_estimate(r.train_step, fmt_ms),
                      fmt_estimate(r.infer_peak, fmt_mb), fmt_estimate(r.train_peak, fmt_mb), r.fits_latency,
                      r.fits_memory, fmt_number(r.score, ".2f") if math.isfinite(r.score) else "—")
    out.print(table)
    out.print(f"top: {rec.top}", highlight=False)
    for line in rec.lines:
        out.print(f"  {line}", highlight=False)
    out.print(f"  store rows used: {len(rec.rows_used)} in {rec.db}", highlight=False)
