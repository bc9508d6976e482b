"""``rsilab evidence list|show|fit|scale``: the published per-round evidence, and k pooled across it.

Thin: loads the registry (``rsilab.estimate.evidence``), users' files (``--add``) and stored
runs (``--add-run``, read by ``rsilab.store.rounds.rounds_of``), calls the pooling
(``rsilab.estimate.pooling``) or the trend across scale (``rsilab.estimate.scale``), prints a
table or JSON, writes the forest plot (``rsilab.report.forest``) and records the fit with its prior.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rsilab.cli.common import echo_json, friendly_errors, print_table, print_wide_table, record_fit, store_option
from rsilab.cli.untrusted import safe_text

_ADD = click.option("--add", "add_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
                    help="Also use the series of this CSV (registry format; repeatable).")
_ADD_RUN = click.option("--add-run", "add_runs", multiple=True, type=int,
                        help="Also use the rounds of this stored run (rsilab.track or an experiment; repeatable).")
_TRANSFORM = click.option("--transform", default="auto", show_default=True,
                          help="Capability scale for every series: auto (logit for bounded metrics, else raw), raw, "
                               "logit, neglog-error, log.")
_WIDE = click.option("--wide", is_flag=True, help="Every column, whatever the terminal's width.")


@click.group(short_help="Published per-round results of self-improvement, and k pooled across them.")
def evidence() -> None:
    """Published per-round results of self-improvement, and k pooled across them."""


def _transform_arg(value: str) -> str | None:
    from rsilab.estimate.transforms import check_transform

    return None if value == "auto" else check_transform(value)


def _series(add_files, add_runs=(), store_path=None, only_added: bool = False) -> list:
    """The registry's series (unless ``only_added``), then the added files' and runs'; ids unique."""
    from rsilab.errors import ConfigError
    from rsilab.estimate.evidence import load_registry

    series = [] if only_added else load_registry()
    for f in add_files:
        series += load_registry(f)
    if add_runs:
        from rsilab.store import Store

        with Store(store_path) as st:
            series += [_run_series(st, r) for r in add_runs]
    ids = [s.series_id for s in series]
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup:
        raise ConfigError("series_id", dup, "unique across the registry and the added files (rename the added series)")
    return series


def _run_series(st, run_id: int):
    """A stored experiment or rsilab.track run as an evidence series, with the noise its rounds logged."""
    from rsilab.estimate.evidence import series_from_rounds
    from rsilab.store.rounds import rounds_of

    found = rounds_of(st, run_id)
    # a tracked run's config holds what the user said of it: method, metric, model size
    meta = found.run.config.get("config", {}) if found.experiment == "track" else {}
    params = meta.get("model_params")
    return series_from_rounds(f"run{run_id}:{found.run.name}", found.column("capability"),
                              method=meta.get("method", found.experiment), metric=meta.get("metric", "capability"),
                              model=f"run {run_id}", model_params="" if params is None else f"{params:g}",
                              origin=f"run {run_id}", first_round=found.rounds[0]["round"] if found.rounds else 0,
                              **found.noise())


def _noise(s) -> str:
    if s.noise == "binomial":
        return f"binomial, n={s.n_items[0]:g}"
    return "se given" if s.noise == "known" else "estimated"


def _iv(iv) -> str:
    return f"[{iv[0]:.3g}, {iv[1]:.3g}]"


@evidence.command("list", short_help="The registry's series: method, family, size, metric, rounds, noise, judge.")
@_ADD
@_WIDE
@click.option("--json", "as_json", is_flag=True, help="Print the series as JSON.")
@friendly_errors
def list_(add_files: tuple[Path, ...], wide: bool, as_json: bool) -> None:
    """The series in the registry: method, family, model size, metric, rounds, noise, external judge."""
    series = _series(add_files)
    if as_json:
        echo_json([s.summary() for s in series])
        return
    rows = [[s.series_id, s.model_params or "?", str(len(s.rounds)), _noise(s), "yes" if s.external else "no",
             s.family, s.confidence or "-", s.method, s.metric] for s in series]
    print_wide_table(f"{len(series)} series, {sum(len(s.rounds) for s in series)} rows",
                     ["series", "model size", "rounds", "noise", "external judge", "family", "confidence", "method",
                      "metric"], rows, wide=wide)


