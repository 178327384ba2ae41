"""The ``seqarena`` command line: thin; it parses, calls the Python API and prints with rich.

Every user error (unknown model or spec field, bad option value) is one line on stderr and exit code 2.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

import seqarena
from seqarena.analysis.summary import HEADLINE, crossovers, generation_table, pooled_points, slopes, with_labels
from seqarena.bench.spec import SCENARIOS
from seqarena.demo import DemoRow, DemoSettings, environment, run_demo
from seqarena.essay import STANDARD_PROFILES
from seqarena.models import SpecError, available, get_class
from seqarena.run.sweep import Interrupted
from seqarena.store import DEFAULT_DB, EXPORT_FORMATS, MAX_ATTEMPTS, StoreError

app = typer.Typer(
    name="seqarena",
    help="Transformer or RNN? Measured on your own hardware.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
# piped output (CI logs, files, closing notes) gets a fixed 120 columns instead of rich's 80
out = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True)


def _finite(param: typer.CallbackParam, value: float | None) -> float | None:
    """Callback of every float option: float() accepts 'nan' and 'inf' (and reads 1e400 as inf), which no setting
    can use; they would be stored, ignored or blamed on the model later."""
    if value is not None and not math.isfinite(value):
        raise SpecError(f"{param.opts[0]} must be a finite number, got {value}")
    return value


def _version(value: bool) -> None:
    if value:
        print(f"seqarena {seqarena.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Transformer or RNN? Measured on your own hardware."""


@app.command("list")
def list_models(
    as_json: Annotated[bool, typer.Option("--json", help="Print the registry as JSON.")] = False,
) -> None:
    """List the registered models with their spec fields and defaults."""
    registry = {}
    for name in available():
        cls = get_class(name)
        registry[name] = {
            "summary": (cls.__doc__ or "").strip().splitlines()[0],
            "causal": "varies (spec field causal)" if "causal" in cls.Spec.model_fields else cls.causal,
            "generation_modes": list(cls.generation_modes),
            "fields": cls.describe(),
        }
    if as_json:
        print(json.dumps(registry, indent=2, default=str))
        return
    for name, info in registry.items():
        table = Table(title=f"[bold]{name}[/bold] — {info['summary']}", title_justify="left", show_edge=False)
        table.add_column("field")
        table.add_column("default")
        table.add_column("description")
        for field, meta in info["fields"].items():
            table.add_row(field, repr(meta["default"]), meta["description"])
        out.print(table)
        out.print(f"  generation modes: {', '.join(info['generation_modes'])}\n")


