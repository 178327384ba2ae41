"""Commands that measure: ``bench``, ``train``, ``claims`` and ``run`` (the main job; ``recommend`` lives in
:mod:`seqarena.cli.recommend`). Each parses, calls :mod:`seqarena.job` and renders, importing it in its body:
defining the commands (which ``seqarena --help`` does) must not load torch, pandas or scipy."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from seqarena.bench.names import SCENARIOS
from seqarena.cli.app import (
    DEFAULT_DB,
    Address,
    Autocast,
    Compile,
    CompileBackend,
    Db,
    Device,
    ExecutorName,
    Suite,
    app,
    err,
    out,
)
from seqarena.cli.parsing import (
    claim_ids,
    compile_setting,
    finite,
    parse_budget,
    parse_count,
    parse_counts,
    task_settings,
)
from seqarena.errors import SpecError
from seqarena.essay import ATTN, RNN
from seqarena.store.columns import ENV_CPU, ENV_THREADS

Float = Annotated[float, typer.Option(callback=finite)]


@contextlib.contextmanager
def executor_for(name: str, address: str | None, device: str) -> Iterator[None]:
    """The command's sweeps on executor ``name``; a cluster says in one line what it offers."""
    from seqarena.run.executors import executing

    with executing(name, address, device=device) as ex:
        if ex.name != "local":
            err.print(ex.describe(), markup=False, highlight=False, soft_wrap=True)
        yield


@app.command()
def bench(
    scenario: Annotated[str, typer.Argument(help=f"One of: {', '.join(s for s in SCENARIOS if s != 'train')}.")],
    models: Annotated[list[str], typer.Option(
        "--models", "-m", help="Models, name[:field=value,...]; comma-separated or repeated (-m a -m b).")],
    seq_lens: Annotated[
        str | None, typer.Option(help="Comma-separated sequence lengths (default depends on the scenario).")
    ] = None,
    batch: Annotated[int | None, typer.Option(
        help="Batch (forward_latency runs batch 1 and this; default 8, or 1 for generation/memory).")] = None,
    batches: Annotated[str | None, typer.Option(help="throughput: comma-separated batches (default 1..64).")] = None,
    tokens: Annotated[str, typer.Option(help="generation: tokens to generate, e.g. 256 or 2k.")] = "256",
    prompt_len: Annotated[int, typer.Option(help="generation: prompt length.")] = 16,
    params: Annotated[
        str, typer.Option(help="Parameter budget per model (embeddings included); comma-separated to sweep width.")
    ] = "1000000",
    layers: Annotated[int, typer.Option(help="Layers per model.")] = 2,
    vocab_size: Annotated[int, typer.Option(help="Token vocabulary.")] = 256,
    sample_every: Annotated[int, typer.Option(
        help="generation: decode latency every k positions (0: ~32 samples).")] = 0,
    rounds: Annotated[int | None, typer.Option(
        help="Measure each point this many times, contenders interleaved in shuffled order (default 2; memory 1)."
    )] = None,
    device: Device = "cpu",
    dtype: Annotated[str, typer.Option(help="float32, float64, bfloat16 or float16.")] = "float32",
    threads: Annotated[int | None, typer.Option(help="torch threads (default: torch's choice, recorded).")] = None,
    repeats: Annotated[int, typer.Option(help="Minimum timed calls per trial (generation: runs).")] = 5,
    min_seconds: Annotated[float, typer.Option(help="Minimum timed seconds per trial.", callback=finite)] = 0.5,
    timeout: Annotated[float, typer.Option(
        help="Seconds before a trial is stopped and stored as failed.", callback=finite)] = 600,
    memory_cap_mb: Annotated[float | None, typer.Option(
        help="Memory cap per trial in MB above the trial's own baseline.", callback=finite)] = None,
    seed: Annotated[int, typer.Option(help="Random seed (data, init, contender order).")] = 0,
    db: Db = DEFAULT_DB,
    retry_failed: Annotated[bool, typer.Option(help="Re-run trials stored as failed.")] = False,
    compile_: Compile = False,
    compile_backend: CompileBackend = "inductor",
    autocast: Autocast = None,
    executor: ExecutorName = "local",
    address: Address = None,
) -> None:
    """Run a benchmark sweep in isolated workers; results go to the store as each trial finishes (re-running the
    same sweep resumes)."""
    import torch

    from seqarena.cli.render import BarEvents, report_contended
    from seqarena.cli.render_sweep import print_sweep
    from seqarena.job import bench_job


    budgets = parse_counts(params, "--params")
    with executor_for(executor, address, device):
        result = bench_job(
            scenario, models, seq_lens=parse_counts(seq_lens, "--seq-lens") if seq_lens is not None else None,
            rounds=rounds, timeout_s=timeout, db=db, retry_failed=retry_failed, events=BarEvents(show_failures=True),
            batch=batch, batches=parse_counts(batches, "--batches") if batches is not None else None, seed=seed,
            tokens=parse_count(tokens, "--tokens"), prompt_len=prompt_len, params=budgets, layers=layers,
            vocab_size=vocab_size, device=device, dtype=dtype, threads=threads, repeats=repeats,
            min_seconds=min_seconds, memory_cap_mb=memory_cap_mb, sample_every=sample_every,
            compile=compile_setting(compile_, compile_backend), autocast=autocast)
    df, s = result.rows, result.summary
    print_sweep(scenario, df)
    env = df[ENV_CPU].dropna().iloc[0] if ENV_CPU in df and df[ENV_CPU].notna().any() else device
    used = int(df[ENV_THREADS].dropna().iloc[0]) if ENV_THREADS in df and df[ENV_THREADS].notna().any() else "?"
    compiled = (f", autocast {autocast}" if autocast else "") + (f", compiled ({compile_backend})" if compile_
                                                                 else ", eager")
    out.print(f"  {device} ({env}), {used} threads, {dtype}{compiled}, torch {torch.__version__}, "
              f"~{', '.join(f'{b:,}' for b in budgets)} params x {layers} layers, seed {seed}", highlight=False)
    out.print(f"  {s.ok} measured, {s.failed} failed, {s.skipped} already in the store, "
              f"{s.pruned} skipped after a smaller n failed -> {db}", highlight=False)
    report_contended(s)  # the README promises it: flagged rows are re-measured by the next run, say so now