@evidence.command("show", short_help="A series' values, gains, k with its interval, noise and citation.")
@click.argument("series_id", metavar="SERIES")
@_TRANSFORM
@_ADD
@click.option("--json", "as_json", is_flag=True, help="Print the series as JSON.")
@friendly_errors
def show(series_id: str, transform: str, add_files: tuple[Path, ...], as_json: bool) -> None:
    """A series' values, gains, its own k (with its noise) under each transform, and its citation."""
    import numpy as np

    from rsilab.errors import ConfigError, RsilabError
    from rsilab.estimate.transforms import TRANSFORMS, describe
    from rsilab.estimate.verdict import k_line

    series = {s.series_id: s for s in _series(add_files)}
    if series_id not in series:
        raise ConfigError("SERIES", series_id, "a series id from `rsilab evidence list`")
    s = series[series_id]
    t = _transform_arg(transform) or s.default_transform
    y = s.transformed(t) if s.n_items is None else None
    fit = s.fit(t)
    k_by: dict[str, Any] = {}
    for name in TRANSFORMS:
        try:
            f = fit if name == t else s.fit(name)
            k_by[name] = {"k": f.k_, "k_interval": list(f.k_interval_), "regime": f.regime_}
        except RsilabError as exc:
            k_by[name] = str(exc)
    out = dict(s.summary(), transform=t, transform_formula=describe(t, s.ceiling), ceiling=s.ceiling,
               rounds_list=s.rounds.tolist(), values=s.values.tolist(),
               transformed=None if y is None else y.tolist(), fit=fit.result_dict(), k=fit.k_,
               k_interval=list(fit.k_interval_), p_k_gt_1=fit.p_k_gt_1_, regime=fit.regime_, k_by_transform=k_by)
    if as_json:
        echo_json(out)
        return
    click.echo(safe_text(f"{s.series_id}: {s.method}"))
    click.echo(safe_text(f"  model {s.model or '?'} ({s.model_params or '?'}), {s.benchmark or ''} - {s.metric}"))
    click.echo(safe_text(f"  family: {s.family}; cluster: {s.cluster}; external judge or teacher: "
                         f"{'yes' if s.external else 'no'}; confidence: {s.confidence or '-'}"))
    click.echo(safe_text(f"  source: {s.source or '-'} (arXiv {s.arxiv or '-'}); {s.location or ''}"))
    click.echo(safe_text(f"  noise: {_noise(s)}" + (f" ({s.noise_source})" if s.noise_source else "")))
    click.echo(f"  transform: {describe(t, s.ceiling)}")
    scale = y if y is not None else None
    rows = []
    for i, (r, v) in enumerate(zip(s.rounds, s.values)):
        yy = "" if scale is None else f"{scale[i]:.4f}"
        gain = "" if scale is None or i == 0 else f"{scale[i] - scale[i - 1]:+.4f}"
        rows.append((str(r), f"{v:g}", yy, gain))
    print_table("rounds", ("round", "value", t, "gain"), rows)
    click.echo(k_line(fit.k_, fit.k_interval_, fit.level, fit.p_k_gt_1_, fit.regime_))
    click.echo("k under each transform: " + "; ".join(
        f"{n} {v['k']:.3g} {_iv(v['k_interval'])} {v['regime']}" if isinstance(v, dict) else f"{n} n/a"
        for n, v in k_by.items()))
    if np.isfinite(fit.k_) and fit.saturation_:
        click.echo(f"saturation: {fit.saturation_['note']}")


@evidence.command("fit", short_help="Pool k across series (series, clusters, families) on their levels; forest plot.")
@click.option("--method", type=click.Choice(["nuts", "grid", "ratio"]), default="nuts", show_default=True,
              help="nuts: PyMC's sampler on the levels (needs rsilab[stats]); grid: the same model by exact "
                   "quadrature, seconds; ratio: the old pooling of gain ratios, biased toward 0, for comparison only.")
@_TRANSFORM
@click.option("--all-transforms", is_flag=True, help="Also print the pooled k under every transform (grid method).")
@click.option("--pure-self", is_flag=True,
              help="Headline the fit without series whose method uses an external judge or teacher "
                   "(SPPO, iterative DPO/IPO with PairRM, DNO); both selections are always reported.")
@click.option("--from-round", type=click.IntRange(0, 1), default=0, show_default=True,
              help="Headline the fit from this round on (1 leaves out the step from the starting model); the other "
                   "is printed beside it.")
@_ADD
@_ADD_RUN
@click.option("--only-added", is_flag=True, help="Pool only the series from --add/--add-run, not the registry.")
@click.option("--level", type=float, default=0.9, show_default=True, help="Interval level; verdicts read it.")
@click.option("--prior-family", default=None,
              help="The prior in --json and in the store: a new series' k of this method family (default: a new "
                   "series of a new family).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the sampler and the draws.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the forest plot PNG here (none is written without it).")
