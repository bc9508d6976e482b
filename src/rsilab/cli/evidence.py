"""``rsilab evidence list|show|fit``: the published per-round evidence, and its pooled k.

Thin: loads the registry (``rsilab.estimate.evidence``), users' files (``--add``) and stored
runs (``--add-run``, read by ``rsilab.store.rounds.rounds_of``), calls the pooling, prints a table
or JSON, writes the forest plot (``rsilab.report.forest``) and records the fit with its prior.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click

from rsilab.cli.common import echo_json, friendly_errors, print_table, record_fit, store_option
from rsilab.cli.untrusted import safe_text

_TRANSFORM_CHOICES = ("auto", "raw", "logit", "neglog-error", "log")

# series names are long: evidence tables are drawn 200 columns wide whatever the terminal
_table = functools.partial(print_table, width=200)


@click.group(short_help="Published per-round results of self-improvement, and k pooled across them.")
def evidence() -> None:
    """Published per-round results of self-improvement, and k pooled across them."""


def _transform_arg(value: str) -> str | None:
    from rsilab.estimate.transforms import check_transform

    return None if value == "auto" else check_transform(value)


@evidence.command("list", short_help="The registry's series: method, size, metric, rounds, judge.")
@click.option("--add", "add_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Also list the series of this CSV (registry format; repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the series as JSON.")
@friendly_errors
def list_(add_files: tuple[Path, ...], as_json: bool) -> None:
    """The series in the registry: method, model size, metric, rounds, confidence, external judge."""
    from rsilab.estimate.evidence import load_registry

    series = load_registry() + [s for f in add_files for s in load_registry(f)]
    if as_json:
        echo_json([s.summary() for s in series])
        return
    rows = [(s.series_id, s.method[:48], s.model_params or "?", s.metric[:48], str(len(s.rounds)),
             s.confidence or "-", "yes" if s.external else "no") for s in series]
    _table(f"{len(series)} series, {sum(len(s.rounds) for s in series)} rows",
           ("series", "method", "model size", "metric", "rounds", "confidence", "external judge/teacher"), rows)


@evidence.command("show", short_help="A series' values, gains, k and citation.")
@click.argument("series_id", metavar="SERIES")
@click.option("--transform", default="auto", show_default=True,
              help="Capability scale: auto (logit for bounded metrics, else raw), raw, logit, neglog-error, log.")
@click.option("--add", "add_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Also look in this CSV (registry format; repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the series as JSON.")
@friendly_errors
def show(series_id: str, transform: str, add_files: tuple[Path, ...], as_json: bool) -> None:
    """A series' values, gains, its own k under each transform, and its citation."""
    import numpy as np

    from rsilab.errors import ConfigError
    from rsilab.estimate.evidence import load_registry
    from rsilab.estimate.transforms import TRANSFORMS, describe, value_problem

    series = {s.series_id: s for s in load_registry() + [s for f in add_files for s in load_registry(f)]}
    if series_id not in series:
        raise ConfigError("SERIES", series_id, "a series id from `rsilab evidence list`")
    s = series[series_id]
    t = _transform_arg(transform) or s.default_transform
    y = s.transformed(t)
    g = np.diff(y)
    ratios = [float(b / a) if a != 0 else None for a, b in zip(g[:-1], g[1:])]
    k_by = {}
    for name in TRANSFORMS:
        ok = all(value_problem(float(v), name, s.ceiling) is None for v in s.values)
        k_by[name] = s.k(name) if ok else None
    out = dict(s.summary(), transform=t, transform_formula=describe(t, s.ceiling), ceiling=s.ceiling,
               rounds_list=s.rounds.tolist(), values=s.values.tolist(), transformed=y.tolist(), gains=g.tolist(),
               gain_ratios=ratios, k=s.k(t), k_by_transform=k_by)
    if as_json:
        echo_json(out)
        return
    click.echo(safe_text(f"{s.series_id}: {s.method}"))
    click.echo(safe_text(f"  model {s.model or '?'} ({s.model_params or '?'}), {s.benchmark or ''} - {s.metric}"))
    click.echo(safe_text(f"  family: {s.family}; external judge or teacher: {'yes' if s.external else 'no'}; "
                         f"confidence: {s.confidence or '-'}"))
    click.echo(safe_text(f"  source: {s.source or '-'} (arXiv {s.arxiv or '-'}); {s.location or ''}"))
    click.echo(f"  transform: {describe(t, s.ceiling)}")
    rows = []
    for i, (r, v, yy) in enumerate(zip(s.rounds, s.values, y)):
        gain = f"{g[i - 1]:+.4f}" if i else ""
        ratio = ratios[i - 2] if i >= 2 else None
        rows.append((str(r), f"{v:g}", f"{yy:.4f}", gain, "" if ratio is None else f"{ratio:.3f}"))
    _table("rounds", ("round", "value", t, "gain", "gain / previous gain"), rows)
    click.echo(f"k (least-squares ratio of successive gains, {t}) = {out['k']:.3f}")
    click.echo("k under each transform: " + ", ".join(f"{n} {v:.3f}" if v is not None else f"{n} n/a"
                                                       for n, v in k_by.items()))


