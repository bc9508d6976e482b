"""The `sie` preset against the published model's own code, per sample, in the same run.

The peer is the authors' Monte Carlo, `multiple_sims.py` of github.com/thoulden/Accelerated_AI_Progress
(Davidson & Houlden 2025), run as published: its `run_simulations` with the sampling bounds and
switches the `sie` preset encodes (f in [2, 32], r in [0.4, 3.6], limit years in [6, 16], p in
[0.15, 0.6], software share 0.5, instant boost, no retraining, 48 months, the four compression
conditions). Its Streamlit calls are replaced by a stub that does nothing (the progress bar),
so what is timed is its simulation and its compression table. The benchmark fetches nothing:
give it the file's path. To obtain it:

    git clone https://github.com/thoulden/Accelerated_AI_Progress /tmp/peer
    .venv/bin/python benchmarks/bench_peer.py /tmp/peer/multiple_sims.py

Printed, each against the peer's microseconds per sample measured in this run (the median of
``--repeats`` runs of ``--peer-samples`` samples):
- ``rsilab simulate --preset sie --samples 1000000 --json`` as a whole process (start-up,
  imports, the kernels' load from numba's cache, the simulation, summary, store and JSON), the
  median of ``--repeats`` runs after one untimed run that fills numba's cache; the store is a
  temporary file;
- ``rsilab.simulate("sie", n_samples=1_000_000)`` warm in one process (the second and later
  calls), the median of ``--repeats``;
- where the whole process's time goes: the same command at one sample (the fixed part), the
  simulation's own time (its ``timings_seconds``), and the rest (summary, store, JSON);
- the floor no `sie` process can go below on this machine, whatever its code: starting Python
  with numpy imported, plus one exponential per doubling (each doubling's time is the last
  one's times 2^e) on every core at once, at libm's cost in a compiled loop;
- both sides' compression probabilities (different random draws: they agree within Monte
  Carlo error, not to the bit).
The machine's load is printed before and after; on a shared machine the ratios, measured in
the same minutes, say more than the seconds.

    .venv/bin/python benchmarks/bench_peer.py PEER_FILE [--samples N] [--peer-samples M] [--repeats R]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

# the peer's conditions: (window in months, pace multiple), as its app passes them
CONDITIONS = [(12, 3), (4, 10), (12, 10), (4, 30)]
OURS = {(12, 3): "p_compress_3y_in_1y", (12, 10): "p_compress_10y_in_1y", (4, 10): "p_compress_3y_in_4mo",
        (4, 30): "p_compress_10y_in_4mo"}


def load_peer(path: Path) -> types.ModuleType:
    """The peer's module, with a do-nothing ``streamlit`` in its place (only ``st.progress``
    is called by ``run_simulations``)."""
    class Bar:
        def progress(self, *args, **kwargs) -> None:
            pass

    stub = types.ModuleType("streamlit")
    stub.progress = lambda *args, **kwargs: Bar()
    sys.modules.setdefault("streamlit", stub)
    spec = importlib.util.spec_from_file_location("peer_multiple_sims", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def peer_run(peer: types.ModuleType, n: int) -> tuple[float, dict]:
    """Seconds for ``n`` samples of the peer's Monte Carlo with the `sie` preset's bounds, and
    its probabilities."""
    import warnings

    t0 = time.perf_counter()
    with warnings.catch_warnings():   # its float overflows past the horizon, as published
        warnings.simplefilter("ignore", RuntimeWarning)
        probabilities, *_ = peer.run_simulations(n, CONDITIONS, 0.4, 3.6, 6.0, 16.0, 0.15, 0.6, 2.0, 32.0, 0.5,
                                                 False, False, False)
    return time.perf_counter() - t0, probabilities


def floor_parts(n: int) -> tuple[float, float, float]:
    """(seconds to start Python with numpy imported, best of 5; ns per libm exponential in a
    compiled loop, best of 5; the sie preset's mean doublings a sample)."""
    import math

    import numba
    import numpy as np

    from rsilab.simulate.montecarlo import draw_parameters
    from rsilab.simulate.scenario import load_preset
    from rsilab.simulate.solver import solve

    def timed(fn) -> float:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    importing = min(timed(lambda: subprocess.run([sys.executable, "-c", "import numpy"], check=True)) for _ in range(5))

    @numba.njit
    def exps(x):
        total = 0.0
        for v in x:
            total += math.exp(v)
        return total

    x = np.random.default_rng(0).uniform(-5.0, 5.0, 2_000_000)
    exps(x[:10])
    per_exp = min(timed(lambda: exps(x)) for _ in range(5)) / x.size
    sc = load_preset("sie").with_simulation(n_samples=min(n, 100_000))
    sol = solve(sc.model, draw_parameters(sc), np.linspace(0.0, sc.horizon_years, 49), np.log([10.0]), sc.solver_settings)
    return importing, per_exp * 1e9, float(sol.n_steps.mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("peer_file", type=Path, help="the peer's multiple_sims.py (see the module docstring)")
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--peer-samples", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if not args.peer_file.is_file():
        raise SystemExit(f"error: {args.peer_file}: no such file (the peer's multiple_sims.py; see the docstring)")
    print(f"sie, rsilab against the peer's multiple_sims.py, per sample; {len(os.sched_getaffinity(0))} cores, "
          f"load {os.getloadavg()[0]:.1f}")

    peer = load_peer(args.peer_file)
    import numpy as np

    np.random.seed(0)
    peer_run(peer, 200)   # its imports and first calls outside the timing
    peer_runs = [peer_run(peer, args.peer_samples) for _ in range(args.repeats)]
    peer_us = statistics.median(s for s, _ in peer_runs) / args.peer_samples * 1e6
    print(f"  peer                         {peer_us:8.2f} us/sample (median of {args.repeats} x {args.peer_samples:,})")

    cmd = [sys.executable, "-m", "rsilab.cli", "simulate", "--preset", "sie", "--json", "--samples"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "RSILAB_STORE": str(Path(tmp) / "store.sqlite")}   # never the user's store

        def process(n: int) -> tuple[float, dict]:
            t0 = time.perf_counter()
            out = subprocess.run(cmd + [str(n)], check=True, capture_output=True, env=env).stdout
            return time.perf_counter() - t0, json.loads(out)

        process(args.samples)   # fills numba's cache (a fresh install's first run compiles)
        runs = [process(args.samples) for _ in range(args.repeats)]
        whole = statistics.median(s for s, _ in runs)
        summary = runs[0][1]
        simulating = statistics.median(r["timings_seconds"]["total"] for _, r in runs)
        ones = [process(1) for _ in range(args.repeats)]
        fixed = statistics.median(s for s, _ in ones)
        # the kernels' load from numba's cache happens inside the simulation's own timing: the
        # one-sample run's timing is that load, already in the fixed part
        simulating -= statistics.median(r["timings_seconds"]["total"] for _, r in ones)
    per = whole / args.samples * 1e6
    print(f"  whole process                {per:8.3f} us/sample ({whole:.2f} s for {args.samples:,}; runs "
          f"{', '.join(f'{s:.2f}' for s, _ in runs)} s) -> {peer_us / per:6.1f}x the peer")
    print(f"    of which: the command at 1 sample {fixed:.2f} s (start-up, imports, the kernels' load), simulating "
          f"{simulating:.2f} s beyond that, the rest (summary, store, JSON) {whole - fixed - simulating:.2f} s")

    import rsilab

    rsilab.simulate("sie", n_samples=args.samples)   # imports and the kernels' load
    warm = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        rsilab.simulate("sie", n_samples=args.samples)
        warm.append(time.perf_counter() - t0)
    per_warm = statistics.median(warm) / args.samples * 1e6
    print(f"  warm, rsilab.simulate        {per_warm:8.3f} us/sample ({statistics.median(warm):.2f} s; runs "
          f"{', '.join(f'{s:.2f}' for s in warm)} s) -> {peer_us / per_warm:6.1f}x the peer")

    importing, exp_ns, doublings = floor_parts(args.samples)
    floor = importing + args.samples * doublings * exp_ns * 1e-9 / len(os.sched_getaffinity(0))
    print(f"  floor: the interpreter with numpy imported {importing:.3f} s + {doublings:.1f} doublings a sample at "
          f"{exp_ns:.1f} ns an exponential on {len(os.sched_getaffinity(0))} cores = {floor:.3f} s: no process "
          f"exceeds {peer_us * args.samples * 1e-6 / floor:,.0f}x the peer here")
    print("  compression probabilities (different draws: Monte Carlo error apart)")
    for cond, key in OURS.items():
        print(f"    {key:24s} rsilab {summary[key]:.4f}   peer {peer_runs[0][1][cond]:.4f}")
    print(f"  load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
