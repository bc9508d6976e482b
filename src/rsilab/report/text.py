"""Runs as short plain text: the one-line headline of a stored run (``rsilab runs``, the
playground's runs list) and what ``print()`` shows of a forecast or a sensitivity result.

Reads summaries (the dicts the store keeps), never arrays. Imports nothing of ours but core.
"""
from __future__ import annotations

from typing import Any

from rsilab.core.solution import Status


def headline(summary: dict[str, Any]) -> str:
    """One line: a forecast's P(explosive at some point) and where it ends; an outcome model's
    medians of its first group of metrics (it has no regimes); a sensitivity run's output and
    its two most influential parameters (total-order Sobol indices, or Shapley effects); a
    fit's k or r; else the regime probabilities."""
    if summary.get("model_kind") == "outcome":
        return outcome_headline(summary)
    tk = summary.get("takeoff")
    if tk:
        end = tk["ends"]["most_likely"]
        return f"P(explosive) {tk['p_explosive']:.2f}, ends {end} {tk['ends']['late_regime_probabilities'][end]:.2f}"
    if "indices" in summary and "output" in summary:
        key, what = ("shapley", "Shapley") if summary.get("method") == "shapley" else ("ST", "total order")
        top = ", ".join(f"{r['parameter']} {r[key]:.2f}" for r in summary["indices"][:2])
        return f"{summary['output']}: {what} {top}" if top else str(summary["output"])
    rp = summary.get("regime_probabilities")
    if rp:
        return " ".join(f"{k[:4]} {v:.2f}" for k, v in rp.items())
    for q in ("k", "r"):
        if isinstance(summary.get(q), (int, float)):
            interval = summary.get(f"{q}_interval")
            shown = f"{q} {summary[q]:.3g}"
            if isinstance(interval, list) and len(interval) == 2 and all(isinstance(v, (int, float)) for v in interval):
                shown += f" [{interval[0]:.3g}, {interval[1]:.3g}]"
            return shown + (f", {summary['regime']}" if isinstance(summary.get("regime"), str) else "")
    return ""


def outcome_headline(summary: dict[str, Any]) -> str:
    """The first group's medians, with the fraction reached for by-horizon metrics."""
    g = summary["outcome_groups"][0]
    parts = []
    for decl in g["metrics"]:
        e = summary[g["group"]][decl["name"]]
        med = e[decl["quantity"]]["median"]
        parts.append(f"{decl['name']} {'-' if med is None else f'{med:.2f}'}"
                     + (f" ({e['fraction_reached']:.2f})" if decl["by_horizon"] else ""))
    return f"median {g['metrics'][0]['quantity']}: " + ", ".join(parts)


def _q(e: dict[str, Any] | None, fmt: str) -> str:
    if not e or e.get("median") is None:
        return "-"
    return f"{e['median']:{fmt}} [{e['p10']:{fmt}}, {e['p90']:{fmt}}]"


def forecast_text(s: dict[str, Any]) -> str:
    """A forecast's summary in a dozen lines: the takeoff story first, then the regimes by phase,
    the years to each multiple and the solver statuses (each with what it means)."""
    run = f"; run {s['run_id']}" if s.get("run_id") is not None else " (not recorded)"
    lines = [f"Forecast of {s['scenario']!r} (model {s['model']}): {s['n_samples']:,} samples, "
             f"{s['horizon_years']:g} years, seed {s['seed']}{run}"]
    if s.get("model_kind") == "outcome":
        return "\n".join(lines + outcome_lines(s))
    tk = s.get("takeoff")
    if tk:
        lines.append(f"  P(explosive at some point)  {tk['p_explosive']:.3f} ± {tk['p_explosive_se']:.4f}")
        if tk["p_explosive"] > 0:
            lines.append(f"    orders of magnitude gained while explosive  {_q(tk['ooms_while_explosive'], '.1f')}"
                         "  (median [p10, p90])")
            lines.append(f"    years explosive                             {_q(tk['years_explosive'], '.2f')}")
        for c in tk["compression"].values():
            lines.append(f"  P({c['what']})  {c['p']:.3f}")
        late = tk["ends"]["late_regime_probabilities"]
        ends = ", ".join(f"{k} {p:.3f}" for k, p in sorted(late.items(), key=lambda kv: -kv[1]) if p > 0)
        lines.append(f"  ends (late regime)  {ends}")
    by_phase = s["regime_probabilities_by_phase"]
    lines.append("  regimes, early / late: " + ", ".join(
        f"{k} {by_phase['early'][k]:.3f} / {by_phase['late'][k]:.3f}" for k in s["regime_probabilities"]))
    lines.append("  years to " + "; ".join(
        f"{m}: {_q(e, '.2f')}, reached by {e['fraction_reached']:.3f}" for m, e in s["threshold_times"].items()))
    counts = {k: v for k, v in s["status_counts"].items() if v}
    lines.append("  status: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    lines += [f"    {k}: {Status[k.upper()].message}" for k in counts if k != "finished"]
    lines.append("  .summary(): every figure; .to_pandas(): one row per sample; .report(path): the HTML report")
    return "\n".join(lines)


def outcome_lines(s: dict[str, Any]) -> list[str]:
    """An outcome model's metrics, group by group (median [p10, p90]; reached within the horizon)."""
    lines = []
    for g in s["outcome_groups"]:
        first = g["metrics"][0]
        lines.append(f"  {g['group']}: {first['quantity']} ({first['unit']}), median [p10, p90]")
        for decl in g["metrics"]:
            e = s[g["group"]][decl["name"]]
            q = e[decl["quantity"]]
            shown = ("beyond the horizon" if q["median"] is None else
                     f"{q['median']:.3g} [{'-' if q['p10'] is None else format(q['p10'], '.3g')}, "
                     f"{'beyond the horizon' if q['p90'] is None else format(q['p90'], '.3g')}]")
            reached = f", reached by {e['fraction_reached']:.3f}" if decl["by_horizon"] else ""
            lines.append(f"    {decl['name']}: {shown}{reached}")
    lines.append(f"  regimes: {s['regimes']}")
    lines.append("  .summary(): every figure; .to_pandas(): one row per sample; .report(path): the HTML report")
    return lines


def sensitivity_text(s: dict[str, Any]) -> str:
    """Sobol indices or Shapley effects as a small table, the largest first."""
    run = f"; run {s['run_id']}" if s.get("run_id") is not None else " (not recorded)"
    shapley = s.get("method") == "shapley"
    what = f"Shapley effects ({s['estimator']} estimator)" if shapley else "Sobol indices"
    cols = (("shapley", "Shapley"), ("S1", "S1"), ("ST", "ST")) if shapley else (("S1", "S1"), ("ST", "ST"))
    lines = [f"{what} of {s['output']} ({s['scenario']!r}, model {s['model']}): {s['n_evaluations']:,} "
             f"simulations, seed {s['seed']}{run}",
             f"  {'parameter':<14}" + "".join(f" {name:>7} {'± 95%':>7}" for _, name in cols)]

    def cell(v: Any) -> str:
        return f" {'-':>7}" if v is None else f" {v:>7.3f}"

    for r in s["indices"]:
        lines.append(f"  {r['parameter']:<14}" + "".join(cell(r[k]) + cell(r[f"{k}_conf"]) for k, _ in cols))
    if s.get("correlations_ignored"):
        lines.append("  the scenario's correlations are not applied (Sobol indices assume independent inputs)")
    lines.append("  .indices: the rows; .to_pandas(): a table; result['...']: as `rsilab sensitivity --json`")
    return "\n".join(lines)
