"""``rsilab fit scale``: k per series across model sizes, the trend in log scale, the extrapolation.

Reads a sweep from the store (``--sweep ID``) or a CSV of rounds with a scale column, calls
``rsilab.estimate.scale.ScaleFit``, records the fit as a run of kind ``fit:scale``, and prints a
table (or ``--json``, whose top-level "prior" is k at ``--at`` for ``forecast --returns-from``).
"""
from __future__ import annotations

from pathlib import Path

import click

from rsilab.cli.common import echo_json, friendly_errors, print_table, record_fit, store_option


def print_scale_fit(out: dict, title: str) -> None:
    """The table of per-series k and the trend's lines (``fit scale`` and ``evidence scale``)."""
    from rsilab.estimate.verdict import k_line

    lv = out["level"]
    rows = [(s["label"], f"{s['scale']:.4g}", f"{s['k']:.3g} [{s['k_interval'][0]:.3g}, {s['k_interval'][1]:.3g}]",
             s["regime"], str(s["n_rounds"]), s["noise"]) for s in out["series"]]
    print_table(title, ("series", "scale", f"k ({lv:.0%} interval)", "verdict", "rounds", "noise"), rows)
    for s in out["skipped"]:
        click.echo(f"left out {s['label']}: {s['reason']}")
    lo, hi = out["slope_interval"]
    click.echo(f"trend: ln k changes by {out['slope_per_decade']:+.3g} per decade of scale [{lo:.3g}, {hi:.3g}] "
               f"(k x {out['k_factor_per_decade']:.3g} per decade); P(slope > 0) = {out['p_slope_gt_0']:.3f}; "
               f"spread between series (tau, median) {out['tau']['median']:.2g}")
    click.echo(f"at {out['target_scale']:.3g}, the trend: " + k_line(out["k_at_target"], out["k_at_target_interval"], lv,
                                                                   out["p_k_gt_1_at_target"], out["regime_at_target"])
               + f"; a new series there: k = {out['k_new_series_at_target']:.3g} "
               f"[{out['k_new_series_at_target_interval'][0]:.3g}, {out['k_new_series_at_target_interval'][1]:.3g}], "
               f"P(k > 1) = {out['p_new_series_k_gt_1_at_target']:.3f}")
    click.echo(f"{out['extrapolation_orders_of_magnitude']:.2f} orders of magnitude beyond the data "
               f"({out['scale_range'][0]:.3g} to {out['scale_range'][1]:.3g})")
    c = out["crossing"]
    click.echo(f"k = 1 at scale {c['scale']:.3g} [{c['interval'][0]:.3g}, {c['interval'][1]:.3g}]" if c
               else f"where k = 1: {out['crossing_note']}")


@click.command("scale", short_help="k against model size across series, and its extrapolation.")
@click.argument("csv_path", metavar="[ROUNDS.csv]", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sweep", "sweep_id", type=int, default=None, help="Read the finished cells of sweep ID from the store.")
@click.option("--scale", "scale_kind", type=click.Choice(["parameters", "flop"]), default="parameters",
              show_default=True, help="--sweep: the scale of a cell: its parameters, or its mean FLOP per round.")
@click.option("--scale-col", default=None,
              help="CSV: the scale column (default: parameters, params, N, flop_per_round or scale).")
@click.option("--at", "at", type=float, default=None,
              help="Target scale for k, its band and P(k > 1) (default: the largest scale in the data).")
@click.option("--transform", default="raw", show_default=True,
              help="Capability scale on which gains are geometric: raw, logit, neglog-error (bound 100) or log.")
@click.option("--min-rounds", type=click.IntRange(3, None), default=4, show_default=True,
              help="Series with fewer rounds are left out (and listed).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the posterior draws.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write k per series, the trend and its extrapolation band as a PNG here.")
@click.option("--json", "as_json", is_flag=True, help="Print the fit, the per-series k and the prior as JSON.")
@store_option
@friendly_errors
def scale(csv_path: Path | None, sweep_id: int | None, scale_kind: str, scale_col: str | None, at: float | None,
          transform: str, min_rounds: int, seed: int, plot_path: Path | None, as_json: bool,
          store_path: Path | None) -> None:
    """k against scale, from sweep results (--sweep ID) or ROUNDS.csv (one row per round, with a scale column)."""
    from rsilab.errors import ConfigError, DataError, EstimationError
    from rsilab.estimate.scale import ScaleFit, load_scale_rounds

    if (csv_path is None) == (sweep_id is None):
        raise ConfigError("ROUNDS.csv", None, "a rounds CSV, or --sweep ID (one of the two)")
    if sweep_id is not None:
        from rsilab.store import Store
        from rsilab.sweep.results import scale_series

        with Store(store_path) as store:
            series = scale_series(store, sweep_id, scale_kind)
        missing = [s["label"] for s in series if s["scale"] is None]
        if missing:
            raise DataError(f"sweep {sweep_id}", f"{len(missing)} cell(s) have no {scale_kind} recorded "
                                                 f"(first: {missing[0]}); try --scale flop or parameters")
        labels, scales, caps = [s["label"] for s in series], [s["scale"] for s in series], [s["capability"] for s in series]
        se = [s.get("se") for s in series] if any(s.get("se") is not None for s in series) else None
        n_items = None
        source, name = f"sweep {sweep_id} ({scale_kind})", f"sweep-{sweep_id}"
        xlabel = {"parameters": "parameters", "flop": "FLOP per round"}[scale_kind]
    else:
        data = load_scale_rounds(csv_path, scale_col)
        labels, scales, caps = data["labels"], data["scale"], data["capability"]
        se, n_items = data["se"], data["n_items"]
        source, name = f"{csv_path.name} ({data['scale_column']})", csv_path.name
        xlabel = data["scale_column"]
    try:
        est = ScaleFit(at=at, min_rounds=min_rounds, transform=transform, seed=seed).fit(scales, caps, labels, se=se,
                                                                                         n_items=n_items)
    except EstimationError as exc:
        raise DataError(source, f"cannot fit k across scale: {exc}") from None
    out = est.result_dict()
    out["source"] = source
    out["prior"] = est.to_prior(source=f"k across scale ({source}): a new series at {est.target_:.3g}")
    out["run_id"] = record_fit(store_path, "scale", name, {"at": at, "transform": transform, "seed": seed,
                            "min_rounds": min_rounds, "scale": scale_kind if sweep_id is not None else scale_col},
                            {k: v for k, v in out.items() if k != "prior"}, seed, prior=out["prior"])
    if plot_path is not None:
        from rsilab.report.scale import scale_chart

        scale_chart(est, plot_path, title=f"k across scale: {source}", xlabel=xlabel)
    if as_json:
        echo_json(out)
        return
    print_scale_fit(out, f"k per series ({source})")
    if plot_path is not None:
        click.echo(f"wrote {plot_path}")
    click.echo(f"recorded as run {out['run_id']}")
