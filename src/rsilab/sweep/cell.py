"""One cell of a sweep, as a worker runs it: an experiment's validated config, to values.

Owns ``run_cell``, the function Ray ships to a worker. It runs the experiment's declared run
function on the cell's config object into a private in-memory store (its own scratch: never the
caller's store file, and nothing survives the cell) and returns the run's rounds (read with
``rsilab.store.rounds.rounds_of``), summary and the model size as plain values; the driver
records them. Any exception is returned as the cell's error, so one bad cell never stops the
others. Imports no Ray; torch only through the experiment's own modules.
"""
from __future__ import annotations

import os
import socket
import time
import traceback
from pathlib import Path
from typing import Any


def run_cell(experiment: str, config: Any) -> dict[str, Any]:
    """Run one cell; return {"ok", "rounds", "summary", "parameters", "seconds", ...} or the error."""
    from rsilab.experiments.registry import get_experiment
    from rsilab.store import Store
    from rsilab.store.rounds import rounds_of

    t0 = time.perf_counter()
    base = {"host": socket.gethostname(), "pid": os.getpid()}
    try:
        spec = get_experiment(experiment)
        parameters = spec.parameter_count(config)
        with Store(":memory:") as store:
            run_id = spec.run_function()(config, store, resume_run=None, progress=False)
            found = rounds_of(store, run_id)
        return dict(base, ok=True, rounds=found.rounds, summary=found.run.summary, seed=found.run.seed,
                    parameters=parameters, seconds=time.perf_counter() - t0, error=None)
    except Exception as exc:  # a failing cell is a result, not a crash of the sweep
        last = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = f" (at {Path(last.filename).name}:{last.lineno})" if last else ""
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        return dict(base, ok=False, rounds=[], summary={}, seed=config.seed, parameters=None,
                    seconds=time.perf_counter() - t0, error=message[:400] + where)