@app.command("claims")
def claims_command(
    suite: Suite = "quick",
    only: Annotated[str | None, typer.Option(help="Comma-separated claim ids, e.g. 10,13 (13 = 13a, 13b...).")] = None,
    device: Device = "cpu",
    db: Db = DEFAULT_DB,
    rnn: Annotated[str, typer.Option(help="The model in the RNN role.")] = RNN,
    attn: Annotated[str, typer.Option(help="The model in the transformer role.")] = ATTN,
    params: Annotated[str | None, typer.Option(
        help="Parameter budget of the timing and memory contenders, e.g. 200k (default: the suite's, 1M).")] = None,
    plan_only: Annotated[bool, typer.Option("--plan", help="Print the budget table and exit.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdicts (--plan: the budget) as JSON on "
                                                         "stdout; tables and progress go to stderr.")] = False,
    dtype: Annotated[str, typer.Option(help="dtype of the timing and memory trials (training: float32).")
                     ] = "float32",
    autocast: Autocast = None,
    compile_: Compile = False,
    compile_backend: CompileBackend = "inductor",
    executor: ExecutorName = "local",
    address: Address = None,
    retry_failed: Annotated[bool, typer.Option(
        help="Re-run the selected claims' trials stored as failed (e.g. a timeout while the machine was busy).")
                            ] = False,
) -> None:
    """Measure the essay's claims on this machine (reusing finished trials) and print a verdict per claim."""
    from seqarena.cli.render import BarEvents, print_budget, print_json, print_verdicts_json
    from seqarena.job import plan_claims, run_claims_job, suite_with


    suite = suite_with(suite, compile=compile_setting(compile_, compile_backend), dtype=dtype, autocast=autocast,
                       params=parse_count(params, "--params") if params is not None else None)
    with executor_for(executor, address, device):  # the plan too: what is left to measure depends on the machine kind
        if plan_only:
            _, budget = plan_claims(suite, claim_ids(only), device=device, db=db, rnn=rnn, attn=attn)
            if as_json:
                print_json(budget)
            else:
                print_budget(suite, budget, full=True)
            return
        # with --json, stdout carries the JSON alone: the budget and the verdict tables go to stderr
        events = BarEvents(console=err) if as_json else BarEvents()
        result = run_claims_job(suite, claim_ids(only), device=device, db=db, rnn=rnn, attn=attn, events=events,
                                retry_failed=retry_failed)
    if as_json:
        print_verdicts_json(result)


