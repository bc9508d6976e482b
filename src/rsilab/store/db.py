"""Opening the store, applying migrations, and the generic run/round records.

Where a store is: a path given (``--store``, ``Store(path)``) or ``$RSILAB_STORE``, else
``rsilab.sqlite`` in the user's data directory. Opening creates a missing store file, never a
missing directory, except the user data directory of the default location: a mistyped path is
an error naming it, not a new empty store somewhere unexpected.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterator

from rsilab.core.version import __version__
from rsilab.errors import ConfigError, StoreError

STORE_ENV = "RSILAB_STORE"
# How long a writer waits for another one to finish before giving up (sweeps and the web server
# write from many processes at once).
BUSY_TIMEOUT_MS = 60_000


def default_store_path() -> Path:
    """``$RSILAB_STORE`` if set, else ``rsilab.sqlite`` in the user's data directory."""
    if os.environ.get(STORE_ENV):
        return Path(os.environ[STORE_ENV]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("rsilab", appauthor=False)) / "rsilab.sqlite"


def check_store_path(path: str | os.PathLike[str], where: str = "store") -> Path:
    """``path`` if a store can be opened or created there: an existing file, or a new file in an
    existing directory. Otherwise a ConfigError naming ``where`` (how the caller calls it)."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(where, str(p), "a store file (SQLite), not a directory")
    if not p.exists() and not p.parent.is_dir():
        raise ConfigError(where, str(p), f"a file in an existing directory ({p.parent} does not exist; "
                                         "rsilab creates a missing store file, never its directory)")
    return p


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("rsilab.store").joinpath("migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(versions) != len(set(versions)):
        raise StoreError(f"two migrations share a number: {sorted(n for _, n, _ in found)}")
    return found


@dataclass(frozen=True)
class RunRecord:
    id: int
    kind: str
    name: str
    created_at: float
    seed: int | None
    version: str
    config: dict[str, Any]
    summary: dict[str, Any]
    timings: dict[str, Any]
    status: str


class Store:
    """A connection to one store file. Use as a context manager or call ``close()``."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        chosen = path if path is not None else os.environ.get(STORE_ENV) or None
        if chosen is not None:
            self.path = check_store_path(Path(chosen).expanduser(), "store" if path is not None else f"${STORE_ENV}")
        else:
            self.path = default_store_path()
        try:
            if chosen is None:  # the user data directory, made on first use
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from None
        self.conn.row_factory = sqlite3.Row
        try:
            # Every writer waits for the lock instead of failing at once (sqlite3's own timeout
            # covers statements; the pragma also covers the journal-mode switch below).
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError(f"{self.path} is not an rsilab store: {exc}") from None
        self.migrate()

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self) -> list[str]:
        """Apply every migration not yet applied; return the names applied now.

        Each migration runs in a ``BEGIN IMMEDIATE`` transaction (the database's write lock) and
        the applied versions are read again inside it, so processes opening a new store at the
        same moment apply each migration exactly once and the others wait and skip it.
        """
        pending = [m for m in _migrations() if m[0] not in self._applied_versions(lock=False)]
        applied = []
        for version, name, sql in pending:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot lock store {self.path} to migrate it: {exc}") from None
            try:
                if version in self._applied_versions(lock=True):
                    self.conn.rollback()  # another process applied it while we waited
                    continue
                for statement in _split_sql(sql):
                    self.conn.execute(statement)
                self.conn.execute(
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, time.time()),
                )
                self.conn.commit()
            except sqlite3.Error as exc:
                self.conn.rollback()
                raise StoreError(f"migration {name} failed on {self.path}: {exc}") from None
            applied.append(name)
        return applied

    def _applied_versions(self, lock: bool) -> set[int]:
        """Versions in ``schema_migrations``; creates the table (inside the caller's lock if any)."""
        create = ("CREATE TABLE IF NOT EXISTS schema_migrations ("
                  " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)")
        try:
            exists = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
            if exists is None:
                if not lock:
                    return set()
                self.conn.execute(create)
            return {r[0] for r in self.conn.execute("SELECT version FROM schema_migrations")}
        except sqlite3.DatabaseError as exc:
            if self.conn.in_transaction:
                self.conn.rollback()
            raise StoreError(f"{self.path} is not an rsilab store: {exc}") from None

    def schema_versions(self) -> list[int]:
        """The migration versions applied to this store, in order."""
        return sorted(self._applied_versions(lock=False))

    # -- runs ------------------------------------------------------------------------------
    def add_run(
        self,
        kind: str,
        name: str,
        *,
        config: dict[str, Any],
        summary: dict[str, Any] | None = None,
        timings: dict[str, Any] | None = None,
        seed: int | None = None,
        status: str = "finished",
    ) -> int:
        with self.conn:
            return insert_run(self, kind, name, config=config, summary=summary, timings=timings, seed=seed,
                              status=status)

    def update_run(self, run_id: int, *, summary: dict | None = None, timings: dict | None = None,
                   status: str | None = None) -> None:
        sets, args = [], []
        if summary is not None:
            sets.append("summary_json = ?"); args.append(json.dumps(summary, sort_keys=True))
        if timings is not None:
            sets.append("timings_json = ?"); args.append(json.dumps(timings, sort_keys=True))
        if status is not None:
            sets.append("status = ?"); args.append(status)
        if not sets:
            return
        with self.conn:
            self.conn.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", (*args, run_id))

    def get_run(self, run_id: int) -> RunRecord:
        row = self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"run {run_id} is not in store {self.path}")
        return _run_record(row)

    def find_run(self, kinds: tuple[str, ...], config: dict[str, Any], *, with_arrays: bool = False) -> int | None:
        """The newest finished run of one of ``kinds`` recorded by this rsilab version with
        exactly ``config`` (and, if asked, with arrays kept beside it), or None."""
        arrays = " AND id IN (SELECT run_id FROM run_arrays)" if with_arrays else ""
        row = self.conn.execute(
            f"SELECT id FROM runs WHERE kind IN ({', '.join('?' * len(kinds))}) AND config_json = ? AND version = ?"
            f" AND status = 'finished'{arrays} ORDER BY id DESC LIMIT 1",
            (*kinds, json.dumps(config, sort_keys=True), __version__)).fetchone()
        return None if row is None else int(row["id"])

    def list_runs(self, kind: str | None = None, limit: int = 50) -> list[RunRecord]:
        if kind is None:
            rows = self.conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self.conn.execute(
                "SELECT * FROM runs WHERE kind = ? ORDER BY id DESC LIMIT ?", (kind, limit)
            )
        return [_run_record(r) for r in rows]

    # -- arrays kept for reports (web, migration 0060) ----------------------------------------
    def put_run_arrays(self, run_id: int, fmt: str, data: bytes) -> None:
        """Keep one blob of arrays (what a report draws) with run ``run_id``; written once."""
        try:
            with self.conn:
                self.conn.execute("INSERT INTO run_arrays(run_id, format, data, created_at) VALUES (?, ?, ?, ?)",
                                  (run_id, fmt, sqlite3.Binary(data), time.time()))
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"run {run_id} already has arrays, or is not in the store: {exc}") from None

    def run_arrays(self, run_id: int) -> tuple[str, bytes] | None:
        """(format, blob) kept with run ``run_id``, or None for a run recorded without them."""
        row = self.conn.execute("SELECT format, data FROM run_arrays WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else (row["format"], bytes(row["data"]))

    # -- rounds (experiments) ----------------------------------------------------------------
    def add_round(self, run_id: int, round_index: int, record: dict[str, Any]) -> None:
        """Record one finished round; a round is written once (resume never repeats it)."""
        try:
            with self.conn:
                self.conn.execute(
                    "INSERT INTO rounds(run_id, round, capability, compute_flop, seconds, record_json,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        round_index,
                        float(record["capability"]),
                        None if record.get("compute_flop") is None else float(record["compute_flop"]),
                        None if record.get("seconds") is None else float(record["seconds"]),
                        json.dumps(record, sort_keys=True),
                        time.time(),
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"run {run_id} already has round {round_index}: {exc}") from None

    def rounds(self, run_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT round, record_json FROM rounds WHERE run_id = ? ORDER BY round", (run_id,)
        )
        return [dict(json.loads(r["record_json"]), round=r["round"]) for r in rows]

    def iter_rows(self, sql: str, args: tuple = ()) -> Iterator[sqlite3.Row]:
        yield from self.conn.execute(sql, args)


def insert_run(store: Store, kind: str, name: str, *, config: dict[str, Any], summary: dict[str, Any] | None,
               timings: dict[str, Any] | None, seed: int | None, status: str) -> int:
    """Insert one run inside the caller's transaction (so that what belongs with it, its rounds
    or its prior, is written in the same one); return its id."""
    cur = store.conn.execute(
        "INSERT INTO runs(kind, name, created_at, seed, version, config_json, summary_json, timings_json, status)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (kind, name, time.time(), seed, __version__, json.dumps(config, sort_keys=True),
         json.dumps(summary or {}, sort_keys=True), json.dumps(timings or {}, sort_keys=True), status))
    return int(cur.lastrowid)


def _split_sql(sql: str) -> list[str]:
    """Split a migration into statements, respecting comments and string literals.

    Each statement runs inside the caller's transaction (executescript would commit
    implicitly); sqlite3.complete_statement knows where a statement really ends.
    """
    statements, buffer = [], ""
    for piece in sql.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if _strip_comments(buffer).strip(" \n\t;"):
                statements.append(buffer.strip())
            buffer = ""
    if _strip_comments(buffer).strip(" \n\t;"):
        statements.append(buffer.rstrip(";").strip())
    return statements


def _strip_comments(text: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines())


def _run_record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"],
        kind=row["kind"],
        name=row["name"],
        created_at=row["created_at"],
        seed=row["seed"],
        version=row["version"],
        config=json.loads(row["config_json"]),
        summary=json.loads(row["summary_json"]),
        timings=json.loads(row["timings_json"]),
        status=row["status"],
    )


def open_store(path: str | os.PathLike[str] | None = None) -> Store:
    return Store(path)
