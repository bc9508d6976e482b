"""The self-training run's picture, in the form of Lee et al. 2025's figures (matplotlib, Agg).

Owns ``plot_rounds``: left, accuracy against length with one curve per round and each round's
horizon marked where its curve crosses the stated accuracy; right, the horizon per round with
its bootstrap interval, beside the strict frontier, how far labels reach and the precision of the
labels kept. Reads only the round records it is given; must not import torch, the store or the
experiment's code.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rsilab.report.figure import pyplot


def plot_rounds(rounds: list[dict[str, Any]], path: str | Path) -> Path:
    from matplotlib.ticker import MaxNLocator

    plt = pyplot()

    fig, (left, right) = plt.subplots(1, 2, figsize=(12.0, 4.8), gridspec_kw={"width_ratios": [1.3, 1.0]})
    cmap = plt.get_cmap("viridis")
    n = max(1, len(rounds) - 1)
    level = rounds[0].get("horizon_accuracy", 0.5) if rounds else 0.5
    for i, r in enumerate(rounds):
        acc = r["accuracy"]
        colour = cmap(i / n)
        left.plot(range(1, len(acc) + 1), acc, "-", color=colour, lw=1.4, label=f"round {r['round']}")
        if r.get("horizon") is not None:
            left.plot([r["horizon"]], [level], "v", color=colour, ms=7, mec="k", mew=0.5)
    left.axhline(level, color="k", lw=0.8, ls=":")
    left.set(xlabel="length (difficulty)", ylabel="accuracy (held-out, exact match)", ylim=(-0.02, 1.02),
             title=f"accuracy per round; triangles: horizon at {level:.0%}")
    left.legend(fontsize=7, ncol=2, loc="lower left")

    xs = [r["round"] for r in rounds]
    if rounds and rounds[0].get("horizon") is not None:
        h = [r["horizon"] for r in rounds]
        err = [[r["horizon"] - r["horizon_lo"] for r in rounds], [r["horizon_hi"] - r["horizon"] for r in rounds]]
        right.errorbar(xs, h, yerr=err, fmt="o-", capsize=3, label=f"horizon at {level:.0%} (90% interval)")
        if rounds[0].get("horizon_80") is not None:
            right.plot(xs, [r["horizon_80"] for r in rounds], "^--", ms=4, label="horizon at 80%")
    right.plot(xs, [r.get("frontier", float("nan")) for r in rounds], "s:", ms=4, label="strict frontier")
    right.plot(xs, [r.get("labelled_max", float("nan")) for r in rounds], "x-", alpha=0.5, label="labels reach")
    right.set(xlabel="round", ylabel="length")
    twin = right.twinx()
    prec = [float("nan") if r.get("label_precision") is None else r["label_precision"] for r in rounds]
    twin.plot(xs, prec, "d-", color="tab:red", ms=4, alpha=0.7, label="label precision")
    twin.set_ylim(-0.02, 1.02)
    twin.set_ylabel("precision of kept labels", color="tab:red")
    lines = right.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    right.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc="upper left")
    schedule = rounds[0].get("schedule") if rounds else None
    right.set_title("per round" + (f" (schedule: {schedule})" if schedule else ""))
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
