"""Run bookkeeping shared by the experiments: start or resume a run, record rounds, export.

A run is a row in ``runs`` with kind ``experiment:<name>``; each finished round is one row in
``rounds`` holding at least ``capability`` (and ``compute_flop``, ``seconds`` when known). A
round is written only when it is finished, and written once, so a killed run resumes from the
last finished round without losing or repeating work.
"""
from __future__ import annotations

import csv
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rsilab.core.version import git_revision
from rsilab.errors import ExperimentError
from rsilab.store import Store
from rsilab.store.rounds import rounds_of


@dataclass
class RunHandle:
    store: Store
    run_id: int
    name: str
    config: dict[str, Any]
    finished_rounds: list[dict[str, Any]]

    @property
    def next_round(self) -> int:
        return 1 + max((r["round"] for r in self.finished_rounds), default=-1)

    def record_round(self, round_index: int, record: dict[str, Any]) -> None:
        if "capability" not in record:
            raise ExperimentError(f"round {round_index} of run {self.run_id} has no 'capability'")
        self.store.add_round(self.run_id, round_index, record)
        self.finished_rounds.append(dict(record, round=round_index))

    def finish(self, summary: dict[str, Any] | None = None, timings: dict[str, Any] | None = None) -> None:
        self.store.update_run(self.run_id, summary=summary, timings=timings, status="finished")


def start_or_resume(store: Store, name: str, config: dict[str, Any], *, seed: int | None,
                    resume_run: int | None = None) -> RunHandle:
    """Open run ``resume_run`` (its config must match) or start a new one."""
    kind = f"experiment:{name}"
    if resume_run is not None:
        run = store.get_run(resume_run)
        if run.kind != kind:
            raise ExperimentError(f"run {resume_run} is a {run.kind!r} run, not {kind!r}")
        if run.config.get("config") != config:
            raise ExperimentError(
                f"run {resume_run} was started with another config; resume needs the same config "
                "(start a new run instead)"
            )
        store.update_run(resume_run, status="running")
        return RunHandle(store, resume_run, name, config, store.rounds(resume_run))
    meta = {"config": config, "python": platform.python_version(), "git_revision": git_revision()}
    run_id = store.add_run(kind, name, config=meta, seed=seed, status="running")
    return RunHandle(store, run_id, name, config, [])


def export_rounds(store: Store, run_id: int, path: Path) -> int:
    """Write the rounds of a run as ``round, capability, compute_flop, seconds[, se | n_items][, schedule]``;
    return the count."""
    found = rounds_of(store, run_id, min_rounds=1)
    header, rows = found.table()
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
