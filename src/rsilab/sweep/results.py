"""What a sweep found: per cell its status, seconds and k with an interval; series for ``fit scale``.

Owns ``cell_rows`` (the table ``rsilab sweep show`` prints) and ``scale_series`` (each finished
cell as one series of capability by round with its scale: parameters, or mean FLOP per round,
and each round's standard error when the experiment records one), both read from the store
(rounds through ``rounds_of``). k per cell, its interval and its verdict are the rounds
estimator's (``rsilab.estimate.rounds``).
Imports the store and estimate; no Ray, no torch.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rsilab.errors import EstimationError
from rsilab.estimate.rounds import RoundsFit
from rsilab.store import Store
from rsilab.store import sweeps as records
from rsilab.store.rounds import RunRounds, rounds_of

SCALES = ("parameters", "flop")


def _k(found: RunRounds, seed: int = 0) -> dict[str, Any]:
    try:
        est = RoundsFit(seed=seed).fit(found.column("capability"), **found.noise())
    except EstimationError as exc:
        return {"k": None, "k_interval": None, "k_note": str(exc)}
    r = est.result_dict()
    return {"k": r["k"], "k_interval": r["k_interval"], "p_k_gt_1": r["p_k_gt_1"], "regime": r["regime"],
            "noise": r["noise"], "k_note": None}


def cell_rows(store: Store, sweep_id: int) -> dict[str, Any]:
    """The sweep and one row per cell: values, status, seconds, parameters, k with its interval."""
    sweep = records.get_sweep(store, sweep_id)
    rows = []
    for c in records.list_cells(store, sweep_id):
        row: dict[str, Any] = {"cell": c.cell, "values": c.values, "status": c.status, "run_id": c.run_id,
                               "seconds": c.seconds, "parameters": c.parameters, "error": c.error,
                               "attempts": c.attempts, "rounds": 0, "k": None, "k_interval": None, "k_note": None}
        if c.status == "finished" and c.run_id is not None:
            found = rounds_of(store, c.run_id)
            row["rounds"] = len(found.rounds)
            row["final_capability"] = found.rounds[-1]["capability"] if found.rounds else None
            row.update(_k(found))
        rows.append(row)
    counts = {s: sum(r["status"] == s for r in rows) for s in records.CELL_STATUSES}
    return {"sweep": {"id": sweep.id, "experiment": sweep.experiment, "profile": sweep.profile,
                      "source": sweep.source, "spec": sweep.spec, "status": sweep.status,
                      "created_at": sweep.created_at, "counts": counts},
            "cells": rows}


def scale_series(store: Store, sweep_id: int, scale: str = "parameters") -> list[dict[str, Any]]:
    """Each finished cell as {"label", "scale", "capability", "compute_flop"}; scale per SCALES."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}")
    fixed = records.get_sweep(store, sweep_id).spec.get("fixed", {})
    out = []
    for c in records.list_cells(store, sweep_id):
        if c.status != "finished" or c.run_id is None:
            continue
        found = rounds_of(store, c.run_id)
        rounds = found.rounds
        flop = [r.get("compute_flop") for r in rounds[1:]]
        if scale == "parameters":
            value = c.parameters
        else:
            value = float(np.mean(flop)) if flop and all(f is not None for f in flop) else None
        label = ", ".join(f"{k}={v}" for k, v in c.values.items() if k not in fixed)
        out.append({"label": f"cell {c.cell}: {label}", "scale": value,
                    "capability": [float(r["capability"]) for r in rounds], "se": found.noise().get("se")})
    return out
