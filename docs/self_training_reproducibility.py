"""What changes the self-training experiment's rounds: runs one config in fresh processes that
differ in one thing each, and says whether their rounds are identical to the first run's.

Each variant is ``NAME`` or ``NAME:KEY=VALUE,...``: an UPPERCASE key is an environment variable of
the variant's process (e.g. ``ATEN_CPU_CAPABILITY=avx2``: torch's kernels compiled for AVX2, as on
a CPU without AVX-512), a lowercase key a config field (e.g. ``threads_per_worker=2``). Every run
uses the profile with the ``--set`` fields; every field of every round is compared except
wall-clock times. Prints the machine, the load, and per variant: identical or the first field
that differs, with the horizon by round and round 0's training loss.

    python docs/self_training_reproducibility.py --set rounds=1 --set steps_round0=200 ...
    python docs/self_training_reproducibility.py --set rounds=0 --variants avx2:ATEN_CPU_CAPABILITY=avx2

(docs/self_training.md, "Reproducibility", quotes its output.)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
DEFAULT_VARIANTS = [
    "again",                                         # nothing changed: the same seed again
    "ambient-threads:OMP_NUM_THREADS=2,MKL_NUM_THREADS=2,PYTHONHASHSEED=1",
    # one process, two threads: with two workers of two threads each on 2 cores the OpenMP threads
    # wait on each other for many times the run's length
    "threads_per_worker=2 (workers=1):threads_per_worker=2,workers=1",
    "workers=1:workers=1",
    "aten-avx2:ATEN_CPU_CAPABILITY=avx2",
    "aten-no-simd:ATEN_CPU_CAPABILITY=default",
    "onednn-avx2:ONEDNN_MAX_CPU_ISA=AVX2",
    "mkl-avx2:MKL_ENABLE_INSTRUCTIONS=AVX2",
]

RUN = """
import json, sys
from rsilab.experiments.self_training.config import load_config
from rsilab.experiments.self_training.loop import run_experiment
from rsilab.store import Store
with Store(":memory:") as s:
    print(json.dumps(s.rounds(run_experiment(load_config(None, sys.argv[1], json.loads(sys.argv[2])), s))))
"""


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _comparable(rounds: list[dict]) -> list[dict]:
    """Every measured value; not wall-clock times, and not what a run records about where it ran
    (the config's workers, the instruction set's name), which the output states separately."""
    out = []
    for r in rounds:
        r = {k: v for k, v in r.items() if k not in ("seconds", "provenance")}
        r["detail"] = {k: v for k, v in r["detail"].items()
                       if not k.endswith("_seconds") and k not in ("workers", "cpu_capability")}
        out.append(r)
    return out


def _first_difference(a, b, where: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            d = _first_difference(a.get(k), b.get(k), f"{where}.{k}" if where else k)
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            d = _first_difference(x, y, f"{where}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{where}: {a!r} vs {b!r}"


def _run(profile: str, fields: dict, env: dict) -> tuple[list[dict], float]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", RUN, profile, json.dumps(fields)], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=SRC, **env), check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout), time.perf_counter() - t0


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--set", dest="fields", action="append", default=[], metavar="FIELD=VALUE")
    ap.add_argument("--variants", nargs="*", default=DEFAULT_VARIANTS)
    args = ap.parse_args()
    fields = {k: _value(v) for k, _, v in (f.partition("=") for f in args.fields)}
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"machine: {cpu}, {os.cpu_count()} cores; torch {torch.__version__}, "
          f"CPU capability {torch.backends.cpu.get_cpu_capability()}; load {_load()}")
    print(f"config: profile {args.profile} with {fields}")
    base, seconds = _run(args.profile, fields, {})
    print(f"{'first run':<28} {seconds:6.0f} s  horizon by round {[round(r['horizon'], 4) for r in base]}, "
          f"round 0 loss {base[0]['detail']['train_loss']}, capability {base[0]['detail']['cpu_capability']}")
    for variant in args.variants:
        name, _, spec = variant.partition(":")
        env, config = {}, dict(fields)
        for item in filter(None, spec.split(",")):
            key, _, value = item.partition("=")
            if key.isupper():
                env[key] = value
            else:
                config[key] = _value(value)
        rounds, seconds = _run(args.profile, config, env)
        diff = _first_difference(_comparable(base), _comparable(rounds))
        verdict = "identical" if diff is None else f"differs first at round {diff}"
        print(f"{name:<28} {seconds:6.0f} s  {verdict} (capability {rounds[0]['detail']['cpu_capability']})")
        if diff is not None:
            print(f"{'':<36}horizon by round {[round(r['horizon'], 4) for r in rounds]}, "
                  f"round 0 loss {rounds[0]['detail']['train_loss']}")
    print(f"load at the end {_load()}")


if __name__ == "__main__":
    main()
