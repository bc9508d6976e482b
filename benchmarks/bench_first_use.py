"""First use: every preset's first command in a fresh install against the same command once
numba's cache is filled.

A fresh install has no compiled kernels on disk. numba keeps its cache next to the sources
(``__pycache__`` beside ``rsilab/simulate/ode_kernels.py``: the checkout for an editable
install, ``site-packages`` for a regular one) or, where that folder is not writable, in the
user's cache folder (``~/.cache/numba``); ``NUMBA_CACHE_DIR`` overrides both. So per preset this
script gives the command a new, empty ``NUMBA_CACHE_DIR`` and runs it in a new process (cold:
every kernel it needs is compiled), then runs it again with that folder (warm: loaded), and
prints both wall times, their difference (the compilation), the process's CPU seconds, and
whether the command said it was compiling (its one line on stderr). The store is a temporary
file, never the user's.

    .venv/bin/python benchmarks/bench_first_use.py [--command forecast|simulate] [--samples N]
        [--repeats R] [--python PATH] [PRESET ...]
        (default: every preset, `forecast`, each at its own number of samples: its first call as
        a user makes it)

``--python`` measures another interpreter's rsilab, e.g. a regular (non-editable) install in a
fresh virtual environment: ``python -m venv /tmp/v && /tmp/v/bin/pip install .``. The warm
figure is the median of ``--repeats`` runs (default 3); the cold one is a single run (a second
would not be cold). The machine's load is printed before and after: on a shared machine the
wall times move with it, the CPU seconds less.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rsilab.simulate.scenario import preset_names


def run(python: str, args: list[str], env: dict) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the child's, all threads) and stderr of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([python, "-m", "rsilab.cli", *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stderr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("presets", nargs="*")
    ap.add_argument("--command", choices=("forecast", "simulate"), default="forecast")
    ap.add_argument("--samples", type=int, default=None, help="default: each preset's own")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()
    samples = "its own number of samples" if args.samples is None else f"--samples {args.samples:,}"
    print(f"first use: `rsilab {args.command} --preset NAME` ({samples}) in a new process, "
          f"numba's cache empty (cold) and filled (warm, median of {args.repeats}); "
          f"{len(os.sched_getaffinity(0))} cores, load {os.getloadavg()[0]:.1f}")
    print(f"  {'preset':24s} {'cold s':>7s} {'cpu s':>6s} {'warm s':>7s} {'cpu s':>6s} {'compiling':>9s}  said")
    colds = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.presets or preset_names():
            cache = Path(tmp) / f"numba-{name}"
            cache.mkdir()
            env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "RSILAB_STORE": str(Path(tmp) / "store.sqlite")}
            cmd = [args.command, "--preset", name] + ([] if args.samples is None else ["--samples", str(args.samples)])
            if args.command == "simulate":
                cmd.append("--json")
            cold, cold_cpu, said = run(args.python, cmd, env)
            warm_runs = [run(args.python, cmd, env) for _ in range(args.repeats)]
            warm = statistics.median(w for w, _, _ in warm_runs)
            warm_cpu = statistics.median(c for _, c, _ in warm_runs)
            line = next((x for x in said.splitlines() if "compiling" in x), "-")
            if any("compiling" in s for _, _, s in warm_runs):
                line += "  (and again when warm: the cache was not used)"
            colds.append(cold)
            print(f"  {name:24s} {cold:7.2f} {cold_cpu:6.2f} {warm:7.2f} {warm_cpu:6.2f} {cold - warm:9.2f}  {line}",
                  flush=True)
    print(f"  slowest first use {max(colds):.2f} s (load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
