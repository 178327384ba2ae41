"""The results store: one SQLite file, one row per trial, written by the driver as each trial finishes.

WAL mode, so a reader (the report, ``results export``) never blocks the sweep writing. ``spec_hash`` is UNIQUE and
rows go in with an upsert: a re-run of the same sweep skips every finished trial (resume), and a driver killed
between a trial and its write loses only that trial. Failed trials are rows too (status ``failed`` and a reason), so a
sweep does not retry a crash forever; ``retry_failed`` deletes them for another try. A failed row's kind (timeout,
memory cap, ...: :mod:`seqarena.store.failures`) is a column of its own, ``failure``, so nobody parses reason text.

The file is checked before anything is measured and before anything is written to it: it must be a seqarena store
(``PRAGMA application_id``; an older unversioned store whose ``trials`` table matches ours is migrated), of a schema
version this code knows (``PRAGMA user_version``; migrations below), writable, with room on its disk. Anything else,
another program's SQLite file included, is refused with one line and left untouched. Readers open it read-only.
One writer at a time: :mod:`seqarena.store.lock`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from seqarena._process import refuse_in_script_reimport
from seqarena.store import failures
from seqarena.store.errors import StoreError
from seqarena.store.lock import WriterLock

DEFAULT_DB = Path("seqarena-results") / "results.db"

#: "SQAR": marks a file as a seqarena store, so that no other program's SQLite file is mistaken for one.
APPLICATION_ID = 0x53514152
#: The schema version this code writes; :data:`_MIGRATIONS` takes any older one up to it.
SCHEMA_VERSION = 3
#: Below this much free space on the store's disk no sweep starts (a trial's row is tens of kB; WAL needs room too).
MIN_FREE_BYTES = 16 * 2**20
#: A timing trial measured while other processes kept the CPU busy is measured again on the next run, until it has
#: been measured this many times; then it is kept with its flag. The one rule for sweeps and the claims engine.
MAX_ATTEMPTS = 3

_SQLITE_MAGIC = b"SQLite format 3\x00"

#: Stores this process has open, by resolved path, with their number of connections. Closing *any* file descriptor
#: of a file drops every POSIX (fcntl) lock this process holds on it, including SQLite's: a header check with
#: ``open()`` while a connection is open would leave that connection unlocked, another process closing its own
#: connection would then think it was the last one and delete the WAL file with the rows not yet checkpointed.
_OPEN: dict[Path, int] = {}

_SCHEMA_V1 = """
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

V1_COLUMNS = ("id", "spec_hash", "sweep", "scenario", "model", "status", "reason", "seq_len", "batch", "params",
              "device", "dtype", "threads", "spec", "metrics", "env", "started_at", "finished_at", "duration_s")


def _add_failure_kinds(conn: sqlite3.Connection) -> None:
    """Version 3: the kind of each failed trial as a column; older failed rows get the kind their reason text names
    (NULL where it names none, e.g. text written before kinds existed)."""
    conn.execute("ALTER TABLE trials ADD COLUMN failure TEXT")
    rows = conn.execute("SELECT id, reason FROM trials WHERE status = 'failed'").fetchall()
    conn.executemany("UPDATE trials SET failure = ? WHERE id = ?",
                     [(failures.kind_of(reason), row_id) for row_id, reason in rows])


#: version -> what takes a store of the version before it to this one: SQL statements, or a function of the
#: connection where rows must be read to be rewritten. All of them together run in one transaction.
_MIGRATIONS: dict[int, str | Callable[[sqlite3.Connection], None]] = {
    1: _SCHEMA_V1,
    # 2: how often a trial was measured, and whether other processes kept the CPU busy while it was (re-measured)
    2: "ALTER TABLE trials ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;\n"
       "ALTER TABLE trials ADD COLUMN contended INTEGER NOT NULL DEFAULT 0;",
    3: _add_failure_kinds,
}

