"""The `ai2027-takeoff` preset: rsilab's closed form against the AI 2027 authors' own code.

Same work on both sides: draw N samples of the human-only gaps and compute when SAR, SIAR and
ASI arrive after SC. The authors' code (takeoff/forecasting_takeoff.py of
github.com/uvafan/timelines-takeoff-ai-2027) draws with numpy and walks every phase of every
sample one day at a time in Python; rsilab evaluates the closed form of the same speed law on
all samples at once (`run_scenario`, in-process, the draw included). The authors' side runs
in a subprocess (its own imports: pandas, scipy, matplotlib, pyyaml, tqdm), timed inside it
around its own calls only, with numpy's global generator seeded.

This script fetches nothing. Get the authors' code with
`git clone https://github.com/uvafan/timelines-takeoff-ai-2027` (commit
1356db7e4082c9f0e657580346c31a80fa3b12c6 for the figures in tests/reference/ai2027_takeoff.json)
and pass its takeoff folder:

    .venv/bin/python benchmarks/bench_ai2027.py --peer PATH/takeoff [--peer-python PYTHON]
        [--peer-samples 2000] [--samples 1000000]

Without --peer it times rsilab alone and says so.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from rsilab.simulate.montecarlo import run_scenario
from rsilab.simulate.scenario import load_preset

PEER_TIMER = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import forecasting_takeoff as ft
config = ft.load_config(sys.argv[1] + "/params.yaml")
n = int(sys.argv[2])
config["simulation"]["n_sims"] = n
np.random.seed(int(sys.argv[3]))
t0 = time.perf_counter()
samples = ft.get_milestone_samples(config, n)
t1 = time.perf_counter()
days = [ft.run_single_simulation_with_tracking(samples, i)[1] for i in range(n)]
t2 = time.perf_counter()
after = np.cumsum(np.array(days), axis=1) / 365.0
print(json.dumps({"sampling": t1 - t0, "walking": t2 - t1,
                  "medians": np.median(after, axis=0).tolist()}))
"""


def time_rsilab(n: int, seed: int, repeats: int = 3) -> tuple[float, dict]:
    sc = load_preset("ai2027-takeoff").with_simulation(n_samples=n, seed=seed)
    best, summary = float("inf"), {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        ens = run_scenario(sc)
        best = min(best, time.perf_counter() - t0)
        summary = ens.summary()
    return best, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peer", type=Path, default=None, help="the authors' takeoff folder (see the module docstring)")
    ap.add_argument("--peer-python", default=sys.executable, help="a Python with the authors' dependencies")
    ap.add_argument("--peer-samples", type=int, default=2000)
    ap.add_argument("--samples", type=int, default=1_000_000, help="rsilab's large run")
    ap.add_argument("--seed", type=int, default=2027)
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores")
    n = args.peer_samples
    ours, s_small = time_rsilab(n, args.seed)
    med = [s_small["milestones"][m]["years_after_sc"]["median"] for m in ("SAR", "SIAR", "ASI")]
    print(f"rsilab, {n:,} samples: {ours:.4f} s ({ours / n * 1e6:.2f} us/sample, best of 3); "
          f"medians SAR/SIAR/ASI {med[0]:.3f} / {med[1]:.3f} / {med[2]:.3f} years after SC")
    big, s_big = time_rsilab(args.samples, args.seed, repeats=1)
    print(f"rsilab, {args.samples:,} samples: {big:.3f} s ({big / args.samples * 1e6:.3f} us/sample, "
          f"sampling {s_big['timings_seconds']['sampling']:.3f} s)")
    if args.peer is None:
        print("no --peer: the authors' code was not timed (see this script's docstring for how to get it)")
        return
    if not (args.peer / "forecasting_takeoff.py").is_file():
        sys.exit(f"error: --peer = {str(args.peer)!r} is not allowed: the takeoff folder of "
                 "uvafan/timelines-takeoff-ai-2027 (it holds forecasting_takeoff.py and params.yaml)")
    env = dict(os.environ, MPLBACKEND="Agg")
    out = subprocess.run([args.peer_python, "-c", PEER_TIMER, str(args.peer), str(n), str(args.seed)],
                         capture_output=True, text=True, env=env, check=True)
    peer = json.loads(out.stdout.strip().splitlines()[-1])
    total = peer["sampling"] + peer["walking"]
    print(f"authors' code, {n:,} samples: {total:.2f} s ({total / n * 1e6:.0f} us/sample; sampling "
          f"{peer['sampling']:.3f} s, day walk {peer['walking']:.2f} s); medians "
          + " / ".join(f"{m:.3f}" for m in peer["medians"]) + " (their seed, their stream)")
    print(f"ratio at {n:,} samples (same work, one process each): {total / ours:,.0f}x; "
          f"per sample against rsilab's {args.samples:,}-sample run: {total / n / (big / args.samples):,.0f}x")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
