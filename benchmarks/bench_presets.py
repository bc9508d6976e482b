"""Every shipped preset, 10^5 samples, warm and in-process (as a long-running server would run
them), and 10^6 samples of `sie` as a whole CLI process against a lean per-sample Python loop,
with the floor no such process can go below on this machine.

Per preset it prints the wall time of `run_scenario` at 10^5 samples after a warm-up run
(imports done, kernels compiled), the median of three runs, the same with the numpy solvers forced
(`run_scenario(..., compiled=False)`), and their ratio, all measured in this run; and the
compiled run's CPU seconds (all threads of this process), which on a busy machine says more
about the work done than the wall time (the compiled kernels run one thread per core). Presets with
no compiled kernel run the numpy solver both times (ratio about 1: nothing compiled serves
them). The `sie` line runs `rsilab simulate --preset sie --samples 1000000 --json` as a
subprocess (start-up, import and the kernel's load from numba's cache included) against the
lean loop of benchmarks/bench_sie.py on the same parameter draws, per sample (the process:
best of three runs, on a machine that others share). It splits the
process's time into its fixed part (the same command at one sample: interpreter, imports,
numba's start and the kernels' load from its cache, the store), the simulation itself (the
command's own `timings_seconds.total`, less that of the one-sample run: the kernels' load from
numba's cache happens inside it) and what follows it (the summary, recording the run and
its arrays in the store, the JSON: timed in this process on the same ensemble), and prints the
ratio the fixed part alone would allow.

    .venv/bin/python benchmarks/bench_presets.py [--samples N] [--cli-samples M (0: skip)] [--loop-samples L] [--only NAME ...]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sie import CONDITIONS, compressed, one_sample  # noqa: E402

from rsilab.simulate.kernels import kernel_for  # noqa: E402
from rsilab.simulate.montecarlo import draw_parameters, run_scenario  # noqa: E402
from rsilab.simulate.scenario import load_preset, preset_names  # noqa: E402


REPEATS = 3


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def after_simulating(sc, store_path: Path) -> float:
    """Seconds of what `rsilab simulate --json` does after the simulation: the summary, the
    run and its arrays recorded in the store, the JSON text."""
    from rsilab.store.ensembles import record_ensemble
    from rsilab.store import Store

    ens = run_scenario(sc)
    t0 = time.perf_counter()
    summary = ens.summary()
    with Store(store_path) as store:
        summary["run_id"] = record_ensemble(store, "simulate", ens, summary, ens.timings)
    json.dumps(summary, indent=2, sort_keys=True, default=float)
    return time.perf_counter() - t0


def floor_seconds(n: int, doublings: float) -> tuple[float, float, float]:
    """What no `sie` process of ``n`` samples can go below on this machine, whatever its code:
    starting the interpreter with numpy imported (best of 5), plus one exponential per doubling
    (each doubling's time is the last one's times 2^e) on every core at once, at the cost of one
    libm exponential in a compiled loop (the kernel's path). Returns (import s, ns per exp, s)."""
    import math

    import numba
    import numpy as np

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
    return importing, per_exp * 1e9, importing + n * doublings * per_exp / len(os.sched_getaffinity(0))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--cli-samples", type=int, default=1_000_000)
    ap.add_argument("--loop-samples", type=int, default=20_000)
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    print(f"warm in-process, {args.samples:,} samples per preset (load: {os.getloadavg()[0]:.1f})")
    print(f"  {'preset':24s} {'rsilab s':>9s} {'cpu s':>7s} {'numpy s':>9s} {'ratio':>6s}  compiled kernel")
    for name in args.only or preset_names():
        sc = load_preset(name).with_simulation(n_samples=args.samples)
        warm = sc.with_simulation(n_samples=2_000)
        run_scenario(warm)
        run_scenario(warm, compiled=False)
        runs = []
        for _ in range(REPEATS):   # the median of a few warm runs, as a server re-running would see
            cpu0 = time.process_time()
            runs.append((timed(lambda: run_scenario(sc)), time.process_time() - cpu0))
        ours, cpu = sorted(runs)[REPEATS // 2]
        numpy_only = timed(lambda: run_scenario(sc, compiled=False))
        kernel = "yes" if kernel_for(sc.model) is not None else "no"
        print(f"  {name:24s} {ours:9.2f} {cpu:7.2f} {numpy_only:9.2f} {numpy_only / ours:5.1f}x  {kernel}", flush=True)
    if args.cli_samples == 0:
        return
    sc = load_preset("sie").with_simulation(n_samples=args.cli_samples)
    cmd = [sys.executable, "-m", "rsilab.cli", "simulate", "--preset", "sie", "--json", "--samples"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "RSILAB_STORE": str(Path(tmp) / "store.sqlite")}   # never the user's store

        def run(n: int) -> tuple[float, float]:
            """Wall seconds of the whole process, and the simulation's own seconds inside it."""
            t0 = time.perf_counter()
            out = subprocess.run(cmd + [str(n)], check=True, capture_output=True, env=env).stdout
            return time.perf_counter() - t0, json.loads(out)["timings_seconds"]["total"]

        run(args.cli_samples)   # numba's on-disk cache filled outside the timing
        cli, simulating = min(run(args.cli_samples) for _ in range(3))
        # the first kernel call loads it from numba's cache inside the command's own timing:
        # the one-sample run's timing is that load, counted in the fixed part
        fixed, loading = min(run(1) for _ in range(3))
        after = after_simulating(sc, Path(tmp) / "in-process.sqlite")
    params = draw_parameters(sc, n=args.loop_samples)
    t0 = time.perf_counter()
    for i in range(args.loop_samples):
        times = one_sample(params["f"][i], params["r0"][i], params["limit_years"][i], params["p"][i])
        for window, needed in CONDITIONS.values():
            compressed(times, window, needed)
    per_loop = (time.perf_counter() - t0) / args.loop_samples
    doublings = sum(len(one_sample(params["f"][i], params["r0"][i], params["limit_years"][i], params["p"][i])) - 1
                    for i in range(args.loop_samples)) / args.loop_samples
    importing, exp_ns, floor = floor_seconds(args.cli_samples, doublings)
    print(f"sie, {args.cli_samples:,} samples as a whole CLI process (best of 3): {cli:.2f} s "
          f"(load: {os.getloadavg()[0]:.1f}); lean Python loop {per_loop * 1e6:.2f} us/sample "
          f"-> ratio {per_loop * args.cli_samples / cli:,.0f}x")
    print(f"  fixed (the same command at 1 sample, best of 3) {fixed:.2f} s + simulating {simulating - loading:.2f} s "
          f"(beyond the kernels' load, {loading:.2f} s, in the fixed part) + summary, store and JSON {after:.2f} s "
          f"(in-process) = {fixed + simulating - loading + after:.2f} s; "
          f"the fixed part alone allows at most {per_loop * args.cli_samples / fixed:,.0f}x")
    print(f"  floor: the interpreter with numpy imported {importing:.3f} s + {doublings:.1f} doublings a sample at "
          f"{exp_ns:.1f} ns an exponential on {len(os.sched_getaffinity(0))} cores = {floor:.3f} s: "
          f"no process can exceed {per_loop * args.cli_samples / floor:,.0f}x the lean loop here")


if __name__ == "__main__":
    main()