@_WIDE
@click.option("--json", "as_json", is_flag=True, help="Print every fit as JSON.")
@store_option
@friendly_errors
def fit(method: str, transform: str, all_transforms: bool, pure_self: bool, from_round: int, add_files, add_runs,
        only_added: bool, level: float, prior_family: str | None, seed: int, plot_path: Path | None, wide: bool,
        as_json: bool, store_path: Path | None) -> None:
    """Pool k across series: the levels model with series within clusters within families."""
    from rsilab.errors import ConfigError
    from rsilab.estimate.evidence import select
    from rsilab.store import Store

    if not 0 < level < 1:
        raise ConfigError("--level", level, "a probability in (0, 1), e.g. 0.9")
    if only_added and not (add_files or add_runs):
        raise ConfigError("--only-added", True, "with --add FILE or --add-run RUN: the series to pool")
    t = _transform_arg(transform)
    series = _series(add_files, add_runs, store_path, only_added)
    primary = "pure_self" if pure_self else "all"
    chosen = {"all": select(series), "pure_self": select(series, pure_self=True)}
    if len(chosen[primary]) < 2:
        flag = "--pure-self" if pure_self else "--only-added" if only_added else "series"
        raise ConfigError(flag, True if flag != "series" else len(chosen[primary]),
                          f"at least 2 series to pool ({len(chosen[primary])} selected)")
    if method == "ratio":
        out = _ratio_fits(chosen, t, level, primary)
    else:
        out = _levels_fits(chosen, t, level, primary, method, from_round, seed, prior_family, all_transforms)
    out.update(transform=transform, method=method, primary=primary, headline_from_round=from_round,
               series_transforms={s.series_id: t or s.default_transform for s in chosen[primary]})
    if plot_path is not None:
        from rsilab.report.forest import plot_forest

        plot_path.parent.mkdir(parents=True, exist_ok=True)
        plot_forest(out["fits"][primary], plot_path,
                    title=f"k per round, {'pure self-improvement' if pure_self else 'all series'} "
                          f"({len(chosen[primary])} series, transform {transform}, {method})")
        out["plot"] = str(plot_path)
    head = out["fits"][primary]
    summary = {"method": method, "primary": primary, "k": head["k"], "k_interval": head["k_interval"],
               "regime": head.get("regime"),
               **{n: ({k: v for k, v in d.items() if k not in ("series", "loco")} if d else None)
                  for n, d in out["fits"].items()}}
    out["run_id"] = record_fit(store_path, "evidence", primary, {"transform": transform, "level": level,
                               "method": method, "from_round": from_round, "seed": seed,
                               "added_files": [str(f) for f in add_files], "added_runs": list(add_runs)},
                               summary, seed, prior=out.get("prior"))
    if as_json:
        echo_json(out)
        return
    _print_fit(out, wide)


def _levels_fits(chosen: dict, t, level: float, primary: str, method: str, from_round: int, seed: int,
                 prior_family: str | None, all_transforms: bool) -> dict[str, Any]:
    """The headline with ``method``; the other selection and the other starting round by the grid."""
    from rsilab.errors import ConfigError, RsilabError
    from rsilab.estimate.evidence import pool
    from rsilab.estimate.transforms import TRANSFORMS

    head = pool(chosen[primary], transform=t, from_round=from_round, level=level, method=method, seed=seed)
    if prior_family is not None and prior_family not in head.families_:
        raise ConfigError("--prior-family", prior_family, f"one of: {', '.join(head.families_)}")
    fits: dict[str, Any] = {primary: head.result_dict()}
    other = "all" if primary == "pure_self" else "pure_self"
    fits[other] = (pool(chosen[other], transform=t, from_round=from_round, level=level, loco=False).result_dict()
                   if len(chosen[other]) >= 2 else None)
    beside = 1 - from_round
    usable = [s for s in chosen[primary] if int((s.rounds >= beside).sum()) >= 3]
    out: dict[str, Any] = {"fits": fits, "prior": head.to_prior(family=prior_family), "plot": None}
    out["beside"] = {"from_round": beside, "n_series": len(usable),
                     "n_series_left_out": len(chosen[primary]) - len(usable),
                     "fit": (pool(usable, transform=t, from_round=beside, level=level, loco=False).result_dict()
                             if len(usable) >= 2 else None)}
    if all_transforms:
        out["by_transform"] = {}
        for name in ("auto",) + TRANSFORMS:
            row = {}
            for sel in ("all", "pure_self"):
                try:
                    e = pool(chosen[sel], transform=None if name == "auto" else name, from_round=from_round,
                             level=level, loco=False)
                    row[sel] = {"k": e.k_, "k_interval": list(e.k_interval_), "p_new_series_k_gt_1": e.p_new_k_gt_1_}
                except RsilabError as exc:  # a transform some series cannot take is reported, not fatal
                    row[sel] = {"error": str(exc)}
            out["by_transform"][name] = row
    return out