COLUMNS = (*V1_COLUMNS, "attempts", "contended", "failure")
#: Columns an older store lacks, as :meth:`Store.rows` fills them in for a reader (readers never migrate).
_DERIVED: dict[str, Callable[[dict[str, Any]], Any]] = {
    "attempts": lambda row: 1,
    "contended": lambda row: 0,
    "failure": lambda row: failures.kind_of(row["reason"]) if row["status"] == "failed" else None,
}


def now() -> str:
    """UTC timestamp, ISO 8601."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _describe_sqlite_error(e: sqlite3.Error, path: Path) -> str:
    text = str(e)
    if "disk is full" in text or "database or disk is full" in text:
        return (f"the disk holding {path} is full; every trial stored before is kept: free some space and run the "
                "same command again to resume")
    if "readonly" in text or "read-only" in text:
        return f"the results store {path} is read-only; make it writable or pick another --db"
    if "locked" in text or "busy" in text:
        return f"the results store {path} is locked by another program; wait for it or pick another --db"
    if "not a database" in text or "malformed" in text:
        return f"{path} is damaged or not a seqarena results store ({text}); it was left untouched"
    return f"results store {path}: {text}"


class Store:
    """A results database. ``Store(path)`` opens it for writing (one writer at a time; the folder of the default
    store is created, any other folder must exist); ``Store(path, readonly=True)`` opens an existing store for
    reading only (no lock, nothing written). Every problem is a one-line :class:`StoreError`."""

    def __init__(self, path: Path | str = DEFAULT_DB, *, readonly: bool = False) -> None:
        refuse_in_script_reimport()  # a worker re-importing an unguarded script stops here (seqarena._process)
        if str(path).strip() == "":
            raise StoreError("the results store path (--db) is empty")
        self.path = Path(path)
        self.readonly = readonly
        self._lock: WriterLock | None = None
        self._conn: sqlite3.Connection | None = None
        self._key = self.path.resolve()
        _check_path(self.path, readonly)
        try:
            if not readonly:
                self._lock = WriterLock(self.path)
            self._conn = self._connect()
            _OPEN[self._key] = _OPEN.get(self._key, 0) + 1
            self.version = self._check_identity()
            if not readonly:
                self._prepare_for_writing()
        except sqlite3.Error as e:
            self.close()
            raise StoreError(_describe_sqlite_error(e, self.path)) from None
        except BaseException:
            self.close()
            raise
        #: the columns this store's table has (an older store, open read-only, lacks the newer ones)
        self.columns = tuple(c for c in COLUMNS if c in self._trials_columns())

    def _connect(self) -> sqlite3.Connection:
        if self.readonly:
            return sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=30,
                                   isolation_level=None)
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)  # autocommit: a row is durable at once

    def _check_identity(self) -> int:
        """The schema version of a store we may open; StoreError (nothing written) for anything that is not ours."""
        conn = self._conn
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%'")]
        if app_id == APPLICATION_ID:
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path} was written by a newer seqarena (store version {version}; this one "
                                 f"knows up to {SCHEMA_VERSION}): upgrade seqarena or pick another --db")
            return version
        if app_id == 0 and not tables:
            if self.readonly:
                raise StoreError(f"{self.path} holds no results yet; measure first (seqarena claims, bench or train)")
            return 0  # a new, empty file: created below
        if app_id == 0 and tables == ["trials"] and self._trials_columns() == set(V1_COLUMNS):
            return 1  # an unversioned store written by seqarena before versions existed: migrated when written
        what = f"application_id {app_id:#x}" if app_id else f"tables {', '.join(tables) or 'none'}"
        raise StoreError(f"{self.path} is an SQLite file of another program ({what}), not a seqarena results store; "
                         "it was left untouched: pick another --db")

    def _trials_columns(self) -> set[str]:
        return {r[1] for r in self._conn.execute("PRAGMA table_info(trials)")}

    def _prepare_for_writing(self) -> None:
        conn = self._conn
        free = shutil.disk_usage(self.path.parent).free
        if free < MIN_FREE_BYTES:
            raise StoreError(f"only {free / 2**20:.1f} MB free on the disk holding {self.path} (at least "
                             f"{MIN_FREE_BYTES / 2**20:.0f} MB needed); free some space first")
        # a write that changes nothing proves the file and its folder (WAL files) are writable, before any trial
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        if self.version < SCHEMA_VERSION:
            self._migrate()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")

    def _migrate(self) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for version in range(self.version + 1, SCHEMA_VERSION + 1):
                step = _MIGRATIONS[version]
                if callable(step):
                    step(conn)
                    continue
                for statement in filter(None, (s.strip() for s in step.split(";"))):
                    conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        self.version = SCHEMA_VERSION

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            left = _OPEN.pop(self._key, 1) - 1
            if left:
                _OPEN[self._key] = left
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        if self.readonly and not sql.lstrip().upper().startswith("SELECT"):
            raise StoreError(f"{self.path} is open read-only")
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as e:
            raise StoreError(_describe_sqlite_error(e, self.path)) from None

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
        contended: bool = False,
        failure: str | None = None,
    ) -> bool:
        """Store one finished trial; False when a row with this spec hash is already final (it is kept). A row that
        :meth:`finished` leaves out (measured under load, attempts left) is replaced, its attempt count raised.

        ``failure`` is a failed trial's kind (:data:`~seqarena.store.failures.KINDS`); when it is not given, the kind
        the ``reason`` text names is stored, so every failed row written through here has one where it can."""
        metrics = metrics or {}
        if status == "ok" and failure is not None:
            raise ValueError(f"a trial that succeeded has no failure kind (got {failure!r})")
        if status != "ok":
            failure = failures.check_kind(failure) if failure is not None else failures.kind_of(reason)
        values = (spec_hash, sweep, spec["scenario"], spec["model"], status, reason, spec.get("seq_len"),
                  spec.get("batch"), metrics.get("params"), spec.get("device"), spec.get("dtype"),
                  (env or {}).get("threads", spec.get("threads")), json.dumps(spec, sort_keys=True),
                  json.dumps(metrics, allow_nan=True), json.dumps(env or {}), started_at, now(), duration_s,
                  int(contended), failure)
        names = [c for c in COLUMNS if c not in ("id", "attempts")]
        updates = ", ".join(f"{c} = excluded.{c}" for c in names if c != "spec_hash")
        cur = self._execute(
            f"INSERT INTO trials ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
            f"ON CONFLICT(spec_hash) DO UPDATE SET {updates}, attempts = trials.attempts + 1 "
            f"WHERE trials.contended = 1 AND trials.attempts < {MAX_ATTEMPTS}",
            values,
        )
        return cur.rowcount == 1

    def finished(self) -> set[str]:
        """Spec hashes of every final trial, ok or failed: all but those measured under load with attempts left."""
        remeasure = f"contended = 1 AND attempts < {MAX_ATTEMPTS}" if self.version >= 2 else "0"
        return {row[0] for row in self._execute(f"SELECT spec_hash FROM trials WHERE NOT ({remeasure})")}

    def retry_failed(self, hashes: Iterable[str] | None = None) -> int:
        """Delete failed rows (all, or those among ``hashes``) so the next sweep runs them again."""
        if hashes is None:
            return self._execute("DELETE FROM trials WHERE status = 'failed'").rowcount
        n = 0
        for h in hashes:
            n += self._execute("DELETE FROM trials WHERE status = 'failed' AND spec_hash = ?", (h,)).rowcount
        return n

    def rows(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Rows as dicts with ``spec``, ``metrics`` and ``env`` decoded, in the order they were stored, filtered by
        column values: ``status="ok"``, ``scenario=("memory", "train")`` (any of several), ``spec_hash=...``,
        ``device=``, ``model=``, ``failure="timeout"`` (a kind, or several); None means no filter. No SQL outside
        this package. Every row has every column of :data:`COLUMNS`, a store of an older version included."""
        where, params, derived = [], [], {}
        for column, value in filters.items():
            if column not in COLUMNS:
                raise ValueError(f"no column {column!r} in the store; filter by one of: {', '.join(COLUMNS)}")
            if value is None:
                continue
            values = [value] if isinstance(value, (str, int, float)) else list(value)
            if column not in self.columns:  # an older store read as it is: filtered once the row is filled in
                derived[column] = set(values)
                continue
            where.append(f"{column} IN ({', '.join('?' * len(values))})")
            params += values
        sql = f"SELECT {', '.join(self.columns)} FROM trials {'WHERE ' + ' AND '.join(where) if where else ''} " \
              "ORDER BY id"
        for values in self._execute(sql, tuple(params)):
            row = dict(zip(self.columns, values))
            for column in COLUMNS[len(V1_COLUMNS):]:
                if column not in row:
                    row[column] = _DERIVED[column](row)
            if any(row[column] not in wanted for column, wanted in derived.items()):
                continue
            for key in ("spec", "metrics", "env"):
                row[key] = json.loads(row[key]) if row[key] else {}
            yield row

    def count(self) -> int:
        return self._execute("SELECT COUNT(*) FROM trials").fetchone()[0]

    def add_recommendation(self, title: str, lines: list[str], profile: dict, trial_ids: list[int]) -> None:
        """Keep a recommendation with the store it was made from (a report built later from the store shows it)."""
        self._execute(_RECOMMENDATIONS)
        values = (title, json.dumps(lines), json.dumps(profile, sort_keys=True, default=str),
                  json.dumps(sorted(trial_ids)), now())
        self._execute("INSERT INTO recommendations (title, lines, profile, trial_ids, created_at) "
                      "VALUES (?, ?, ?, ?, ?)", values)

    def recommendations(self) -> list[dict]:
        """The newest recommendation per profile, oldest profile first: title, lines, profile, trial_ids, created_at
        (none in a store that never kept one)."""
        if not self._execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'recommendations'"
                             ).fetchone():
            return []
        rows = self._execute("SELECT title, lines, profile, trial_ids, created_at FROM recommendations r WHERE id = "
                             "(SELECT MAX(id) FROM recommendations WHERE profile = r.profile) ORDER BY id").fetchall()
        return [{"title": t, "lines": json.loads(ln), "profile": json.loads(p), "trial_ids": json.loads(ids),
                 "created_at": at} for t, ln, p, ids, at in rows]


