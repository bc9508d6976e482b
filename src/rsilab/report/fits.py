"""Charts of fits (``rsilab fit ... --plot``): a scaling law, returns to R&D, returns per round.

Each takes a fitted estimator from ``rsilab.estimate`` and the data it was fitted to, writes one
PNG and returns its path. Imports numpy and report.figure only; never the CLI or the store.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rsilab.report.figure import pyplot


def scaling_chart(form: str, est, data: tuple, path: Path) -> Path:
    """Chinchilla: fitted against observed loss; power/BNSL: data, held-out rows, fit and interval."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if form == "chinchilla":
        N, D, L = data
        pred = est.predict(N, D)
        ax.scatter(L, pred, s=10)
        lim = [min(L.min(), pred.min()), max(L.max(), pred.max())]
        ax.plot(lim, lim, "k--", lw=1)
        ax.set(xlabel="observed loss", ylabel="fitted loss", xscale="log", yscale="log",
               title=f"Chinchilla fit: alpha={est.params_['alpha']:.3f}, beta={est.params_['beta']:.3f}")
    else:
        x, y, mask = data
        m = mask if mask is not None else np.ones(len(x), bool)
        ax.scatter(x[m], y[m], c="k", s=14, label="fitted points")
        if (~m).any():
            ax.scatter(x[~m], y[~m], c="tab:green", s=14, label="held out")
        grid = np.geomspace(x.min() * 0.8, x.max() * 1.2, 300)
        ex = est.extrapolate(grid)
        ax.plot(grid, ex["y"], "r", label="fit")
        if "interval" in ex:
            ax.fill_between(grid, ex["interval"][0], ex["interval"][1], color="r", alpha=0.15, label="interval")
        ax.set(xlabel="x", ylabel="loss", xscale="log", title=f"{form} fit")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def rnd_returns_chart(est, inputs: dict, endpoints: dict, path: Path) -> Path:
    """Per domain: ln research input and the ln efficiency gain it bought (slope ratio: r)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for dom, (years, inp) in inputs.items():
        ax.plot(years, np.log(inp / inp[0]), "o-", ms=3, label=f"{dom}: ln input")
        if dom in endpoints:
            t0, t1, e0, e1 = endpoints[dom]
            ax.plot([t0, t1], [0, np.log(e1 / e0)], "--", label=f"{dom}: ln efficiency (r={est.domains_[dom]['r_growth_ratio']:.2f})")
    ax.set(xlabel="year index", ylabel="log growth since start", title="returns to R&D")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def rounds_chart(data: dict, est, path: Path) -> Path:
    """Capability per round with the fitted path and its band, and the ratio of successive gains
    against capability with the fitted k."""
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(data["round"], data["capability"], "o", label="data")
    if est.fitted_ is not None:
        f = est.fitted_
        a1.fill_between(f["round"], f["band"][0], f["band"][1], color="r", alpha=0.2, lw=0, label="band (k's interval)")
        a1.plot(f["round"], f["level"], "r-", lw=1, label="fit: geometric gains")
        a1.legend(fontsize=8)
    a1.set(xlabel="round", ylabel="capability", title="capability per round")
    kb = est.k_by_capability_
    a2.scatter(kb["capability"], kb["k"], s=14)
    a2.axhline(1, color="k", lw=1)
    a2.axhline(est.params_["k"], color="r", lw=1, label=f"k = {est.params_['k']:.3f}")
    a2.set(xlabel="capability", ylabel="ratio of successive gains (noisy)", title=f"verdict: {est.regime_}")
    a2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
