"""``rsilab fit scaling|rnd-returns|rounds``: estimate scaling laws and returns from data.

Each command loads a user file (errors name the file, row and column) or, for ``rounds``, a
stored run's rounds (``--run ID``), calls one estimator in ``rsilab.estimate``, records the fit
as a run of kind ``fit:<what>`` in the store with its prior (``rsilab forecast --returns-from
RUN`` reads it there), and prints a table, or with ``--json`` the parameters, intervals and
diagnostics (plus a top-level "prior", which ``--returns-from FILE`` reads from a saved file).
``--plot`` draws the data and the fit with ``rsilab.report.fits`` (matplotlib only then).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rsilab.cli.common import ESTIMATE_HEADER, echo_json, friendly_errors, print_table, record_fit, store_option

_PLOT = click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Write the data and the fit as a PNG here.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print parameters, intervals and diagnostics as JSON.")
_SEED = click.option("--seed", type=int, default=0, show_default=True, help="Seed for bootstrap/posterior draws.")


@click.group(short_help="Estimate scaling laws and returns (k, r) from data.")
def fit() -> None:
    """Estimate scaling laws and returns (k, r) from data."""


def _estimates(est) -> dict[str, Any]:
    return {k: v.to_dict() for k, v in est.estimates_.items()}


@fit.command("scaling", short_help="Fit a scaling law (Chinchilla, power law, BNSL) to a CSV.")
@click.argument("csv_path", metavar="FILE.csv", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--form", type=click.Choice(["chinchilla", "power", "bnsl"]), default="chinchilla", show_default=True,
              help="Law to fit: Chinchilla L(N, D), a saturating power law in x, or a broken neural scaling law.")
@click.option("--method", type=click.Choice(["likelihood", "hoffmann"]), default="likelihood", show_default=True,
              help="chinchilla: Besiroglu et al.'s headline likelihood fit, or Hoffmann's procedure repeated.")
@click.option("--params-col", default=None, help="Column with model size N (default: params, N, 'Model Size').")
@click.option("--tokens-col", default=None, help="Column with training tokens D (default: tokens, D, 'Training Tokens').")
@click.option("--flop-col", default=None, help="Column with training FLOP C, used as D = C / 6N when no tokens column.")
@click.option("--x-col", default=None, help="power/bnsl: the x column (default: x, training_dataset_size, ...).")
@click.option("--loss-col", default=None, help="Column with the loss (default: loss, L, test_cross_entropy, y).")
@click.option("--drop-highest-loss", type=int, default=0, show_default=True,
              help="Drop this many highest-loss rows first (Besiroglu et al. drop 5).")
@click.option("--breaks", type=int, default=1, show_default=True, help="bnsl: number of breaks.")
@click.option("--bootstrap", "n_bootstrap", type=int, default=1000, show_default=True,
              help="Bootstrap refits for standard errors and intervals (0: none).")
@click.option("--compute", "compute_flop", type=float, multiple=True,
              help="chinchilla: also report the compute-optimal N, D at this many FLOP (repeatable).")
@click.option("--quantity", default=None, help="Parameter whose prior goes in the JSON (default alpha / c0).")
@_SEED
@_PLOT
@_JSON
@store_option
@friendly_errors
def scaling(csv_path: Path, form: str, method: str, params_col, tokens_col, flop_col, x_col, loss_col,
            drop_highest_loss: int, breaks: int, n_bootstrap: int, compute_flop: tuple[float, ...],
            quantity: str | None, seed: int, plot_path: Path | None, as_json: bool, store_path: Path | None) -> None:
    """Fit a scaling law (Chinchilla form, saturating power law or BNSL) to FILE.csv."""

    from rsilab.errors import DataError

    from rsilab.errors import EstimationError

    try:
        _scaling(csv_path, form, method, params_col, tokens_col, flop_col, x_col, loss_col, drop_highest_loss,
                 breaks, n_bootstrap, compute_flop, quantity, seed, plot_path, as_json, store_path)
    except EstimationError as exc:
        raise DataError(str(csv_path), f"cannot fit: {exc}") from None


def _scaling(csv_path, form, method, params_col, tokens_col, flop_col, x_col, loss_col, drop_highest_loss, breaks,
             n_bootstrap, compute_flop, quantity, seed, plot_path, as_json, store_path) -> None:
    import numpy as np

    from rsilab.errors import DataError
    from rsilab.estimate import io

    out: dict[str, Any] = {"form": form, "file": str(csv_path)}
    if drop_highest_loss < 0:
        raise DataError(str(csv_path), f"--drop-highest-loss {drop_highest_loss} must be >= 0")
    if form == "chinchilla":
        from rsilab.estimate.chinchilla import ChinchillaFit

        N, D, L = io.load_scaling_chinchilla(csv_path, params_col=params_col, tokens_col=tokens_col,
                                            flop_col=flop_col, loss_col=loss_col)
        if drop_highest_loss:
            keep = np.argsort(np.argsort(-L)) >= drop_highest_loss
            N, D, L = N[keep], D[keep], L[keep]
        est = ChinchillaFit(method, n_bootstrap=n_bootstrap, seed=seed).fit(N, D, L)
        out.update({"method": method, "n_points": est.n_points_, "diagnostics": est.diagnostics_})
        if compute_flop:
            co = est.compute_optimal(list(compute_flop))
            out["compute_optimal"] = {k: np.asarray(v).tolist() for k, v in co.items()}
        quantity = quantity or "alpha"
        data = (N, D, L)
    else:
        x, y, mask = io.load_scaling_xy(csv_path, x_col=x_col, loss_col=loss_col)
        fit_mask = mask if mask is not None else np.ones(len(x), bool)
        if form == "power":
            from rsilab.estimate.powerlaw import PowerLawFit

            est = PowerLawFit(n_bootstrap=n_bootstrap, seed=seed).fit(x[fit_mask], y[fit_mask])
            quantity = quantity or "alpha"
        else:
            from rsilab.estimate.bnsl import BNSLFit

            est = BNSLFit(breaks, n_bootstrap=n_bootstrap, seed=seed).fit(x[fit_mask], y[fit_mask])
            out["rmsle_fit"] = est.rmsle(x[fit_mask], y[fit_mask])
            quantity = quantity or "c0"
        out["n_points"] = int(fit_mask.sum())
        out["diagnostics"] = est.diagnostics_
        if mask is not None and (~mask).any():
            ex = est.extrapolate(x[~mask])
            out["extrapolation"] = {"x": x[~mask].tolist(), "y_true": y[~mask].tolist(),
                                    "y_pred": np.asarray(ex["y"]).tolist(),
                                    "rmsle": float(np.sqrt(np.mean((np.log(ex["y"]) - np.log(y[~mask])) ** 2)))}
            if "interval" in ex:
                out["extrapolation"]["interval"] = np.asarray(ex["interval"]).tolist()
        data = (x, y, mask)
    out.update({"parameters": _estimates(est), "converged": est.converged_, "message": est.message_,
                "prior": est.to_prior(quantity, source=f"{form} fit of {csv_path.name}")})
    run_id = record_fit(store_path, f"scaling:{form}", csv_path.name, {"form": form, "method": method,
                     "bootstrap": n_bootstrap, "drop_highest_loss": drop_highest_loss, "seed": seed}, out, seed,
                        prior=out["prior"])
    out["run_id"] = run_id
    if plot_path is not None:
        from rsilab.report.fits import scaling_chart

        scaling_chart(form, est, data, plot_path)
    if as_json:
        echo_json(out)
        return
    print_table(f"{form} fit of {csv_path.name} ({out['n_points']} points)", ESTIMATE_HEADER, est.table_rows())
    click.echo(f"{est.message_}")
    if "extrapolation" in out:
        click.echo(f"extrapolation RMSLE on held-out rows: {out['extrapolation']['rmsle']:.4g}")
    if "compute_optimal" in out:
        for c, tpp in zip(out["compute_optimal"]["compute_flop"], out["compute_optimal"]["tokens_per_param"]):
            click.echo(f"compute-optimal at {c:.3g} FLOP: {tpp:.1f} tokens per parameter")
    click.echo(f"recorded as run {run_id}")


@fit.command("rnd-returns", short_help="Returns to R&D r = lambda / beta per domain.")
@click.argument("inputs_path", metavar="INPUTS.csv", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("endpoints_path", metavar="ENDPOINTS.csv", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--efficiency", "efficiency_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV domain, year_index, efficiency: a full efficiency series (regression posterior).")
@click.option("--draws", "n_draws", type=int, default=20000, show_default=True, help="Posterior draws per domain.")
@_SEED
@_PLOT
@_JSON
@store_option
@friendly_errors
def rnd_returns(inputs_path: Path, endpoints_path: Path, efficiency_path: Path | None, n_draws: int, seed: int,
                plot_path: Path | None, as_json: bool, store_path: Path | None) -> None:
    """Returns to R&D r = lambda / beta per domain (Jones law of motion).

    The top-level "prior" in --json is the FIRST domain's (order of ENDPOINTS.csv); each
    domain's own prior is under domains.<name>.prior.
    """
    from rsilab.estimate import io
    from rsilab.estimate.rnd_returns import RnDReturnsFit

    inputs = io.load_rnd_inputs(inputs_path)
    endpoints = io.load_rnd_endpoints(endpoints_path)
    eff = io.load_efficiency_series(efficiency_path) if efficiency_path else None
    from rsilab.errors import DataError, EstimationError

    try:
        est = RnDReturnsFit(n_draws=n_draws, seed=seed).fit(inputs, endpoints, eff)
    except EstimationError as exc:
        raise DataError(f"{inputs_path} + {endpoints_path}", f"cannot estimate r: {exc}") from None
    domains = {}
    for dom, res in est.domains_.items():
        domains[dom] = dict(res, prior=est.to_prior(dom, source=f"returns to R&D, {dom}, {endpoints_path.name}"))
    out = {"domains": domains, "prior": domains[next(iter(domains))]["prior"], "prior_domain": next(iter(domains)),
           "message": est.message_, "files": [str(inputs_path), str(endpoints_path)]}
    out["run_id"] = record_fit(store_path, "rnd-returns", endpoints_path.name, {"draws": n_draws, "seed": seed},
                            {d: {k: v for k, v in r.items() if k != "prior"} for d, r in domains.items()}, seed,
                               prior=out["prior"])
    if plot_path is not None:
        from rsilab.report.fits import rnd_returns_chart

        rnd_returns_chart(est, inputs, endpoints, plot_path)
    if as_json:
        echo_json(out)
        return
    rows = []
    for dom, r in est.domains_.items():
        p = r["r_posterior_percentiles"]
        rows.append((dom, f"{r['r_growth_ratio']:.4f}", f"{r['r_growth_ratio_ols']:.4f}",
                     f"{p['50']:.3g} [{p['5']:.3g}, {p['95']:.3g}]", f"{r['p_r_gt_1']:.3f}"))
    print_table("returns to R&D, r = lambda / beta",
                ("domain", "r (growth ratio)", "r (OLS input trend)", "posterior median [5%, 95%]", "P(r > 1)"), rows)
    click.echo(f"recorded as run {out['run_id']}")


@fit.command("rounds", short_help="Returns per round k from a rounds CSV or a stored run, with a verdict.")
@click.argument("rounds_path", metavar="[ROUNDS.csv]", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--run", "run_id", type=int, default=None,
              help="Fit the rounds of stored run ID (an experiment or an rsilab.track run) instead of a CSV.")
@click.option("--method", type=click.Choice(["levels", "ratio"]), default="levels", show_default=True,
              help="levels: k from the capability levels with their measurement noise (the estimator); ratio: the "
                   "least-squares ratio of successive gains with a bootstrap, biased toward 0, for comparison only.")
@click.option("--from-round", type=int, default=None,
              help="Fit from this round on (default: the first). The fit from the next round is printed beside it.")
@click.option("--tolerance", type=float, default=None,
              help="|k - 1| <= tolerance counts as combustion (k ~ 1). Default: the forecast's regime "
                   "tolerance (rsilab.core.tolerances.RETURNS_TOLERANCE), so fit and forecast agree.")
@click.option("--level", type=float, default=0.9, show_default=True,
              help="Interval level; the verdict reads this interval.")
@click.option("--bootstrap", "n_bootstrap", type=int, default=4000, show_default=True,
              help="ratio method: bootstrap resamples for its interval.")
@click.option("--min-rounds", type=int, default=4, show_default=True,
              help="Refuse to estimate from fewer rounds than this (3 at least).")
@click.option("--transform", default="raw", show_default=True,
              help="Capability scale on which gains are geometric: raw, logit, neglog-error (for a bounded metric, "
                   "bound --ceiling) or log.")
@click.option("--ceiling", type=float, default=100.0, show_default=True,
              help="The metric's upper bound for logit / neglog-error and n_items (100 for percentages, 10 for 0-10 "
                   "scores).")
@click.option("--all-transforms", is_flag=True, help="Also print k under every transform the values allow.")
@_SEED
@_PLOT
@_JSON
@store_option
@friendly_errors
def rounds(rounds_path: Path | None, run_id: int | None, method: str, from_round: int | None, tolerance: float,
           level: float, n_bootstrap: int, min_rounds: int, transform: str, ceiling: float, all_transforms: bool,
           seed: int, plot_path: Path | None, as_json: bool, store_path: Path | None) -> None:
    """Returns per round k from ROUNDS.csv (round, capability[, se | n_items, compute_flop, seconds]) or
    --run ID: the posterior of k from the capability levels with their measurement noise, its
    interval, P(k > 1) and the verdict the interval gives.

    The fit is recorded with its prior: `rsilab forecast --returns-from RUN` then forecasts with it."""
    from rsilab.core.tolerances import RETURNS_TOLERANCE
    from rsilab.errors import ConfigError, DataError, EstimationError
    from rsilab.estimate import io
    from rsilab.estimate.rounds import RoundsFit
    from rsilab.estimate.transforms import check_rounds_domain, describe, usable_transforms
    from rsilab.estimate.verdict import describe as describe_verdict
    from rsilab.estimate.verdict import k_line

    if rounds_path is None and run_id is None:
        raise click.UsageError("missing argument 'ROUNDS.csv' (or --run ID: a stored run's rounds)")
    if rounds_path is not None and run_id is not None:
        raise click.UsageError("both ROUNDS.csv and --run ID name rounds to fit: give one of them")
    tolerance = RETURNS_TOLERANCE if tolerance is None else tolerance
    if not 0 < level < 1:
        raise ConfigError("--level", level, "a probability in (0, 1), e.g. 0.9")
    if min_rounds < 3:
        raise ConfigError("--min-rounds", min_rounds, "an integer >= 3 (3 levels make the 2 gains a ratio needs)")
    if from_round is not None and from_round < 0:
        raise ConfigError("--from-round", from_round, "a round number >= 0")
    if run_id is not None:
        # a stored run is read as the CSV `rsilab experiment export` writes of it
        from rsilab.store import Store
        from rsilab.store.rounds import rounds_of

        with Store(store_path) as store:
            found = rounds_of(store, run_id, min_rounds=1)
        source, name, table = f"run {run_id}", f"run-{run_id}", found.table()
        data = io.load_rounds(source, table=table)
        rows, label = table[1], found.label
    else:
        source, name, label = str(rounds_path), rounds_path.name, rounds_path.name
        table = io.read_table(rounds_path)
        data = io.load_rounds(rounds_path, table=table)
        rows = table[1]
    check_rounds_domain(source, data, transform, ceiling, rows=rows)

    def fit_with(tr: str) -> RoundsFit:
        est = RoundsFit(method=method, transform=tr, ceiling=ceiling, level=level, tol=tolerance,
                        min_rounds=min_rounds, from_round=from_round, n_bootstrap=n_bootstrap, seed=seed)
        try:
            return est.fit(data["capability"], data["compute_flop"], data["seconds"], data["round"],
                           se=data["se"], n_items=data["n_items"])
        except EstimationError as exc:
            raise DataError(source, f"cannot estimate k: {exc}") from None

    est = fit_with(transform)
    out = est.result_dict()
    out["prior"] = est.to_prior(source=f"self-improvement rounds, {label}")
    out["file" if run_id is None else "run"] = str(rounds_path) if run_id is None else run_id
    out["noise_source"] = _noise_source(data)
    if all_transforms:
        out["k_by_transform"] = {}
        for tr, why in usable_transforms(data["capability"], ceiling, data["n_items"] is not None).items():
            if why is None:
                f = est if tr == transform else fit_with(tr)
                out["k_by_transform"][tr] = {"k": f.k_, "k_interval": list(f.k_interval_), "regime": f.regime_}
            else:
                out["k_by_transform"][tr] = why
    out["schedule"], out["caveat"] = _schedule_caveat(rows)
    out["run_id"] = record_fit(store_path, "rounds", name,
                            {"method": method, "transform": transform, "from_round": from_round,
                             "tolerance": tolerance, "level": level, "bootstrap": n_bootstrap, "seed": seed},
                            {k: v for k, v in out.items() if k != "prior"}, seed, prior=out["prior"])
    if plot_path is not None:
        from rsilab.report.fits import rounds_chart

        rounds_chart(data, est, plot_path)
    if as_json:
        echo_json(out)
        return
    print_table(f"returns per round ({out['diagnostics']['n_rounds']} rounds of {label} from round "
                f"{out['headline_from_round']})", ESTIMATE_HEADER, est.table_rows())
    click.echo(k_line(out["k"], out["k_interval"], level, out["p_k_gt_1"], describe_verdict(out["regime"], None, level)))
    for start, b in out["by_start"].items():
        if not b.get("headline"):
            click.echo(f"{start} (beside the headline): " + (b["note"] if b["k"] is None else
                       k_line(b["k"], b["k_interval"], level, b["p_k_gt_1"], b["regime"])))
    click.echo(f"method: {method}" + (" (for comparison only: biased toward 0 under measurement noise)"
                                      if method == "ratio" else f"; noise: {out['noise_source']}"))
    click.echo(f"transform: {describe(transform, ceiling)}")
    if out.get("saturation"):
        sat = out["saturation"]
        click.echo(("caveat: " if sat["favoured"] == "saturation" else "saturation: ") + sat["note"])
    if all_transforms:
        click.echo("k under each transform: " + "; ".join(
            f"{n} {v['k']:.3g} [{v['k_interval'][0]:.3g}, {v['k_interval'][1]:.3g}] {v['regime']}"
            if isinstance(v, dict) else f"{n} n/a ({v})" for n, v in out["k_by_transform"].items()))
    if out["caveat"]:
        click.echo(f"caveat: {out['caveat']}")
    click.echo(f"recorded as run {out['run_id']} with its prior: rsilab forecast --returns-from {out['run_id']}")


def _noise_source(data: dict) -> str:
    if data.get("se") is not None:
        return "the se column (Gaussian, known)"
    if data.get("n_items") is not None:
        return "the n_items column (binomial)"
    return "estimated from the levels (no se or n_items column; log-uniform prior on its SD)"


def _schedule_caveat(rows: list[dict[str, str]]) -> tuple[str | None, str | None]:
    """The rounds' label schedule (an optional ``schedule`` column) and what it means for k."""
    schedules = sorted({r.get("schedule", "") for r in rows} - {""})
    if not schedules:
        return None, None
    if "one-up" in schedules:
        return ", ".join(schedules), ("schedule one-up: labels advance at most one difficulty a round, so gains "
                                      "and k measured on these rounds are bounded by the schedule, not only by "
                                      "the learner (fast mode lifts the bound)")
    return ", ".join(schedules), None


def _add_scale() -> None:
    # `fit scale` lives in its own module (estimate/scale.py's command); registered here so that
    # `rsilab fit --help` lists it with the others
    from rsilab.cli.fit_scale import scale

    fit.add_command(scale)


_add_scale()
