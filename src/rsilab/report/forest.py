"""The forest plot of pooled evidence: per-series k with intervals, grouped by method family,
each family's mean, the typical series' k and the k = 1 line, on a log axis (k is a ratio).

Reads the dict of ``PooledK.result_dict()``; imports matplotlib (Agg) only when called.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_forest(result: dict[str, Any], path: str | Path, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon

    series = result["series"]
    families = list(dict.fromkeys(s["family"] for s in series))
    rows: list[tuple[str, Any]] = []
    for fam in families:
        rows.append(("family", fam))
        rows.extend(("series", s) for s in series if s["family"] == fam)
    rows.append(("pooled", None))
    height = 0.26 * len(rows) + 1.4
    fig, ax = plt.subplots(figsize=(9, height))
    labels, y = [], len(rows)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]

    def diamond(center, lo, hi, yy, colour):
        ax.add_patch(Polygon([(lo, yy), (center, yy + 0.35), (hi, yy), (center, yy - 0.35)], closed=True,
                             facecolor=colour, edgecolor="k", lw=0.6))

    for kind, item in rows:
        y -= 1
        if kind == "family":
            fam = result["families"].get(item)
            colour = colours[families.index(item) % len(colours)]
            if fam:
                lo, hi = fam["k_interval"]
                diamond(fam["k"], lo, hi, y, colour)
                labels.append((y, f"{item}: mean k {fam['k']:.2f}", "bold"))
            else:
                labels.append((y, item, "bold"))
        elif kind == "series":
            colour = colours[families.index(item["family"]) % len(colours)]
            lo, hi = item["k_own_interval"]
            ax.plot([lo, hi], [y, y], color=colour, lw=1.2)
            ax.plot(item["k_own"], y, "s", color=colour, ms=4)
            ax.plot(item["k_shrunk"], y, "o", mfc="white", mec="k", ms=4)
            labels.append((y, item["name"], "normal"))
        else:
            lo, hi = result["k_interval"]
            diamond(result["k"], lo, hi, y, "black")
            labels.append((y, f"typical k {result['k']:.2f} [{lo:.2f}, {hi:.2f}]", "bold"))
    ax.axvline(1.0, color="red", lw=1, ls="--")
    ax.set_yticks([lab[0] for lab in labels])
    ax.set_yticklabels([lab[1] for lab in labels], fontsize=7)
    for tick, lab in zip(ax.get_yticklabels(), labels):
        tick.set_fontweight(lab[2])
    ax.set_ylim(-0.8, len(rows) - 0.2)
    lo_all = min(min(s["k_own_interval"][0] for s in series), result["k_interval"][0])
    hi_all = max(max(s["k_own_interval"][1] for s in series), 1.5)
    if lo_all > 0:
        ax.set_xscale("log")
        ax.set_xlim(lo_all / 1.2, hi_all * 1.2)
    else:   # the ratio method's k can be negative (a gain followed by a loss)
        ax.set_xlim(max(lo_all, -2.0) - 0.1, min(hi_all, 3.0) + 0.1)
    ax.set_xlabel(f"k, ratio of successive gains ({result.get('level', 0.9):.0%} intervals, log axis)\n"
                  "squares: each series' own k; circles: shrunk by the pooled model;\n"
                  "diamonds: family means and the typical series; dashed: k = 1", fontsize=8)
    ax.set_title(title or "returns per round, pooled", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