def _ratio_fits(chosen: dict, t, level: float, primary: str) -> dict[str, Any]:
    """The old pooling of gain ratios (REML), for comparison only."""
    import numpy as np

    from rsilab.errors import DataError
    from rsilab.estimate.pooling_ratio import RatioPooledK

    fits = {}
    for sel, ss in chosen.items():
        if len(ss) < 2:
            fits[sel] = None
            continue
        gains = []
        for s in ss:
            g = s.gains(t)
            if not np.any(g != 0):
                raise DataError(s.origin, f"series {s.series_id!r} gained nothing in any round: k is undefined",
                                row=s.rows[0] if s.rows else None, column="value")
            gains.append(g)
        fits[sel] = RatioPooledK(level=level).fit(gains, [s.cluster for s in ss], [s.family for s in ss],
                                                  [s.series_id for s in ss]).result_dict()
    return {"fits": fits, "plot": None,
            "note": "ratio method: the regression of each gain on the previous one, biased toward 0 under "
                    "measurement noise; for comparison only (no prior is given)"}


def _print_fit(out: dict, wide: bool) -> None:
    from rsilab.estimate.verdict import k_line

    primary = out["primary"]
    head = out["fits"][primary]
    click.echo(f"transform: {out['transform']}; method: {out['method']}")
    if out["method"] == "ratio":
        click.echo(out["note"])
        for name, d in out["fits"].items():
            if d:
                click.echo(f"{name}: pooled k = {d['k']:.3f} {_iv(d['k_interval'])} ({d['level']:.0%}); "
                           f"P(k > 1) for a new series = {d['p_new_series_k_gt_1']:.3f}")
        click.echo(f"recorded as run {out['run_id']}")
        return
    diag = head["diagnostics"]
    if out["method"] == "nuts":
        click.echo(f"sampler: {diag['chains']} chains x {diag['draws']} draws, max R-hat {diag['rhat_max']:.3f}, "
                   f"min bulk ESS {diag['ess_bulk_min']:.0f}, {diag['divergences']} divergences, "
                   f"{diag['seconds']:.0f} s: {diag['note']}")
    rows = [[s["name"], f"{s['k_own']:.3g} {_iv(s['k_own_interval'])}", s["regime_own"],
             f"{s['k_shrunk']:.3g} {_iv(s['k_shrunk_interval'])}", s["family"], s["noise"]] for s in head["series"]]
    print_wide_table(f"per-series k ({'pure self-improvement' if primary == 'pure_self' else 'all series'}, "
                     f"{head['level']:.0%} intervals)", ["series", "own k", "own verdict", "shrunk k", "family", "noise"],
                     rows, wide=wide)
    fam_rows = [[f, f"{v['k']:.3g} {_iv(v['k_interval'])}", v["regime"],
                 f"{v['new_series']['k']:.3g} {_iv(v['new_series']['k_interval'])}",
                 f"{v['new_series']['p_k_gt_1']:.3f}", str(v["n_series"]), str(v["n_clusters"])]
                for f, v in head["families"].items()]
    if len(fam_rows) > 1:
        print_wide_table("method families", ["family", "mean k", "verdict", "new series", "P(k > 1), new", "series",
                                             "clusters"], fam_rows, wide=wide)
    for name, d in out["fits"].items():
        label = "all series" if name == "all" else "pure self (no external judge/teacher)"
        how = "" if name == primary else " (grid)"
        if d is None:
            click.echo(f"{label}: fewer than 2 series")
            continue
        taus = ", ".join(f"{k} {v['median']:.2g}" for k, v in d["taus"].items())
        click.echo(f"{label}{how}: typical " + k_line(d["k"], d["k_interval"], d["level"], d["p_k_gt_1"], d["regime"])
                   + f"; a new series: k = {d['new_series']['k']:.3g} {_iv(d['new_series']['k_interval'])}, "
                   f"P(k > 1) = {d['p_new_series_k_gt_1']:.3f}; {d['n_series']} series in {d['n_clusters']} clusters; "
                   f"tau (median): {taus}")
    b = out["beside"]
    if b["fit"]:
        d = b["fit"]
        click.echo(f"from round {b['from_round']} (grid, beside the headline from round {out['headline_from_round']}; "
                   f"{b['n_series']} series, {b['n_series_left_out']} too short): typical "
                   + k_line(d["k"], d["k_interval"], d["level"], d["p_k_gt_1"], d["regime"])
                   + f"; a new series: P(k > 1) = {d['p_new_series_k_gt_1']:.3f}")
    loco = head.get("loco")
    if loco and loco["coverage"] is not None:
        click.echo(f"leave-one-cluster-out check: {loco['n_points']} later levels of {loco['n_series']} series, each "
                   f"predicted from its first two: {loco['coverage']:.0%} inside their {loco['level']:.0%} predictive "
                   f"intervals ({len(loco['skipped'])} series skipped)")
    if "by_transform" in out:
        rows = []
        for name, row in out["by_transform"].items():
            cells = [f"{r['k']:.3f} {_iv(r['k_interval'])}" if "k" in r else f"n/a: {r['error'][:60]}"
                     for r in (row["all"], row["pure_self"])]
            rows.append((name, *cells))
        print_table("typical k under each transform (grid)", ("transform", "all series", "pure self"), rows)
    if out.get("plot"):
        click.echo(f"forest plot: {out['plot']}")
    click.echo(f"recorded as run {out['run_id']}")


