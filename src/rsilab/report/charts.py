"""Charts of an ensemble: a fan chart of trajectories, a regime chart, and the model's own
time series (e.g. probability of escape over time); for an outcome model (no paths, no
regimes), the CDF of each by-horizon metric over all samples (e.g. years after SC per
milestone) and each declared series' quantile bands. Titles lead with the takeoff story (the
summary's ``takeoff``: P(explosive at some point), where it ends). Uses matplotlib's Agg backend
(report.figure); imported only when a chart is written, so the CLI starts fast.
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from rsilab.report.figure import pyplot

REGIME_COLOURS = {"explosion": "#d62728", "combustion": "#ff7f0e", "fizzle": "#1f77b4", "ceiling": "#2ca02c"}


def story_line(takeoff: dict[str, Any] | None) -> str:
    """One line for a title: P(explosive at some point) and how the takeoff ends."""
    if not takeoff:
        return ""
    ends = takeoff["ends"]
    end = ends["most_likely"]
    return (f"P(explosive at some point) {takeoff['p_explosive']:.2f}; ends {end} "
            f"{ends['late_regime_probabilities'][end]:.2f}: {ends['means'][end].split(':')[-1].strip()}")


def fan_chart(ensemble, path: Path, takeoff: dict[str, Any] | None = None) -> Path:
    """Quantile bands of log10 capability multiple over time, from the kept trajectories."""
    plt = pyplot()
    rows = ensemble.fan_rows.astype(float) / np.log(10.0)  # log10 multiple of initial capability
    t = ensemble.t_grid
    fig, ax = plt.subplots(figsize=(8, 5))
    cap = np.log10(ensemble.scenario.simulation["cap_multiple"])
    shown = np.minimum(rows, cap)  # blown-up samples sit at the cap
    for lo, hi, alpha in ((5, 95, 0.15), (10, 90, 0.25), (25, 75, 0.35)):
        ax.fill_between(t, np.percentile(shown, lo, axis=0), np.percentile(shown, hi, axis=0),
                        alpha=alpha, color="#444", lw=0, label=f"{lo}-{hi}%")
    ax.plot(t, np.percentile(shown, 50, axis=0), color="black", lw=2, label="median")
    for m in ensemble.scenario.capability_multiples:
        ax.axhline(np.log10(m), color="grey", ls=":", lw=1)
    ax.set_xlabel("years")
    ax.set_ylabel("log10 capability / initial capability")
    ax.set_title(f"{ensemble.scenario.name}: {story_line(takeoff)}\n"
                 f"{len(rows):,} of {ensemble.n:,} trajectories (blow-ups drawn at the cap, 10^{cap:.0f})", fontsize=10)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def regime_chart(ensemble, path: Path, takeoff: dict[str, Any] | None = None) -> Path:
    """Regime probabilities (with 95% intervals) and effective returns against the returns parameter."""
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    labels = list(REGIME_COLOURS)
    x = np.arange(len(labels))
    for offset, phase, hatch in ((-0.2, "early", "//"), (0.2, "late", "")):
        probs = ensemble.regime_probabilities(phase)
        a1.bar(x + offset, [probs[k]["p"] for k in labels], width=0.38, yerr=[1.96 * probs[k]["se"] for k in labels],
               color=[REGIME_COLOURS[k] for k in labels], hatch=hatch, edgecolor="white", capsize=3)
    a1.set_xticks(x, labels)
    a1.set_ylim(0, 1)
    a1.set_ylabel("probability (95% interval)")
    a1.set_title(f"how it starts and where it ends ({ensemble.n:,} samples)"
                 + (f"\nP(explosive at some point) {takeoff['p_explosive']:.2f}" if takeoff else ""), fontsize=10)
    from matplotlib.patches import Patch

    a1.legend(handles=[Patch(facecolor="grey", hatch="//", edgecolor="white", label="early: how it starts (first interval)"),
                       Patch(facecolor="grey", label="late: where it ends (second half)")], fontsize=8)
    rp = ensemble.scenario.model.returns_param
    k = min(ensemble.n, 5000)
    ret = ensemble.returns_eff[:k]
    x = ensemble.params[rp][:k] if rp in ensemble.params else np.arange(k)
    for code, label in enumerate(labels):
        sel = ensemble.regime[:k] == code
        a2.scatter(x[sel], np.clip(ret[sel], -5, 10), s=4, alpha=0.5, color=REGIME_COLOURS[label], label=label)
    a2.axhline(1.0, color="grey", ls=":")
    a2.set_xlabel(rp if rp in ensemble.params else "sample")
    a2.set_ylabel("effective returns, " + ("late: where it ends" if ensemble.phase == "late" else "early: how it starts"))
    a2.set_title("above 1: explosive; about 1: steady exponential; below 1: slowing", fontsize=10)
    a2.legend(markerscale=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def grid_outputs_chart(ensemble, path: Path) -> Path | None:
    """The model's own series over time (means over samples), e.g. P(escape by t)."""
    if not ensemble.grid_means:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, series in ensemble.grid_means.items():
        ax.plot(ensemble.t_grid, series, lw=2, label=name)
    ax.set_xlabel("years")
    ax.set_ylabel("mean over samples")
    ax.set_title(f"{ensemble.scenario.name}: control outputs")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _calendar(ensemble) -> tuple[float, str]:
    """(offset, label) of the time axis: calendar years where the model declares its origin."""
    origin = ensemble.scenario.model.time_origin
    return (0.0, "years") if origin is None else (float(origin), "year")


