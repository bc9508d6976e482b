"""The SQL of the box's approval gate: proposals (``box_proposals``) and the policy in force per
experiment (``box_policies``), both from migration 0010.

Rows go in and come back as dicts; what a proposal or policy means belongs to
``rsilab.box.gate``. Imports ``rsilab.store.db`` only.
"""
from __future__ import annotations

from typing import Any

from rsilab.store.db import Store

_PROPOSAL_COLUMNS = ("experiment", "kind", "status", "created_at", "summary", "diff", "diff_sha256",
                     "candidate_sha256", "checks_json", "needs_human", "decided_at", "decided_by",
                     "reason", "audit_seq")


def insert_proposal(store: Store, row: dict[str, Any]) -> int:
    """Insert a proposal (keys: the table's columns but ``id``); return its id."""
    columns = ", ".join(_PROPOSAL_COLUMNS)
    marks = ", ".join(f":{c}" for c in _PROPOSAL_COLUMNS)
    with store.conn:
        cur = store.conn.execute(f"INSERT INTO box_proposals({columns}) VALUES ({marks})",
                                 {c: row[c] for c in _PROPOSAL_COLUMNS})
    return int(cur.lastrowid)


def proposal_row(store: Store, proposal_id: int) -> dict[str, Any] | None:
    row = store.conn.execute("SELECT * FROM box_proposals WHERE id = ?", (proposal_id,)).fetchone()
    return None if row is None else dict(row)


def pending_proposal_rows(store: Store, experiment: str | None = None) -> list[dict[str, Any]]:
    sql, args = "SELECT * FROM box_proposals WHERE status = 'pending'", []
    if experiment is not None:
        sql += " AND experiment = ?"
        args.append(experiment)
    return [dict(r) for r in store.conn.execute(sql + " ORDER BY id", args)]


def count_proposals_since(store: Store, experiment: str, since: float) -> int:
    (count,) = store.conn.execute(
        "SELECT COUNT(*) FROM box_proposals WHERE experiment = ? AND created_at >= ?",
        (experiment, since)).fetchone()
    return int(count)


def set_proposal_status(store: Store, proposal_id: int, status: str) -> None:
    with store.conn:
        store.conn.execute("UPDATE box_proposals SET status = ? WHERE id = ?", (status, proposal_id))


def record_proposal_decision(store: Store, proposal_id: int, status: str, decided_at: float, by: str,
                             reason: str) -> None:
    with store.conn:
        store.conn.execute(
            "UPDATE box_proposals SET status = ?, decided_at = ?, decided_by = ?, reason = ? WHERE id = ?",
            (status, decided_at, by, reason, proposal_id))


def policy_json(store: Store, experiment: str) -> str | None:
    row = store.conn.execute("SELECT policy_json FROM box_policies WHERE experiment = ?", (experiment,)).fetchone()
    return None if row is None else row["policy_json"]


def put_policy(store: Store, experiment: str, policy_json_text: str, policy_sha256: str, set_at: float,
               set_by: str) -> None:
    with store.conn:
        store.conn.execute(
            "INSERT INTO box_policies(experiment, policy_json, policy_sha256, set_at, set_by) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(experiment) DO UPDATE SET policy_json = excluded.policy_json,"
            " policy_sha256 = excluded.policy_sha256, set_at = excluded.set_at, set_by = excluded.set_by",
            (experiment, policy_json_text, policy_sha256, set_at, set_by))
