"""The compute-centric takeoff model (``ftm`` presets): rsilab against its authors' code, same runs.

The baseline is the authors' own ``SimulateTakeOff`` (github.com/epoch-research/ftm,
ftm/core/model.py), run from a checkout given as a path, in an interpreter that has its imports
(it needs numpy < 2, pandas, matplotlib, pyyaml, beautifulsoup4, openpyxl). Nothing is fetched
here; to obtain it:

    git clone https://github.com/epoch-research/ftm /tmp/ftm-peer
    python3 -m venv /tmp/ftm-venv
    /tmp/ftm-venv/bin/pip install "numpy<2" scipy matplotlib "pandas<3" pyyaml beautifulsoup4 openpyxl

then

    .venv/bin/python benchmarks/bench_ftm.py --peer /tmp/ftm-peer --peer-python /tmp/ftm-venv/bin/python

Same work on both sides: each deterministic preset from 2022 to 2100 on the 0.1-year grid, with
its metrics (rsilab: ``run_scenario`` on the preset, summary included, through the compiled
loop (the default) and through numpy alone; the peer: ``SimulateTakeOff(...).run_simulation()``,
which computes its metrics). Each side's imports and first calls (numba's compilation or its
cache) come before the timing, as in a long-lived process; the wall time of a one-off
``rsilab simulate`` in a fresh process is printed apart. The peer runs in a worker process
started once; the sides alternate round by round so that all see the same load, and every
round checks that they give the same year of full automation. Then the Monte Carlo preset
with 1,000 samples (rsilab only: the peer runs its samples one at a time, each as long as a
deterministic run). Prints medians, ratios of medians and the load (``uptime``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

from rsilab.simulate.montecarlo import run_scenario
from rsilab.simulate.scenario import load_preset

PRESETS = ("ftm-best-guess", "ftm-aggressive", "ftm-conservative", "ftm-short-timelines", "ftm-long-timelines")

# The peer's side: reads one JSON line of parameters, runs, answers with the time and result.
WORKER = textwrap.dedent("""
    import json, math, sys, time
    sys.path.insert(0, sys.argv[1])
    from ftm.core.model import SimulateTakeOff
    for line in sys.stdin:
        params = json.loads(line)
        t0 = time.perf_counter()
        model = SimulateTakeOff(**params, t_start=2022, t_end=2100, t_step=0.1)
        model.run_simulation()
        seconds = time.perf_counter() - t0
        full = model.timeline_metrics["automation_gns_100%"]
        print(json.dumps({"seconds": seconds, "full": None if math.isnan(full) else full}), flush=True)
""")


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def ours(name: str, compiled: bool = True) -> tuple[float, float | None]:
    t0 = time.perf_counter()
    summary = run_scenario(load_preset(name), compiled=compiled).summary()
    seconds = time.perf_counter() - t0
    return seconds, summary["timeline_metrics"]["automation_gns_100%"]["year"]["median"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peer", required=True, help="checkout of github.com/epoch-research/ftm")
    ap.add_argument("--peer-python", required=True, help="an interpreter with the peer's imports")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--presets", nargs="*", default=list(PRESETS))
    args = ap.parse_args()

    print(f"cores available: {len(os.sched_getaffinity(0))}; load at start: {load()}")
    worker = subprocess.Popen([args.peer_python, "-c", WORKER, args.peer], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)

    def peer(name: str) -> tuple[float, float | None]:
        sc = load_preset(name)
        params = {k: float(p.support[0]) for k, p in sc.priors.items()}
        worker.stdin.write(json.dumps(params) + "\n")
        worker.stdin.flush()
        answer = json.loads(worker.stdout.readline())
        return answer["seconds"], answer["full"]

    ours("ftm-best-guess")            # imports and first-call costs, on every side, before timing
    ours("ftm-best-guess", compiled=False)
    peer("ftm-best-guess")
    print(f"\ndeterministic presets, 2022-2100, {args.rounds} alternating rounds (seconds, median):")
    print(f"{'preset':22s} {'compiled':>9s} {'numpy':>8s} {'peer':>8s} {'peer/compiled':>14s} {'peer/numpy':>11s}")
    for name in args.presets:
        fast, slow, theirs = [], [], []
        for _ in range(args.rounds):
            s_fast, full_fast = ours(name)
            s_slow, full_slow = ours(name, compiled=False)
            s_peer, full_peer = peer(name)
            for full in (full_fast, full_slow):
                if (full is None) != (full_peer is None) or (full is not None and abs(full - full_peer) > 0.1):
                    sys.exit(f"{name}: full automation {full} here, {full_peer} in the peer's run")
            fast.append(s_fast)
            slow.append(s_slow)
            theirs.append(s_peer)
        f, m, t = statistics.median(fast), statistics.median(slow), statistics.median(theirs)
        print(f"{name:22s} {f:9.4f} {m:8.3f} {t:8.3f} {t / f:13.0f}x {t / m:10.1f}x")
    worker.stdin.close()
    worker.wait()

    walls = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "rsilab.cli", "simulate", "--preset", "ftm-best-guess", "--json",
                            "--store", os.path.join(tmp, "s.sqlite")], capture_output=True, check=True)
            walls.append(time.perf_counter() - t0)
    print(f"\none-off `rsilab simulate --preset ftm-best-guess --json` in a fresh process (wall: imports, numba's "
          f"cache and the store included): median {statistics.median(walls):.2f} s")

    sc = load_preset("ftm-monte-carlo").with_simulation(n_samples=args.samples)
    for compiled in (True, False):
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            run_scenario(sc, compiled=compiled)
            times.append(time.perf_counter() - t0)
        print(f"ftm-monte-carlo, {args.samples} samples, 2022-2100, {'compiled' if compiled else 'numpy'} "
              f"(chunks in threads on {len(os.sched_getaffinity(0))} cores): median {statistics.median(times):.2f} s "
              f"of {', '.join(f'{x:.2f}' for x in times)}")
    print(f"load at end: {load()}")


if __name__ == "__main__":
    main()