@app.command("run")
def run_command(
    suite: Annotated[str, typer.Option(help="quick (about 10 minutes here) or full (robust verdicts, about 7 hours).")
                     ] = "quick",
    device: Device = "cpu",
    db: Db = DEFAULT_DB,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Report folder (default: report/ beside the store).")
                       ] = None,
    dtype: Annotated[str, typer.Option(help="dtype of the claims' timing and memory trials (training: float32).")
                     ] = "float32",
    autocast: Autocast = None,
    compile_: Compile = False,
    compile_backend: CompileBackend = "inductor",
    executor: ExecutorName = "local",
    address: Address = None,
) -> None:
    """The main job: run (or resume) the claims suite, recommend for two standard profiles, and write the report."""
    from seqarena.cli.render import BarEvents, print_job
    from seqarena.job import run_job, suite_with


    suite = suite_with(suite, compile=compile_setting(compile_, compile_backend), dtype=dtype, autocast=autocast)
    with executor_for(executor, address, device):
        done = run_job(suite, device, db, out_dir, events=BarEvents())
    print_job(done)


@app.command("train")
def train_command(
    model: Annotated[list[str], typer.Option("--model", "-m", help="Model as name[:field=value,...] (one).")],
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
    lr: Annotated[float | None, typer.Option(help="Learning rate (default 1e-3).", callback=finite)] = None,
    tune_lr: Annotated[bool, typer.Option(help="Pick the LR from a log grid on the validation split first.")] = False,
    tbptt: Annotated[int | None, typer.Option(help="Truncated BPTT segment length (recurrent models).")] = None,
    checkpointing: Annotated[bool, typer.Option(help="Activation checkpointing (attention models).")] = False,
    eval_every: Annotated[int, typer.Option(help="Evaluate every N steps.")] = 100,
    target: Annotated[float | None, typer.Option(
        help="Stop when the validation metric reaches this.", callback=finite)] = None,
    device: Device = "cpu",
    threads: Annotated[int | None, typer.Option(help="torch threads.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed (init, batches).")] = 0,
    db: Db = DEFAULT_DB,
    autocast: Autocast = None,
    compile_: Compile = False,
    compile_backend: CompileBackend = "inductor",
    executor: ExecutorName = "local",
    address: Address = None,
) -> None:
    """Train a model on a task within a budget, print the curve and final metrics, and store the trial."""
    from seqarena.cli.render import BarEvents, print_training, report_training_load
    from seqarena.job import prepare_task, train_job


    if len(model) != 1:  # typer would keep only the last of repeated -m: say so instead of training the wrong one
        raise SpecError(f"train takes one model, got {len(model)} ({', '.join(model)}): run one train per model")
    budget_s, steps = parse_budget(budget)
    settings = task_settings(set_, distance=distance, length=length, depth=depth, dataset=dataset, file=file,
                             column=column, lookback=lookback, horizon=horizon, n_train=n_train)
    with err.status(f"preparing task {task}"):
        made = prepare_task(task, **settings)
    with executor_for(executor, address, device):
        result = train_job(model[0], task, settings=settings, made=made, params=parse_count(params, "--params"),
                           layers=layers, db=db, events=BarEvents(spinner=True), budget_s=budget_s, steps=steps,
                           batch=batch, lr=lr, tune_lr=tune_lr, tbptt=tbptt, checkpointing=checkpointing,
                           eval_every=eval_every, target=target, device=device, threads=threads, seed=seed,
                           compile=compile_setting(compile_, compile_backend), autocast=autocast)
    print_training(result.spec, result.metrics, result.reused)
    report_training_load(result.spec, result.load)
