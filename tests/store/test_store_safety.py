"""The store is checked before anything is measured or written: it is ours (or an older seqarena store, migrated), of
a known version, writable, with one writer at a time; anything else is refused with one line and left untouched.
Outputs are written whole or not at all."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from seqarena.store import MAX_ATTEMPTS, Store, StoreError, atomic_dir, atomic_file, export
from seqarena.store.sqlite import APPLICATION_ID, SCHEMA_VERSION, V1_COLUMNS
from tests.store.test_store import _add


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line(e: pytest.ExceptionInfo) -> str:
    text = str(e.value)
    assert text and "\n" not in text
    return text


def test_a_new_store_is_marked_as_ours_and_versioned(tmp_path):
    with Store(tmp_path / "r.db") as store:
        _add(store, "a")
    conn = sqlite3.connect(tmp_path / "r.db")
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


@pytest.mark.parametrize("content", [b"garbage bytes, not a database at all\x00\xff" * 10, b"x"])
def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path, content):
    db = tmp_path / "r.db"
    db.write_bytes(content)
    with pytest.raises(StoreError) as e:
        Store(db)
    assert "not an SQLite file" in _one_line(e) and "untouched" in str(e.value)
    assert db.read_bytes() == content
    assert not (tmp_path / "r.db-wal").exists()


def test_another_programs_sqlite_file_is_refused_and_not_switched_to_wal(tmp_path):
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
    conn.execute("INSERT INTO customers VALUES (1, 'ada')")
    conn.commit()
    conn.close()
    before = _digest(db)
    for readonly in (False, True):
        with pytest.raises(StoreError) as e:
            Store(db, readonly=readonly)
        assert "another program" in _one_line(e) and "customers" in str(e.value)
    assert _digest(db) == before
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert not (tmp_path / "other.db-wal").exists()


def test_an_unversioned_seqarena_store_is_migrated_with_its_rows(tmp_path):
    db = tmp_path / "old.db"
    from seqarena.store.sqlite import _SCHEMA_V1

    conn = sqlite3.connect(db)
    conn.executescript(_SCHEMA_V1)
    conn.execute("INSERT INTO trials (spec_hash, scenario, model, status, spec, finished_at) "
                 "VALUES ('old', 'forward_latency', 'lstm', 'ok', '{}', 'then')")
    conn.commit()
    conn.close()
    with Store(db, readonly=True) as store:  # a reader reads it as it is, writes nothing
        assert [r["spec_hash"] for r in store.rows()] == ["old"] and store.version == 1
    assert sqlite3.connect(db).execute("PRAGMA application_id").fetchone()[0] == 0
    with Store(db) as store:
        assert store.version == SCHEMA_VERSION
        rows = list(store.rows())
        assert [(r["spec_hash"], r["attempts"], r["contended"]) for r in rows] == [("old", 1, 0)]
        assert store.finished() == {"old"}
    columns = {r[1] for r in sqlite3.connect(db).execute("PRAGMA table_info(trials)")}
    assert columns == {*V1_COLUMNS, "attempts", "contended", "failure"}


def _version_2_store(db: Path) -> None:
    """A store as seqarena wrote it at schema version 2 (before the ``failure`` column): reasons as text only."""
    from seqarena.store.sqlite import _MIGRATIONS

    conn = sqlite3.connect(db)
    conn.executescript(_MIGRATIONS[1])
    conn.executescript(_MIGRATIONS[2])
    for h, status, reason in [("ok", "ok", None), ("cap", "failed", "memory cap: RSS reached 513 MB (cap 512 MB)"),
                              ("slow", "failed", "timeout: still running after 4 s"),
                              ("old", "failed", "worker died: killed by SIGKILL"), ("odd", "failed", "who knows")]:
        conn.execute("INSERT INTO trials (spec_hash, scenario, model, status, reason, spec, finished_at, attempts) "
                     "VALUES (?, 'memory', 'lstm', ?, ?, '{}', 'then', 2)", (h, status, reason))
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()


KINDS_V2 = {"ok": None, "cap": "memory cap", "slow": "timeout", "old": "killed by signal", "odd": None}


def test_a_version_2_store_gets_failure_kinds_back_filled_from_its_reasons(tmp_path):
    db = tmp_path / "v2.db"
    _version_2_store(db)
    with Store(db, readonly=True) as store:  # a reader sees the kinds without writing anything
        assert store.version == 2 and "failure" not in store.columns
        assert {r["spec_hash"]: r["failure"] for r in store.rows()} == KINDS_V2
        assert [r["spec_hash"] for r in store.rows(failure="timeout")] == ["slow"]
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == 2
    with Store(db) as store:
        assert store.version == SCHEMA_VERSION == 3
        rows = list(store.rows())
        assert {r["spec_hash"]: r["failure"] for r in rows} == KINDS_V2
        assert {r["attempts"] for r in rows} == {2}  # the older columns keep their values
        assert [r["spec_hash"] for r in store.rows(failure=["timeout", "memory cap"])] == ["cap", "slow"]
    stored = dict(sqlite3.connect(db).execute("SELECT spec_hash, failure FROM trials"))
    assert stored == KINDS_V2  # written into the file, not only derived on reading


def test_a_store_from_a_newer_version_is_refused(tmp_path):
    db = tmp_path / "r.db"
    Store(db).close()
    sqlite3.connect(db).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer seqarena"):
        Store(db)


@pytest.mark.parametrize("case", ["directory", "empty", "missing folder", "folder is a file"])
def test_paths_that_cannot_be_a_store_are_one_line_errors(tmp_path, case):
    path = {"directory": tmp_path, "empty": "", "missing folder": tmp_path / "nope" / "r.db",
            "folder is a file": tmp_path / "f.txt" / "r.db"}[case]
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(StoreError) as e:
        Store(path)
    _one_line(e)
    assert not (tmp_path / "nope").exists()


def test_a_reader_needs_an_existing_store_and_never_writes(tmp_path):
    with pytest.raises(StoreError, match="no results store"):
        Store(tmp_path / "missing.db", readonly=True)
    assert not (tmp_path / "missing.db").exists()
    with Store(tmp_path / "r.db") as store:
        _add(store, "a")
    with Store(tmp_path / "r.db", readonly=True) as reader:
        with pytest.raises(StoreError, match="read-only"):
            reader.retry_failed()
        assert reader.count() == 1


LOCK_HOLDER = textwrap.dedent("""
    import sys, time
    from seqarena.store import Store
    with Store(sys.argv[1]):
        print("holding", flush=True)
        time.sleep(60)
