"""Per-round experiment state (weights, optimiser moments, current program) for exact resume.

The ``rounds`` table holds what a round *measured*; this module holds what the next round
*needs*, in ``experiment_checkpoints`` (migration 0025). A checkpoint is written before its
round is recorded, so a crash between the two leaves an orphan checkpoint that is simply
overwritten on resume. Values are JSON (floats round-trip exactly), so a resumed run repeats
the uninterrupted one bit for bit. Imports only the store; never torch.
"""
from __future__ import annotations

import json
import time
from typing import Any

from rsilab.errors import ExperimentError
from rsilab.store import Store


def save_checkpoint(store: Store, run_id: int, round_index: int, state: dict[str, Any]) -> None:
    with store.conn:
        store.conn.execute(
            "INSERT OR REPLACE INTO experiment_checkpoints(run_id, round, state_json, created_at)"
            " VALUES (?, ?, ?, ?)",
            (run_id, round_index, json.dumps(state), time.time()),
        )


def load_checkpoint(store: Store, run_id: int, round_index: int) -> dict[str, Any]:
    row = store.conn.execute(
        "SELECT state_json FROM experiment_checkpoints WHERE run_id = ? AND round = ?",
        (run_id, round_index),
    ).fetchone()
    if row is None:
        raise ExperimentError(
            f"run {run_id} has no checkpoint after round {round_index}, so it cannot be resumed; "
            "start a new run instead"
        )
    return json.loads(row["state_json"])
