"""``rsilab fit scale``: k per series across model sizes, the trend in log scale, the extrapolation.

Reads a sweep from the store (``--sweep ID``) or a CSV of rounds with a scale column, calls
``rsilab.estimate.scale.ScaleFit``, records the fit as a run of kind ``fit:scale``, and prints a
table (or ``--json``, whose top-level "prior" is k at ``--at`` for ``forecast --returns-from``).
"""
from __future__ import annotations

from pathlib import Path

import click

from rsilab.cli.common import ESTIMATE_HEADER, echo_json, friendly_errors, print_table, record_fit, store_option


@click.command("scale", short_help="k against model size across series, and its extrapolation.")
@click.argument("csv_path", metavar="[ROUNDS.csv]", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sweep", "sweep_id", type=int, default=None, help="Read the finished cells of sweep ID from the store.")
@click.option("--scale", "scale_kind", type=click.Choice(["parameters", "flop"]), default="parameters",
              show_default=True, help="--sweep: the scale of a cell: its parameters, or its mean FLOP per round.")
@click.option("--scale-col", default=None,
              help="CSV: the scale column (default: parameters, params, N, flop_per_round or scale).")
@click.option("--at", "at", type=float, default=None,
              help="Target scale for k, its band and P(k > 1) (default: the largest scale in the data).")
@click.option("--bootstrap", "n_bootstrap", type=int, default=2000, show_default=True)
@click.option("--min-rounds", type=int, default=5, show_default=True, help="Series with fewer rounds are left out.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the bootstrap.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write k per series, the trend and its extrapolation band as a PNG here.")
@click.option("--json", "as_json", is_flag=True, help="Print the fit, the per-series k and the prior as JSON.")
@store_option
@friendly_errors
def scale(csv_path: Path | None, sweep_id: int | None, scale_kind: str, scale_col: str | None, at: float | None,
          n_bootstrap: int, min_rounds: int, seed: int, plot_path: Path | None, as_json: bool,
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
        source, name = f"sweep {sweep_id} ({scale_kind})", f"sweep-{sweep_id}"
        xlabel = {"parameters": "parameters", "flop": "FLOP per round"}[scale_kind]
    else:
        data = load_scale_rounds(csv_path, scale_col)
        labels, scales, caps = data["labels"], data["scale"], data["capability"]
        source, name = f"{csv_path.name} ({data['scale_column']})", csv_path.name
        xlabel = data["scale_column"]
    try:
        est = ScaleFit(at=at, n_bootstrap=n_bootstrap, min_rounds=min_rounds, seed=seed).fit(scales, caps, labels)
    except EstimationError as exc:
        raise DataError(source, f"cannot fit k across scale: {exc}") from None
    out = est.result_dict()
    out["source"] = source
    out["prior"] = est.to_prior(source=f"k across scale ({source}), extrapolated to {est.target_:.3g}")
    out["run_id"] = record_fit(store_path, "scale", name, {"at": at, "bootstrap": n_bootstrap, "seed": seed,
                            "min_rounds": min_rounds, "scale": scale_kind if sweep_id is not None else scale_col},
                            {k: v for k, v in out.items() if k != "prior"}, seed, prior=out["prior"])
    if plot_path is not None:
        from rsilab.report.scale import scale_chart

        scale_chart(est, plot_path, title=f"k across scale: {source}", xlabel=xlabel)
    if as_json:
        echo_json(out)
        return
    rows = [(s["label"], f"{s['scale']:.4g}", f"{s['k']:.3g}",
             f"[{s['k_interval'][0]:.3g}, {s['k_interval'][1]:.3g}]" if s["k_interval"] else "", str(s["n_rounds"]))
            for s in out["series"]]
    print_table(f"k per series ({source})", ("series", "scale", "k", f"{est.level:.0%} interval", "rounds"), rows)
    for s in out["skipped"]:
        click.echo(f"left out {s['label']}: {s['reason']}")
    print_table("trend of k in log10(scale)", ESTIMATE_HEADER, est.table_rows())
    lo, hi = out["slope_interval"]
    click.echo(f"trend: k changes by {out['slope_per_decade']:+.3g} per decade of scale "
               f"[{lo:.3g}, {hi:.3g}]; P(slope > 0) = {out['p_slope_gt_0']:.3f}")
    klo, khi = out["k_at_target_interval"]
    click.echo(f"at {out['target_scale']:.3g}: k = {out['k_at_target']:.3g} [{klo:.3g}, {khi:.3g}]; "
               f"P(k > 1) = {out['p_k_gt_1_at_target']:.3f}; "
               f"{out['extrapolation_orders_of_magnitude']:.2f} orders of magnitude beyond the data "
               f"({out['scale_range'][0]:.3g} to {out['scale_range'][1]:.3g})")
    c = out["crossing"]
    click.echo("k = 1 at scale " + (f"{c['scale']:.3g} [{c['interval'][0]:.3g}, {c['interval'][1]:.3g}]"
                                    if c else out["crossing_note"]))
    if plot_path is not None:
        click.echo(f"wrote {plot_path}")
    click.echo(f"recorded as run {out['run_id']}")
