"""k of the documented self-training runs, re-estimated from the levels the docs print.

Reads the tables of docs/self_training.md (the cpu profile's runs: horizon per round with its 90%
bootstrap interval) and docs/returns_across_scale.md (the size sweep: horizon per round), and fits
them again: the levels method with the bootstrap interval as each level's noise (se = width / 3.29,
the 90% interval of a normal), the same with the noise estimated, and the ratio method the docs'
figures came from. Then `fit scale` on the size sweep's horizons. Prints Markdown tables.

    python docs/rerun_documented_k.py [--scale-csv FILE]

--scale-csv writes the size sweep's documented horizons as a rounds CSV for `rsilab fit scale`.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from rsilab.estimate.rounds import RoundsFit
from rsilab.estimate.scale import ScaleFit
from rsilab.estimate.verdict import k_line

DOCS = Path(__file__).resolve().parent
Z90 = 1.6448536269514722


def profile_runs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{title: (horizons, se)} of the cpu profile's four documented runs."""
    text = (DOCS / "self_training.md").read_text(encoding="utf-8")
    out = {}
    for title in ("Seed 0, filters on", "Seed 1, filters on", "Seed 0, filters off", "Seed 1, filters off"):
        block = text[text.index(f"**{title}"):]
        rows = re.findall(r"^\| (\d+) \| ([\d.]+) \[([\d.]+), ([\d.]+)\]", block, flags=re.M)
        rows = [r for i, r in enumerate(rows) if int(r[0]) == i][:11]
        h = np.array([float(r[1]) for r in rows])
        se = np.array([(float(r[3]) - float(r[2])) / (2 * Z90) for r in rows])
        out[title] = (h, se)
    return out


def size_sweep() -> list[tuple[int, int, np.ndarray]]:
    """(parameters, seed, horizons) of the documented self-training size sweep."""
    text = (DOCS / "returns_across_scale.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| \d+ \| ([\d,]+) \| (\d) \| ([\d. ]+) \|", text, flags=re.M)
    return [(int(p.replace(",", "")), int(s), np.array([float(x) for x in h.split()])) for p, s, h in rows]


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale-csv", default=None)
    args = ap.parse_args()
    if args.scale_csv:
        with open(args.scale_csv, "w", encoding="utf-8") as fh:
            fh.write("series,parameters,round,capability\n")
            for p, s, h in size_sweep():
                fh.writelines(f"{p}:{s},{p},{r},{v}\n" for r, v in enumerate(h))
    print("| run | ratio method (k and interval as documented; verdict by the interval rule) | levels, noise from the bootstrap | levels, noise estimated | from round 1, bootstrap noise |")
    print("|---|---|---|---|---|")
    for title, (h, se) in profile_runs().items():
        old = RoundsFit(method="ratio", n_bootstrap=4000).fit(h)
        new = RoundsFit().fit(h, se=se)
        est = RoundsFit().fit(h)
        b = new.by_start_["from round 1"]
        print(f"| {title} | {k_line(old.k_, old.k_interval_, 0.9, old.p_k_gt_1_, old.regime_)} "
              f"| {k_line(new.k_, new.k_interval_, 0.9, new.p_k_gt_1_, new.regime_)} "
              f"| {k_line(est.k_, est.k_interval_, 0.9, est.p_k_gt_1_, est.regime_)} "
              f"| {k_line(b['k'], b['k_interval'], 0.9, b['p_k_gt_1'], b['regime'])} |")
    sweep = size_sweep()
    print("\n| parameters | seed | k (levels, noise estimated) |")
    print("|---|---|---|")
    for p, s, h in sweep:
        f = RoundsFit().fit(h)
        print(f"| {p:,} | {s} | {k_line(f.k_, f.k_interval_, 0.9, f.p_k_gt_1_, f.regime_)} |")
    fit = ScaleFit(at=1e6).fit([p for p, _, _ in sweep], [h for _, _, h in sweep],
                               [f"{p}:{s}" for p, s, _ in sweep])
    r = fit.result_dict()
    print(f"\nfit scale (levels, noise estimated): slope {r['slope_per_decade']:+.3f} ln k per decade "
          f"[{r['slope_interval'][0]:.3f}, {r['slope_interval'][1]:.3f}], P(slope > 0) = {r['p_slope_gt_0']:.3f}; "
          f"at 1e6: {k_line(r['k_at_target'], r['k_at_target_interval'], 0.9, r['p_k_gt_1_at_target'], r['regime_at_target'])}; "
          f"a new series there P(k > 1) = {r['p_new_series_k_gt_1_at_target']:.3f}; where k = 1: "
          + (f"{r['crossing']['scale']:.3g} parameters [{r['crossing']['interval'][0]:.3g}, "
             f"{r['crossing']['interval'][1]:.3g}]" if r["crossing"] else r["crossing_note"]))


if __name__ == "__main__":
    main()
