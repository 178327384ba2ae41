"""Faults, each counted: trials expected, stored, lost and duplicated.

- the driver SIGKILLed at 10 seeded random moments of a small sweep, then a re-run;
- Ctrl-C (SIGINT to the whole process group, as a terminal sends it) and a second run on the same store at once;
- a worker killed mid-trial;
- a full disk (a tmpfs in a private mount namespace).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from seqarena.bench.spec import make_trial
from seqarena.run import deaths, expand, run_sweep
from seqarena.store import Store, StoreError, failures

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
TINY = {"params": None, "vocab_size": 32, "repeats": 1, "warmup": 0}

DRIVER = textwrap.dedent("""
    import sys
    from seqarena.run import expand, run_sweep
    from seqarena.store import Store

    if __name__ == "__main__":
        trials = expand("forward_latency", ["lstm:d_model=8", "gru:d_model=8"], seq_lens=[8, 16, 32], batch=2,
                        params=None, vocab_size=32, repeats=1, warmup=0, min_seconds=0.05)
        print("expected", len(trials), flush=True)
        with Store(sys.argv[1]) as store:
            # on_done runs after the row is committed: a "stored" line is a promise the store must keep
            run_sweep(trials, store, on_done=lambda spec, result: result is not None and print(
                "stored", spec.spec_hash(), flush=True))
    """)


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_dead(pids: list[int], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def _hashes(db: Path) -> list[str]:
    try:
        with Store(db, readonly=True) as store:
            return [r["spec_hash"] for r in store.rows()]
    except StoreError:  # not created yet
        return []


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs /proc")
def test_sigkill_of_the_driver_at_ten_random_moments_loses_and_duplicates_nothing(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    db = tmp_path / "r.db"
    promised: set[str] = set()
    rng = random.Random(20261126)  # seeded: the same ten moments on every run
    # half the moments count from the launch (imports, the store opening), half from the moment the driver is ready
    # (worker start-up, trials, commits), so the kills land in every phase however fast the machine is
    for i, moment in enumerate(rng.uniform(0.0, 3.0) for _ in range(10)):
        proc = subprocess.Popen([sys.executable, str(script), str(db)], env=ENV, stdout=subprocess.PIPE, text=True)
        head = ""
        try:
            if i % 2:
                head = proc.stdout.readline()  # "expected N": imports done
            time.sleep(moment)
            workers = _children(proc.pid)
        finally:
            proc.send_signal(signal.SIGKILL)
            out, _ = proc.communicate()
        out = head + out
        assert _wait_dead(workers), "workers die with their driver (PR_SET_PDEATHSIG): no orphan keeps computing"
        promised |= {line.split()[1] for line in out.splitlines() if line.startswith("stored ")}
        stored = _hashes(db)
        assert promised <= set(stored), f"lost after a kill at {moment:.2f} s: {promised - set(stored)}"
        assert len(stored) == len(set(stored)), "duplicated rows"
    before = set(_hashes(db))
    rerun = subprocess.run([sys.executable, str(script), str(db)], env=ENV, capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    final = _hashes(db)
    measured = {line.split()[1] for line in rerun.stdout.splitlines() if line.startswith("stored")}
    expected = int(rerun.stdout.split()[1])  # the re-run's first line: "expected N"
    assert len(final) == len(set(final)) == expected  # every trial, exactly once
    assert before <= set(final) and not (measured & before)  # nothing stored before was measured again
    assert measured == set(final) - before


CLI = [sys.executable, "-c", "from seqarena.cli import main; main()"]
BENCH = ["bench", "forward_latency", "-m", "lstm,gru", "--params", "20k", "--seq-lens", "8,16", "--batch", "2",
         "--repeats", "1", "--min-seconds", "0.1", "--rounds", "1", "--vocab-size", "32"]


def _wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """A bench sweep run from the CLI; while it runs, a second run on the same store; then Ctrl-C; then a resume.
    The first run is paused (SIGSTOP, still holding its lock) while the second tries, and Ctrl-C reaches it before it
    continues, so the outcome does not depend on how fast either runs."""
    db = tmp_path_factory.mktemp("ctrl-c") / "r.db"
    # SIGINT back to its default in the child: a shell that starts the test suite as a background job makes it
    # ignored, and an ignored SIGINT is inherited through exec (Python then never raises KeyboardInterrupt)
    first = subprocess.Popen([*CLI, *BENCH, "--db", str(db)], env=ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert _wait_for(lambda: len(_hashes(db)) >= 2, 120), "the sweep should store trials"
        os.killpg(first.pid, signal.SIGSTOP)
        second = subprocess.run([*CLI, *BENCH, "--db", str(db)], env=ENV, capture_output=True, text=True,
                                timeout=120)
        during = _hashes(db)
        workers = _children(first.pid)
        os.killpg(first.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the driver and its workers alike
        os.killpg(first.pid, signal.SIGCONT)  # ... and is delivered the moment they run again
        out, err = first.communicate(timeout=60)
    finally:  # the test stops every process it started, whatever happened
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
    stored = _hashes(db)
    resumed = subprocess.run([*CLI, *BENCH, "--db", str(db)], env=ENV, capture_output=True, text=True, timeout=300)
    return {"first": (first.returncode, out, err), "second": second, "during": during, "workers": workers,
            "stored": stored, "resumed": resumed, "final": _hashes(db)}


def test_a_second_run_on_the_same_store_is_refused_with_one_line(interrupted):
    second = interrupted["second"]
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "another seqarena run" in lines[0] and "Traceback" not in second.stderr
    assert "measured" not in second.stdout  # refused before measuring anything


def test_ctrl_c_keeps_finished_trials_stops_the_workers_and_says_how_to_resume(interrupted):
    code, _out, err = interrupted["first"]
    assert code == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    last = err.strip().splitlines()[-1]
    assert "run the same command again to resume" in last
    assert set(interrupted["during"]) <= set(interrupted["stored"])  # nothing stored before Ctrl-C is lost
    assert f"{len(interrupted['stored'])} trial(s) of this run" in last
    assert _wait_dead(interrupted["workers"])


def test_a_resume_after_ctrl_c_completes_every_trial_exactly_once(interrupted):
    resumed, final = interrupted["resumed"], interrupted["final"]
    assert resumed.returncode == 0, resumed.stderr
    assert len(final) == len(set(final)) == 8  # 2 models x 2 lengths x batches {1, 2}
    assert set(interrupted["stored"]) <= set(final)


def test_a_worker_killed_mid_trial_is_a_failure_named_by_its_signal_and_the_sweep_goes_on(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQARENA_COTIME", "0")  # each trial alone: the kill is aimed at the sleeper's own process
    fast = expand("forward_latency", ["lstm:d_model=8"], seq_lens=[8, 16], batch=2, min_seconds=0.0, **TINY)
    sleeper = make_trial(scenario="forward_latency", model="tests.run.bad_models:Misbehave",
                         options={"behaviour": "sleep", "d_model": 8}, seq_len=8, min_seconds=0.0, **TINY)
    trials = [*fast[:2], sleeper, *fast[2:]]

    def kill_the_worker_soon(spec) -> None:
        if spec.model.endswith("Misbehave"):
            def kill() -> None:
                time.sleep(1.5)
                for pid in _children(os.getpid()):  # the trial's worker, not multiprocessing's resource tracker
                    if _alive(pid) and b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                        os.kill(pid, signal.SIGKILL)
            threading.Thread(target=kill, daemon=True).start()

    with Store(tmp_path / "r.db") as store:
        summary = run_sweep(trials, store, timeout_s=60, on_start=kill_the_worker_soon)
        rows = {r["spec_hash"]: r for r in store.rows()}
    assert (summary.total, summary.ok, summary.failed) == (5, 4, 1)
    assert len(rows) == 5
    reason = rows[sleeper.spec_hash()]["reason"]
    assert failures.parse(reason) == (failures.SIGNAL, "SIGKILL"), reason
    assert rows[sleeper.spec_hash()]["failure"] == failures.SIGNAL  # the kind is stored, typed, beside the text
    assert not failures.is_size_failure(reason)  # a kill is not an OOM without the cgroup's word for it
    assert not failures.is_size_failure(rows[sleeper.spec_hash()]["failure"])


def test_a_death_is_oom_only_with_evidence():
    assert failures.parse(deaths.death(-9, 3, 4))[0] == failures.OOM
    assert failures.parse(deaths.death(-9, 3, 3)) == (failures.SIGNAL, "SIGKILL")
    assert failures.parse(deaths.death(-9, None, None)) == (failures.SIGNAL, "SIGKILL")
    assert failures.parse(deaths.death(1, 0, 0)) == (failures.EXIT, "exit code 1")
    assert deaths.death_failure(-9, 3, 4).kind == failures.OOM
    for kind in failures.KINDS:  # every kind round-trips through its stored text
        assert failures.parse(failures.reason(kind, "detail"))[0] == kind
        assert failures.parse(str(failures.Failure(kind, "detail"))) == (kind, "detail")
    with pytest.raises(ValueError, match="unknown failure kind"):
        failures.Failure("exploded")  # type: ignore[arg-type]


DISK_FULL = textwrap.dedent("""
    set -e
    mount -t tmpfs -o size=20m tmpfs "$MNT"
    cd "$MNT"
    "$PY" - <<'EOF'
    import contextlib, io, json, os, sqlite3
    import seqarena.store.sqlite as sq
    from seqarena.cli import main

    added = 0
    original = sq.Store.add

    def add_then_fill(self, **kw):  # after the second stored trial, the disk fills up (another program's file)
        global added
        result = original(self, **kw)
        added += 1
        if added == 2:
            with open("filler", "wb") as f, contextlib.suppress(OSError):
                while True:
                    f.write(b"\\0" * 2**20)
                    f.flush()
        return result

    sq.Store.add = add_then_fill
    argv = ["bench", "forward_latency", "-m", "lstm,gru", "--params", "20k", "--seq-lens", "8,16", "--batch", "2",
            "--repeats", "1", "--min-seconds", "0", "--rounds", "1", "--vocab-size", "32", "--db", "r.db"]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            main(argv)
            code = 0
        except SystemExit as e:
            code = e.code
    with sq.Store("r.db", readonly=True) as store:
        kept = store.count()
    check = sqlite3.connect("r.db").execute("PRAGMA integrity_check").fetchone()[0]
    os.remove("filler")
    sq.Store.add = original
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main(argv)
    with sq.Store("r.db", readonly=True) as store:
        final = [r["spec_hash"] for r in store.rows()]
    print(json.dumps({"code": code, "stderr": err.getvalue(), "kept": kept, "integrity": check,
                      "final": len(final), "unique": len(set(final))}))
    EOF
""")


def test_a_full_disk_is_a_clear_error_and_the_store_keeps_every_committed_trial(tmp_path):
    import json
    import shutil

    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) to mount a small tmpfs in a private mount namespace")
    mnt = tmp_path / "small"
    mnt.mkdir()
    cmd = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    probe = subprocess.run([*cmd, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a mount namespace here ({probe.stderr.strip()[:80]}): no tmpfs to fill")
    run = subprocess.run([*cmd, "bash", "-c", DISK_FULL], env={**ENV, "MNT": str(mnt), "PY": sys.executable},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    lines = result["stderr"].strip().splitlines()
    assert result["code"] == 2 and "Traceback" not in result["stderr"]
    assert "disk" in lines[-1] and "full" in lines[-1] and "resume" in lines[-1]
    assert result["kept"] == 2 and result["integrity"] == "ok"  # both committed trials survive, the file is sound
    assert result["final"] == result["unique"] == 8  # after freeing space, a re-run completes every trial once
