"""Speed of the Chinchilla fits, measured against baselines in the same run.

1. Hoffmann's procedure: the reference way (scipy L-BFGS-B with finite-difference gradients,
   looped over all 4,500 grid starts) takes tens of minutes, so it is timed on a random subset
   of starts (``--ref-starts``, seed ``--seed``) and extrapolated per start to the full grid;
   the fast path (analytic gradient, batched Levenberg-Marquardt screen of all 4,500 starts,
   L-BFGS-B on the best 2%) runs the whole grid. Also printed: both optima, so "same optimum"
   can be read off (the fast optimum must be no worse than the reference subset's best).
2. Bootstrap refits of the sum of Huber losses (the paper's bootstrap), two ratios kept apart:
   a. gradient: scipy BFGS with finite-difference gradients vs our analytic gradient, both on
      ONE process and on the SAME ``--ref-boot`` resamples;
   b. parallel speed-up: the analytic-gradient bootstrap of ``--boot`` resamples on one
      process vs on ``--workers`` processes (same resamples).

Run: .venv/bin/python benchmarks/bench_estimate.py [--data ../shared/data]
BLAS threads are pinned to 1 so both sides get the same cores. The machine is shared: read
``uptime`` before trusting absolute seconds; the ratios are what this script is for.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

from rsilab.estimate.chinchilla import (PAPER_START, bootstrap_huber_refits, fit_hoffmann_fast,  # noqa: E402
                                        fit_hoffmann_reference, hoffmann_grid, huber_objective, untransform)
from rsilab.estimate.io import load_scaling_chinchilla  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--ref-starts", type=int, default=100, help="grid starts timed for the reference loop")
    ap.add_argument("--ref-boot", type=int, default=40, help="refits for the gradient ratio (both sides)")
    ap.add_argument("--boot", type=int, default=4000, help="refits for the parallel ratio (both sides)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} (1-min average) on {os.cpu_count()} CPUs")

    N, D, L = load_scaling_chinchilla(args.data / "chinchilla_epoch_svg_extracted.csv")
    keep = L < np.sort(L)[-5]
    ln, ld, ll = np.log(N[keep]), np.log(D[keep]), np.log(L[keep])
    grid = hoffmann_grid()

    # -- 1. Hoffmann's procedure ------------------------------------------------------------
    rng = np.random.default_rng(args.seed)
    subset = grid[rng.choice(len(grid), args.ref_starts, replace=False)]
    t = time.perf_counter()
    th_ref, f_ref, _ = fit_hoffmann_reference(ln, ld, ll, subset)
    ref_per_start = (time.perf_counter() - t) / args.ref_starts
    ref_full = ref_per_start * len(grid)
    t = time.perf_counter()
    th_fast, f_fast, info = fit_hoffmann_fast(ln, ld, ll, grid)
    fast = time.perf_counter() - t
    print("\nHoffmann's procedure (4,500 starts)")
    print(f"  reference: {ref_per_start * 1e3:.1f} ms/start on {args.ref_starts} random starts (seed {args.seed}) "
          f"-> {ref_full:.0f} s extrapolated to {len(grid)} starts")
    print(f"  fast path: {fast:.1f} s for all {len(grid)} starts ({info['survivors']} survivors)")
    print(f"  speed-up (extrapolated reference / fast): {ref_full / fast:.0f}x")
    print(f"  optimum  reference subset: {f_ref:.12g}  fast: {f_fast:.12g}  "
          f"(fast <= reference: {f_fast <= f_ref * (1 + 1e-9)})")
    names = ("A", "B", "E", "alpha", "beta")
    for n, a, b in zip(names, untransform(th_ref), untransform(th_fast)):
        print(f"    {n:5s} reference {a:10.5g}  fast {b:10.5g}")

    # -- 2. bootstrap ---------------------------------------------------------------------------
    n = len(ll)
    counts = np.random.default_rng(args.seed).multinomial(n, np.full(n, 1 / n), size=args.ref_boot).astype(float)
    t = time.perf_counter()
    for c in counts:
        minimize(lambda p: float(huber_objective(p, ln, ld, ll, weights=c)[0]), PAPER_START, method="BFGS")
    fd = time.perf_counter() - t
    t = time.perf_counter()
    bootstrap_huber_refits(ln, ld, ll, 0, None, counts=counts, workers=1)
    analytic = time.perf_counter() - t
    print(f"\nBootstrap a. gradient ({args.ref_boot} refits, 1 process each)")
    print(f"  finite-difference BFGS: {fd / args.ref_boot * 1e3:.1f} ms/refit; analytic gradient: "
          f"{analytic / args.ref_boot * 1e3:.1f} ms/refit; ratio {fd / analytic:.1f}x")
    big = np.random.default_rng(args.seed + 1).multinomial(n, np.full(n, 1 / n), size=args.boot).astype(float)
    t = time.perf_counter()
    bootstrap_huber_refits(ln, ld, ll, 0, None, counts=big, workers=1)
    one = time.perf_counter() - t
    t = time.perf_counter()
    draws, _ = bootstrap_huber_refits(ln, ld, ll, 0, None, counts=big, workers=args.workers)
    many = time.perf_counter() - t
    se = untransform(draws).std(axis=0, ddof=1)
    print(f"\nBootstrap b. parallel ({args.boot} refits, analytic gradient)")
    print(f"  1 process: {one:.1f} s; {args.workers} processes: {many:.1f} s; speed-up {one / many:.2f}x")
    print("  SE: " + ", ".join(f"{k} {v:.4g}" for k, v in zip(names, se)))
    print(f"\nload at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
