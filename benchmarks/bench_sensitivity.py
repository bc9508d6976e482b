"""What a sensitivity index costs: simulations per index at a given accuracy, Sobol against
Shapley (exact and random-permutation estimators), on the same scenario in the same run.

Each method runs once at the given sizes on the default preset (five free parameters,
independent priors, output log_growth), where both are valid, and once more with Shapley on the
same scenario with r and beta correlated (rho 0.5). Per run it prints the simulations, the
wall time, the mean standard error of the headline index over the parameters (Sobol: S1 and
ST, from SALib's 95% half-widths / 1.96; Shapley: the effects' delta-method SE) and, since a
standard error falls as one over the square root of the simulations, the simulations each
would need for a standard error of 0.01, with its ratio to Sobol's on the same preset (its
independent priors: for the correlated variant, the default's). Sobol and Shapley measure
different things (Shapley's effects share the variance; Sobol's S1 and ST bound each share),
so the ratio says what the answer to a different question costs, not which estimator is better.

Then Sobol and the two Shapley estimators (at matched budgets) on presets with more parameters, drift (8
free parameters) and boxing (10): the exact estimator's cost grows as 2^D, the random-permutation
one's as D, and these lines show where the second starts to need fewer simulations per standard
error (the reason ``rsilab.simulate.shapley.EXACT_UP_TO`` is what it is).

    .venv/bin/python benchmarks/bench_sensitivity.py [--sobol-n 1024] [--exact-n 256] [--perm-n 1536]
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from rsilab.simulate.scenario import load_preset
from rsilab.simulate.sensitivity import shapley_indices, sobol_indices

TARGET_SE = 0.01


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sobol-n", type=int, default=1024)
    ap.add_argument("--exact-n", type=int, default=256)
    ap.add_argument("--perm-n", type=int, default=1536, help="orderings (3 (D - 1) simulations each)")
    ap.add_argument("--output", default="log_growth")
    args = ap.parse_args()
    sc = load_preset("default")
    correlated = replace(sc, correlations={("r", "beta"): 0.5}, name="default, rho(r, beta) = 0.5")
    sobol_indices(sc.with_simulation(), output=args.output, base_samples=16)  # warm-up: imports, kernel load

    rows = []

    def record(label, scenario, fn, preset):
        t0 = time.perf_counter()
        res = fn(scenario)
        seconds = time.perf_counter() - t0
        if res["method"] == "sobol":
            se = np.mean([r[k] / 1.96 for r in res["indices"] for k in ("S1_conf", "ST_conf")])
        else:
            se = np.mean([r["shapley_se"] for r in res["indices"]])
        rows.append((label, scenario.name, preset, res["n_evaluations"], seconds, se,
                     res["n_evaluations"] * (se / TARGET_SE) ** 2))

    def sobol(s, preset):
        record(f"sobol N={args.sobol_n}", s, lambda s: sobol_indices(s, output=args.output, base_samples=args.sobol_n),
               preset)

    def shapley(s, preset, exact_n, perm_n):
        d = sum(not p.is_fixed for p in s.priors.values())
        record(f"shapley exact N={exact_n} (D={d})", s,
               lambda s: shapley_indices(s, output=args.output, base_samples=exact_n, estimator="exact"), preset)
        record(f"shapley random-permutation m={perm_n} (D={d})", s,
               lambda s: shapley_indices(s, output=args.output, base_samples=perm_n, estimator="random-permutation"),
               preset)

    sobol(sc, "default")
    shapley(sc, "default", args.exact_n, args.perm_n)
    shapley(correlated, "default", args.exact_n, args.perm_n)
    for name, exact_n in (("drift", 32), ("boxing", 16)):
        s = load_preset(name)
        d = sum(not p.is_fixed for p in s.priors.values())
        sobol(s, name)
        shapley(s, name, exact_n, round(exact_n * ((1 << d) - 2) / (d - 1)))  # orderings for the exact run's budget
    print(f"{'method':<42} {'scenario':<30} {'simulations':>11} {'seconds':>8} {'mean SE':>8} "
          f"{'sims for SE ' + str(TARGET_SE):>17} {'vs sobol':>9}")
    sobol_need = {preset: need for label, _, preset, _, _, _, need in rows if label.startswith("sobol")}
    for label, name, preset, n, seconds, se, need in rows:
        print(f"{label:<42} {name:<30} {n:>11,} {seconds:>8.2f} {se:>8.4f} {need:>17,.0f} "
              f"{need / sobol_need[preset]:>8.1f}x")


if __name__ == "__main__":
    main()
