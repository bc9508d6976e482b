"""``rsilab.track``: the API a user's own self-improvement loop logs its rounds through.

Owns the tracked run: a row in ``runs`` of kind ``experiment:track`` (named by the user, its
config holding method, model size and metric) and one row in ``rounds`` per logged round,
written through ``rsilab.experiments.record`` exactly as the built-in experiments write theirs.
Every round is committed when it is logged, so a crash keeps the rounds before it; a resumed run
(``resume=True``: the newest unfinished run of that name, or ``resume=RUN``) continues its round
numbers. Several processes may log to one store (SQLite WAL, and a round number taken by another
process is retried with the next one). Imports the store and our errors only: never torch, so
any training script can use it.
"""
from __future__ import annotations

import math
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from rsilab.errors import ConfigError, ExperimentError, StoreError

KIND = "experiment:track"


class TrackedRun:
    """A run being tracked; ``log_round`` records one finished round and returns its number."""

    def __init__(self, handle, metadata: dict[str, Any]):
        self._handle = handle
        self.metadata = metadata

    @property
    def run_id(self) -> int:
        return self._handle.run_id

    @property
    def next_round(self) -> int:
        return self._handle.next_round

    def log_round(self, capability: float, compute_flop: float | None = None, seconds: float | None = None,
                  *, capability_se: float | None = None, n_items: float | None = None, **extra: Any) -> int:
        """Record a finished round: its capability (on the metric), and optionally its compute and
        time, and its measurement noise: a standard error, or the benchmark's number of items (for a
        proportion: binomial noise). The estimators read the noise when every round gives it."""
        cap = _number("capability", capability)
        record: dict[str, Any] = {"capability": cap, **extra}
        if capability_se is not None and n_items is not None:
            raise ConfigError("capability_se", capability_se, "either capability_se or n_items, not both")
        if capability_se is not None:
            record["capability_se"] = _number("capability_se", capability_se, positive=True)
        if n_items is not None:
            record["n_items"] = _number("n_items", n_items, positive=True)
        if compute_flop is not None:
            record["compute_flop"] = _number("compute_flop", compute_flop, positive=True)
        if seconds is not None:
            record["seconds"] = _number("seconds", seconds, positive=True)
        store = self._handle.store
        for _ in range(1000):
            index = 1 + max((r["round"] for r in store.rounds(self.run_id)), default=-1)
            try:
                self._handle.record_round(index, record)
                return index
            except StoreError:
                continue  # another process took this round number: take the next
        raise ExperimentError(f"run {self.run_id}: could not find a free round number")


def _number(name: str, value: Any, positive: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ConfigError(name, value, "a number") from None
    if not math.isfinite(x) or (positive and x <= 0):
        raise ConfigError(name, value, "a finite number" + (" > 0" if positive else ""))
    return x


@contextmanager
def track(name: str, *, method: str, model_params: float | None = None, metric: str = "capability",
          store: str | os.PathLike[str] | None = None, resume: bool | int = False) -> Iterator[TrackedRun]:
    """Track a self-improvement loop: ``with track(...) as run: run.log_round(capability=...)``.

    ``metric`` names what capability measures (e.g. "MATH accuracy (%)"): a percentage or a
    0-10 score is fitted on the logit scale by ``rsilab evidence fit --add-run``. On leaving the
    block the run is marked finished, or failed if the block raised; a killed process leaves it
    running, and ``resume=True`` continues it.
    """
    from rsilab.store import Store

    if not name or not isinstance(name, str):
        raise ConfigError("name", name, "a non-empty run name")
    if not method:
        raise ConfigError("method", method, "the method's name (e.g. \"ReST\")")
    metadata = {"method": str(method), "metric": str(metric),
                "model_params": None if model_params is None else _number("model_params", model_params, True)}
    with Store(Path(store) if store is not None else None) as st:
        handle = _start_or_resume(st, name, metadata, resume)
        run = TrackedRun(handle, metadata)
        try:
            yield run
        except BaseException:
            st.update_run(handle.run_id, status="failed")
            raise
        handle.finish(summary={"rounds": len(st.rounds(handle.run_id))})


def _start_or_resume(st, name: str, metadata: dict[str, Any], resume: bool | int):
    """The run to log into, as ``rsilab.experiments.record`` keeps the built-in experiments' runs."""
    import platform

    from rsilab.core.version import git_revision
    from rsilab.experiments.record import RunHandle

    target = None
    if resume is True:
        target = next((r.id for r in st.list_runs(kind=KIND, limit=10000) if r.name == name and r.status != "finished"),
                      None)
    elif isinstance(resume, int) and not isinstance(resume, bool):
        target = resume
    elif resume is not False:
        raise ConfigError("resume", resume, "False, True (the newest unfinished run of this name) or a run id")
    if target is not None:
        rec = st.get_run(target)
        if rec.kind != KIND or rec.name != name:
            raise ExperimentError(f"run {target} is {rec.kind!r} run {rec.name!r}, not a tracked run named {name!r}")
        if rec.config.get("config") != metadata:
            raise ExperimentError(f"run {target} ({name!r}) was started with {rec.config.get('config')}; "
                                  "resume needs the same method, model_params and metric")
        st.update_run(target, status="running")
        return RunHandle(st, target, name, metadata, st.rounds(target))
    meta = {"config": metadata, "python": platform.python_version(), "git_revision": git_revision()}
    run_id = st.add_run(KIND, name, config=meta, seed=None, status="running")
    return RunHandle(st, run_id, name, metadata, [])
