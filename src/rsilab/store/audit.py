"""The SQL of the box's audit log (table ``box_audit``, migration 0010): appending one record
under the database's write lock, and reading records back in sequence or insertion order.

What a record means and how its hash is computed belong to ``rsilab.box.audit``; this module
only stores rows and hands them back as dicts. Imports ``rsilab.store.db`` and ``rsilab.errors``.
"""
from __future__ import annotations

import sqlite3
import time
from typing import Any, Callable, Iterator

from rsilab.errors import StoreError
from rsilab.store.db import Store


def append_audit_row(store: Store, experiment: str, kind: str, body_json: str, genesis: str,
                     digest: Callable[[str, int, float], str]) -> dict[str, Any]:
    """Append one row after the current last one, atomically; return the row written.

    ``digest(prev_hash, seq, created_at)`` gives the new row's hash. ``BEGIN IMMEDIATE`` takes the
    write lock before the last row is read, so two writers can never chain onto the same record.
    """
    conn = store.conn
    try:
        if conn.in_transaction:
            conn.commit()
        conn.execute("BEGIN IMMEDIATE")
        try:
            last = conn.execute("SELECT seq, hash FROM box_audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (1, genesis) if last is None else (last["seq"] + 1, last["hash"])
            created_at = time.time()
            row = {"seq": seq, "experiment": experiment, "kind": kind, "created_at": created_at,
                   "body_json": body_json, "prev_hash": prev, "hash": digest(prev, seq, created_at)}
            conn.execute(
                "INSERT INTO box_audit(seq, experiment, kind, created_at, body_json, prev_hash, hash)"
                " VALUES (:seq, :experiment, :kind, :created_at, :body_json, :prev_hash, :hash)", row)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    except sqlite3.Error as exc:
        raise StoreError(f"cannot append to the audit log in {store.path}: {exc}") from None
    return row


def audit_rows(store: Store, experiment: str | None = None, kind: str | None = None) -> Iterator[dict[str, Any]]:
    """Rows in sequence order, optionally of one experiment and/or kind."""
    sql, args, where = "SELECT * FROM box_audit", [], []
    if experiment is not None:
        where.append("experiment = ?"); args.append(experiment)
    if kind is not None:
        where.append("kind = ?"); args.append(kind)
    if where:
        sql += " WHERE " + " AND ".join(where)
    for row in store.conn.execute(sql + " ORDER BY seq", args):
        yield dict(row)


def audit_rows_as_inserted(store: Store) -> Iterator[dict[str, Any]]:
    """Every row in insertion (rowid) order: a reordering then shows up as a sequence break."""
    for row in store.conn.execute("SELECT rowid AS r, * FROM box_audit ORDER BY r"):
        yield dict(row)


def audit_row(store: Store, seq: int) -> dict[str, Any] | None:
    row = store.conn.execute("SELECT * FROM box_audit WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else dict(row)


def audit_hashes(store: Store) -> set[str]:
    return {r["hash"] for r in store.conn.execute("SELECT hash FROM box_audit")}
