"""The compiled per-sample ODE integrator alone, per preset: 10^5 samples on one core and on
every core, in the same run (the ratio is the threads' speed-up), with the mean number of
accepted steps and the CPU microseconds per sample. It says how much of a preset's time is
integration, which nothing but a cheaper integration (fewer steps or cheaper right-hand
sides) can cut.

    .venv/bin/python benchmarks/bench_ode_kernel.py [--samples N] [PRESET ...]   (default: every ODE preset)
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from rsilab.simulate.kernels import kernel_for
from rsilab.simulate.montecarlo import draw_parameters, run_scenario
from rsilab.simulate.scenario import load_preset, preset_names


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("presets", nargs="*")
    ap.add_argument("--samples", type=int, default=100_000)
    args = ap.parse_args()
    cores = os.sched_getaffinity(0)
    print(f"compiled ODE integration, {args.samples:,} samples (load: {os.getloadavg()[0]:.1f})")
    print(f"  {'preset':24s} {'1 core s':>9s} {f'{len(cores)} cores s':>10s} {'ratio':>6s} {'steps':>6s} {'cpu us/sample':>14s}")
    for name in args.presets or preset_names():
        sc = load_preset(name).with_simulation(n_samples=args.samples)
        if sc.model.kind != "ode" or kernel_for(sc.model) is None:
            continue
        run_scenario(sc.with_simulation(n_samples=2_000))    # compiled, imports done
        p = sc.model.prepare(draw_parameters(sc))
        t_grid = np.linspace(0.0, sc.horizon_years, int(sc.simulation["n_grid"]))
        ln_mult = np.log(np.asarray(sc.capability_multiples, dtype=float))
        kernel = kernel_for(sc.model)   # the registered compiled solver
        seconds = {}
        for use in ({min(cores)}, cores):
            os.sched_setaffinity(0, use)
            t0, c0 = time.perf_counter(), time.process_time()
            sol = kernel(sc.model, p, t_grid, ln_mult, sc.solver_settings)
            seconds[len(use)] = (time.perf_counter() - t0, time.process_time() - c0)
        os.sched_setaffinity(0, cores)
        one, many = seconds[1][0], seconds[len(cores)][0]
        print(f"  {name:24s} {one:9.2f} {many:10.2f} {one / many:5.2f}x {sol.n_steps.mean():6.1f} "
              f"{seconds[1][1] / args.samples * 1e6:14.1f}", flush=True)


if __name__ == "__main__":
    main()
