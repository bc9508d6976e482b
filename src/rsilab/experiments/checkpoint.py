"""Per-round experiment state (weights, optimiser moments, current program) for exact resume:
the one checkpoint mechanism of every experiment.

The ``rounds`` table holds what a round *measured*; a checkpoint holds what the next round
*needs*, in the store (``rsilab.store.checkpoints``): a JSON state (floats round-trip exactly,
so a resumed run repeats the uninterrupted one bit for bit) and, for experiments with binary
state such as model weights, a blob the experiment serialises itself. A checkpoint is written
before its round is recorded, so a crash between the two leaves a checkpoint one round ahead of
the store, which the experiment either records on resume or overwrites. Imports only the store;
never torch.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rsilab.errors import ExperimentError
from rsilab.store import Store
from rsilab.store.checkpoints import checkpoint_row, delete_checkpoints, put_checkpoint


@dataclass(frozen=True)
class Checkpoint:
    round: int
    state: dict[str, Any]
    blob: bytes | None


def save_checkpoint(store: Store, run_id: int, round_index: int, state: dict[str, Any], *,
                    blob: bytes | None = None, keep_latest_only: bool = False) -> None:
    """Record the state after finished round ``round_index`` (``keep_latest_only``: drop the
    run's earlier checkpoints in the same transaction, for large blobs)."""
    put_checkpoint(store, run_id, round_index, json.dumps(state), blob, keep_latest_only)


def load_checkpoint(store: Store, run_id: int, round_index: int) -> dict[str, Any]:
    row = checkpoint_row(store, run_id, round_index)
    if row is None:
        raise ExperimentError(
            f"run {run_id} has no checkpoint after round {round_index}, so it cannot be resumed; "
            "start a new run instead"
        )
    return json.loads(row["state_json"])


def latest_checkpoint(store: Store, run_id: int) -> Checkpoint | None:
    row = checkpoint_row(store, run_id)
    return None if row is None else Checkpoint(row["round"], json.loads(row["state_json"]), row["blob"])


def drop_checkpoints(store: Store, run_id: int) -> int:
    """Delete every checkpoint of a run (it can then no longer be resumed); return how many."""
    return delete_checkpoints(store, run_id)
