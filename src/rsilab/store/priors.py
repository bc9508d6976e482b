"""The SQL of fits and their priors (table ``fit_priors``, migration 0039).

Owns ``add_fit`` (a fit's run and its prior, in one transaction) and ``prior_of`` (the prior
kept with a run, or None). What a prior holds is decided elsewhere (``rsilab.core.priors`` and
``rsilab.estimate.bridge``); this module only keeps it. Imports the store's db module only.
"""
from __future__ import annotations

import json
from typing import Any

from rsilab.store.db import Store, insert_run


def add_fit(store: Store, kind: str, name: str, *, config: dict[str, Any], summary: dict[str, Any],
            seed: int | None, prior: dict[str, Any] | None) -> int:
    """Record a fit as a finished run of ``kind`` with its prior (when it has one); return its id."""
    with store.conn:
        run_id = insert_run(store, kind, name, config=config, summary=summary, timings=None, seed=seed,
                            status="finished")
        if prior is not None:
            store.conn.execute("INSERT INTO fit_priors(run_id, quantity, prior_json) VALUES (?, ?, ?)",
                               (run_id, str(prior["quantity"]), json.dumps(prior, sort_keys=True)))
    return run_id


def prior_of(store: Store, run_id: int) -> dict[str, Any] | None:
    """The prior kept with run ``run_id``; None when the run has none."""
    row = store.conn.execute("SELECT prior_json FROM fit_priors WHERE run_id = ?", (run_id,)).fetchone()
    return None if row is None else json.loads(row["prior_json"])