""")


def test_a_second_writer_is_refused_while_readers_read(tmp_path):
    db = tmp_path / "r.db"
    with Store(db) as store:
        _add(store, "a")
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(db)], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")})
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(StoreError) as e:
            Store(db)
        assert f"pid {holder.pid}" in _one_line(e) and "another seqarena run" in str(e.value)
        with Store(db, readonly=True) as reader:  # readers take no lock
            assert reader.count() == 1
    finally:
        holder.kill()
        holder.wait()
    with Store(db) as store:  # the kernel released the lock with the killed holder: no stale lock
        assert _add(store, "b") and store.count() == 2


def test_the_lock_is_reentrant_within_one_process(tmp_path):
    db = tmp_path / "r.db"
    with Store(db) as outer, Store(db) as inner:
        _add(inner, "a")
        assert outer.count() == 1
    with Store(db) as again:  # released once every holder closed
        assert again.count() == 1


def test_a_contended_trial_is_measured_again_until_its_attempts_run_out(tmp_path):
    with Store(tmp_path / "r.db") as store:
        assert store.add(spec_hash="t", spec={"scenario": "forward_latency", "model": "lstm"}, status="ok",
                         metrics={"latency_s": 9.0}, contended=True)
        for attempt in range(2, MAX_ATTEMPTS + 1):
            assert "t" not in store.finished()  # flagged with attempts left: the next run measures it again
            assert store.add(spec_hash="t", spec={"scenario": "forward_latency", "model": "lstm"}, status="ok",
                             metrics={"latency_s": 9.0 - attempt}, contended=True)
            row = next(store.rows(spec_hash="t"))
            assert (row["attempts"], row["contended"], row["metrics"]["latency_s"]) == (attempt, 1, 9.0 - attempt)
        assert "t" in store.finished()  # the cap: kept with its flag
        assert not store.add(spec_hash="t", spec={"scenario": "forward_latency", "model": "lstm"}, status="ok",
                             metrics={"latency_s": 0.1})
        assert store.count() == 1
        store.add(spec_hash="q", spec={"scenario": "forward_latency", "model": "lstm"}, status="ok", contended=True)
        store.add(spec_hash="q", spec={"scenario": "forward_latency", "model": "lstm"}, status="ok")
        assert "q" in store.finished()  # a quiet re-measurement is final at once
        assert next(store.rows(spec_hash="q"))["contended"] == 0


def test_outputs_are_whole_or_absent(tmp_path):
    target = tmp_path / "x.csv"
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    report = tmp_path / "report"
    report.mkdir()
    (report / "index.html").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(report, frozenset({"index.html"})) as staging:
        (staging / "index.html").write_text("new, half")
        raise RuntimeError("killed")
    assert (report / "index.html").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    with atomic_dir(report, frozenset({"index.html"})) as staging:
        (staging / "index.html").write_text("new")
    assert (report / "index.html").read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    (report / "notes.txt").write_text("the user's own")
    with pytest.raises(StoreError, match="other files"), atomic_dir(report, frozenset({"index.html"})):
        pass
    assert (report / "notes.txt").exists()


@pytest.mark.parametrize("case", ["a folder", "a missing folder", "a device"])
def test_export_to_a_place_it_cannot_write_is_one_line_and_leaves_nothing(tmp_path, case):
    db = tmp_path / "r.db"
    with Store(db) as store:
        _add(store, "a")
    out = {"a folder": tmp_path, "a missing folder": tmp_path / "nope" / "x.csv", "a device": Path("/dev/full")}[case]
    if case == "a device" and not out.exists():
        pytest.skip("no /dev/full here")
    with pytest.raises(StoreError) as e:
        export(db, out, "csv")
    _one_line(e)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("r.db")) == []
    if case == "a device":
        assert out.is_char_device()


def test_a_new_implementation_version_is_a_new_trial_not_a_resume(monkeypatch):
    from seqarena.bench import spec as spec_module
    from seqarena.bench.spec import make_trial
    from seqarena.models import get_class

    trial = make_trial(scenario="forward_latency", model="lstm")
    before = trial.spec_hash()
    monkeypatch.setattr(get_class("lstm"), "impl_version", get_class("lstm").impl_version + 1)
    after_model = trial.spec_hash()
    monkeypatch.setitem(spec_module.SCENARIO_VERSIONS, "forward_latency", 2)
    assert len({before, after_model, trial.spec_hash()}) == 3
    monkeypatch.undo()
    assert trial.spec_hash() == before


READ_ONLY = """
set -e
mount --bind "$DIR" "$DIR"
mount -o remount,bind,ro "$DIR"
"$PY" -c 'from seqarena.cli import main; main()' bench forward_latency -m lstm --params 20k --seq-lens 8 \\
    --repeats 1 --min-seconds 0 --rounds 1 --db "$DIR/r.db"