def _params(text: str) -> float | None:
    """A registry's model size ("7B", "70B", "0.4B", "125M") in parameters; None when unknown."""
    import re

    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMbBtT])\s*", text or "")
    if not m:
        return None
    return float(m.group(1)) * {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}[m.group(2).lower()]


@evidence.command("scale", short_help="k of published loops against their base model's size.")
@_TRANSFORM
@click.option("--pure-self", is_flag=True, help="Only series without an external judge or teacher.")
@click.option("--at", "at", type=float, default=None, help="Target model size (default: the largest in the data).")
@_ADD
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the posterior draws.")
@click.option("--json", "as_json", is_flag=True, help="Print the fit as JSON.")
@store_option
@friendly_errors
def scale(transform: str, pure_self: bool, at: float | None, add_files, seed: int, as_json: bool,
          store_path: Path | None) -> None:
    """k of the published series against their base model's size (`fit scale`'s model on the registry)."""
    from rsilab.cli.fit_scale import print_scale_fit
    from rsilab.errors import DataError, EstimationError
    from rsilab.estimate.evidence import select
    from rsilab.estimate.scale import ScaleFit

    t = _transform_arg(transform)
    series = select(_series(add_files), pure_self=pure_self)
    sized = [(s, _params(s.model_params)) for s in series]
    unknown = [s.series_id for s, n in sized if n is None]
    sized = [(s, n) for s, n in sized if n is not None]
    try:
        est = ScaleFit(at=at, seed=seed).fit_levels([n for _, n in sized], [s.levels(t) for s, _ in sized],
                                                    [s.series_id for s, _ in sized])
    except EstimationError as exc:
        raise DataError("evidence", f"cannot fit k across model size: {exc}") from None
    out = est.result_dict()
    out["left_out_unknown_size"] = unknown
    out["caveats"] = [
        "model size is confounded with method: the 70B series are Self-Rewarding and iterative RPO, the 7-9B "
        "series SPIN, SPPO, DNO, Meta-Rewarding and the iterative DPO/IPO baselines",
        "two size groups (7-9B and 70B) give a slope from essentially two points",
        "series of one run share checkpoints but enter the trend as independent series: its interval is too "
        "narrow by an unknown amount",
        "sizes are of the base model; the loops differ in data, judge and rounds"]
    out["prior"] = est.to_prior(source=f"published loops: k of a new series at {est.target_:.3g} parameters")
    out["run_id"] = record_fit(store_path, "scale", "evidence", {"transform": transform, "pure_self": pure_self,
                                                                 "at": at, "seed": seed},
                               {k: v for k, v in out.items() if k != "prior"}, seed, prior=out["prior"])
    if as_json:
        echo_json(out)
        return
    print_scale_fit(out, f"k per published series against its base model's size "
                         f"({'pure self' if pure_self else 'all series'})")
    if unknown:
        click.echo(f"left out, size unknown: {', '.join(unknown)}")
    for c in out["caveats"]:
        click.echo(f"caveat: {c}")
    click.echo(f"recorded as run {out['run_id']}")
