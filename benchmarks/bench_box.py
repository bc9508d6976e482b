"""Added latency of the box per candidate run, against a plain subprocess, measured in one run.

Baseline: ``subprocess.run([python, "-I", candidate.py])`` of the same trivial candidate with the
same interpreter. Box: ``run_candidate`` (bubblewrap, namespaces, the candidate's own user id when
run as root, the supervisor as PID 1 with its signalfd and the seccomp filter's listener, rlimits,
audit hook, canaries, honeytokens, integrity hashes, result parsing; no store). Also the box with
the audit log on. Prints medians, the added milliseconds and the 1-minute load average; the
budget is 50 ms added per candidate run.

    python benchmarks/bench_box.py [--repeats 30]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rsilab.box import Limits, bwrap_problem, run_candidate
from rsilab.box.sandbox import box_python
from rsilab.store import Store

CANDIDATE = """
import json, os
json.dump({"version": 1, "values": {"x": 1}}, open(os.environ.get("RSILAB_RESULT", os.devnull), "w"))
"""


def _cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def interleaved_medians(fns: list, repeats: int) -> tuple[list[float], list[float]]:
    """Median wall and CPU milliseconds of each function, run in turn (plain, box, box, plain...)
    so that a change in the machine's load during the run affects all of them alike. CPU time
    (this process and its children) is the figure to read on a busy machine: wall time then
    mostly measures waiting for a core."""
    for fn in fns:
        fn()  # warm caches (and the bwrap probe)
    wall: list[list[float]] = [[] for _ in fns]
    cpu: list[list[float]] = [[] for _ in fns]
    for i in range(repeats):
        order = range(len(fns)) if i % 2 == 0 else reversed(range(len(fns)))
        for k in order:
            c, t = _cpu_seconds(), time.perf_counter()
            fns[k]()
            wall[k].append((time.perf_counter() - t) * 1000)
            cpu[k].append((_cpu_seconds() - c) * 1000)
    return [statistics.median(t) for t in wall], [statistics.median(t) for t in cpu]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    if bwrap_problem() is not None:
        print(f"skipped: {bwrap_problem()}")
        return
    python = box_python(65534 if os.geteuid() == 0 else None)
    limits = Limits()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "candidate.py"
        path.write_text(CANDIDATE)
        env = {"PATH": "/usr/bin:/bin", "RSILAB_RESULT": str(Path(tmp) / "r.json")}

        def plain() -> None:
            subprocess.run([str(python), "-I", str(path)], env=env, check=True, stdout=subprocess.DEVNULL)

        def boxed() -> None:
            out = run_candidate(path, limits=limits)
            assert out.status == "ok", out.stderr_tail

        with Store(Path(tmp) / "bench.sqlite") as store:
            def boxed_audited() -> None:
                out = run_candidate(path, limits=limits, store=store)
                assert out.status == "ok", out.stderr_tail

            (base, box, audited), (cbase, cbox, caudited) = interleaved_medians(
                [plain, boxed, boxed_audited], args.repeats)
    load = os.getloadavg()[0]
    ids = "its own" if os.geteuid() == 0 else "the supervisor's (not root)"
    print(f"python: {python}; repeats: {args.repeats}; load average (1 min): {load:.2f}; "
          f"the candidate's user id: {ids}")
    print(f"plain subprocess          median {base:7.1f} ms")
    print(f"box (bwrap + limits)      median {box:7.1f} ms   added {box - base:6.1f} ms   ratio {box / base:5.2f}")
    print(f"box + audit record        median {audited:7.1f} ms   added {audited - base:6.1f} ms   ratio {audited / base:5.2f}")
    print(f"CPU time (self + children): plain {cbase:.1f} ms, box {cbox:.1f} ms (added {cbox - cbase:.1f}), "
          f"box + audit {caudited:.1f} ms (added {caudited - cbase:.1f})")
    print("budget: under 50 ms added per candidate run (wall):", "met" if box - base < 50 else "NOT met")


if __name__ == "__main__":
    sys.exit(main())
