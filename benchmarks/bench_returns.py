"""Per-sample throughput of the vectorised engine on the `returns` model against two scipy
baselines at matched accuracy: solve_ivp called once per sample, and one batched solve_ivp call
integrating all the reference samples as one vector system (one step size for all of them,
set by the hardest sample, but one Python-level call per step instead of one per sample).

Accuracy is measured, not assumed: all are compared, on the shared samples, with a DOP853
reference at rtol 1e-12, and each baseline (RK45, the same Dormand-Prince pair) runs at the
loosest tolerance from 1e-6 down whose worst error in final ln capability is no larger than
ours. The ratios are per-sample wall time, all measured in this run.

    .venv/bin/python benchmarks/bench_returns.py [--samples N] [--reference M] [--batch B] [--workers W]
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


REF = 200


def batched(model, params, m: int, horizon: float, rtol: float, atol: float):
    """One solve_ivp call (RK45) over all m samples stacked into one state vector; returns
    the final ln capability of the first REF samples (those with a per-sample reference)."""
    prepared = model.prepare(params)
    y0 = model.initial(prepared)                       # (n_state, m)
    shape = y0.shape

    def rhs(t, y):
        return model.rhs(np.full(m, t), y.reshape(shape), prepared).ravel()

    t0 = time.perf_counter()
    sol = solve_ivp(rhs, (0.0, horizon), y0.ravel(), method="RK45", rtol=rtol, atol=atol)
    per = (time.perf_counter() - t0) / m
    return sol.y[:, -1].reshape(shape)[0][:REF], per


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=400_000)
    ap.add_argument("--reference", type=int, default=200, help="samples run through solve_ivp one by one")
    ap.add_argument("--batch", type=int, default=20_000, help="samples in the one batched solve_ivp call")
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    global REF
    REF = args.reference
    sc = parse_scenario(SCENARIO, name="bench-returns").with_simulation(n_samples=args.samples)
    params = draw_parameters(sc)
    model, m, horizon = sc.model, args.reference, sc.horizon_years
    t0 = time.perf_counter()
    ens = run_scenario(sc, params=params, workers=args.workers)
    ours_per = (time.perf_counter() - t0) / args.samples
    ours_final = ens.ln_growth[:m] + np.log(params["I0"][:m])
    sub = {k: v[:m] for k, v in params.items()}
    batch = {k: v[:max(args.batch, m)] for k, v in params.items()}
    exact, _ = per_sample(model, sub, m, horizon, "DOP853", 1e-12, 1e-14)
    ours_err = np.max(np.abs(ours_final - exact))
    print(f"returns/diminishing, horizon {horizon:g} y; rsilab at rtol 1e-6 (workers {ens.timings['workers']})")
    print(f"  rsilab vectorised  : {args.samples:>9,} samples, {ours_per * 1e6:9.2f} us/sample, max error {ours_err:.1e}")
    for label, run in (("per sample", lambda rtol: per_sample(model, sub, m, horizon, "RK45", rtol, rtol * 1e-3)),
                       ("batched   ", lambda rtol: batched(model, batch, len(batch["r"]), horizon, rtol, rtol * 1e-3))):
        for rtol in (1e-6, 1e-7, 1e-8, 1e-9, 1e-10):
            final, ref_per = run(rtol)
            err = np.max(np.abs(final - exact))
            print(f"  solve_ivp RK45 {label} rtol {rtol:.0e}: {m if label.startswith('per') else len(batch['r']):>6,} samples, {ref_per * 1e6:9.2f} us/sample, "
                  f"max error {err:.1e}")
            if err <= ours_err:
                print(f"  speed-up per sample at matched accuracy vs solve_ivp {label.strip()}: {ref_per / ours_per:,.0f}x")
                break
        else:
            print(f"  solve_ivp {label.strip()} never matched our accuracy in the tolerances tried")


if __name__ == "__main__":
    main()