@evidence.command("fit", short_help="Pool k across series (random effects); forest plot.")
@click.option("--transform", default="auto", show_default=True,
              help="Capability scale for every series: auto (logit for bounded metrics, else raw), raw, logit, "
                   "neglog-error, log.")
@click.option("--all-transforms", is_flag=True, help="Also print the pooled k under every transform.")
@click.option("--pure-self", is_flag=True,
              help="Headline the fit without series whose method uses an external judge or teacher "
                   "(SPPO, iterative DPO/IPO with PairRM, DNO); both fits are always reported.")
@click.option("--add", "add_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Include the series of this CSV (registry format; repeatable).")
@click.option("--add-run", "add_runs", multiple=True, type=int,
              help="Include the rounds of this stored run (rsilab.track or an experiment; repeatable).")
@click.option("--only-added", is_flag=True, help="Pool only the series from --add/--add-run, not the registry.")
@click.option("--level", type=float, default=0.9, show_default=True, help="Interval level.")
@click.option("--prior-family", default=None,
              help="The prior in --json: a new series' k of this method family (default: pooled).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the forest plot PNG here (none is written without it).")
@click.option("--json", "as_json", is_flag=True, help="Print both fits (all series, pure self) as JSON.")
@store_option
@friendly_errors
def fit(transform: str, all_transforms: bool, pure_self: bool, add_files: tuple[Path, ...], add_runs: tuple[int, ...],
        only_added: bool, level: float, prior_family: str | None, plot_path: Path | None, as_json: bool,
        store_path: Path | None) -> None:
    """Pool k across series: random-effects fit with clusters, families, shrinkage and influence."""
    from rsilab.errors import ConfigError
    from rsilab.estimate.evidence import load_registry, pool, pool_log_ratio_check, select
    from rsilab.estimate.transforms import TRANSFORMS
    from rsilab.report.forest import plot_forest
    from rsilab.store import Store

    if not 0 < level < 1:
        raise ConfigError("--level", level, "a probability in (0, 1), e.g. 0.9")
    t = _transform_arg(transform)
    series = [] if only_added else load_registry()
    for f in add_files:
        series += load_registry(f)
    if add_runs:
        with Store(store_path) as st:
            series += [_run_series(st, r) for r in add_runs]
    ids = [s.series_id for s in series]
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup:
        raise ConfigError("series_id", dup, "unique across the registry and the added files (rename the added series)")
    fits: dict[str, Any] = {}
    for name, pure in (("all", False), ("pure_self", True)):
        chosen = select(series, pure_self=pure)
        fits[name] = (chosen, pool(chosen, transform=t, level=level) if len(chosen) >= 2 else None)
    log_check = {n: (pool_log_ratio_check(c, transform=t, level=level) if len(c) >= 2 else None)
                 for n, (c, _) in fits.items()}
    primary = "pure_self" if pure_self else "all"
    chosen, est = fits[primary]
    if est is None:
        raise ConfigError("--pure-self", True, f"at least 2 series left to pool (found {len(chosen)})")
    if prior_family is not None and prior_family not in est.families_:
        raise ConfigError("--prior-family", prior_family, f"one of: {', '.join(est.families_) or '(one family only)'}")
    used = {s.series_id: (t or s.default_transform) for s in chosen}
    out: dict[str, Any] = {"transform": transform, "series_transforms": used, "primary": primary,
                           "fits": {n: (e.result_dict() if e is not None else None) for n, (_, e) in fits.items()},
                           "log_ratio_check": log_check,
                           "prior": est.to_prior(prior_family, source=f"pooled published evidence ({primary}, "
                                                                      f"transform {transform})")}
    if all_transforms:
        out["by_transform"] = {}
        for name in ("auto",) + TRANSFORMS:
            row = {}
            for sel, pure in (("all", False), ("pure_self", True)):
                try:
                    e = pool(select(series, pure_self=pure), transform=_transform_arg(name), level=level, loo=False)
                    row[sel] = {"k": e.k_, "k_interval": list(e.k_interval_), "tau": e.tau_,
                                "p_new_series_k_gt_1": e.p_new_k_gt_1_}
                except Exception as exc:  # a transform some series cannot take is reported, not fatal
                    from rsilab.errors import RsilabError

                    if not isinstance(exc, RsilabError):
                        raise
                    row[sel] = {"error": str(exc)}
            out["by_transform"][name] = row
    if plot_path is not None:
        plot_path.parent.mkdir(parents=True, exist_ok=True)
        plot_forest(out["fits"][primary], plot_path,
                    title=f"pooled k, {'pure self-improvement' if pure_self else 'all series'} "
                          f"({len(chosen)} series, transform {transform})")
    out["plot"] = str(plot_path) if plot_path is not None else None
    out["run_id"] = record_fit(store_path, "evidence", primary, {"transform": transform, "level": level,
                               "added_files": [str(f) for f in add_files], "added_runs": list(add_runs)},
                               {n: ({k: v for k, v in d.items() if k not in ("series", "leave_one_out")}
                                    if d else None) for n, d in out["fits"].items()}, None, prior=out["prior"])
    if as_json:
        echo_json(out)
        return
    _print_fit(out, est, chosen, t, transform)


