"""The self-training run's picture: frontier and label precision per round (matplotlib, Agg).

Owns ``plot_rounds``; reads only the round records it is given, never the store or torch.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_rounds(rounds: list[dict[str, Any]], path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [r["round"] for r in rounds]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 6.0), sharex=True)
    top.plot(xs, [r["frontier"] for r in rounds], "o-", label="frontier (accuracy >= threshold)")
    top.plot(xs, [r.get("labelled_max", float("nan")) for r in rounds], "s--", alpha=0.6, label="labelled up to")
    top.set_ylabel("difficulty")
    top.legend(loc="upper left")
    prec = [float("nan") if r.get("label_precision") is None else r["label_precision"] for r in rounds]
    kept = [float("nan") if r.get("kept_fraction") is None else r["kept_fraction"] for r in rounds]
    bottom.plot(xs, prec, "o-", label="label precision (kept labels that are right)")
    bottom.plot(xs, kept, "x:", label="kept fraction")
    bottom.set_ylim(-0.02, 1.02)
    bottom.set_xlabel("round")
    bottom.set_ylabel("fraction")
    bottom.legend(loc="lower left")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
