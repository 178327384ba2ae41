"""Commands that show or rebuild without measuring: ``list``, ``tasks``, ``demo``, ``report``, ``results export``.

Each command imports what it calls inside its body: defining the commands (which ``seqarena --help`` does) must not
load torch, pandas or scipy (seconds of start-up for every command)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from seqarena.cli.app import (
    DEFAULT_DB,
    AsJson,
    Compile,
    CompileBackend,
    Db,
    Device,
    app,
    err,
    fail,
    out,
    results_app,
)
from seqarena.cli.parsing import compile_setting, parse_count
from seqarena.errors import SpecError
from seqarena.store.outputs import EXPORT_FORMATS


def show(catalogue: dict[str, dict[str, Any]], as_json: bool, render: Callable[[dict[str, dict[str, Any]]], None]
         ) -> None:
    """A catalogue (models, tasks) as JSON or as rich tables."""
    if as_json:
        print(json.dumps(catalogue, indent=2, default=str))
    else:
        render(catalogue)


@app.command("list")
def list_models(as_json: AsJson = False) -> None:
    """List the registered models with their spec fields and defaults."""
    from seqarena.cli.render import print_registry
    from seqarena.models import catalogue

    show(catalogue(), as_json, print_registry)


@app.command("check")
def check_command(
    model: Annotated[str, typer.Option("--model", "-m", help="name[:field=value,...], an import path "
                                       "pkg.module:Class or hf:NAME.")],
    as_json: AsJson = False,
) -> None:
    """Run the generic interface checks (step == forward, chunked continuation, causality, generation modes) on
    one model, e.g. your own class: exit 1 when any fails."""
    from seqarena.cli.render import print_checks, print_json
    from seqarena.models import parse_model_string
    from seqarena.models.checks import run_checks, validate_model

    name, fields = parse_model_string(model)
    validate_model(name, fields)
    results = run_checks(name, fields)
    if as_json:
        print_json([dataclasses.asdict(r) for r in results])
    else:
        print_checks(model, results)
    failed = [r.check for r in results if r.status == "failed"]
    if failed:
        fail(f"{model} fails {len(failed)} of {len(results)} interface checks: {', '.join(failed)}", 1)


@app.command("tasks")
def list_tasks(as_json: AsJson = False) -> None:
    """List the tasks, their parameters and defaults."""
    from seqarena.cli.render import print_tasks
    from seqarena.tasks import catalogue

    show(catalogue(), as_json, print_tasks)


@app.command()
def demo(
    model: Annotated[list[str] | None, typer.Option(
        "--model", "-m", help="Model as name[:field=value,...]; repeatable. Default: every registered model.")] = None,
    params: Annotated[str, typer.Option(help="Parameter budget per model (embeddings included), e.g. 200k or 1M.")
                      ] = "200k",
    layers: Annotated[int, typer.Option(help="Layers per model.")] = 2,
    vocab_size: Annotated[int, typer.Option(help="Token vocabulary.")] = 256,
    batch: Annotated[int, typer.Option(help="Training batch size.")] = 8,
    seq_len: Annotated[int, typer.Option(help="Training sequence length.")] = 256,
    tokens: Annotated[str, typer.Option(help="Tokens to generate per mode (batch 1), e.g. 64 or 1k.")] = "64",
    repeats: Annotated[int, typer.Option(help="Timed forward+backward repeats (median).")] = 5,
    device: Device = "cpu",
    dtype: Annotated[str, typer.Option(help="float32, float64, bfloat16 or float16.")] = "float32",
    threads: Annotated[int | None, typer.Option(help="torch threads (default: torch's choice).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    compile_: Compile = False,
    compile_backend: CompileBackend = "inductor",
) -> None:
    """Build every model small, time training, generate in every mode, print one table."""
    from seqarena.cli.render import print_demo
    from seqarena.demo import DemoSettings, environment, run_demo

    settings = DemoSettings(params=parse_count(params, "--params"), vocab_size=vocab_size, layers=layers, batch=batch,
                            seq_len=seq_len, tokens=parse_count(tokens, "--tokens"), repeats=repeats, device=device,
                            dtype=dtype, threads=threads, seed=seed, compile=compile_setting(compile_, compile_backend))
    with err.status("") as status:
        rows = run_demo(model, settings, on_model=lambda m: status.update(f"demo: {m}"))
    print_demo(rows, environment(settings), settings.device)


@app.command("report")
def report_command(
    db: Db = DEFAULT_DB,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder (default: report/ beside the store).")
                       ] = None,
    suite: Annotated[str, typer.Option(help="The claims suite the verdicts are judged for: quick or full.")] = "quick",
    device: Annotated[str, typer.Option(help="The device the claims were measured on (cpu, cuda or cuda:N).")] = "cpu",
    compare: Annotated[Path | None, typer.Option(
        help="Another store: add a side-by-side section (its measurements / this store's) and its figure.")] = None,
) -> None:
    """Rebuild the report (index.html, report.md, results.json/csv) from the store, without measuring anything."""
    from seqarena.bench.spec import check_device
    from seqarena.claims import resolve_suite
    from seqarena.report import build_report

    resolve_suite(suite)
    check_device(device)  # the claims' trials are identified by device: judge them for the one they ran on
    if not db.exists():
        raise SpecError(f"no results store at {db}; measure first (seqarena claims, bench or train)")
    with err.status("building the report"):
        index = build_report(db, out_dir, suite=suite, device=device, compare=compare)
    out.print(f"wrote {index}", highlight=False, soft_wrap=True)


@results_app.command("export")
def results_export(
    fmt: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(EXPORT_FORMATS)}.")] = "csv",
    db: Db = DEFAULT_DB,
    out_path: Annotated[Path | None, typer.Option("--out", help="Output file (default: next to the store).")] = None,
) -> None:
    """Export every trial (ok and failed) as csv, parquet or json."""
    from seqarena.store import Store, export

    if fmt not in EXPORT_FORMATS:
        raise SpecError(f"unknown format {fmt!r}; choose from: {', '.join(EXPORT_FORMATS)}")
    Store(db, readonly=True).close()  # one line for a missing, foreign or damaged store, before any output
    path = export(db, out_path or db.with_suffix(f".{fmt}"), fmt)
    out.print(f"wrote {path}", highlight=False)
