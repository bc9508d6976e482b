"""Make tests/reference/ai2027_takeoff.json's figures: run the AI 2027 authors' own takeoff code,
seeded, and write its figures with their standard errors.

    python tests/reference/ai2027_takeoff_reference.py PEER_TAKEOFF_DIR SEED N_SIMS OUT.json

PEER_TAKEOFF_DIR is the ``takeoff`` folder of github.com/uvafan/timelines-takeoff-ai-2027
(``forecasting_takeoff.py`` and ``params.yaml``; this script fetches nothing: clone the repository
and check out the commit named in the JSON). Its dependencies (numpy, scipy, pandas, matplotlib,
pyyaml, tqdm) must be importable; MPLBACKEND=Agg keeps matplotlib off any display.

The authors' code has no seed of its own: numpy's global generator is seeded here. Then it is
called as its ``run_takeoff_simulation`` calls it, unmodified: ``load_config``,
``get_milestone_samples`` and ``run_single_simulation_with_tracking`` for each sample. Its
plotting and printing helpers (which draw no random numbers) are not called. Years are counted
as its phase chart counts them, (date difference).days / 365.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np

MILESTONES = ("SAR", "SIAR", "ASI")
PHASES = ("SC to SAR", "SAR to SIAR", "SIAR to ASI")
PERCENTS = (10, 50, 90)


def quantile_se(x: np.ndarray, p: float) -> float:
    """Distribution-free standard error of the p-quantile: half the distance between the order
    statistics at ranks n (p -/+ sqrt(p (1 - p) / n)) (a 68% interval for the quantile)."""
    x = np.sort(x)
    n = len(x)
    d = np.sqrt(p * (1 - p) / n)
    lo = x[max(int(np.floor(n * (p - d))), 0)]
    hi = x[min(int(np.ceil(n * (p + d))), n - 1)]
    return float((hi - lo) / 2)


def figures(x: np.ndarray) -> dict[str, float]:
    out = {f"p{q}": float(np.percentile(x, q)) for q in PERCENTS}
    out.update({f"p{q}_se": quantile_se(x, q / 100) for q in PERCENTS})
    return out


def main(peer_dir: str, seed: int, n_sims: int, out: str) -> None:
    sys.path.insert(0, peer_dir)
    import forecasting_takeoff as ft

    config = ft.load_config(f"{peer_dir}/params.yaml")
    config["simulation"]["n_sims"] = n_sims
    np.random.seed(seed)
    t0 = time.perf_counter()
    samples = ft.get_milestone_samples(config, n_sims)
    dates = [ft.run_single_simulation_with_tracking(samples, i)[0] for i in range(n_sims)]
    seconds = time.perf_counter() - t0
    start = samples["start_time"]
    phase_years = np.array([[(b - a).days / 365.0 for a, b in zip([start] + d[:-1], d)] for d in dates])
    after_sc = np.array([[(x - start).days / 365.0 for x in d] for d in dates])
    gaps = {k: np.asarray(samples["time_gaps"][k]) / 365.0 for k in PHASES}
    result = {
        "seed": seed, "n_sims": n_sims, "seconds": round(seconds, 1), "numpy": np.__version__,
        "years_after_sc": {m: figures(after_sc[:, i]) for i, m in enumerate(MILESTONES)},
        "phase_years": {ph: figures(phase_years[:, i]) for i, ph in enumerate(PHASES)},
        "human_only_years": {ph: figures(gaps[ph]) for ph in PHASES},
        "fraction_sc_sar_zero": float(np.mean(gaps["SC to SAR"] == 0)),
        # a date past what pandas can hold becomes 9999-12-31 in the authors' code; the phases
        # after it then take 0 days in its phase chart
        "overflowed_to_9999": {m: int(sum(d[i].year == 9999 for d in dates)) for i, m in enumerate(MILESTONES)},
        "fraction_within_years": {str(h): {m: float(np.mean(after_sc[:, i] <= h)) for i, m in enumerate(MILESTONES)}
                                  for h in (1, 10, 100)},
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
