"""`seqarena train` and `seqarena tasks`."""

from __future__ import annotations

import json

import pytest

from seqarena.cli import main, parse_budget, parse_count
from tests.conftest import run_cli

_run = run_cli  # in-process: the console entry point itself is tested in test_cli.py


def test_train_end_to_end_stores_the_trial(tmp_path, one_worker):
    db = tmp_path / "r.db"
    args = ["train", "--model", "gru", "--task", "copy", "--distance", "5", "--budget", "40steps", "--params", "20k",
            "--eval-every", "20", "--threads", "1", "--db", str(db)]
    r = _run(*args)
    assert r.returncode == 0, r.stderr
    for text in ("gru on copy(distance=5)", "val accuracy", "baseline (memoryless) 0.1250", "40 steps",
                 "task copy, cpu, 1 threads, float32, seed 0"):
        assert text in r.stdout, text
    from seqarena.store import load

    df = load(db, scenario="train")
    assert len(df) == 1 and df["train_status"].iloc[0] == "ok" and df["steps"].iloc[0] == 40
    assert len(df["curve"].iloc[0]) == 2
    again = _run(*args)
    assert again.returncode == 0 and "already in the store" in again.stdout


def test_tasks_lists_every_task_with_parameters():
    r = _run("tasks", "--json")
    assert r.returncode == 0
    info = json.loads(r.stdout)
    assert info["copy"]["params"]["distance"]["default"] == 50 and info["char_lm"]["metric"] == "bits_per_char"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--task", "copy", "--distance", "0"], "distance"),
        (["--task", "sorting"], "unknown task"),
        (["--task", "copy", "--budget", "soon"], "--budget must look like"),
        (["--task", "copy", "--params", "lots"], "--params must be a number"),
        (["--task", "char_lm", "--file", "/nonexistent.txt"], "cannot read text file"),
        (["--task", "forecast", "--file", "/nonexistent.csv", "--column", "x"], "cannot read CSV file"),
        (["--task", "copy", "--set", "colour"], "--set takes key=value"),
        (["--task", "copy", "--set", "colour=red"], "unknown parameter 'colour'"),
    ],
)
def test_bad_train_arguments_are_one_line_errors(args, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--model", "lstm", *args, "--db", str(tmp_path / "x.db")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("seqarena: error:") and message in err
    assert len(err.strip().splitlines()) == 1


def test_budget_and_count_parsing():
    assert parse_budget("60s") == (60.0, None) and parse_budget("2m") == (120.0, None)
    assert parse_budget("500steps") == (None, 500) and parse_budget("300") == (None, 300)
    assert parse_count("200k", "x") == 200_000 and parse_count("1.5M", "x") == 1_500_000
    assert parse_count("1e6", "x") == 1_000_000


def test_a_running_training_reports_its_progress(tmp_path, one_worker):
    """Issue 30 item 13: `train` printed nothing for minutes; the worker now reports step, loss and the fraction of
    the budget about once a second, and the terminal shows them with an ETA."""
    from seqarena.cli.render import progress_text
    from seqarena.job import Events, train_job

    class Notes(Events):
        def __init__(self) -> None:
            self.notes: list[dict] = []

        def progress(self, spec, note) -> None:
            self.notes.append(note)

    events = Notes()
    train_job("lstm", "copy", settings={"distance": 4, "n_train": 64, "n_val": 16, "n_test": 16}, params=20_000,
              db=tmp_path / "r.db", events=events, budget_s=2.5, batch=8, eval_every=1000)
    assert events.notes, "no progress arrived during a 2.5 s training"
    assert all(n["step"] >= 1 and 0 < n["fraction"] <= 1 and n["loss"] > 0 for n in events.notes)
    assert [n["step"] for n in events.notes] == sorted(n["step"] for n in events.notes)
    assert progress_text({"step": 120, "steps": 500, "fraction": 0.24, "loss": 1.2345, "elapsed_s": 12.0}) == \
        "step 120/500 · loss 1.234 · 24% · eta 38 s"
