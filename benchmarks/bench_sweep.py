"""Ray's cost per sweep cell, against the same cells in a plain loop, and the speed-up from 1 to 2 workers.

The cells are real learned-optimizer cells (cpu profile, ``--rounds`` rounds each, seeds 0..n-1),
run through the same ``run_cell`` function three ways in one run:

1. a plain loop in a child process, one cell after another (the baseline: no Ray at all);
2. ``run_sweep`` on a local Ray with 1 CPU (cells one at a time: the difference to 1 is Ray's
   overhead: starting Ray, shipping the cell, returning its rounds, recording them);
3. ``run_sweep`` on a local Ray with 2 CPUs (two cells at a time).

Printed: wall seconds of each, Ray's overhead per cell (seconds and as a fraction of the loop's
seconds per cell; the aim is < 5% for cells of 30 s or more), the same overhead measured as the
Ray run's wall time minus the cells' own seconds inside the workers (which a drifting load on a
shared machine does not bias), and the speed-up 1 -> 2 workers.
BLAS and torch threads are pinned to 1 so each way uses the same cores per cell. The machine is
shared: the script prints ``uptime`` before and after; the ratios are what it is for.

Run: PYTHONPATH=src .venv/bin/python benchmarks/bench_sweep.py [--cells 4] [--rounds 12]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from rsilab.store import Store  # noqa: E402
from rsilab.store import sweeps as records  # noqa: E402
from rsilab.sweep.cell import run_cell  # noqa: E402
from rsilab.sweep.engine import create_sweep, run_sweep  # noqa: E402
from rsilab.sweep.spec import parse_spec  # noqa: E402


LOOP = """
import json, sys
from rsilab.experiments.registry import get_experiment
from rsilab.sweep.cell import run_cell
job = json.loads(sys.argv[1])
seconds = []
for config in job["configs"]:
    out = run_cell("learned-optimizer", get_experiment("learned-optimizer").config(**config))
    assert out["ok"], out["error"]
    seconds.append(out["seconds"])
print(json.dumps(seconds))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=12, help="rounds per cell (sets a cell's length)")
    args = ap.parse_args()
    spec = parse_spec({"experiment": "learned-optimizer", "profile": "cpu",
                       "grid": {"seed": list(range(args.cells))}, "fixed": {"rounds": args.rounds}})
    print("load before:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())

    # The loop runs in a child process in its own session, as Ray's workers do: on a shared Linux
    # machine the scheduler shares CPU between sessions (autogroups), so a loop in this process
    # would compete on other terms than the workers and the comparison would not be fair.
    t0 = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", LOOP, json.dumps({"configs": [c.to_dict() for c in spec.configs]})],
                           capture_output=True, text=True, start_new_session=True, check=True)
    loop = time.perf_counter() - t0
    per_cell = json.loads(child.stdout.strip().splitlines()[-1])

    t0 = time.perf_counter()
    import ray

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    ray.shutdown()
    start = time.perf_counter() - t0

    walls, inside = {}, {}
    for cpus in (1, 2):
        with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.sqlite") as store:
            sweep_id = create_sweep(store, spec)
            t0 = time.perf_counter()
            out = run_sweep(store, sweep_id, cpus=cpus)
            walls[cpus] = time.perf_counter() - t0
            assert out.finished == args.cells, out
            # the cells' own seconds, measured inside the workers: what the same work took there
            inside[cpus] = sum(c.seconds for c in records.list_cells(store, sweep_id))
    print("load after: ", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    n = args.cells
    mean_cell = loop / n
    overhead = (walls[1] - loop) / n
    print(f"{n} learned-optimizer cells, cpu profile, {args.rounds} rounds each: "
          f"{mean_cell:.1f} s per cell in the plain loop (min {min(per_cell):.1f}, max {max(per_cell):.1f})")
    print(f"plain loop            {loop:8.1f} s")
    print(f"Ray, 1 CPU            {walls[1]:8.1f} s   ratio to loop {walls[1] / loop:.3f}")
    print(f"Ray, 2 CPUs           {walls[2]:8.1f} s   ratio to loop {walls[2] / loop:.3f}")
    print(f"Ray overhead per cell {overhead:8.2f} s   = {overhead / mean_cell:.1%} of a cell, against the loop "
          "(aim: < 5% for cells >= 30 s)")
    # on a shared machine the load drifts between the three ways; this one does not depend on it
    own = (walls[1] - inside[1]) / n
    print(f"Ray, 1 CPU: wall minus the cells' own seconds = {own:.2f} s per cell "
          f"= {own / (inside[1] / n):.1%} of a cell's own {inside[1] / n:.1f} s")
    print(f"starting and stopping a local Ray: {start:.1f} s once per sweep; without it, "
          f"{(walls[1] - inside[1] - start) / n:.2f} s per cell")
    print(f"speed-up 1 -> 2 workers: {walls[1] / walls[2]:.2f}x")


if __name__ == "__main__":
    main()