def _fmt_iv(iv) -> str:
    return f"[{iv[0]:.3f}, {iv[1]:.3f}]"


def _print_fit(out: dict, est, chosen, t, transform: str) -> None:
    primary = out["primary"]
    scales = sorted(set(out["series_transforms"].values()))
    click.echo(f"transform: {transform}" + (f" ({', '.join(scales)} by metric)" if t is None else ""))
    rows = [(s["name"], s["family"][:32], f"{s['k_own']:.3f}", _fmt_iv(s["k_own_interval"]),
             f"{s['k_shrunk']:.3f}", f"{s.get('k_shrunk_family', float('nan')):.3f}", str(s["n_pairs"]))
            for s in est.series_]
    _table(f"per-series k ({'pure self-improvement' if primary == 'pure_self' else 'all series'})",
           ("series", "family", "own k", f"{est.level:.0%} interval", "shrunk to pooled", "shrunk to family",
            "pairs"), rows)
    fam_rows = [(f, str(v["n_series"]), f"{v['k']:.3f}", _fmt_iv(v["k_interval"]), f"{v['p_new_k_gt_1']:.3f}")
                for f, v in est.families_.items()]
    if fam_rows:
        _table("method families", ("family", "series", "mean k", f"{est.level:.0%} interval", "P(k > 1), new series"),
               fam_rows)
    for name, d in out["fits"].items():
        label = "all series" if name == "all" else "pure self (no external judge/teacher)"
        if d is None:
            click.echo(f"{label}: fewer than 2 series")
            continue
        click.echo(f"{label}: pooled k = {d['k']:.3f} {_fmt_iv(d['k_interval'])} ({d['level']:.0%}); "
                   f"tau = {d['tau']:.3f}, I^2 = {d['i2']:.2f}; P(k > 1) for a new series = "
                   f"{d['p_new_series_k_gt_1']:.3f}; {d['n_series']} series in {d['n_clusters']} clusters")
    for name, c in out["log_ratio_check"].items():
        if c and "median_k" in c:
            click.echo(f"check on ln(gain ratio) ({'all' if name == 'all' else 'pure self'}; {c['n_pairs_dropped']} "
                       f"pairs with a sign change dropped): median k = {c['median_k']:.3f} {_fmt_iv(c['interval'])}, "
                       f"P(k > 1) for a new series = {c['p_new_series_k_gt_1']:.3f}")
    loo = est.loo_[:3]
    if loo:
        click.echo(safe_text("most influential (pooled k without it): " +
                             "; ".join(f"{r['name']} {r['k_without']:.3f} ({r['change']:+.3f})" for r in loo)))
    if "by_transform" in out:
        rows = []
        for name, row in out["by_transform"].items():
            cells = []
            for sel in ("all", "pure_self"):
                r = row[sel]
                cells.append(f"{r['k']:.3f} {_fmt_iv(r['k_interval'])}" if "k" in r else f"n/a: {r['error'][:60]}")
            rows.append((name, *cells))
        _table("pooled k under each transform", ("transform", "all series", "pure self"), rows)
    click.echo(f"forest plot: {out['plot']}")
    click.echo(f"recorded as run {out['run_id']}")


def _run_series(st, run_id: int):
    """A stored experiment or rsilab.track run as an evidence series."""
    from rsilab.estimate.evidence import series_from_rounds
    from rsilab.store.rounds import rounds_of

    found = rounds_of(st, run_id)
    # a tracked run's config holds what the user said of it: method, metric, model size
    meta = found.run.config.get("config", {}) if found.experiment == "track" else {}
    params = meta.get("model_params")
    return series_from_rounds(f"run{run_id}:{found.run.name}", found.column("capability"),
                              method=meta.get("method", found.experiment), metric=meta.get("metric", "capability"),
                              model=f"run {run_id}", model_params="" if params is None else f"{params:g}",
                              origin=f"run {run_id}", first_round=found.rounds[0]["round"] if found.rounds else 0)
