"""The chart of k across scale: k per series with its interval, the fitted trend and its band,
extended to the target scale, with k = 1 marked; k on a log axis (the trend is linear in ln k). Reads a fitted ``ScaleFit``; matplotlib (Agg)
only, imported when a chart is written."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def scale_chart(est, path: Path, title: str = "returns per round (k) across scale",
                xlabel: str = "scale (parameters or FLOP per round)") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    s = est.series_
    x = np.array([r["scale"] for r in s])
    k = np.array([r["k"] for r in s])
    lo = np.array([r["k_interval"][0] if r["k_interval"] else r["k"] for r in s])
    hi = np.array([r["k_interval"][1] if r["k_interval"] else r["k"] for r in s])
    ax.errorbar(x, k, yerr=[k - lo, hi - k], fmt="o", color="k", ms=4, capsize=3,
                label=f"k per series ({est.level:.0%} interval)")
    lo_s, hi_s = est.scale_range_
    fitted = np.geomspace(lo_s, hi_s, 100)
    p = est.predict(fitted)
    ax.plot(p["scale"], p["k"], "C0", label=f"trend: ln k {est.params_['slope']:+.3f} per decade")
    ax.fill_between(p["scale"], p["low"], p["high"], color="C0", alpha=0.2, lw=0)
    if est.target_ > hi_s or est.target_ < lo_s:
        ext = np.geomspace(min(est.target_, hi_s), max(est.target_, lo_s), 100)
        q = est.predict(ext)
        ax.plot(q["scale"], q["k"], "C1--",
                label=f"extrapolation ({est.extrapolation_orders_:.1f} orders of magnitude)")
        ax.fill_between(q["scale"], q["low"], q["high"], color="C1", alpha=0.15, lw=0)
    kt = est.estimates_["k_at_target"]
    if kt.interval:
        ax.errorbar([est.target_], [kt.value], yerr=[[kt.value - kt.interval[0]], [kt.interval[1] - kt.value]],
                    fmt="s", color="C3", capsize=4, label=f"k at {est.target_:.3g}: P(k > 1) = {est.p_k_gt_1_at_target_:.2f}")
    ax.axhline(1.0, color="grey", ls=":", lw=1)
    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="k (ratio of successive gains), log axis",
           title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