#: The recommendations a store keeps beside its trials (created on the first one: older stores lack it).
_RECOMMENDATIONS = ("CREATE TABLE IF NOT EXISTS recommendations (id INTEGER PRIMARY KEY, title TEXT, lines TEXT, "
                    "profile TEXT, trial_ids TEXT, created_at TEXT)")


def _check_path(path: Path, readonly: bool) -> None:
    """One-line errors for paths that cannot be a store, before SQLite sees them (it would create or mangle)."""
    if path.is_dir():
        raise StoreError(f"the results store {path} is a directory; give a file path, e.g. {path / 'results.db'}")
    if path.exists():
        if path.resolve() in _OPEN:  # already checked, and reading it now would drop SQLite's locks (see _OPEN)
            return
        try:
            with path.open("rb") as f:
                head = f.read(len(_SQLITE_MAGIC))
        except OSError as e:
            raise StoreError(f"cannot read the results store {path}: {e.strerror or e}") from None
        if head and head != _SQLITE_MAGIC:
            raise StoreError(f"{path} is not a seqarena results store (not an SQLite file); it was left untouched")
        return
    if readonly:
        raise StoreError(f"no results store at {path}; measure first (seqarena claims, bench or train)")
    parent = path.parent
    if not parent.exists():
        if path.parent == DEFAULT_DB.parent:  # the default store's own folder: made on first use
            parent.mkdir(parents=True, exist_ok=True)
        else:
            raise StoreError(f"the folder {parent} for the results store does not exist; create it or pick another "
                             "--db")
    elif not parent.is_dir():
        raise StoreError(f"{parent} is not a folder; the results store {path} cannot be created there")