@app.command()
def demo(
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model", "-m", help="Model as name[:field=value,...]; repeatable. Default: every registered model."
        ),
    ] = None,
    params: Annotated[int, typer.Option(help="Parameter budget per model (embeddings included).")] = 200_000,
    layers: Annotated[int, typer.Option(help="Layers per model.")] = 2,
    vocab_size: Annotated[int, typer.Option(help="Token vocabulary.")] = 256,
    batch: Annotated[int, typer.Option(help="Training batch size.")] = 8,
    seq_len: Annotated[int, typer.Option(help="Training sequence length.")] = 256,
    tokens: Annotated[int, typer.Option(help="Tokens to generate per mode (batch 1).")] = 64,
    repeats: Annotated[int, typer.Option(help="Timed forward+backward repeats (median).")] = 5,
    device: Annotated[str, typer.Option(help="cpu, cuda or cuda:N.")] = "cpu",
    dtype: Annotated[str, typer.Option(help="float32, float64, bfloat16 or float16.")] = "float32",
    threads: Annotated[int | None, typer.Option(help="torch threads (default: torch's choice).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Build every model small, time training, generate in every mode, print one table."""
    settings = DemoSettings(
        params=params,
        vocab_size=vocab_size,
        layers=layers,
        batch=batch,
        seq_len=seq_len,
        tokens=tokens,
        repeats=repeats,
        device=device,
        dtype=dtype,
        threads=threads,
        seed=seed,
    )
    with err.status("") as status:
        rows = run_demo(model, settings, on_model=lambda m: status.update(f"demo: {m}"))
    out.print(_demo_table(rows))
    for key, value in environment(settings).items():
        out.print(f"  {key:<8} {value}", highlight=False)
    names = {r.model.partition(":")[0] for r in rows}
    if settings.device == "cpu" and names & {"gru", "elman"}:
        out.print(
            "  note     on CPU only nn.LSTM is a fused (oneDNN) kernel; nn.GRU and nn.RNN (elman) loop over per-step "
            "matmuls, so their train tok/s is partly a kernel gap, not an architecture gap",
            highlight=False,
        )


def _demo_table(rows: list[DemoRow]) -> Table:
    table = Table(title="seqarena demo", title_justify="left")
    for col, justify in [
        ("model", "left"),
        ("params", "right"),
        ("train tok/s", "right"),
        ("decode ms/token", "left"),
        ("state bytes @64 tok", "right"),
        ("modes agree", "center"),  # with each other and with the parallel forward
    ]:
        table.add_column(col, justify=justify)
    for r in rows:
        decode = ", ".join(f"{m} {ms:.3f}" for m, ms in r.decode_ms_per_token.items() if ms == ms) or "—"
        agree = "—" if r.modes_agree is None else ("yes" if r.modes_agree else "NO")
        state = "—" if r.state_bytes_64 is None else f"{r.state_bytes_64:,}"
        table.add_row(r.model, f"{r.params:,}", f"{r.train_tokens_per_s:,.0f}", decode, state, agree)
    return table


DEFAULT_SEQ_LENS = {
    "forward_latency": "64,128,256,512,1024",
    "train_step": "64,128,256,512,1024",
    "throughput": "256",
    "memory": "256,512,1024,2048,4096,8192,16384",
    "generation": "",
}


def _progress():
    """A progress bar with ETA on stderr, refreshed twice a second: the bar's thread must not compete with a
    2-thread worker on a 2-core machine."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("eta"), TimeRemainingColumn(), console=err, transient=True, refresh_per_second=2)


def _int_list(text: str, what: str) -> list[int]:
    try:
        values = [int(v.replace("_", "")) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SpecError(f"{what} must be comma-separated integers, got {text!r}") from None
    if any(v < 1 for v in values):
        raise SpecError(f"{what} must be >= 1, got {text!r}")
    return values


@app.command()
def bench(
    scenario: Annotated[str, typer.Argument(help=f"One of: {', '.join(s for s in SCENARIOS if s != 'train')}.")],
    models: Annotated[str, typer.Option("--models", "-m", help="Comma-separated models, name[:field=value,...].")],
    seq_lens: Annotated[
        str | None, typer.Option(help="Comma-separated sequence lengths (default depends on the scenario).")
    ] = None,
    batch: Annotated[
        int | None,
        typer.Option(help="Batch (forward_latency runs batch 1 and this; default 8, or 1 for generation/memory)."),
    ] = None,
    batches: Annotated[str | None, typer.Option(help="throughput: comma-separated batches (default 1..64).")] = None,
    tokens: Annotated[int, typer.Option(help="generation: tokens to generate.")] = 256,
    prompt_len: Annotated[int, typer.Option(help="generation: prompt length.")] = 16,
    params: Annotated[
        str, typer.Option(help="Parameter budget per model (embeddings included); comma-separated to sweep width.")
    ] = "1000000",
    layers: Annotated[int, typer.Option(help="Layers per model.")] = 2,
    vocab_size: Annotated[int, typer.Option(help="Token vocabulary.")] = 256,
    sample_every: Annotated[
        int, typer.Option(help="generation: decode latency every k positions (0: ~32 samples).")
    ] = 0,
    rounds: Annotated[
        int | None,
        typer.Option(help="Measure each point this many times, contenders interleaved in shuffled order "
                     "(default 2; memory 1)."),
    ] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or cuda:N.")] = "cpu",
    dtype: Annotated[str, typer.Option(help="float32, float64, bfloat16 or float16.")] = "float32",
    threads: Annotated[int | None, typer.Option(help="torch threads (default: torch's choice, recorded).")] = None,
    repeats: Annotated[int, typer.Option(help="Minimum timed calls per trial (generation: runs).")] = 5,
    min_seconds: Annotated[float, typer.Option(help="Minimum timed seconds per trial.", callback=_finite)] = 0.5,
    timeout: Annotated[
        float, typer.Option(help="Seconds before a trial is stopped and stored as failed.", callback=_finite)
    ] = 600,
    memory_cap_mb: Annotated[
        float | None,
        typer.Option(help="Memory cap per trial in MB above the trial's own baseline.", callback=_finite),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed (data, init, contender order).")] = 0,
    db: Annotated[Path, typer.Option(help="Results store (SQLite).")] = DEFAULT_DB,
    retry_failed: Annotated[bool, typer.Option(help="Re-run trials stored as failed.")] = False,
) -> None:
    """Run a benchmark sweep in isolated workers; results go to the store as each trial finishes (re-running the
    same sweep resumes)."""
    from seqarena.bench.spec import check_device
    from seqarena.run import expand, run_sweep
    from seqarena.store import Store, load

    if scenario == "train":
        raise SpecError("training runs through `seqarena train --model ... --task ...`, not bench")
    if scenario not in SCENARIOS:
        choices = ", ".join(s for s in SCENARIOS if s != "train")
        raise SpecError(f"unknown scenario {scenario!r}; choose from: {choices}")
    check_device(device)
    lens = _int_list(seq_lens if seq_lens is not None else DEFAULT_SEQ_LENS[scenario], "--seq-lens")
    budgets = [parse_count(p, "--params") for p in params.split(",") if p.strip()]
    if sample_every < 0:
        raise SpecError(f"--sample-every must be >= 0, got {sample_every}")
    trials = expand(
        scenario, [models], seq_lens=lens or [256], batch=batch,
        batches=_int_list(batches, "--batches") if batches else None, seed=seed, tokens=tokens,
        prompt_len=prompt_len, params=budgets, layers=layers, vocab_size=vocab_size, device=device, dtype=dtype,
        threads=threads, repeats=repeats, min_seconds=min_seconds, memory_cap_mb=memory_cap_mb,
        sample_every=sample_every, rounds=rounds if rounds is not None else (1 if scenario == "memory" else 2),
    )
    if timeout <= 0:
        raise SpecError(f"--timeout must be > 0, got {timeout:g}")
    hashes = [t.spec_hash() for t in trials]
    with Store(db) as store:
        if retry_failed:
            store.retry_failed(hashes)
        warn_if_busy()
        progress = _progress()
        with progress:
            task = progress.add_task(scenario, total=len(trials))

            def done(spec, result) -> None:
                progress.advance(task)
                if result is not None and result.status != "ok":
                    err.print(f"  failed: {spec.label()}: {result.reason}", markup=False, highlight=False)

            summary = run_sweep(trials, store, sweep=scenario, timeout_s=timeout,
                                on_start=lambda spec: progress.update(task, description=spec.label()), on_done=done)
    df = load(db, scenario=scenario, status=None, include_samples=True)
    df = df[df["spec_hash"].isin(hashes)]
    _print_sweep(scenario, df)
    env = df["env.cpu"].dropna().iloc[0] if "env.cpu" in df and df["env.cpu"].notna().any() else device
    used = int(df["env.threads"].dropna().iloc[0]) if "env.threads" in df and df["env.threads"].notna().any() else "?"
    budget = ", ".join(f"{b:,}" for b in budgets)
    out.print(f"  {device} ({env}), {used} threads, {dtype}, torch {torch_version()}, ~{budget} params x "
              f"{layers} layers, seed {seed}", highlight=False)
    out.print(f"  {summary.ok} measured, {summary.failed} failed, {summary.skipped} already in the store, "
              f"{summary.pruned} skipped after a smaller n failed -> {db}", highlight=False)
    report_contended(summary)


def torch_version() -> str:
    import torch

    return torch.__version__


def _fmt(v: object, spec: str = ",.0f") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return format(v, spec)


def _mb(v: object) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v / 2**20:,.1f}"


def _print_sweep(scenario: str, df) -> None:
    df = with_labels(df)
    if df.empty:
        out.print("no trials")
        return
    if scenario == "generation":
        ok = df[df["status"] == "ok"]
        gt = generation_table(ok)
        positions = [c for c in gt.columns if c.startswith("decode_ms@") and gt[c].notna().any()]
        first = gt.iloc[0]
        table = Table(title=f"generation of N={first['tokens']} tokens at batch {first['batch']}, "
                      f"{int(first['rounds'])} round(s): ms per token at generated position p "
                      "(median over rounds and p-2..p+2)", title_justify="left")
        heads = ["model", "mode", "prefill ms", "decode ms", *(f"@{c.split('@')[1]}" for c in positions),
                 "total s", "state bytes", "peak MB"]
        for h in heads:
            table.add_column(h, justify="left" if h in ("model", "mode") else "right",
                             no_wrap=h in ("model", "mode", "state bytes"))
        for _, r in gt.iterrows():
            table.add_row(r["label"], r["mode"], _fmt(r["prefill_ms"], ".3f"),
                          _fmt(r["decode_ms_median"], ".3f"), *(_fmt(r[c], ".3f") for c in positions),
                          _fmt(r["total_s"], ".3f"), _fmt(r["state_bytes"], ",.0f"), _mb(r["peak_bytes"]))
        out.print(table)
    else:
        _print_points(scenario, df)
        ok = df[df["status"] == "ok"]
        metrics = [HEADLINE[scenario][0]] + (["peak_bytes"] if scenario != "memory" else [])
        for metric in metrics:
            sl = slopes(ok, metric) if ok["seq_len"].nunique() >= 2 else None
            if sl is not None and not sl.empty:
                _print_slopes(scenario, sl, "peak memory" if metric == "peak_bytes" else HEADLINE[scenario][1])
        cr = crossovers(ok) if ok["seq_len"].nunique() >= 2 else None
        if cr is not None and not cr.empty:
            t = Table(title=f"crossovers ({HEADLINE[scenario][1]}: who is lower below / above n)",
                      title_justify="left")
            kind = ["kind"] if scenario == "memory" else []
            for c in ("a", "b", "batch", *kind, "crossover n", "lower below", "lower above"):
                t.add_column(c, justify="right" if c in ("batch", "crossover n") else "left")
            for _, r in cr.iterrows():
                n = "none in range" if math.isnan(r["crossover_n"]) else f"{r['crossover_n']:,.0f}"
                t.add_row(r["a"], r["b"], str(r["batch"]), *([r["kind"]] if kind else []), n, r["below"],
                          r["above"])
            out.print(t)


def _print_points(scenario: str, df) -> None:
    points = pooled_points(df).sort_values(["label", "batch", "seq_len"])
    memory = scenario == "memory"
    table = Table(title=f"{scenario} (rounds pooled: timing over all their per-call samples)", title_justify="left")
    cols = ["model", "n", "batch"] + (["kind", "peak MB", "accounted MB"] if memory else
                                      ["median ms", "IQR %", "tok/s", "seq/s", "peak MB", "MFU %"])
    for c in [*cols, "rounds", "failed"]:
        table.add_column(c, justify="left" if c in ("model", "kind", "failed") else "right", no_wrap=c == "model")
    for _, r in points.iterrows():
        cells = [r["label"], f"{r['seq_len']:,}", str(r["batch"])]
        if memory:
            kind = r.get("spec.kind")
            acc = r.get("saved_bytes") if kind == "train" else r.get("state_bytes")
            cells += [str(kind), _mb(r.get("peak_bytes")), _mb(acc)]
        else:
            med = r.get("median_s", math.nan)
            tokens = r["batch"] * r["seq_len"]
            cells += [_fmt(1e3 * med, ",.3f"), _fmt(100 * r.get("iqr_rel", math.nan), ".0f"),
                      _fmt(tokens / med if med == med else None), _fmt(r["batch"] / med if med == med else None,
                                                                      ",.1f"),
                      _mb(r.get("peak_bytes")), _fmt(100 * r.get("mfu", math.nan), ".1f")]
        table.add_row(*cells, str(r["rounds"]), r["failed"])
    out.print(table)


def _print_slopes(scenario: str, sl, what: str) -> None:
    t = Table(title=f"log-log slope of {what} vs n (95% t-interval; fitted over the larger n, rounds as repeats)",
              title_justify="left")
    kind = ["kind"] if scenario == "memory" else []
    for c in ("model", "batch", *kind, "slope", "95% CI", "n range", "points"):
        t.add_column(c, justify="left" if c in ("model", "kind") else "right", no_wrap=c == "model")
    for _, r in sl.iterrows():
        ci = f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]" if math.isfinite(r["ci_low"]) else "— (2 points)"
        t.add_row(r["label"], str(r["batch"]), *([r["kind"]] if kind else []), f"{r['slope']:.2f}", ci,
                  f"{r['n_from']:,.0f}–{r['n_to']:,.0f}", str(r["points"]))
    out.print(t)



results_app = typer.Typer(help="Look at and export the results store.", no_args_is_help=True)
app.add_typer(results_app, name="results")


@results_app.command("export")
def results_export(
    fmt: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(EXPORT_FORMATS)}.")] = "csv",
    db: Annotated[Path, typer.Option(help="Results store (SQLite).")] = DEFAULT_DB,
    out_path: Annotated[Path | None, typer.Option("--out", help="Output file (default: next to the store).")] = None,
) -> None:
    """Export every trial (ok and failed) as csv, parquet or json."""
    from seqarena.store import Store, export

    if fmt not in EXPORT_FORMATS:
        raise SpecError(f"unknown format {fmt!r}; choose from: {', '.join(EXPORT_FORMATS)}")
    Store(db, readonly=True).close()  # one line for a missing, foreign or damaged store, before any output
    path = export(db, out_path or db.with_suffix(f".{fmt}"), fmt)
    out.print(f"wrote {path}", highlight=False)


@app.command("claims")
def claims_command(
    suite: Annotated[str, typer.Option(help="quick (minutes) or full (robust verdicts).")] = "quick",
    only: Annotated[str | None, typer.Option(help="Comma-separated claim ids, e.g. 10,13 (13 = 13a, 13b...).")] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or cuda:N.")] = "cpu",
    db: Annotated[Path, typer.Option(help="Results store (SQLite).")] = DEFAULT_DB,
    rnn: Annotated[str, typer.Option(help="The model in the RNN role.")] = "lstm",
    attn: Annotated[str, typer.Option(help="The model in the transformer role.")] = "transformer",
    plan_only: Annotated[bool, typer.Option("--plan", help="Print the budget table and exit.")] = False,
) -> None:
    """Measure the essay's claims on this machine (reusing finished trials) and print a verdict per claim."""
    from seqarena.bench.spec import check_device
    from seqarena.claims import budget_table, resolve_suite, run_claims, select
    from seqarena.store import Store

    check_device(device)
    resolve_suite(suite)
    ids = [x.strip() for x in only.split(",") if x.strip()] if only is not None else None  # '' selects nothing
    chosen = select(ids)
    budget = budget_table(suite, [c.id for c in chosen], db, device, rnn, attn)
    _print_budget(suite, budget, full=plan_only)
    if plan_only:
        return
    with Store(db):  # before measuring: ours, writable, with room, and no other run writing it (held throughout)
        verdicts, summary = _run_claims_with_progress(run_claims, suite, [c.id for c in chosen], db, device, rnn,
                                                      attn, sum(r["to_measure"] for r in budget))
    print_verdicts(suite, chosen, verdicts)
    out.print(f"  {summary.ok} trials measured, {summary.skipped} reused from {db}, {summary.failed} failed",
              highlight=False)
    report_contended(summary)


def _print_budget(suite: str, budget: list[dict], full: bool) -> None:
    todo = sum(r["to_measure"] for r in budget)
    est = sum(r["estimate_s"] for r in budget)
    out.print(f"{suite} suite: {len(budget)} claims, {sum(r['trials'] for r in budget)} trials, {todo} to measure; "
              f"expected duration ~{est / 60:.0f} min (a rough estimate for a 2-core CPU)", highlight=False)
    if full:
        table = Table(title="budget per claim (shared trials counted once, for the first claim)", title_justify="left")
        for col in ("claim", "trials", "to measure", "est. min", "sizes and seeds"):
            table.add_column(col, justify="right" if col in ("trials", "to measure", "est. min") else "left")
        for r in budget:
            table.add_row(r["claim"], str(r["trials"]), str(r["to_measure"]), f"{r['estimate_s'] / 60:.1f}", r["sizes"])
        out.print(table)


def warn_if_busy() -> None:
    """Before measuring: a short look at what other processes do, so a busy machine is said, not guessed."""
    from seqarena.measure.load import busy_now, load_ignored

    if load_ignored():  # the user accepts the machine's load: no half-second look, no warning
        return
    sample = busy_now()
    if sample is not None and sample.contended:
        err.print(f"warning: the machine is busy: other processes keep {sample.others_cores:.1f} of "
                  f"{sample.cores} cores busy (load average {sample.loadavg_1m or 0:.1f}); timings taken under load "
                  f"are flagged and measured again on the next run (up to {MAX_ATTEMPTS} times)",
                  markup=False, highlight=False, soft_wrap=True)


def report_contended(summary) -> None:
    """After measuring: how many timing trials other processes disturbed (stored with their flag)."""
    if summary.contended:
        err.print(f"warning: {summary.contended} timing trial(s) were measured while other processes kept the CPU "
                  f"busy; they are flagged in the store and measured again on the next run (up to {MAX_ATTEMPTS} "
                  "times in all)", markup=False, highlight=False, soft_wrap=True)


def _run_claims_with_progress(run_claims, suite, ids, db, device, rnn, attn, total: int):
    warn_if_busy()
    progress = _progress()
    with progress:
        task = progress.add_task("claims", total=total or None)

        def start(spec) -> None:
            progress.update(task, description=spec.label())

        def done(spec, result) -> None:
            progress.advance(task)

        return run_claims(suite, ids, str(db), device=device, rnn=rnn, attn=attn, on_start=start, on_done=done)


def print_verdicts(suite: str, chosen, verdicts) -> None:
    """The verdict table, then each claim's effect, caveats and the sizes and seeds behind it."""
    table = Table(title=f"claims ({suite} suite): verdicts from this machine's measurements", title_justify="left")
    for col in ("id", "claim", "verdict", "effect [95% CI]", "threshold", "margin"):
        table.add_column(col, justify="right" if col in ("threshold", "margin") else "left",
                         no_wrap=col in ("id", "verdict"))
    styles = {"supported": "green", "refuted": "red", "inconclusive": "yellow"}
    for c, v in zip(chosen, verdicts):
        ci = f" [{v.ci[0]:.3g}, {v.ci[1]:.3g}]" if v.ci else " (point)"
        effect = f"{v.effect:.3g}{ci}" if not math.isnan(v.effect) else "n/a"
        side = "<" if v.direction == "below" else ">"
        margin = f"{v.margin:+.3g}" if not math.isnan(v.margin) else "n/a"
        table.add_row(c.id, c.short, f"[{styles.get(v.status, '')}]{v.status}[/]", effect, f"{side} {v.threshold:g}",
                      margin)
    out.print(table)
    shared = set.intersection(*(set(v.caveats) for v in verdicts)) if verdicts else set()
    for text in sorted(shared):
        out.print(f"  caveat (all): {text}", highlight=False)
    for c, v in zip(chosen, verdicts):
        own = [x for x in v.caveats if x not in shared]
        out.print(f"  {c.id}: {v.effect_name}" + (f" — {'; '.join(own)}" if own else ""), highlight=False)
        if v.sizes:
            out.print(f"      measured: {v.sizes}", highlight=False)


@app.command("run")
def run_command(
    suite: Annotated[str, typer.Option(help="quick (<= 10 minutes here) or full (robust verdicts, < 2 hours).")
                     ] = "quick",
    device: Annotated[str, typer.Option(help="cpu, cuda or cuda:N.")] = "cpu",
    db: Annotated[Path, typer.Option(help="Results store (SQLite).")] = DEFAULT_DB,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Report folder (default: report/ beside the store).")
                       ] = None,
) -> None:
    """The main job: run (or resume) the claims suite, recommend for two standard profiles, and write the report."""
    from seqarena.bench.spec import check_device
    from seqarena.claims import resolve_suite
    from seqarena.report import default_out_dir
    from seqarena.store import Store, check_output_dir

    check_device(device)
    resolve_suite(suite)
    # before anything is measured: the store opens, is ours, writable, with room, and no other run writes it (the
    # lock is held for the whole job); the report folder can be written
    with Store(db):
        check_output_dir(out_dir or default_out_dir(db), "report folder")
        _run_job(suite, device, db, out_dir)


def _run_job(suite: str, device: str, db: Path, out_dir: Path | None) -> None:
    from seqarena.claims import budget_table, run_claims, select
    from seqarena.recommender import recommend
    from seqarena.report import build_report

    chosen = select()
    budget = budget_table(suite, None, db, device)
    _print_budget(suite, budget, full=False)
    verdicts, summary = _run_claims_with_progress(run_claims, suite, [c.id for c in chosen], db, device, "lstm",
                                                  "transformer", sum(r["to_measure"] for r in budget))
    print_verdicts(suite, chosen, verdicts)
    out.print(f"  {summary.ok} trials measured, {summary.skipped} reused from {db}, {summary.failed} failed",
              highlight=False)
    report_contended(summary)
    recommendations = []
    for title, fields in STANDARD_PROFILES:
        try:
            rec = recommend({**fields, "device": device}, db)
        except SpecError as e:  # e.g. no candidate fits: that is the answer for this profile, not a crash
            recommendations.append((f"{title}: none", [str(e)]))
            out.print(f"\nrecommendation for {title}: none — {e}", highlight=False)
            continue
        recommendations.append((f"{title}: {rec.top}", rec.lines))
        out.print(f"\nrecommendation for {title}: [bold]{rec.top}[/bold]")
        for line in rec.lines:
            out.print(f"  {line}", highlight=False)
    index = build_report(db, out_dir, suite=suite, device=device, recommendations=recommendations)
    out.print(f"\nreport: {index}  (also report.md, results.json, results.csv beside it)", highlight=False)


def parse_count(text: str, what: str) -> int:
    """'200k' -> 200000, '1.5M' -> 1500000, '1e6' -> 1000000."""
    t = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}.get(t[-1:], 1)
    try:
        value = float(t[:-1] if scale > 1 else t)
    except ValueError:
        raise SpecError(f"{what} must be a number like 200000, 200k or 1.5M, got {text!r}") from None
    if not math.isfinite(value * scale):  # nan, inf, 1e400: float() accepts them, int() cannot take them
        raise SpecError(f"{what} must be a finite number, got {text!r}")
    if value <= 0 or value * scale != int(value * scale):
        raise SpecError(f"{what} must be a positive whole number, got {text!r}")
    return int(value * scale)


