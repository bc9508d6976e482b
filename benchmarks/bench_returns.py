"""Per-sample throughput of the vectorised engine on the `returns` model against scipy's
solve_ivp called once per sample, at matched accuracy.

Both integrate the same right-hand side to the same horizon with the same tolerances (DP5
rtol 1e-6 in ours; RK45, the same Dormand-Prince pair, in scipy); the script reports the
worst disagreement in final capability, so the speed ratio is at matched accuracy.

    .venv/bin/python benchmarks/bench_returns.py [--samples N] [--reference M]
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=200_000)
    ap.add_argument("--reference", type=int, default=200, help="samples run through solve_ivp one by one")
    args = ap.parse_args()
    sc = parse_scenario(SCENARIO, name="bench-returns").with_simulation(n_samples=args.samples)
    params = draw_parameters(sc)
    t0 = time.perf_counter()
    ens = run_scenario(sc, params=params)
    ours = time.perf_counter() - t0

    model = sc.model
    m = args.reference
    final = np.empty(m)
    t1 = time.perf_counter()
    for i in range(m):
        p_i = {k: v[i:i + 1] for k, v in params.items()}
        def rhs(t, y, p_i=p_i):
            return model.rhs(np.array([t]), y[:, None], p_i)[:, 0]
        sol = solve_ivp(rhs, (0.0, sc.horizon_years), model.initial(p_i)[:, 0], method="RK45", rtol=1e-6, atol=1e-9)
        final[i] = sol.y[0, -1]
    ref = time.perf_counter() - t1
    err = np.max(np.abs(final - (ens.ln_growth[:m] + np.log(params["I0"][:m]))))
    per_ours, per_ref = ours / args.samples, ref / m
    print(f"returns/diminishing, horizon {sc.horizon_years:g} y, rtol 1e-6")
    print(f"  rsilab vectorised : {args.samples:>9,} samples in {ours:7.2f} s  = {per_ours * 1e6:9.2f} us/sample "
          f"(workers {ens.timings['workers']})")
    print(f"  solve_ivp per sample: {m:>7,} samples in {ref:7.2f} s  = {per_ref * 1e6:9.2f} us/sample")
    print(f"  speed-up per sample: {per_ref / per_ours:,.0f}x; max |ln I| difference on the shared samples: {err:.2e}")


if __name__ == "__main__":
    main()
