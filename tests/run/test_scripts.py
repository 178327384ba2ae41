"""The Python API from a plain script: workers are spawned and import the script for the models it registers, yet an
unguarded script's own calls do not run again in them (seqarena._process, run.child.import_driver_main)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
from examples.my_model import MyRNN
from seqarena.job import bench_job
from seqarena.models import register


@register("script_rnn")  # a model only this script knows: the workers must see it
class ScriptRNN(MyRNN):
    pass

{body}
"""

CALL = """
rows = bench_job("forward_latency", ["script_rnn:d_model=8", "lstm:d_model=8"], seq_lens=[8], rounds=1, repeats=1,
                 min_seconds=0.0, params=None, vocab_size=32, db={db!r}).rows
print("statuses", sorted(set(rows["status"])), len(rows))
"""


def _run(tmp_path: Path, guarded: bool) -> subprocess.CompletedProcess:
    call = CALL.format(db=str(tmp_path / "r.db"))
    body = "if __name__ == '__main__':\n" + textwrap.indent(call, "    ") if guarded else call
    script = tmp_path / "script.py"
    script.write_text(SCRIPT.format(body=body))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")])}
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("guarded", [False, True], ids=["unguarded", "guarded"])
def test_a_script_runs_as_written_and_its_registered_models_reach_the_workers(tmp_path, guarded):
    done = _run(tmp_path, guarded)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "statuses ['ok'] " in done.stdout, (done.stdout, done.stderr[-2000:])  # every trial ran, none failed
    assert "another seqarena run" not in done.stderr
