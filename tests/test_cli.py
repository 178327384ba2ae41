"""The command line: help, version, list, the demo, and one-line errors with exit code 2.

In-process (``run_cli``), except one test of the real console entry point in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

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


@pytest.mark.parametrize("args", [["--help"], ["bench", "--help"], ["--version"]])
def test_help_and_version_load_neither_torch_nor_the_analysis_stack(args):
    """Every command's start paid for torch, pandas, scipy and matplotlib (5-6 s here) before it could even print its
    help: they load when a command runs, not when the commands are defined. A fresh interpreter, so nothing the test
    session imported hides an import."""
    heavy = ("torch", "pandas", "scipy", "matplotlib", "numpy")
    code = (f"import sys\nfrom seqarena.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
            f"print('LOADED', sorted(m for m in {heavy!r} if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "LOADED []", r.stdout[-400:]


def test_version():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"seqarena {seqarena.__version__}"


def test_list_shows_every_model_with_fields_and_defaults():
    r = run_cli("list", "--json")
    assert r.returncode == 0
    registry = json.loads(r.stdout)
    ours = {name for name in registry if not name.startswith("hf:")}  # the HF architectures: tests/models/test_hf.py
    assert ours == set(seqarena.available())
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
        (["demo", "--params", "lots"], "--params must be a number like 200000, 200k or 1.5M"),
        (["train", "-m", "lstm", "-m", "gru", "--task", "copy"], "train takes one model, got 2 (lstm, gru)"),
        (["bench", "forward_latency", "-m", "lstm", "--params", ""], "--params needs at least one value"),
        (["bench", "forward_latency", "-m", "lstm", "--seq-lens", ""], "--seq-lens needs at least one value"),
        (["train", "-m", "lstm", "--task", "copy", "--batch", "1" + "0" * 23], "beyond any machine's reach"),
        (["demo", "-m", "lstm", "--seq-len", "1" + "0" * 23], "beyond any machine's reach"),
        *([(["train", "-m", "lstm", "--task", "copy", "--device", "cuda"], "no CUDA device is available")]
          if not torch.cuda.is_available() else []),
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
        "demo", "--params", "20k", "--seq-len", "32", "--batch", "2", "--tokens", "8", "--repeats", "1",
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


# -- verdicts as the claims command renders them (a synthetic result: the rendering, not the measuring) -----------

def _fake_claims_result(tmp_path):
    """Claim 10 inconclusive with a NaN effect and a reason, and the implementation check 13b, their rows from two
    commits: every case the verdict tables and the JSON must show."""
    from seqarena.claims import Verdict, select
    from seqarena.job import ClaimsResult
    from seqarena.run import SweepSummary

    ten, check = select(["10"])[0], next(c for c in select(["13"]) if c.check)
    prov = {"trial_ids": [3, 4], "commits": ["aaaaaaaaaaaa1111"], "dirty": ["False"], "torch": ["2.4.0"],
            "devices": ["cpu"], "dtypes": ["float32"], "threads": ["2.0"], "cpu": ["x86"], "gpu": []}
    v10 = Verdict("10", "inconclusive", float("nan"), None, 1.0, "below", ten.effect_name, reason="missing data: none",
                  zone=(0.95, 1.05), provenance=prov)
    vc = Verdict(check.id, "supported", 4.0, (3.5, float("inf")), check.threshold, check.direction, check.effect_name,
                 check=True, provenance={**prov, "trial_ids": [9], "commits": ["bbbbbbbbbb2222"]})
    return ClaimsResult("quick", [ten, check], [v10, vc], SweepSummary(2, skipped=2), [], tmp_path / "c.db")


@pytest.fixture
def fake_claims(tmp_path, monkeypatch):
    from seqarena import job

    result = _fake_claims_result(tmp_path)

    def run_claims_job(suite, only, *, events, **kwargs):
        events.judged(result)
        return result

    monkeypatch.setattr(job, "run_claims_job", run_claims_job)  # the command imports it from the job when it runs
    return result


def test_claims_tables_split_checks_and_show_reason_zone_and_provenance(fake_claims):
    r = run_cli("claims", "--only", "10")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    check = fake_claims.claims[1].id
    essay_table, checks_table = out.split("checks of the implementation (hold by construction; not evidence about")
    assert "claims (quick suite)" in essay_table and "< 1 (zone 0.95-1.05)" in essay_table
    assert f"│ {check}" not in essay_table and f"│ {check}" in checks_table and "│ 10 " not in checks_table
    assert "  10: why: missing data: none" in out and f"{check}: why" not in out  # supported, no reason: no line
    lines = out.splitlines()
    (prov,) = [x for x in lines if x.startswith("  provenance: ")]
    assert prov == ("  provenance: commit aaaaaaaaaa, bbbbbbbbbb; torch 2.4.0; device cpu; dtype float32; "
                    "threads 2")
    assert any(x.startswith("  caveat: these verdicts rest on rows measured by 2 different commits") for x in lines)


def test_claims_json_is_strict_json_alone_on_stdout(fake_claims):
    r = run_cli("claims", "--only", "10", "--json")
    assert r.returncode == 0, r.stderr
    records = json.loads(r.stdout)  # the whole of stdout: no table, no progress
    assert "claims (quick suite)" in r.stderr  # the tables went to stderr
    assert [x["id"] for x in records] == ["10", fake_claims.claims[1].id]
    ten, check = records
    assert ten["effect"] is None and ten["margin"] is None and ten["ci"] is None  # NaN -> null, never NaN
    assert ten["zone"] == [0.95, 1.05] and ten["reason"] == "missing data: none" and ten["check"] is False
    assert ten["quote"].startswith("For short sequences") and ten["provenance"]["trial_ids"] == [3, 4]
    assert check["check"] is True and check["ci"] == [3.5, None] and check["status"] == "supported"
    assert "NaN" not in r.stdout and "Infinity" not in r.stdout


def test_model_labels_print_as_typed_never_as_emoji():
    from seqarena.cli.app import err, out

    for console in (out, err):
        with console.capture() as cap:
            console.print("hf:llama:head=2 hf:smile:x")
        assert cap.get().strip() == "hf:llama:head=2 hf:smile:x"  # issue 30 item 7: was "hf🦙head=2"


def test_a_generation_sweep_where_every_trial_failed_prints_no_traceback():
    import pandas as pd

    from seqarena.cli.app import out
    from seqarena.cli.render_sweep import print_sweep

    failed = pd.DataFrame([{"model": "transformer", "status": "failed", "scenario": "generation", "seq_len": 8,
                            "batch": 1, "reason": "invalid: generation needs a causal LM; transformer is not one",
                            "spec.options": {"causal": False}, "spec.mode": "cache", "spec.tokens": 4}])
    with out.capture() as cap:
        print_sweep("generation", failed)  # issue 30 item 16: was IndexError (an empty table's first row)
    assert "no successful generation trials" in cap.get()


def test_compare_refuses_a_store_against_itself(tmp_path):
    db = tmp_path / "a.db"
    db.write_bytes(b"")
    r = run_cli("compare", str(db), str(tmp_path / "." / "a.db"))
    assert r.returncode == 2 and "compare a store with another one" in r.stderr and "Traceback" not in r.stderr


def test_task_settings_refuse_two_data_sources_and_a_file_that_is_not_one(tmp_path):
    import os

    from seqarena.cli.parsing import task_settings
    from seqarena.errors import SpecError

    csv = tmp_path / "x.csv"
    csv.write_text("y\n1\n2\n")
    assert task_settings(None, file=csv, dataset=None) == {"file": csv}
    with pytest.raises(SpecError, match="give --file or --dataset, not both"):
        task_settings(None, file=csv, dataset="sunspots")  # issue 30 item 17: one silently won
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(SpecError, match="must be a regular file"):
        task_settings(None, file=fifo)  # issue 30 item 18: reading it hung
