"""The SQL of experiment checkpoints (table ``experiment_checkpoints``, migrations 0025-0026):
per run and finished round, a JSON state and an optional binary blob.

What a state holds belongs to ``rsilab.experiments.checkpoint``; this module only stores it.
Imports ``rsilab.store.db`` only.
"""
from __future__ import annotations

import time
from typing import Any

from rsilab.store.db import Store


def put_checkpoint(store: Store, run_id: int, round_index: int, state_json: str, blob: bytes | None,
                   keep_latest_only: bool) -> None:
    """Write (or overwrite) the checkpoint of one round, in one transaction; with
    ``keep_latest_only`` the run's other checkpoints are deleted in the same transaction."""
    with store.conn:
        if keep_latest_only:
            store.conn.execute("DELETE FROM experiment_checkpoints WHERE run_id = ? AND round != ?",
                               (run_id, round_index))
        store.conn.execute(
            "INSERT OR REPLACE INTO experiment_checkpoints(run_id, round, state_json, blob, created_at)"
            " VALUES (?, ?, ?, ?, ?)", (run_id, round_index, state_json, blob, time.time()))


def checkpoint_row(store: Store, run_id: int, round_index: int | None = None) -> dict[str, Any] | None:
    """The checkpoint of ``round_index``, or the run's latest when it is None; None if absent."""
    if round_index is None:
        row = store.conn.execute("SELECT round, state_json, blob FROM experiment_checkpoints WHERE run_id = ?"
                                 " ORDER BY round DESC LIMIT 1", (run_id,)).fetchone()
    else:
        row = store.conn.execute("SELECT round, state_json, blob FROM experiment_checkpoints"
                                 " WHERE run_id = ? AND round = ?", (run_id, round_index)).fetchone()
    return None if row is None else dict(row)


def delete_checkpoints(store: Store, run_id: int) -> int:
    with store.conn:
        cur = store.conn.execute("DELETE FROM experiment_checkpoints WHERE run_id = ?", (run_id,))
    return cur.rowcount