def parse_budget(text: str) -> tuple[float | None, int | None]:
    """'60s' / '2m' / '1h' -> seconds; '500steps' / '500' -> steps."""
    t = text.strip().lower()
    units = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    for suffix in ("steps", "step"):
        if t.endswith(suffix):
            return None, parse_count(t.removesuffix(suffix), "--budget steps")
    for suffix, factor in sorted(units.items(), key=lambda kv: -len(kv[0])):
        if t.endswith(suffix):
            try:
                seconds = float(t.removesuffix(suffix)) * factor
            except ValueError:
                break
            if not 0 < seconds < math.inf:  # also rejects nan
                break
            return seconds, None
    if t.isdigit() and int(t) > 0:
        return None, int(t)
    raise SpecError(f"--budget must look like 60s, 2m or 500steps, got {text!r}")


def _task_settings(pairs: list[str] | None, **named: object) -> dict[str, object]:
    out = {k: v for k, v in named.items() if v is not None}
    for item in pairs or []:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise SpecError(f"--set takes key=value, got {item!r}")
        v: object = value.strip()
        for cast in (int, float):
            try:
                v = cast(value)
                break
            except ValueError:
                continue
        out[key.strip()] = v
    return out


@app.command("tasks")
def list_tasks(
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the tasks, their parameters and defaults."""
    from seqarena.tasks import available_tasks, task_class

    info = {}
    for name in available_tasks():
        cls = task_class(name)
        info[name] = {
            "summary": (cls.__doc__ or "").strip().splitlines()[0],
            "metric": cls.metric,
            "params": {k: {"default": f.default, "description": f.description or ""}
                       for k, f in cls.Params.model_fields.items()},
        }
    if as_json:
        print(json.dumps(info, indent=2, default=str))
        return
    for name, t in info.items():
        table = Table(title=f"[bold]{name}[/bold] — {t['summary']} (metric: {t['metric']})", title_justify="left",
                      show_edge=False)
        for col in ("parameter", "default", "description"):
            table.add_column(col)
        for k, f in t["params"].items():
            table.add_row(k, repr(f["default"]), f["description"])
        out.print(table)
        out.print()


@app.command("train")
def train_command(
    model: Annotated[str, typer.Option("--model", "-m", help="Model as name[:field=value,...].")],
    task: Annotated[str, typer.Option(help="Task name (see `seqarena tasks`).")],
    budget: Annotated[str, typer.Option(help="Training budget: 60s, 2m or 500steps.")] = "60s",
    distance: Annotated[int | None, typer.Option(help="Task dependency distance.")] = None,
    length: Annotated[int | None, typer.Option(help="Task length (listops, char_lm, synthetic series).")] = None,
    depth: Annotated[int | None, typer.Option(help="listops nesting depth.")] = None,
    dataset: Annotated[str | None, typer.Option(help="forecast: series name.")] = None,
    file: Annotated[str | None, typer.Option(help="char_lm: a text file; forecast: a CSV file.")] = None,
    column: Annotated[str | None, typer.Option(help="forecast: the CSV column.")] = None,
    lookback: Annotated[int | None, typer.Option(help="forecast: look-back steps.")] = None,
    horizon: Annotated[int | None, typer.Option(help="forecast: horizon steps.")] = None,
    n_train: Annotated[int | None, typer.Option(help="Training examples (sample-efficiency).")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Any other task parameter, key=value.")] = None,
    params: Annotated[str, typer.Option(help="Parameter budget, e.g. 200k.")] = "200k",
    layers: Annotated[int, typer.Option(help="Layers.")] = 2,
    batch: Annotated[int, typer.Option(help="Training batch size.")] = 32,
    lr: Annotated[float | None, typer.Option(help="Learning rate (default 1e-3).", callback=_finite)] = None,
    tune_lr: Annotated[bool, typer.Option(help="Pick the LR from a log grid on the validation split first.")] = False,
    tbptt: Annotated[int | None, typer.Option(help="Truncated BPTT segment length (recurrent models).")] = None,
    checkpointing: Annotated[bool, typer.Option(help="Activation checkpointing (attention models).")] = False,
    eval_every: Annotated[int, typer.Option(help="Evaluate every N steps.")] = 100,
    target: Annotated[
        float | None, typer.Option(help="Stop when the validation metric reaches this.", callback=_finite)
    ] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or cuda:N.")] = "cpu",
    threads: Annotated[int | None, typer.Option(help="torch threads.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed (init, batches).")] = 0,
    db: Annotated[Path, typer.Option(help="Results store (SQLite).")] = DEFAULT_DB,
) -> None:
    """Train a model on a task within a budget, print the curve and final metrics, and store the trial."""
    from seqarena.bench.spec import check_device, make_trial
    from seqarena.run import check_model, run_sweep
    from seqarena.store import Store, load
    from seqarena.tasks import make_task

    check_device(device)
    budget_s, steps = parse_budget(budget)
    budget_params = parse_count(params, "--params")
    settings = _task_settings(set_, distance=distance, length=length, depth=depth, dataset=dataset, file=file,
                              column=column, lookback=lookback, horizon=horizon, n_train=n_train)
    with err.status(f"preparing task {task}"):
        made = make_task(task, **settings)  # bad parameters or unreadable files: one line, before any worker starts
    # the model as the worker will build it (the task fixes vocabulary and head): a bad spec is one line here
    name, options = check_model(model, budget_params, layers=layers, **made.model_fields())
    data_file = settings.get("file")
    digest = hashlib.sha256(Path(str(data_file)).read_bytes()).hexdigest() if data_file else None
    spec = make_trial(scenario="train", model=name, options=options, params=budget_params,
                      data_digest=digest,
                      layers=layers, batch=batch, task=task, task_params=settings, budget_s=budget_s, steps=steps,
                      lr=lr, tune_lr=tune_lr, tbptt=tbptt, checkpointing=checkpointing, eval_every=eval_every,
                      target=target, device=device, threads=threads, seed=seed)
    timeout = 3 * (budget_s or 600) + 300
    with Store(db) as store, err.status(f"training {spec.label()}"):
        summary = run_sweep([spec], store, sweep="train", timeout_s=timeout)
    row = load(db, scenario="train", status=None)
    row = row[row["spec_hash"] == spec.spec_hash()].iloc[0]
    if row["status"] != "ok":
        _fail(f"training failed: {row['reason']}", 1)
    with Store(db, readonly=True) as store:
        metrics = next(store.rows(spec_hash=spec.spec_hash()))["metrics"]
    _print_training(spec, metrics)
    if summary.skipped:
        out.print("  (already in the store: shown from there; change --seed or --db to train again)", highlight=False)


def _print_training(spec, m: dict) -> None:
    metric = m["metric"]
    curve = m["curve"]
    out.print(f"{spec.model} on {spec.label().split(' ', 2)[2]}: {m['params']:,} params, lr {m['lr']:g}, "
              f"batch {spec.batch}", highlight=False)
    table = Table(title_justify="left")
    for col in ("step", "wall s", "train loss", f"val {metric}"):
        table.add_column(col, justify="right")
    shown = curve if len(curve) <= 8 else [curve[round(i * (len(curve) - 1) / 7)] for i in range(8)]
    for c in shown:
        table.add_row(f"{c['step']:,}", f"{c['wall_s']:.1f}", f"{c['train_loss']:.4f}",
                      f"{c.get('val_' + metric, float('nan')):.4f}")
    out.print(table)
    base = m["baseline"]
    base_value = base.get(metric, base.get("accuracy"))
    out.print(f"  status {m['train_status']}" + (f" ({m['train_reason']})" if m.get("train_reason") else "")
              + f", {m['steps']:,} steps in {m['wall_s']:.1f} s", highlight=False)
    out.print(f"  val {metric} {_fmt(m['val_metric'], '.4f')}, test {metric} {_fmt(m['test_metric'], '.4f')}; "
              f"baseline ({base.get('name')}) {_fmt(base_value, '.4f')}", highlight=False)
    if m.get("time_to_target_s") is not None:
        out.print(f"  target reached after {m['steps_to_target']:,} steps, {m['time_to_target_s']:.1f} s",
                  highlight=False)
    if m.get("lr_grid"):
        grid = ", ".join(f"{g['lr']:g}: {_fmt(g['val'], '.4f')}"
                         + (" (diverged)" if g["status"] == "diverged" else "") for g in m["lr_grid"])
        out.print(f"  lr grid (val {metric}): {grid}", highlight=False)
    out.print(f"  {spec.device} ({m['task']['task']}), threads {m['threads']}, seed {spec.seed}", highlight=False)


@app.command("recommend")
def recommend_command(
    seq_len: Annotated[int, typer.Option(help="Tokens per sequence (n).")],
    train_sequences: Annotated[int, typer.Option(help="Training-set size in sequences.")],
    latency_budget_ms: Annotated[
        float | None,
        typer.Option(help="Latency budget: per forward at (n, batch), per token with --streaming.", callback=_finite),
    ] = None,
    memory_cap_mb: Annotated[
        float | None,
        typer.Option(help="Peak MB above the process baseline (of inference; see --cap-scope).", callback=_finite),
    ] = None,
    cap_scope: Annotated[str, typer.Option(help="What the cap binds: inference (deployment) or both (the model "
                                                "also trains on this device).")] = "inference",
    batch: Annotated[int, typer.Option(help="Sequences per call.")] = 1,
    streaming: Annotated[bool, typer.Option("--streaming", help="Tokens arrive one by one (decode cost).")] = False,
    device: Annotated[str, typer.Option(help="cpu, cuda or cuda:N.")] = "cpu",
    params: Annotated[str, typer.Option(help="Model size in parameters, e.g. 1M or 200k.")] = "1000000",
    models: Annotated[
        str, typer.Option("--models", "-m", help="Candidates, comma-separated.")
    ] = "lstm,gru,transformer",
    probe: Annotated[bool, typer.Option(help="Measure what the store lacks first (a short sweep).")] = True,
    db: Annotated[Path, typer.Option(help="Results store (SQLite).")] = DEFAULT_DB,
) -> None:
    """Rank the architectures for a workload from this machine's measurements (probing what is missing) and
    explain the top choice."""
    from seqarena.recommender import make_profile, recommend
    from seqarena.recommender.rank import fmt_estimate, fmt_mb, fmt_ms
    from seqarena.run import parse_models

    profile = make_profile(seq_len=seq_len, train_sequences=train_sequences, latency_budget_ms=latency_budget_ms,
                           memory_cap_mb=memory_cap_mb, cap_scope=cap_scope, batch=batch, streaming=streaming,
                           device=device, params=parse_count(params, "--params"))
    progress = _progress()
    with progress:
        task = progress.add_task("probe", total=None)
        rec = recommend(profile, db, probe=probe, candidates=parse_models(models),
                        on_start=lambda spec: progress.update(task, description=f"probe: {spec.label()}"),
                        on_done=lambda spec, result: progress.advance(task))
    latency = "decode/token" if streaming else "forward"
    table = Table(title=f"recommend: {profile.describe()} (ranked by {rec.cost_metric})", title_justify="left")
    for col in ("#", "model", f"{latency} [interval]", "train step", "infer peak", "train peak", "budget", "cap",
                "score"):
        table.add_column(col, justify="left" if col in ("model", "budget", "cap") else "right")
    for i, r in enumerate(rec.ranking, 1):
        table.add_row(str(i), r.model, fmt_estimate(r.latency, fmt_ms), fmt_estimate(r.train_step, fmt_ms),
                      fmt_estimate(r.infer_peak, fmt_mb), fmt_estimate(r.train_peak, fmt_mb), r.fits_latency,
                      r.fits_memory, _fmt(r.score, ".2f") if math.isfinite(r.score) else "—")
    out.print(table)
    out.print(f"top: {rec.top}", highlight=False)
    for line in rec.lines:
        out.print(f"  {line}", highlight=False)
    out.print(f"  store rows used: {len(rec.rows_used)} in {rec.db}", highlight=False)


@app.command("report")
def report_command(
    db: Annotated[Path, typer.Option(help="Results store (SQLite).")] = DEFAULT_DB,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder (default: report/ beside the store).")
                       ] = None,
    suite: Annotated[str, typer.Option(help="The claims suite the verdicts are judged for: quick or full.")] = "quick",
    device: Annotated[str, typer.Option(help="The device the claims were measured on (cpu, cuda or cuda:N).")] = "cpu",
) -> None:
    """Rebuild the report (index.html, report.md, results.json/csv) from the store, without measuring anything."""
    from seqarena.bench.spec import check_device

    if suite not in ("quick", "full"):
        raise SpecError(f"unknown suite {suite!r}; choose quick or full")
    check_device(device)  # the claims' trials are identified by device: judge them for the one they ran on
    if not db.exists():
        raise SpecError(f"no results store at {db}; measure first (seqarena claims, bench or train)")
    from seqarena.report import build_report

    with err.status("building the report"):
        index = build_report(db, out_dir, suite=suite, device=device)
    out.print(f"wrote {index}", highlight=False, soft_wrap=True)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors become one line on stderr and exit code 2, never a traceback; Ctrl-C is
    exit 130 with one line saying how to resume."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="seqarena", standalone_mode=False)
    except (SpecError, StoreError) as e:
        _fail(str(e), 2)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except Interrupted as e:  # Ctrl-C during a sweep: what is kept and how to resume
        _fail(str(e), 130)
    except (typer.Abort, KeyboardInterrupt):
        code = 130
    except typer.TyperException as e:  # typer's (vendored click) usage errors
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())
            sys.exit(0)
        _fail(e.format_message(), getattr(e, "exit_code", 2))
    except sqlite3.Error as e:  # the Store turns its own into StoreError; this is the net under it
        _fail(f"results store: {e}", 2)
    except OSError as e:  # a full disk, a missing or unwritable place, ...
        where = f": {e.filename}" if e.filename else ""
        _fail(f"{e.strerror or e}{where}", 2)
    if code == 130:  # Ctrl-C outside a sweep (typer turns it into this exit code)
        _fail("interrupted: finished trials are kept in the store; run the same command again to resume", 130)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    err.print(f"seqarena: error: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)
