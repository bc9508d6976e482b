"""Every shipped preset, 10^5 samples, warm and in-process (as a long-running server would run
them).

Per preset it prints the wall time of `run_scenario` at 10^5 samples after a warm-up run
(imports done, kernels compiled), the median and the slowest of `--repeats` runs (the target is
every run within 1 s, not only the typical one), the same with the numpy solvers forced
(`run_scenario(..., compiled=False)`), and their ratio, all measured in this run; and the
compiled run's CPU seconds (all threads of this process), which on a busy machine says more
about the work done than the wall time (the compiled kernels run one thread per core). Presets with
no compiled kernel run the numpy solver both times (ratio about 1: nothing compiled serves
them). The `sie` preset against the published model's own code, as a whole process and warm,
is benchmarks/bench_peer.py.

    .venv/bin/python benchmarks/bench_presets.py [--samples N] [--repeats R] [--only NAME ...]
"""
from __future__ import annotations

import argparse
import os
import time

from rsilab.simulate.kernels import kernel_for
from rsilab.simulate.montecarlo import run_scenario
from rsilab.simulate.scenario import load_preset, preset_names


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    print(f"warm in-process, {args.samples:,} samples per preset, {len(os.sched_getaffinity(0))} cores "
          f"(load: {os.getloadavg()[0]:.1f})")
    print(f"  {'preset':24s} {'rsilab s':>9s} {'slowest':>8s} {'cpu s':>7s} {'numpy s':>9s} {'ratio':>6s}  compiled kernel")
    for name in args.only or preset_names():
        sc = load_preset(name).with_simulation(n_samples=args.samples)
        warm = sc.with_simulation(n_samples=2_000)
        run_scenario(warm)
        run_scenario(warm, compiled=False)
        runs = []
        for _ in range(args.repeats):   # a few warm runs, as a server re-running would see
            cpu0 = time.process_time()
            runs.append((timed(lambda: run_scenario(sc)), time.process_time() - cpu0))
        ours, cpu = sorted(runs)[args.repeats // 2]
        slowest = max(runs)[0]
        numpy_only = timed(lambda: run_scenario(sc, compiled=False))
        kernel = "yes" if kernel_for(sc.model) is not None else "no"
        print(f"  {name:24s} {ours:9.2f} {slowest:8.2f} {cpu:7.2f} {numpy_only:9.2f} {numpy_only / ours:5.1f}x  {kernel}",
              flush=True)
    print(f"  (load after: {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
