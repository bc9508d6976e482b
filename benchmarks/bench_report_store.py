"""How much the store grows per recorded Monte Carlo run: the arrays a report needs.

Runs a preset once, records it into a fresh store (summary row plus the compressed per-sample
blob, ``rsilab.store.ensembles``) and prints the blob's size, the store file's growth and the
bytes per sample, beside the summary row's size; then times writing the HTML report from the
store against the run itself (a report never re-runs, so it should cost a small fraction).

    .venv/bin/python benchmarks/bench_report_store.py [--preset sie] [--samples 1000000]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from rsilab.report.html import write_run_report
from rsilab.store.ensembles import encode_ensemble, record_ensemble
from rsilab.simulate.montecarlo import run_scenario
from rsilab.simulate.scenario import load_preset
from rsilab.store import Store


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="sie")
    ap.add_argument("--samples", type=int, default=1_000_000)
    args = ap.parse_args()
    sc = load_preset(args.preset).with_simulation(n_samples=args.samples)
    t0 = time.perf_counter()
    ens = run_scenario(sc)
    t_run = time.perf_counter() - t0
    summary = ens.summary()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.sqlite"
        with Store(path) as st:
            st.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            before = path.stat().st_size
            t1 = time.perf_counter()
            run_id = record_ensemble(st, "simulate", ens, summary, ens.timings)
            t_record = time.perf_counter() - t1
            st.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            after = path.stat().st_size
            blob = len(st.run_arrays(run_id)[1])
            t2 = time.perf_counter()
            write_run_report(st, run_id, Path(tmp) / "r.html")
            t_report = time.perf_counter() - t2
            report_bytes = os.path.getsize(Path(tmp) / "r.html")
    raw = len(encode_ensemble(ens))
    print(f"{args.preset}: {args.samples:,} samples, {len(ens.params)} parameters "
          f"({sum(not p.is_fixed for p in sc.priors.values())} free), {len(sc.capability_multiples)} thresholds")
    print(f"blob {blob / 1e6:.2f} MB ({blob / args.samples:.1f} bytes/sample; encode alone {raw / 1e6:.2f} MB)")
    print(f"store file growth {(after - before) / 1e6:.2f} MB; summary row {len(json.dumps(summary)) / 1e3:.1f} kB")
    print(f"run {t_run:.2f} s; record {t_record:.2f} s ({t_record / t_run:.2f}x the run); "
          f"report from the store {t_report:.2f} s ({t_report / t_run:.2f}x the run), {report_bytes / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
