"""Per-sample throughput of the vectorised engine on the `returns` model against scipy's
solve_ivp called once per sample, at matched accuracy.

Accuracy is measured, not assumed: both are compared, on the shared samples, with a DOP853
reference at rtol 1e-12, and solve_ivp (RK45, the same Dormand-Prince pair) runs at the
loosest tolerance from 1e-6 down whose worst error in final ln capability is no larger than
ours. The ratio is per-sample wall time, both measured in this run.

    .venv/bin/python benchmarks/bench_returns.py [--samples N] [--reference M] [--workers W]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.integrate import solve_ivp

from rsilab.simulate.montecarlo import draw_parameters, run_scenario
from rsilab.simulate.scenario import parse_scenario

SCENARIO = {
    "model": {"name": "returns", "shape": "diminishing"},
    "params": {"r": {"dist": "loguniform", "low": 0.4, "high": 3.6}, "c": {"dist": "uniform", "low": 0.3, "high": 1.0},
               "beta": {"dist": "uniform", "low": 0.3, "high": 0.6}, "limit": {"dist": "loguniform", "low": 1e6, "high": 1e12}},
    "simulation": {"horizon_years": 10.0, "seed": 7, "n_grid": 11, "cap_multiple": 1e300},
}


def per_sample(model, params, m: int, horizon: float, method: str, rtol: float, atol: float):
    prepared = model.prepare(params)
    final = np.empty(m)
    t0 = time.perf_counter()
    for i in range(m):
        p_i = {k: v[i:i + 1] for k, v in prepared.items()}

        def rhs(t, y, p_i=p_i):
            return model.rhs(np.array([t]), y[:, None], p_i)[:, 0]

        sol = solve_ivp(rhs, (0.0, horizon), model.initial(p_i)[:, 0], method=method, rtol=rtol, atol=atol)
        final[i] = sol.y[0, -1]
    return final, (time.perf_counter() - t0) / m


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=400_000)
    ap.add_argument("--reference", type=int, default=200, help="samples run through solve_ivp one by one")
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    sc = parse_scenario(SCENARIO, name="bench-returns").with_simulation(n_samples=args.samples)
    params = draw_parameters(sc)
    model, m, horizon = sc.model, args.reference, sc.horizon_years
    t0 = time.perf_counter()
    ens = run_scenario(sc, params=params, workers=args.workers)
    ours_per = (time.perf_counter() - t0) / args.samples
    ours_final = ens.ln_growth[:m] + np.log(params["I0"][:m])
    sub = {k: v[:m] for k, v in params.items()}
    exact, _ = per_sample(model, sub, m, horizon, "DOP853", 1e-12, 1e-14)
    ours_err = np.max(np.abs(ours_final - exact))
    print(f"returns/diminishing, horizon {horizon:g} y; rsilab at rtol 1e-6 (workers {ens.timings['workers']})")
    print(f"  rsilab vectorised  : {args.samples:>9,} samples, {ours_per * 1e6:9.2f} us/sample, max error {ours_err:.1e}")
    for rtol in (1e-6, 1e-7, 1e-8, 1e-9, 1e-10):
        final, ref_per = per_sample(model, sub, m, horizon, "RK45", rtol, rtol * 1e-3)
        err = np.max(np.abs(final - exact))
        print(f"  solve_ivp RK45 rtol {rtol:.0e}: {m:>5,} samples, {ref_per * 1e6:9.2f} us/sample, max error {err:.1e}")
        if err <= ours_err:
            print(f"  speed-up per sample at matched accuracy: {ref_per / ours_per:,.0f}x")
            return
    print("  solve_ivp never matched our accuracy in the tolerances tried")


if __name__ == "__main__":
    main()
