"""`seqarena claims`: a real (small) run end to end, resume, and one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from seqarena.cli import main


def test_claims_run_prints_verdicts_and_resumes(tmp_path):
    db = str(tmp_path / "c.db")
    cmd = [sys.executable, "-m", "seqarena", "claims", "--only", "10", "--db", db]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "< 100 tokens: RNN" in r.stdout and "caveat (all): the essay speaks of GPUs" in r.stdout
    assert any(word in r.stdout for word in ("supported", "refuted", "inconclusive"))
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert "0 trials measured" in again.stdout and "to measure; expected" in again.stdout


@pytest.mark.parametrize("args, message", [(["--only", "99"], "unknown claim '99'"),
                                           (["--suite", "huge"], "unknown suite 'huge'"),
                                           (["--device", "tpu"], "device")])
def test_bad_claims_arguments_are_one_line_errors(args, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["claims", *args, "--db", str(tmp_path / "x.db")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
