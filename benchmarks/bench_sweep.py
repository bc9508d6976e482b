"""Ray's cost per sweep cell, against the same cells in a plain loop, and the speed-up from 1 to 2 workers.

The cells are real learned-optimizer cells (cpu profile, ``--rounds`` rounds each, seeds 0..n-1),
run through the same ``run_cell`` function three ways in one run:

1. a plain loop in this process, one cell after another (the baseline: no Ray at all);
2. ``run_sweep`` on a local Ray with 1 CPU (cells one at a time: the difference to 1 is Ray's
   overhead: starting Ray, shipping the cell, returning its rounds, recording them);
3. ``run_sweep`` on a local Ray with 2 CPUs (two cells at a time).

Printed: wall seconds of each, Ray's overhead per cell (seconds and as a fraction of the loop's
seconds per cell; the aim is < 5% for cells of 30 s or more), and the speed-up 1 -> 2 workers.
BLAS and torch threads are pinned to 1 so each way uses the same cores per cell. The machine is
shared: the script prints ``uptime`` before and after; the ratios are what it is for.

Run: PYTHONPATH=src .venv/bin/python benchmarks/bench_sweep.py [--cells 4] [--rounds 12]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from rsilab.store import Store  # noqa: E402
from rsilab.sweep.cell import run_cell  # noqa: E402
from rsilab.sweep.engine import create_sweep, run_sweep  # noqa: E402
from rsilab.sweep.spec import parse_spec  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=12, help="rounds per cell (sets a cell's length)")
    args = ap.parse_args()
    spec = parse_spec({"experiment": "learned-optimizer", "profile": "cpu",
                       "grid": {"seed": list(range(args.cells))}, "fixed": {"rounds": args.rounds}})
    print("load before:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())

    t0 = time.perf_counter()
    per_cell = []
    for fields, config in zip(spec.cells, spec.configs):
        out = run_cell(spec.experiment, spec.profile, fields, config)
        assert out["ok"], out["error"]
        per_cell.append(out["seconds"])
    loop = time.perf_counter() - t0

    walls = {}
    for cpus in (1, 2):
        with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.sqlite") as store:
            sweep_id = create_sweep(store, spec)
            t0 = time.perf_counter()
            out = run_sweep(store, sweep_id, cpus=cpus)
            walls[cpus] = time.perf_counter() - t0
            assert out.finished == args.cells, out
    print("load after: ", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    n = args.cells
    mean_cell = loop / n
    overhead = (walls[1] - loop) / n
    print(f"{n} learned-optimizer cells, cpu profile, {args.rounds} rounds each: "
          f"{mean_cell:.1f} s per cell in the plain loop (min {min(per_cell):.1f}, max {max(per_cell):.1f})")
    print(f"plain loop            {loop:8.1f} s")
    print(f"Ray, 1 CPU            {walls[1]:8.1f} s   ratio to loop {walls[1] / loop:.3f}")
    print(f"Ray, 2 CPUs           {walls[2]:8.1f} s   ratio to loop {walls[2] / loop:.3f}")
    print(f"Ray overhead per cell {overhead:8.2f} s   = {overhead / mean_cell:.1%} of a cell (aim: < 5% for cells >= 30 s)")
    print(f"speed-up 1 -> 2 workers: {walls[1] / walls[2]:.2f}x")


if __name__ == "__main__":
    main()