"""


def test_a_read_only_store_is_refused_before_anything_is_measured(tmp_path):
    import shutil

    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) for a read-only mount (root ignores file modes)")
    cmd = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    if subprocess.run([*cmd, "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot make a mount namespace here")
    db = tmp_path / "r.db"
    with Store(db) as store:
        _add(store, "a")
    before = _digest(db)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DIR": str(tmp_path), "PY": sys.executable, "PYTHONPATH": str(root / "src")}
    run = subprocess.run([*cmd, "bash", "-c", READ_ONLY], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr
    assert "read-only" in lines[0] or "cannot write" in lines[0], lines[0]
    assert "measured" not in run.stdout  # refused before the first trial, not after it
    assert _digest(db) == before


COMMANDS = {
    "bench": ["bench", "forward_latency", "-m", "lstm", "--params", "20k", "--seq-lens", "8"],
    "claims": ["claims", "--only", "10"],
    "run": ["run"],
    "report": ["report"],
    "export": ["results", "export"],
}


def _bad_db(tmp_path: Path, case: str) -> str:
    if case == "a folder":
        return str(tmp_path)
    if case == "empty":
        return ""
    if case == "garbage":
        (tmp_path / "g.db").write_bytes(b"\x00\x01garbage" * 100)
        return str(tmp_path / "g.db")
    if case == "another program's":
        conn = sqlite3.connect(tmp_path / "o.db")
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
        return str(tmp_path / "o.db")
    return str(tmp_path / "missing" / "r.db")


@pytest.mark.parametrize("case", ["a folder", "empty", "garbage", "another program's", "in a missing folder"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_refuses_a_bad_store_in_one_line_before_measuring(tmp_path, monkeypatch, capsys, command,
                                                                        case):
    import seqarena.run.sweep
    from seqarena.cli import main

    def measure(*args, **kwargs):
        raise AssertionError("a trial was about to be measured")

    monkeypatch.setattr(seqarena.run.sweep, "run_sweep", measure)
    monkeypatch.setattr("seqarena.claims.engine.run_sweep", measure)
    db = _bad_db(tmp_path, case)
    files = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    with pytest.raises(SystemExit) as exit_:
        main([*COMMANDS[command], "--db", db])
    err = capsys.readouterr().err
    assert exit_.value.code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and err.startswith("seqarena: error: ")
    assert {p: p.read_bytes() for p in files} == files  # nothing touched
    assert not (tmp_path / "missing").exists()


def test_a_reader_elsewhere_never_deletes_the_writers_unsaved_rows(tmp_path):
    """While a run writes, `seqarena report` (another process) may read the store. Every Store opened in the writing
    process (the job's readers too) must keep SQLite's locks: a header check with open()/close() would drop them,
    the other process would then take itself for the last connection and delete the WAL file, and the rows written
    after that would be visible to no one else (and lost if the writer died)."""
    import subprocess
    import sys

    db = tmp_path / "r.db"
    count = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
             "print(c.execute('SELECT COUNT(*) FROM trials').fetchone()[0]); c.close()")
    with Store(db) as writer:
        _add(writer, "a")
        with Store(db, readonly=True) as reader:  # a reader in the writing process, as the claims engine opens
            assert reader.count() == 1
        subprocess.run([sys.executable, "-c", count, str(db)], check=True, capture_output=True)
        _add(writer, "b")
        seen = subprocess.run([sys.executable, "-c", count, str(db)], check=True, capture_output=True, text=True)
        assert seen.stdout.strip() == "2"
