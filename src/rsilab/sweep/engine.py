"""Running a sweep's cells on Ray: a local Ray by default, or an existing cluster.

Owns ``create_sweep`` (the sweep row and its pending cells) and ``run_sweep`` (the driver).
The driver submits cells while the cluster has free CPUs for them, so a submitted cell is a
running cell and its time limit counts from its start; it waits for any cell to return, and
records it in the caller's store at once (workers never touch that store). A cell that raises,
is killed for memory, or passes ``timeout_s`` is recorded failed with its error; the others go
on. A stopped driver leaves every finished cell recorded and the rest to ``--resume``, which
runs only the cells not finished. One driver per sweep: the driver claims the sweep in the store
before it starts Ray and refreshes the claim while it runs; a second driver on a live claim is
refused with the holder's name. Ray is imported only here, only when a sweep runs.
"""
from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from rsilab.errors import RsilabError
from rsilab.store import Store
from rsilab.store import sweeps as records
from rsilab.experiments.registry import get_experiment
from rsilab.sweep.spec import SweepSpec

# one thread per cell: cells are the parallelism, and threads inside them would fight over cores
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                "NUMEXPR_NUM_THREADS")}


# The driver refreshes its claim every HEARTBEAT_S seconds; a claim not refreshed for STALE_S
# belongs to a driver that died without releasing it (killed, or its machine lost) and is taken
# over. STALE_S is several heartbeats, so a driver slowed by a busy machine keeps its claim.
HEARTBEAT_S = 30.0
STALE_S = 150.0


class SweepError(RsilabError):
    """A sweep that cannot run (no Ray, no reachable cluster, nothing to resume)."""


@dataclass
class SweepOutcome:
    sweep_id: int
    status: str
    finished: int
    failed: int
    skipped: int                  # already finished before this call (resume)
    seconds: float
    cells: dict[int, str] = field(default_factory=dict)   # cell -> status from this call


def import_ray(experiment: str | None = None):
    """Ray, once everything a sweep (of ``experiment``) imports is known to be installed; else the
    one-line MissingExtraError naming the extra."""
    from rsilab.core.extras import require

    ray = require("ray", "rsilab sweep")
    if experiment is not None:
        get_experiment(experiment, field="experiment").require()
    return ray


def create_sweep(store: Store, spec: SweepSpec) -> int:
    return records.add_sweep(store, spec.experiment, spec.profile, spec.to_dict(), spec.cells, spec.source)


