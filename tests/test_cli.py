"""The command line: help, version, list, the demo, and one-line errors with exit code 2.

In-process (``run_cli``), except one test of the real console entry point in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import seqarena
from tests.conftest import run_cli


def test_the_real_entry_point_exits_2_with_one_line_on_stderr():
    """``python -m seqarena`` in its own interpreter: the exit code and stderr a shell sees (the in-process tests below
    read the same through ``SystemExit``)."""
    r = subprocess.run([sys.executable, "-m", "seqarena", "demo", "--model", "lstmm"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "unknown model 'lstmm'; choose from: " in lines[0] and "Traceback" not in r.stderr
    assert lines[0].startswith("seqarena: error: ") and r.stdout == ""


def test_help_lists_the_commands():
    r = run_cli("--help")
    assert r.returncode == 0
    for command in ("list", "demo"):
        assert command in r.stdout


def test_version():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"seqarena {seqarena.__version__}"


def test_list_shows_every_model_with_fields_and_defaults():
    r = run_cli("list", "--json")
    assert r.returncode == 0
    registry = json.loads(r.stdout)
    assert set(registry) == set(seqarena.available())
    assert registry["transformer"]["fields"]["positions"]["default"] == "rope"
    assert registry["lstm"]["generation_modes"] == ["state"]
    text = run_cli("list")
    assert text.returncode == 0 and "n_heads" in text.stdout and "lstm" in text.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["demo", "--model", "lstmm"], "unknown model 'lstmm'; choose from: "),
        (["demo", "-m", "lstm:heads=2"], "unknown spec field 'heads' for model 'lstm'; valid fields: "),
        (["demo", "-m", "transformer:positions=spiral"], "positions"),
        (["demo", "--batch", "zero"], "Invalid value for '--batch'"),
        (["demo", "--batch", "0"], "batch must be >= 1"),
        (["demo", "--dtype", "f8"], "unknown dtype 'f8'"),
        (["nosuchcommand"], "No such command"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle):
    r = run_cli(*args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert needle in lines[0] and "Traceback" not in r.stderr


def test_demo_prints_a_row_per_model_and_agreeing_modes():
    r = run_cli(
        "demo", "--params", "20000", "--seq-len", "32", "--batch", "2", "--tokens", "8", "--repeats", "1",
        "-m", "lstm", "-m", "transformer:positions=alibi", "-m", "transformer:causal=false",
    )
    assert r.returncode == 0, r.stderr
    rows = {}
    for line in r.stdout.splitlines():
        if line.startswith("│") and (name := line.split("│")[1].strip()):
            rows[name] = line
    assert set(rows) == {"lstm", "transformer:positions=alibi", "transformer:causal=false"}
    assert "yes" in rows["lstm"] and "state" in rows["lstm"]
    assert "yes" in rows["transformer:positions=alibi"] and "cache" in rows["transformer:positions=alibi"]
    assert "—" in rows["transformer:causal=false"]  # bidirectional: no generation, no state
    assert "threads" in r.stdout and "torch" in r.stdout