def metric_cdf_chart(ensemble, path: Path) -> Path:
    """Per by-horizon metric, the fraction of all samples that reached it by each time (a
    sample not reached within the horizon never counts, so a curve ends below 1). Times from
    the start on a log axis; calendar years (a model with a time origin) on a linear one."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    model = ensemble.scenario.model
    calendar = model.time_origin is not None
    shown = [m for m in model.metrics if m.by_horizon]
    positive = [v[v > 0] for v in (ensemble.metrics[m.name] for m in shown)]
    low = min((float(np.nanmin(v)) for v in positive if np.isfinite(v).any()), default=1e-3)
    for m in shown:
        t = np.sort(ensemble.metrics[m.name][np.isfinite(ensemble.metrics[m.name])])
        frac = np.arange(1, t.size + 1) / ensemble.n
        ax.step(t if calendar else np.maximum(t, low), frac, where="post", lw=2,
                label=f"{m.name} (reached {t.size / ensemble.n:.2f})")
    if not calendar:
        ax.set_xscale("log")
    ax.set_ylim(0, 1)
    quantity = shown[0].quantity.replace("_", " ") if shown else "years"
    scale = "" if calendar else "log scale, a zero drawn at the smallest positive value; "
    ax.set_xlabel(f"{quantity} ({scale}horizon {ensemble.scenario.horizon_years:g})")
    ax.set_ylabel("fraction of all samples")
    ax.set_title(f"{ensemble.scenario.name}: {ensemble.n:,} samples", fontsize=10)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def series_chart(ensemble, path: Path) -> Path | None:
    """Each declared series' median and 10-90% band over the kept samples."""
    model = ensemble.scenario.model
    if not model.series:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(len(model.series), 1, figsize=(8, 3.5 * len(model.series)), squeeze=False)
    bands = ensemble.series_bands()   # the quantiles the store keeps, at the ensemble's percents
    at = {pct: i for i, pct in enumerate(ensemble.series_percents)}
    offset, label = _calendar(ensemble)
    for ax, s in zip(axes[:, 0], model.series):
        rows = ensemble.series_rows[s.name]
        quantiles = bands[s.name][0]
        p10, p50, p90 = quantiles[at[10]], quantiles[at[50]], quantiles[at[90]]
        ax.fill_between(ensemble.t_grid + offset, p10, p90, alpha=0.25, color="#444", lw=0, label="10-90%")
        ax.plot(ensemble.t_grid + offset, p50, color="black", lw=2, label="median")
        if s.log_scale:
            ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel(f"{s.name} ({s.unit})")
        ax.set_title(textwrap.fill(f"{s.meaning} ({rows.shape[0]:,} samples)", 100), fontsize=9)
        ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_charts(ensemble, out_dir: Path, summary: dict[str, Any] | None = None) -> list[Path]:
    """Every chart of the ensemble into ``out_dir``; ``summary`` (its ``takeoff``) titles them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = ensemble.scenario.name
    if ensemble.scenario.model.kind == "outcome":
        extra = series_chart(ensemble, out_dir / f"{stem}-series.png")
        return [metric_cdf_chart(ensemble, out_dir / f"{stem}-cdf.png")] + ([extra] if extra else [])
    takeoff = (summary or {}).get("takeoff")
    paths = [fan_chart(ensemble, out_dir / f"{stem}-fan.png", takeoff),
             regime_chart(ensemble, out_dir / f"{stem}-regimes.png", takeoff)]
    extra = grid_outputs_chart(ensemble, out_dir / f"{stem}-control.png")
    return paths + ([extra] if extra else [])
