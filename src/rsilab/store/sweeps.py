"""The store's sweep records: a sweep row, its cells, and the atomic recording of a finished cell.

Owns every SQL statement about ``sweeps`` and ``sweep_cells`` (migration 0040). A cell that
finishes is written as one run of kind ``experiment:<name>`` with its rounds, and the cell is
marked finished, all in one transaction: a driver killed at any point leaves each cell either
recorded once or still to run. Imports nothing of ours but the store, errors and core.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from rsilab.errors import StoreError
from rsilab.store.db import Store, insert_run

CELL_STATUSES = ("pending", "running", "finished", "failed")


@dataclass(frozen=True)
class SweepRecord:
    id: int
    experiment: str
    profile: str
    source: str | None
    spec: dict[str, Any]
    created_at: float
    status: str


@dataclass(frozen=True)
class CellRecord:
    sweep_id: int
    cell: int
    values: dict[str, Any]
    status: str
    run_id: int | None
    parameters: float | None
    seconds: float | None
    error: str | None
    attempts: int


def add_sweep(store: Store, experiment: str, profile: str, spec: dict[str, Any],
              cells: list[dict[str, Any]], source: str | None = None) -> int:
    """Create a sweep and all its cells (pending) in one transaction; return its id."""
    now = time.time()
    with store.conn:
        cur = store.conn.execute(
            "INSERT INTO sweeps(experiment, profile, source, spec_json, created_at, status) VALUES (?, ?, ?, ?, ?, ?)",
            (experiment, profile, source, json.dumps(spec, sort_keys=True), now, "running"))
        sweep_id = int(cur.lastrowid)
        store.conn.executemany(
            "INSERT INTO sweep_cells(sweep_id, cell, values_json, status, updated_at) VALUES (?, ?, ?, 'pending', ?)",
            [(sweep_id, i, json.dumps(v, sort_keys=True), now) for i, v in enumerate(cells)])
    return sweep_id


def get_sweep(store: Store, sweep_id: int) -> SweepRecord:
    row = store.conn.execute("SELECT * FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
    if row is None:
        raise StoreError(f"sweep {sweep_id} is not in store {store.path} (list runs with: rsilab runs)")
    return SweepRecord(row["id"], row["experiment"], row["profile"], row["source"], json.loads(row["spec_json"]),
                       row["created_at"], row["status"])


def list_cells(store: Store, sweep_id: int) -> list[CellRecord]:
    rows = store.conn.execute("SELECT * FROM sweep_cells WHERE sweep_id = ? ORDER BY cell", (sweep_id,))
    return [CellRecord(r["sweep_id"], r["cell"], json.loads(r["values_json"]), r["status"], r["run_id"],
                       r["parameters"], r["seconds"], r["error"], r["attempts"]) for r in rows]


def mark_running(store: Store, sweep_id: int, cell: int) -> None:
    with store.conn:
        store.conn.execute(
            "UPDATE sweep_cells SET status = 'running', attempts = attempts + 1, updated_at = ?"
            " WHERE sweep_id = ? AND cell = ? AND status != 'finished'", (time.time(), sweep_id, cell))


def release_running(store: Store, sweep_id: int) -> None:
    """Cells left 'running' by a stopped driver go back to 'pending'."""
    with store.conn:
        store.conn.execute("UPDATE sweep_cells SET status = 'pending', updated_at = ? WHERE sweep_id = ?"
                           " AND status = 'running'", (time.time(), sweep_id))


def claim_driver(store: Store, sweep_id: int, driver: str, *, stale_after: float,
                 replacing: str | None = None) -> str | None:
    """Claim sweep ``sweep_id`` for ``driver``; return None when claimed, else the live holder.

    One conditional UPDATE, so two drivers claiming at the same moment cannot both win. A claim
    whose heartbeat is older than ``stale_after`` seconds, or the one named by ``replacing``
    (a holder the caller knows is dead), is taken over.
    """
    now = time.time()
    with store.conn:
        cur = store.conn.execute(
            "UPDATE sweeps SET driver = ?, driver_seen = ? WHERE id = ? AND (driver IS NULL OR driver = ?"
            " OR driver_seen < ? OR driver = ?)", (driver, now, sweep_id, driver, now - stale_after, replacing))
        if cur.rowcount == 1:
            return None
        row = store.conn.execute("SELECT driver FROM sweeps WHERE id = ?", (sweep_id,)).fetchone()
    if row is None:
        raise StoreError(f"sweep {sweep_id} is not in store {store.path} (list runs with: rsilab runs)")
    return str(row["driver"])


def touch_driver(store: Store, sweep_id: int, driver: str) -> None:
    """Refresh the claim's heartbeat (only while ``driver`` still holds it)."""
    with store.conn:
        store.conn.execute("UPDATE sweeps SET driver_seen = ? WHERE id = ? AND driver = ?",
                           (time.time(), sweep_id, driver))


def release_driver(store: Store, sweep_id: int, driver: str) -> None:
    with store.conn:
        store.conn.execute("UPDATE sweeps SET driver = NULL, driver_seen = NULL WHERE id = ? AND driver = ?",
                           (sweep_id, driver))


def record_cell(store: Store, sweep_id: int, cell: int, *, experiment: str, ok: bool, config: dict[str, Any],
                rounds: list[dict[str, Any]], summary: dict[str, Any], seconds: float,
                parameters: float | None = None, seed: int | None = None, error: str | None = None) -> int:
    """Write a finished or failed cell as one run (with its rounds) and point the cell at it.

    One transaction: either all of it is written or none. A cell already finished is refused,
    so no cell is ever recorded twice.
    """
    now = time.time()
    with store.conn:
        row = store.conn.execute("SELECT status FROM sweep_cells WHERE sweep_id = ? AND cell = ?",
                                 (sweep_id, cell)).fetchone()
        if row is None:
            raise StoreError(f"sweep {sweep_id} has no cell {cell}")
        if row["status"] == "finished":
            raise StoreError(f"cell {cell} of sweep {sweep_id} is already finished; it is never recorded twice")
        status = "finished" if ok else "failed"
        run_config = {"config": config, "sweep": {"id": sweep_id, "cell": cell}, "parameters": parameters}
        run_id = insert_run(store, f"experiment:{experiment}", experiment, config=run_config,
                            summary=dict(summary, **({"error": error} if error else {})),
                            timings={"seconds": seconds}, seed=seed, status=status)
        store.conn.executemany(
            "INSERT INTO rounds(run_id, round, capability, compute_flop, seconds, record_json, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(run_id, int(r["round"]), float(r["capability"]),
              None if r.get("compute_flop") is None else float(r["compute_flop"]),
              None if r.get("seconds") is None else float(r["seconds"]),
              json.dumps({k: v for k, v in r.items() if k != "round"}, sort_keys=True), now) for r in rounds])
        store.conn.execute(
            "UPDATE sweep_cells SET status = ?, run_id = ?, parameters = ?, seconds = ?, error = ?, updated_at = ?"
            " WHERE sweep_id = ? AND cell = ?", (status, run_id, parameters, seconds, error, now, sweep_id, cell))
    return run_id


def finish_sweep(store: Store, sweep_id: int) -> str:
    """Set the sweep's status from its cells: 'finished' when all are, else 'incomplete'."""
    left = store.conn.execute("SELECT COUNT(*) FROM sweep_cells WHERE sweep_id = ? AND status != 'finished'",
                              (sweep_id,)).fetchone()[0]
    status = "finished" if left == 0 else "incomplete"
    with store.conn:
        store.conn.execute("UPDATE sweeps SET status = ? WHERE id = ?", (status, sweep_id))
    return status
