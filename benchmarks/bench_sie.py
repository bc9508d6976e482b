"""The `sie` preset: rsilab's engine against per-sample Python loops of the same model.

Two baselines, both one sample at a time over the same parameter draws:
- "published-style": the structure of the authors' code (github.com/thoulden/Accelerated_AI_Progress,
  multiple_sims.py): months as the time unit, numpy scalar arithmetic, the boost and compute
  trajectories updated every doubling and every series (times, sizes, r, compute, boost) kept
  in lists, then a scan of the doubling times for each compression test. Written here from
  the model's description, not copied.
- "lean": the same iteration in bare Python floats, keeping only the doubling times: what a
  careful hand-written loop costs, so the ratio is not flattered by the published code's habits.
The script asserts that every implementation gives identical compression verdicts on the
shared samples, then prints per-sample throughput ratios measured in this run.

    .venv/bin/python benchmarks/bench_sie.py [--samples N] [--loop-samples M] [--workers W]
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

from rsilab.simulate.montecarlo import draw_parameters, run_scenario
from rsilab.simulate.scenario import load_preset

CONDITIONS = {"p_compress_3y_in_1y": (1.0, 24), "p_compress_10y_in_1y": (1.0, 80),
              "p_compress_3y_in_4mo": (4 / 12, 26), "p_compress_10y_in_4mo": (4 / 12, 80)}


def one_sample(f: float, r0: float, limit_years: float, p: float, horizon: float = 4.0) -> list[float]:
    """Doubling times of one run: the per-doubling loop, one sample at a time."""
    doublings_to_ceiling = 8.0 * limit_years
    step = r0 / doublings_to_ceiling
    dt, t, r, done, times = 0.25 / f, 0.0, r0, 0, [0.0]
    while t < horizon and done < doublings_to_ceiling and r > 0:
        t += dt
        done += 1
        r -= step
        times.append(t)
        if r > 0:
            exponent = p * (1.0 / r - 1.0)
            dt = dt * 2.0 ** exponent if exponent < 1023 else math.inf
    return times


def one_sample_published_style(f, r0, limit_years, p, max_months=48.0):
    """Months, numpy scalars, every series recorded, as the published per-sample loop does."""
    ceiling = (2.0 ** (4 / 0.5)) ** limit_years
    factor, compute_rate = 2.0, np.log(2) / 5
    dt = (np.log(factor) / (np.log(2) / 3)) / f
    size, r, boost, k = 1.0, r0, f, r0 / (np.log(ceiling) / np.log(factor))
    times, sizes, rs, computes, boosts = [0.0], [size], [r], [1.0], [boost]
    t = 0.0
    while t < max_months and size < ceiling and r > 0:
        boost_before = boost
        t += dt
        size *= factor
        with np.errstate(over="ignore"):
            compute = computes[-1] * np.exp(compute_rate * dt)
        boost = f * np.exp(t * np.log(f / f) / 60) if compute < 4096 else f  # instant boost: stays f
        r -= k
        times.append(t); sizes.append(size); rs.append(r); computes.append(compute); boosts.append(boost)
        if r > 0:
            exponent = p * (1 / r - 1)
            dt *= (factor ** exponent if exponent < 1023 else np.inf) / ((1 + boost) / (1 + boost_before))
    return [x / 12.0 for x in times]


def compressed(times: list[float], window: float, needed: int) -> bool:
    return any(times[i + needed] - times[i] < window for i in range(len(times) - needed))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--loop-samples", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    sc = load_preset("sie").with_simulation(n_samples=args.samples)
    run_scenario(sc.with_simulation(n_samples=1000))  # compile (or load) the kernel outside the timing
    t0 = time.perf_counter()
    ens = run_scenario(sc, workers=args.workers)
    ours = time.perf_counter() - t0
    summary = ens.summary()

    params = draw_parameters(sc)
    m = min(args.loop_samples, args.samples)
    ours_sub = {k: float(np.mean(ens.outputs[k][:m])) for k in CONDITIONS}
    per_ours = ours / args.samples
    print(f"sie preset ({args.samples:,} samples, workers {ens.timings['workers']}, compiled numba kernel)")
    print(f"  rsilab              : {ours:7.2f} s = {per_ours * 1e6:8.3f} us/sample")
    for label, loop_fn in (("published-style loop", one_sample_published_style), ("lean loop", one_sample)):
        hits = {k: 0 for k in CONDITIONS}
        t1 = time.perf_counter()
        for i in range(m):
            times = loop_fn(params["f"][i], params["r0"][i], params["limit_years"][i], params["p"][i])
            for k, (window, needed) in CONDITIONS.items():
                hits[k] += compressed(times, window, needed)
        loop = time.perf_counter() - t1
        loop_probs = {k: v / m for k, v in hits.items()}
        assert ours_sub == loop_probs, f"{label} disagrees on the same samples: {ours_sub} vs {loop_probs}"
        per_loop = loop / m
        print(f"  {label:20s}: {loop:7.2f} s for {m:,} = {per_loop * 1e6:8.2f} us/sample -> ratio {per_loop / per_ours:,.0f}x")
    print(f"  (identical compression verdicts on the {m:,} shared samples)")
    for k in CONDITIONS:
        print(f"  {k:24s} {summary[k]:.4f}")


if __name__ == "__main__":
    main()
