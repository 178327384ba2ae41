import json
import sqlite3

import pandas as pd
import pytest

from seqarena.store import Store, StoreError, export, load

SPEC = {"scenario": "forward_latency", "model": "lstm", "seq_len": 64, "batch": 2, "device": "cpu",
        "dtype": "float32", "options": {"d_model": 8}}


def _add(store, h, status="ok", **metrics):
    return store.add(spec_hash=h, spec={**SPEC, "seq_len": metrics.pop("n", 64)}, status=status,
                     metrics={"params": 10, "latency_s": 0.5, "time": {"median": 0.5, "samples": [0.4, 0.5, 0.6]},
                              "decode_ms_by_position": {"2": 1.0, "64": 2.0}, **metrics},
                     reason=None if status == "ok" else "raised RuntimeError: boom", env={"cpu": "x", "threads": 2})


def test_insert_or_ignore_and_wal(tmp_path):
    (tmp_path / "sub").mkdir()
    with Store(tmp_path / "sub" / "r.db") as store:
        assert _add(store, "a")
        assert not _add(store, "a", latency_s=9.0)  # the first row stays
        assert _add(store, "b", status="failed")
        assert store.finished() == {"a", "b"}
    conn = sqlite3.connect(tmp_path / "sub" / "r.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 2
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO trials (spec_hash, scenario, model, status, spec, finished_at) "
                     "VALUES ('a', 's', 'm', 'ok', '{}', 'now')")


def test_load_flattens_and_filters(tmp_path):
    db = tmp_path / "r.db"
    with Store(db) as store:
        _add(store, "a", n=64)
        _add(store, "b", n=128)
        _add(store, "c", status="failed")
    df = load(db)
    assert list(df["seq_len"]) == [64, 128]
    assert list(df["latency_s"]) == [0.5, 0.5]
    assert "time.median" in df and "time.samples" not in df
    assert df["spec.options.d_model"].tolist() == [8, 8]
    assert df["decode_ms_by_position"].iloc[0] == {"2": 1.0, "64": 2.0}
    assert len(load(db, status=None)) == 3 and len(load(db, status="failed")) == 1
    assert "time.samples" in load(db, include_samples=True)
    with pytest.raises(StoreError, match="no results store"):
        load(tmp_path / "missing.db")


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_round_trips_every_row(tmp_path, fmt):
    db = tmp_path / "r.db"
    with Store(db) as store:
        _add(store, "a")
        _add(store, "b", status="failed")
    path = export(db, tmp_path / f"out.{fmt}", fmt)
    back = {"csv": pd.read_csv, "json": pd.read_json, "parquet": pd.read_parquet}[fmt](path)
    assert len(back) == 2 and set(back["spec_hash"]) == {"a", "b"}
    if fmt != "json":
        assert json.loads(back["decode_ms_by_position"].iloc[0]) == {"2": 1.0, "64": 2.0}


def test_rows_filter_by_keyword_with_lists_and_failure_kinds(tmp_path):
    with Store(tmp_path / "r.db") as store:
        _add(store, "a", n=64)
        _add(store, "b", n=128)
        _add(store, "c", status="failed")  # reason "raised RuntimeError: boom": no "kind:" form, so no kind
        store.add(spec_hash="d", spec={**SPEC, "model": "gru"}, status="failed", reason="timeout: after 4 s",
                  failure="timeout")
        store.add(spec_hash="e", spec=SPEC, status="failed", reason="memory cap: 513 MB")  # kind found in the text
        assert [r["failure"] for r in store.rows()] == [None, None, None, "timeout", "memory cap"]
        assert [r["spec_hash"] for r in store.rows(failure="timeout")] == ["d"]
        assert [r["spec_hash"] for r in store.rows(failure=["memory cap", "timeout"], model="lstm")] == ["e"]
        assert [r["spec_hash"] for r in store.rows(seq_len=[64, 128], status="ok", device="cpu")] == ["a", "b"]
        assert [r["spec_hash"] for r in store.rows(spec_hash=("b", "d"), scenario="forward_latency")] == ["b", "d"]
        assert len(list(store.rows(failure=None))) == 5  # None: no filter
        with pytest.raises(ValueError, match="no column"):
            next(store.rows(where="1=1"))
        with pytest.raises(ValueError, match="unknown failure kind"):
            store.add(spec_hash="f", spec=SPEC, status="failed", failure="exploded")
        with pytest.raises(ValueError, match="no failure kind"):
            store.add(spec_hash="f", spec=SPEC, status="ok", failure="timeout")
    assert load(tmp_path / "r.db", status=None)["failure"].fillna("").tolist() == ["", "", "", "timeout", "memory cap"]


def test_a_training_rows_length_is_its_tasks(tmp_path):
    """Issue 30 item 11: forecast rows exported seq_len 256 (the spec's unused default) beside task.seq_len 168."""
    from seqarena.bench.spec import make_trial
    from seqarena.store import Store, load

    spec = make_trial(scenario="train", model="lstm", task="forecast", task_params={"lookback": 168}, steps=10)
    with Store(tmp_path / "r.db") as store:
        store.add(spec_hash=spec.spec_hash(), spec=spec.model_dump(mode="json"), status="ok",
                  metrics={"task": {"task": "forecast", "seq_len": 168}})
    row = load(tmp_path / "r.db").iloc[0]
    assert row["seq_len"] == 168 == row["task.seq_len"] and "spec.seq_len" not in row
