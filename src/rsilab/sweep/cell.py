"""One cell of a sweep, as a worker runs it: the experiment from a profile plus fields, to values.

Owns ``run_cell``, the function Ray ships to a worker. It writes the cell's fields to a TOML
file in a private temporary directory, runs the experiment into a private in-memory store (its
own scratch: never the caller's store file, and nothing survives the cell) and returns the run's
rounds, summary and the model size as plain values; the driver records them. Any exception is
returned as the cell's error, so one bad cell never stops the others. Imports no Ray; torch only
through the experiment's own modules.
"""
from __future__ import annotations

import importlib
import os
import socket
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from rsilab.core.toml_text import to_toml


def run_cell(experiment: str, profile: str, fields: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Run one cell; return {"ok", "rounds", "summary", "parameters", "seconds", ...} or the error."""
    from rsilab.experiments import EXPERIMENTS
    from rsilab.store import Store
    from rsilab.sweep.experiments import get_target

    t0 = time.perf_counter()
    base = {"host": socket.gethostname(), "pid": os.getpid()}
    try:
        module = importlib.import_module(EXPERIMENTS[experiment])
        target = get_target(experiment)
        parameters = target.parameters(config) if target.parameters is not None else None
        with tempfile.TemporaryDirectory(prefix="rsilab-cell-") as tmp:
            path = Path(tmp) / "cell.toml"
            path.write_text(to_toml(fields), encoding="utf-8")
            store = Store(":memory:")
            # The in-memory store's nominal path puts any file checkpoints the experiment keeps
            # beside its store into this temporary directory, which is removed with the cell.
            store.path = Path(tmp) / "cell.sqlite"
            try:
                run_id = module.run_experiment(config_path=path, profile=profile, store=store, resume_run=None,
                                               progress=False)
                run = store.get_run(run_id)
                rounds = store.rounds(run_id)
            finally:
                store.close()
        return dict(base, ok=True, rounds=rounds, summary=run.summary, seed=run.seed, parameters=parameters,
                     seconds=time.perf_counter() - t0, error=None)
    except Exception as exc:  # a failing cell is a result, not a crash of the sweep
        last = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = f" (at {Path(last.filename).name}:{last.lineno})" if last else ""
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        return dict(base, ok=False, rounds=[], summary={}, seed=config.get("seed"), parameters=None,
                    seconds=time.perf_counter() - t0, error=message[:400] + where)
