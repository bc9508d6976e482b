"""Throughput of the control models' presets (boxing, drift, controlled, multipolar) in the
vectorised engine, against scipy's solve_ivp called once per sample, measured in the same run.

For each preset: a Monte Carlo of ``--samples`` samples through ``run_scenario`` (the whole
pipeline: drawing, integrating, classifying, the models' outputs; 2 worker processes from 200k
samples), then ``--reference`` of the same samples integrated one by one by solve_ivp (RK45,
the same Dormand-Prince pair, same rtol/atol as the preset, on the same output grid). The
reference takes samples the engine finished (blow-ups make solve_ivp crawl to the singularity),
integrates only (no outputs), and the script prints the worst disagreement of the final ln
capability (the multipolar model's state size varies per sample) on those samples, so the ratio is at matched accuracy.

    .venv/bin/python benchmarks/bench_control_models.py [--samples N] [--reference M] [--models boxing,drift]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy.integrate import solve_ivp

from rsilab.simulate.montecarlo import draw_parameters, run_scenario
from rsilab.simulate.scenario import load_preset
from rsilab.simulate.solver import Status

MODELS = ("boxing", "drift", "controlled", "multipolar")


def reference(sc, params: dict[str, np.ndarray], rows: np.ndarray) -> tuple[float, np.ndarray]:
    model = sc.model
    t_grid = np.linspace(0.0, sc.horizon_years, int(sc.simulation["n_grid"]))
    finals = []
    t0 = time.perf_counter()
    for i in rows:
        p_i = {k: v[i:i + 1] for k, v in params.items()}

        def rhs(t, y, p_i=p_i):
            return model.rhs(np.array([t]), y[:, None], p_i)[:, 0]

        sol = solve_ivp(rhs, (0.0, sc.horizon_years), model.initial(p_i)[:, 0], method="RK45",
                        rtol=sc.simulation["rtol"], atol=sc.simulation["atol"], t_eval=t_grid)
        finals.append(sol.y[0, -1])
    return time.perf_counter() - t0, np.array(finals)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--reference", type=int, default=200, help="samples run through solve_ivp one by one")
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at start")
    for name in args.models.split(","):
        sc = load_preset(name).with_simulation(n_samples=args.samples)
        params = draw_parameters(sc)
        t0 = time.perf_counter()
        ens = run_scenario(sc, params=params)
        ours = time.perf_counter() - t0
        finished = np.nonzero(ens.status == Status.FINISHED)[0][:args.reference]
        ref_s, ref_final = reference(sc, params, finished)
        # our final state for those samples: re-run just them (the ensemble keeps only outputs)
        from rsilab.simulate.solver import solve

        sub = {k: v[finished] for k, v in params.items()}
        sol = solve(sc.model, sub, np.linspace(0.0, sc.horizon_years, int(sc.simulation["n_grid"])),
                    np.log(np.asarray(sc.capability_multiples)), sc.solver_settings)
        err = np.max(np.abs(sol.y_stop[0] - ref_final) / (1.0 + np.abs(ref_final)))
        n_state = sc.model.initial(params).shape[0]   # multipolar: 1 + max(n_systems)
        per_ours, per_ref = ours / args.samples, ref_s / max(len(finished), 1)
        blown = float(np.mean(ens.status == Status.BLOWUP))
        print(f"{name:<11} {args.samples:>9,} samples in {ours:7.2f} s = {per_ours * 1e6:7.2f} us/sample "
              f"(workers {ens.timings['workers']}, {n_state} states, {blown:.1%} blow-ups)")
        print(f"{'':<11} solve_ivp per sample: {len(finished):,} samples in {ref_s:6.2f} s = {per_ref * 1e6:9.1f} us/sample; "
              f"speed-up per sample {per_ref / per_ours:,.0f}x; max |d ln I| / (1 + |ln I|) at the horizon {err:.1e}")
    print(f"load average {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
