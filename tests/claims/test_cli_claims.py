"""`seqarena claims`: a real (small) run end to end, resume, and one-line errors."""

from __future__ import annotations

import json

import pytest

from seqarena.claims.suites import SUITES
from seqarena.cli import main
from tests.conftest import run_cli

#: The quick suite shrunk to two trials for claim 10 (one length, one round, both roles): the command's plumbing is
#: the same, and the engine's adaptive rounds are tested in test_engine.py.
TWO_TRIALS = {"short": (16,), "params": 50_000, "repeats": 3, "min_seconds": 0.0, "rounds": 1, "max_rounds": 1}


def test_claims_run_prints_verdicts_and_resumes(tmp_path, monkeypatch, one_worker):
    monkeypatch.setitem(SUITES, "quick", SUITES["quick"].model_copy(update=TWO_TRIALS))
    args = ["claims", "--only", "10", "--db", str(tmp_path / "c.db")]
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    assert "< 100 tokens: RNN" in r.stdout and "caveat (all): the essay speaks of GPUs" in r.stdout
    assert any(word in r.stdout for word in ("supported", "refuted", "inconclusive"))
    assert "2 trials measured" in r.stdout
    # one round: no interval, so no verdict, and the reason says so under the table; the provenance line follows
    assert "inconclusive" in r.stdout and "  10: why: no replication" in r.stdout
    assert "  provenance: commit " in r.stdout and "device cpu; dtype float32" in r.stdout
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert "0 trials measured" in again.stdout and "to measure; expected" in again.stdout
    # --json on the same store: the verdict alone on stdout (strict JSON), the rest on stderr; nothing re-measured
    as_json = run_cli(*args, "--json")
    assert as_json.returncode == 0, as_json.stderr
    (record,) = json.loads(as_json.stdout)
    assert record["id"] == "10" and record["check"] is False and record["status"] == "inconclusive"
    assert record["reason"].startswith("no replication") and record["zone"] == [0.95, 1.05]
    assert len(record["provenance"]["trial_ids"]) == 2 and record["provenance"]["devices"] == ["cpu"]
    assert "0 trials measured" in as_json.stderr and "  10: why: no replication" in as_json.stderr
    # a trial stored as failed (a timeout while the machine was busy) stays final, until --retry-failed runs it again
    import sqlite3

    with sqlite3.connect(tmp_path / "c.db") as con:
        con.execute("UPDATE trials SET status = 'failed', failure = 'timeout', reason = 'timeout: still running' "
                    "WHERE id = (SELECT MIN(id) FROM trials)")
    con.close()
    stuck = run_cli(*args)
    assert "0 trials measured" in stuck.stdout and "timeout" in stuck.stdout
    retried = run_cli(*args, "--retry-failed")
    assert retried.returncode == 0, retried.stderr
    assert "1 to measure" in retried.stdout and "1 trials measured" in retried.stdout
    assert "timeout" not in retried.stdout


@pytest.mark.parametrize("args, message", [(["--only", "99"], "unknown claim '99'"),
                                           (["--suite", "huge"], "unknown suite 'huge'"),
                                           (["--device", "tpu"], "device")])
def test_bad_claims_arguments_are_one_line_errors(args, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["claims", *args, "--db", str(tmp_path / "x.db")])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
