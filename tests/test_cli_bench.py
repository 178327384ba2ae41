"""`seqarena bench` and `seqarena results`: a real tiny sweep end to end, resume, export, one-line errors."""

from __future__ import annotations

import pandas as pd
import pytest

from seqarena.cli import main
from tests.conftest import run_cli

TINY = ["--params", "20000", "--vocab-size", "32", "--repeats", "2", "--min-seconds", "0.01", "--threads", "1"]

_run = run_cli  # in-process: the console entry point itself is tested in test_cli.py


def test_bench_sweep_prints_table_slopes_crossovers_and_resumes(tmp_path, one_worker):
    db = str(tmp_path / "r.db")
    args = ["bench", "forward_latency", "--models", "lstm,transformer", "--seq-lens", "16,32,64,128", "--batch", "2",
            "--rounds", "2", "--db", db, *TINY]
    r = _run(*args)
    assert r.returncode == 0, r.stderr
    for text in ("forward_latency", "median ms", "log-log slope of latency", "log-log slope of peak memory",
                 "crossovers", "32 measured, 0 failed", "1 threads", "torch"):
        assert text in r.stdout, text
    repeated = ["-m", "lstm", "-m", "transformer", *args[4:]]  # repeated -m: both models (typer kept the last)
    again = _run(*args[:2], *repeated[:-len(TINY)], *TINY, "--tokens", "7")  # an ignored setting: still a resume
    assert again.returncode == 0 and "0 measured, 0 failed, 32 already in the store" in again.stdout
    for fmt, reader in [("csv", pd.read_csv), ("parquet", pd.read_parquet), ("json", pd.read_json)]:
        out = tmp_path / f"all.{fmt}"
        e = _run("results", "export", "--format", fmt, "--db", db, "--out", str(out))
        assert e.returncode == 0, e.stderr
        table = reader(out)
        assert len(table) == 32 and "time.samples" in table


def test_bench_generation_table(tmp_path, one_worker):
    r = _run("bench", "generation", "--models", "lstm,transformer", "--tokens", "64", "--db", str(tmp_path / "g.db"),
             *TINY)
    assert r.returncode == 0, r.stderr
    for text in ("@64", "decode ms", "recompute", "cache", "state", "6 measured"):
        assert text in r.stdout, text


def test_bench_gradients_probes_each_model_once_per_length(tmp_path, one_worker):
    db = str(tmp_path / "grad.db")
    r = _run("bench", "gradients", "--models", "lstm,transformer", "--seq-lens", "16,32", "--db", db, *TINY)
    assert r.returncode == 0, r.stderr
    for text in ("mean |dL_T/dx_t| by distance", "d=n-1", "far/near", "4 measured, 0 failed"):
        assert text in r.stdout, text  # one round by default: the probe is seeded and float64, a rerun repeats it
    rows = [line for line in r.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 4 and all("—" not in line for line in rows)  # every distance present at every length
    again = _run("bench", "gradients", "--models", "lstm,transformer", "--seq-lens", "16,32", "--db", db, *TINY)
    assert again.returncode == 0 and "0 measured, 0 failed, 4 already in the store" in again.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["bench", "speed", "--models", "lstm"], "unknown scenario 'speed'"),
        (["bench", "forward_latency", "--models", "nope"], "unknown model"),
        (["bench", "forward_latency", "--models", "lstm", "--seq-lens", "a,b"], "--seq-lens must be"),
        (["bench", "forward_latency", "--models", "lstm", "--seq-lens", "0"], "--seq-lens must be a positive"),
        (["bench", "forward_latency", "--models", "lstm", "--device", "tpu"], "device"),
        (["bench", "forward_latency", "--models", "lstm", "--dtype", "int3"], "unknown dtype"),
        (["bench", "forward_latency", "--models", "lstm", "--timeout", "0"], "--timeout must be > 0"),
        (["bench", "generation", "--models", "lstm", "--tokens", "0"], "--tokens must be a positive whole number"),
        (["bench", "forward_latency"], "--models"),
        (["bench", "forward_latency", "--models", "lstm", "--params", "lots"], "--params must be"),
        (["bench", "forward_latency", "--models", "lstm", "--rounds", "0"], "rounds must be >= 1"),
        (["results", "export", "--format", "xls"], "unknown format"),
        (["results", "export", "--db", "/nonexistent/x.db"], "no results store"),
    ],
)
def test_bad_arguments_are_one_line_errors(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*args, *(["--db", str(tmp_path / "x.db")] if args[0] == "bench" else [])])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.startswith("seqarena: error:") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
