"""``seqarena recommend``: which architecture for a workload (length, data size, budgets: ranked from this machine's
measurements) or, with ``--data``, for the user's own data (trained, tuned, timed and weighed here)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqarena.cli.app import DEFAULT_DB, Address, AsJson, Db, Device, ExecutorName, app
from seqarena.cli.measure import executor_for
from seqarena.cli.parsing import finite, parse_budget, parse_count
from seqarena.errors import SpecError
from seqarena.essay import DEFAULT_CANDIDATES

DATA_PARAMS = 100_000  # --data's default parameter budget: small data, small models (the user's 100k example)


@app.command("recommend")
def recommend_command(
    data: Annotated[Path | None, typer.Option(
        help="Your data: a CSV/Parquet series (forecast), a text file (lm), or labelled sequences (classify: a table "
             "with a label column, or an NPZ with X and y). Candidates are trained, tuned and timed on it.")] = None,
    task: Annotated[str | None, typer.Option(help="With --data: forecast, lm or classify (default: from the file).")
                    ] = None,
    column: Annotated[str | None, typer.Option(help="With --data: the series column, or the sequence column.")] = None,
    label: Annotated[str | None, typer.Option(help="With --data: the label column (classify).")] = None,
    lookback: Annotated[int | None, typer.Option(min=1, help="Forecast: past steps seen (default: 2 seasons).")] = None,
    horizon: Annotated[int | None, typer.Option(min=1, help="Forecast: steps predicted (default 1).")] = None,
    period: Annotated[int | None, typer.Option(min=1, help="Forecast: the season (default: inferred).")] = None,
    budget: Annotated[str, typer.Option(help="With --data: total wall-clock budget, e.g. 10m or 90s.")] = "10m",
    seq_len: Annotated[int | None, typer.Option(
        help="Tokens per sequence (n); with --data it comes from the task unless given.")] = None,
    train_sequences: Annotated[int | None, typer.Option(
        help="Training-set size in sequences (without --data: required).")] = None,
    latency_budget_ms: Annotated[float | None, typer.Option(
        help="Latency budget: per forward at (n, batch), per token with --streaming.", callback=finite)] = None,
    memory_cap_mb: Annotated[float | None, typer.Option(
        help="Peak MB above the process baseline (of inference; see --cap-scope).", callback=finite)] = None,
    cap_scope: Annotated[str, typer.Option(help="What the cap binds: inference (deployment) or both (the model "
                                                "also trains on this device).")] = "inference",
    batch: Annotated[int, typer.Option(help="Sequences per call when deployed.")] = 1,
    streaming: Annotated[bool, typer.Option("--streaming", help="Tokens arrive one by one (decode cost).")] = False,
    threads: Annotated[int | None, typer.Option(
        help="The deployment's threads latency is measured at (default: every core with --data; without, the "
             "claims' timing threads, so the stored suites answer).")] = None,
    device: Device = "cpu",
    params: Annotated[str | None, typer.Option(
        help="Model size in parameters, e.g. 1M or 200k (default 1M; 100k with --data).")] = None,
    models: Annotated[list[str] | None, typer.Option(
        "--models", "-m", help="Candidates, comma-separated or repeated (default "
                               f"{','.join(DEFAULT_CANDIDATES)}; with --data lstm,gru,transformer,linear_attention).")
                      ] = None,
    probe: Annotated[bool, typer.Option(help="Measure what the store lacks first (a short sweep).")] = True,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="With --data: where model.pt and recommend.html go (default: beside --db).")] = None,
    as_json: AsJson = False,
    db: Db = DEFAULT_DB,
    executor: ExecutorName = "local",
    address: Address = None,
) -> None:
    """Rank the architectures for a workload from this machine's measurements (probing what is missing), or, with
    --data, for your data: each candidate trained and tuned on it, timed and weighed as deployed, beside baselines."""
    from seqarena.run import parse_models

    candidates = parse_models(models) if models else None
    if data is not None:
        _on_data(data, task, column, label, lookback, horizon, period, budget, seq_len, latency_budget_ms,
                 memory_cap_mb, cap_scope, batch, streaming, threads, device, params, candidates, out_dir, as_json,
                 db, executor, address)
        return
    if seq_len is None or train_sequences is None:
        raise SpecError("recommend needs --seq-len and --train-sequences, or --data PATH (your data)")
    if as_json or out_dir is not None:
        raise SpecError("--json and --out apply to recommend --data")
    from seqarena import recommender
    from seqarena.cli.render import BarEvents, print_recommendation, report_contended

    profile = recommender.make_profile(
        seq_len=seq_len, train_sequences=train_sequences, latency_budget_ms=latency_budget_ms,
        memory_cap_mb=memory_cap_mb, cap_scope=cap_scope, batch=batch, streaming=streaming, device=device,
        params=parse_count(params or "1M", "--params"), threads=threads)
    events = BarEvents(warn_busy=probe, prefix="probe: ")
    with executor_for(executor, address, device):
        events.begin("probe", None)
        try:
            rec = recommender.recommend(profile, db, probe=probe, candidates=candidates or DEFAULT_CANDIDATES,
                                        on_start=events.start, on_done=events.done)
        finally:
            events.end()
    print_recommendation(rec, streaming)
    if rec.probed is not None:
        report_contended(rec.probed)  # the probe's flagged rows, as after every command that measures


def _on_data(data, task, column, label, lookback, horizon, period, budget, seq_len, latency_budget_ms,
             memory_cap_mb, cap_scope, batch, streaming, threads, device, params, candidates, out_dir, as_json, db,
             executor, address) -> None:
    from seqarena.cli.render import BarEvents, err, print_json
    from seqarena.cli.render_data import print_data_recommendation
    from seqarena.job import recommend_on_data
    from seqarena.recommender import DATA_CANDIDATES

    if device != "cpu":
        raise SpecError("recommend --data measures on the CPU here; --device cuda is not supported with --data yet")
    if streaming:
        raise SpecError("--streaming with --data: the per-token cost of a model as deployed on your data is not "
                        "measured yet; drop --streaming (the forward latency at your batch is measured)")
    seconds, _ = parse_budget(budget)
    if seconds is None:
        raise SpecError(f"--budget for --data is wall-clock time (e.g. 10m or 90s), got {budget!r}")
    events = BarEvents(console=err) if as_json else BarEvents()
    with executor_for(executor, address, device):
        try:
            rec = recommend_on_data(
                data, task, db=db, candidates=candidates or DATA_CANDIDATES,
                params=parse_count(params, "--params") if params else DATA_PARAMS, budget_s=seconds, batch=batch,
                latency_budget_ms=latency_budget_ms, memory_cap_mb=memory_cap_mb, cap_scope=cap_scope,
                threads=threads, column=column, label=label, lookback=lookback, horizon=horizon, period=period,
                seq_len=seq_len, out=out_dir, on_phase=events.begin_phase, on_start=events.start, on_done=events.done)
        finally:
            events.end()
    if as_json:
        print_json(rec.to_dict())
    else:
        print_data_recommendation(rec)
