"""The results store: one SQLite file, one row per trial, written by the driver as each trial finishes.

WAL mode, so a reader (the report, ``results export``) never blocks the sweep writing. ``spec_hash`` is UNIQUE and
rows go in with INSERT OR IGNORE: a re-run of the same sweep skips every finished trial (resume), and a driver killed
between a trial and its write loses only that trial. Failed trials are rows too (status ``failed`` and a reason), so a
sweep does not retry a crash forever; ``retry_failed`` deletes them for another try.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

DEFAULT_DB = Path("seqarena-results") / "results.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    spec_hash   TEXT NOT NULL UNIQUE,
    sweep       TEXT,
    scenario    TEXT NOT NULL,
    model       TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    reason      TEXT,
    seq_len     INTEGER,
    batch       INTEGER,
    params      INTEGER,
    device      TEXT,
    dtype       TEXT,
    threads     INTEGER,
    spec        TEXT NOT NULL,
    metrics     TEXT,
    env         TEXT,
    started_at  TEXT,
    finished_at TEXT NOT NULL,
    duration_s  REAL
);
CREATE INDEX IF NOT EXISTS trials_scenario ON trials (scenario, model);
"""

COLUMNS = ("id", "spec_hash", "sweep", "scenario", "model", "status", "reason", "seq_len", "batch", "params", "device",
           "dtype", "threads", "spec", "metrics", "env", "started_at", "finished_at", "duration_s")


def now() -> str:
    """UTC timestamp, ISO 8601."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Store:
    """A results database. Open with ``Store(path)``; the file and its folder are created on first use."""

    def __init__(self, path: Path | str = DEFAULT_DB) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)  # autocommit: a row is durable
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add(
        self,
        *,
        spec_hash: str,
        spec: dict[str, Any],
        status: str,
        metrics: dict[str, Any] | None = None,
        reason: str | None = None,
        env: dict[str, Any] | None = None,
        sweep: str | None = None,
        started_at: str | None = None,
        duration_s: float | None = None,
    ) -> bool:
        """Insert one finished trial; False when a row with this spec hash already exists (it is kept)."""
        metrics = metrics or {}
        cur = self._conn.execute(
            "INSERT OR IGNORE INTO trials (spec_hash, sweep, scenario, model, status, reason, seq_len, batch, params, "
            "device, dtype, threads, spec, metrics, env, started_at, finished_at, duration_s) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                spec_hash, sweep, spec["scenario"], spec["model"], status, reason, spec.get("seq_len"),
                spec.get("batch"), metrics.get("params"), spec.get("device"), spec.get("dtype"),
                (env or {}).get("threads", spec.get("threads")), json.dumps(spec, sort_keys=True),
                json.dumps(metrics, allow_nan=True), json.dumps(env or {}), started_at, now(), duration_s,
            ),
        )
        return cur.rowcount == 1

    def finished(self) -> set[str]:
        """Spec hashes of every stored trial, ok or failed."""
        return {row[0] for row in self._conn.execute("SELECT spec_hash FROM trials")}

    def retry_failed(self, hashes: Iterable[str] | None = None) -> int:
        """Delete failed rows (all, or those among ``hashes``) so the next sweep runs them again."""
        if hashes is None:
            return self._conn.execute("DELETE FROM trials WHERE status = 'failed'").rowcount
        n = 0
        for h in hashes:
            n += self._conn.execute("DELETE FROM trials WHERE status = 'failed' AND spec_hash = ?", (h,)).rowcount
        return n

    def rows(self, where: str = "", params: tuple = ()) -> Iterator[dict[str, Any]]:
        """Rows as dicts with ``spec``, ``metrics`` and ``env`` decoded."""
        sql = f"SELECT {', '.join(COLUMNS)} FROM trials {where} ORDER BY id"
        for values in self._conn.execute(sql, params):
            row = dict(zip(COLUMNS, values))
            for key in ("spec", "metrics", "env"):
                row[key] = json.loads(row[key]) if row[key] else {}
            yield row

    def count(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