def run_sweep(store: Store, sweep_id: int, *, address: str | None = None, cpus: int | None = None,
              timeout_s: float | None = None, progress: bool = False,
              on_submit: Callable[[int], None] | None = None) -> SweepOutcome:
    """Run every cell of sweep ``sweep_id`` that is not finished; return what happened."""
    sweep = records.get_sweep(store, sweep_id)
    target = get_experiment(sweep.experiment, field="experiment")
    all_cells = records.list_cells(store, sweep_id)
    todo = [c for c in all_cells if c.status != "finished"]
    limit = timeout_s if timeout_s is not None else sweep.spec.get("timeout_s")
    configs = {c.cell: target.build(sweep.profile, overrides=c.values) for c in todo}
    ray = import_ray(sweep.experiment)
    me = claim(store, sweep_id)
    address = address or os.environ.get("RAY_ADDRESS") or None
    started_here = not ray.is_initialized()
    t_start = time.perf_counter()
    if started_here:
        try:
            if address:
                ray.init(address=address, log_to_driver=False, runtime_env={"env_vars": ONE_THREAD})
            else:
                ray.init(num_cpus=cpus or os.cpu_count() or 1, include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": ONE_THREAD})
        except (ConnectionError, RuntimeError, ValueError) as exc:
            records.release_driver(store, sweep_id, me)
            raise SweepError(f"cannot start or reach Ray (--address {address or 'local'}): {exc}") from None
    outcome = SweepOutcome(sweep_id, "incomplete", 0, 0, len(all_cells) - len(todo), 0.0)
    bar = _Bar(progress, len(all_cells), outcome.skipped, sweep.experiment)
    inflight: dict[Any, tuple[int, float, int]] = {}   # ref -> (cell, started, cpus)
    try:
        from rsilab.sweep.cell import run_cell

        remote = ray.remote(max_retries=0)(run_cell)
        total_cpus = int(ray.cluster_resources().get("CPU", 1))
        queue = list(todo)
        used = 0
        beat = time.monotonic()
        with bar:
            while queue or inflight:
                if time.monotonic() - beat > HEARTBEAT_S:
                    records.touch_driver(store, sweep_id, me)
                    beat = time.monotonic()
                while queue:
                    cell = queue[0]
                    need = min(target.cpus(configs[cell.cell]), total_cpus)
                    if inflight and used + need > total_cpus:
                        break
                    queue.pop(0)
                    records.mark_running(store, sweep_id, cell.cell)
                    ref = remote.options(num_cpus=need).remote(sweep.experiment, configs[cell.cell])
                    inflight[ref] = (cell.cell, time.monotonic(), need)
                    used += need
                    if on_submit is not None:
                        on_submit(cell.cell)
                ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.5)
                results = []
                for ref in ready:
                    results.append((ref, _get(ray, ref)))
                if limit is not None:
                    now = time.monotonic()
                    for ref, (cell_no, started, _need) in list(inflight.items()):
                        if ref not in ready and now - started > limit:
                            ray.cancel(ref, force=True)
                            results.append((ref, {"ok": False, "rounds": [], "summary": {}, "seed": None,
                                                  "parameters": None, "seconds": now - started,
                                                  "error": f"passed its time limit of {limit:g} s"}))
                for ref, out in results:
                    cell_no, _started, need = inflight.pop(ref)
                    used -= need
                    records.record_cell(store, sweep_id, cell_no, experiment=sweep.experiment, ok=out["ok"],
                                        config=configs[cell_no].to_dict(), rounds=out["rounds"], summary=out["summary"],
                                        seconds=float(out["seconds"]), parameters=out["parameters"],
                                        seed=out.get("seed"), error=out["error"])
                    outcome.cells[cell_no] = "finished" if out["ok"] else "failed"
                    if out["ok"]:
                        outcome.finished += 1
                    else:
                        outcome.failed += 1
                bar.update(outcome.finished, outcome.failed, len(inflight))
    finally:
        for ref in inflight:
            ray.cancel(ref, force=True)
        records.release_running(store, sweep_id)
        outcome.status = records.finish_sweep(store, sweep_id)
        outcome.seconds = time.perf_counter() - t_start
        if started_here:
            ray.shutdown()
        records.release_driver(store, sweep_id, me)
    return outcome


def claim(store: Store, sweep_id: int) -> str:
    """Claim the sweep for this process ('host:pid'), or raise naming the live driver that holds it.

    A claim left by a process of this host that no longer exists is taken over at once (a killed
    driver's resume need not wait for its claim to go stale)."""
    me = f"{socket.gethostname()}:{os.getpid()}"
    holder = records.claim_driver(store, sweep_id, me, stale_after=STALE_S)
    if holder is not None and _dead_here(holder):
        holder = records.claim_driver(store, sweep_id, me, stale_after=STALE_S, replacing=holder)
    if holder is not None:
        raise SweepError(f"sweep {sweep_id} is being run by another driver ({holder}); wait for it to end, or stop"
                         f" it, then: rsilab sweep --resume {sweep_id}")
    return me


def _dead_here(holder: str) -> bool:
    """True when ``holder`` ('host:pid') names a process of this host that no longer runs."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:   # it exists, under another user
        return False
    return False


def _get(ray, ref) -> dict[str, Any]:
    """A cell's result, or a failed result naming what Ray reported (out of memory, a dead worker)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:
        message = " ".join(f"{type(exc).__name__}: {exc}".split())[:400]
        return {"ok": False, "rounds": [], "summary": {}, "seed": None, "parameters": None, "seconds": float("nan"),
                "error": message}


class _Bar:
    """A rich bar of cells on stderr: done, running, failed, and the time left (or nothing)."""

    def __init__(self, enabled: bool, total: int, done: int, label: str):
        self.enabled, self.total, self.done0, self.label = enabled, total, done, label
        self._progress = None

    def __enter__(self) -> "_Bar":
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
                TimeRemainingColumn

            self._progress = Progress(TextColumn(f"sweep {self.label}"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("running {task.fields[running]}, failed {task.fields[failed]}"),
                                      TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                      console=Console(stderr=True))
            self._progress.__enter__()
            self._task = self._progress.add_task("cells", total=self.total, completed=self.done0, running=0,
                                                 failed=0)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def update(self, finished: int, failed: int, running: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=self.done0 + finished + failed, running=running,
                                  failed=failed)
