"""``rsilab forecast | simulate | sensitivity | presets | runs``: the forecast engine's commands."""
from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from rsilab.cli.common import echo_json, friendly_errors, store_option, table_width
from rsilab.cli.untrusted import safe_text


def _scenario(scenario_file: Path | None, preset: str | None, *, required: bool = True, command: str = "simulate"):
    """The scenario the user named (a file or a preset), or None where none is needed and none
    was named (the library then takes the default)."""
    from rsilab.errors import ConfigError
    from rsilab.simulate.scenario import load_preset, load_scenario, preset_names

    if scenario_file is not None and preset is not None:
        raise ConfigError("--preset", preset, "either a scenario file or --preset, not both")
    if scenario_file is not None:
        try:
            return load_scenario(scenario_file)
        except ConfigError as exc:
            if exc.field == "scenario":  # the file itself: name the argument the user typed
                raise ConfigError("SCENARIO_FILE", exc.value, exc.allowed) from None
            raise
    if preset is None:
        if not required:
            return None
        raise click.UsageError(f"nothing to {command}: give a scenario TOML file (rsilab {command} my.toml) or "
                               f"--preset NAME, one of {', '.join(preset_names())}")
    try:
        return load_preset(preset)
    except ConfigError as exc:
        if exc.field == "preset":
            raise ConfigError("--preset", exc.value, exc.allowed) from None
        raise


# a keyword as the library names it -> the flag that sets it, so that errors name what the user typed
OVERRIDE_FLAGS = {"n_samples": "--samples", "seed": "--seed", "horizon_years": "--horizon", "regime_phase": "--phase",
                  "returns_prior": "--returns-from"}


@contextmanager
def _errors_name_flags():
    """Errors about an override name its flag (``--samples``), not the library's keyword."""
    from rsilab.errors import ConfigError

    try:
        yield
    except ConfigError as exc:
        if exc.field in OVERRIDE_FLAGS:
            raise ConfigError(OVERRIDE_FLAGS[exc.field], exc.value, exc.allowed) from None
        raise


@contextmanager
def _progress(description: str, unit: str, quiet: bool):
    """A progress bar (none with --json): yields the library's ``progress(done, total)``."""
    if quiet:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"),
                  TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task(description, total=None, count="")
        yield lambda done, total: bar.update(task, completed=done, total=total, count=f"{done:,}/{total:,} {unit}")


def _forecast(scenario, *, as_json: bool, store_path: Path | None, **kwargs):
    """The library's one forecast call (recorded), with the CLI's progress bar and flag names."""
    from rsilab.api import forecast

    what = "the default scenario" if scenario is None else scenario.name
    with _errors_name_flags(), _progress(f"simulating {what}", "samples", as_json) as progress:
        return forecast(scenario, record=True, store=store_path, progress=progress, **kwargs)


def _q(e: dict[str, Any], fmt: str) -> str:
    return "-" if e.get("median") is None else f"{e['median']:{fmt}} [{e['p10']:{fmt}}, {e['p90']:{fmt}}]"


def print_story(summary: dict[str, Any], console) -> None:
    """The headline: P(explosive at any point); how far and how long; compression; where it ends."""
    from rich.table import Table

    tk = summary.get("takeoff")
    if not tk:
        return
    table = Table(title=f"{summary['scenario']}: {summary['model']}, {summary['n_samples']:,} samples, "
                        f"{summary['horizon_years']:g} years, seed {summary['seed']}", title_justify="left")
    table.add_column("takeoff")
    table.add_column("", justify="right")
    table.add_row("P(explosive at some point)", f"{tk['p_explosive']:.3f} ± {tk['p_explosive_se']:.4f}")
    if tk["p_explosive"] > 0:
        table.add_row("  orders of magnitude gained while explosive", _q(tk["ooms_while_explosive"], ".1f"))
        table.add_row("  years explosive", _q(tk["years_explosive"], ".2f"))
    for c in tk["compression"].values():
        table.add_row(f"P({c['what']})", f"{c['p']:.3f}")
    ends = tk["ends"]
    late = sorted(((p, k) for k, p in ends["late_regime_probabilities"].items() if p > 0), reverse=True)
    for i, (p, k) in enumerate(late):
        table.add_row(("ends (late regime): " if i == 0 else "                     ") + k, f"{p:.3f}")
    console.print(table)
    console.print(f"explosive: {tk['explosive_means']}; the two rows under it: median [p10, p90] of those "
                  f"samples. late regime: {ends['late_means']}; " +
                  "; ".join(f"{k}: {ends['means'][k]}" for _, k in late) + ".", highlight=False, markup=False)


def print_outcomes(summary: dict[str, Any], console) -> None:
    """An outcome model's summary: one table per declared group of metrics, and its regimes
    line. A calendar year reads to 0.1 year; one sample (a deterministic run) shows one value."""
    from rich.table import Table

    console.print(f"{summary['scenario']}: {summary['model']}, {summary['n_samples']:,} samples, "
                  f"{summary['horizon_years']:g} years, seed {summary['seed']}", highlight=False)
    single = summary["n_samples"] == 1
    for g in summary["outcome_groups"]:
        group, first = g["group"], g["metrics"][0]
        fmt = (lambda v: "-" if v is None else f"{v:.1f}") if first["unit"] == "calendar year" else \
            (lambda v: "-" if v is None else f"{v:.3g}")
        table = Table(title=f"{group}: {first['quantity']} ({first['unit']})", title_justify="left")
        by_horizon = first["by_horizon"]
        columns = ("value",) if single else (*(["reached"] if by_horizon else []), "p10", "median", "p90")
        for col in ("", *columns):
            table.add_column(col, justify="right" if col else "left")
        for decl in g["metrics"]:
            name = decl["name"]
            e = summary[group][name]
            q = e[decl["quantity"]]
            if single:
                table.add_row(name, "beyond horizon" if q["median"] is None and by_horizon else fmt(q["median"]))
                continue
            reached = [f"{e['fraction_reached']:.3f}"] if by_horizon else []
            table.add_row(name, *reached, fmt(q["p10"]), fmt(q["median"]), fmt(q["p90"]))
        console.print(table)
    console.print("quantiles: " + summary["quantiles_note"] + ". regimes: " + summary["regimes"] + ".",
                  highlight=False, markup=False)


def print_summary(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if summary.get("model_kind") == "outcome":
        print_outcomes(summary, console)
        return
    print_story(summary, console)
    table = Table(title="regimes (early: how it starts, late: where it ends)", title_justify="left")
    phase = summary["regime_phase"]
    other = "early" if phase == "late" else "late"
    table.add_column("regime")
    table.add_column(f"P ({phase})", justify="right")
    table.add_column("± s.e.", justify="right")
    table.add_column(f"P ({other})", justify="right")
    for k, v in summary["regime_probabilities"].items():
        table.add_row(k, f"{v:.3f}", f"{summary['regime_standard_errors'][k]:.4f}",
                      f"{summary['regime_probabilities_by_phase'][other][k]:.3f}")
    console.print(table)
    thr = Table(title="years to reach a multiple of initial capability (among samples that do)", title_justify="left")
    for col in ("multiple", "reached", "p10", "median", "p90"):
        thr.add_column(col, justify="right")
    for m, e in summary["threshold_times"].items():
        fmt = (lambda v: "-" if v is None else f"{v:.2f}")
        thr.add_row(m, f"{e['fraction_reached']:.3f}", fmt(e["p10"]), fmt(e["median"]), fmt(e["p90"]))
    console.print(thr)
    extras = {k: v for k, v in summary.items() if isinstance(v, float) and k.startswith("p_")}
    if extras:
        ex = Table(title="model outputs")
        ex.add_column("output")
        ex.add_column("value", justify="right")
        for k, v in extras.items():
            ex.add_row(k, f"{v:.3f}")
        console.print(ex)
    from rsilab.core.solution import Status

    counts = {k: v for k, v in summary["status_counts"].items() if v}
    console.print("status: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), highlight=False)
    for k in counts:
        if k != "finished":
            console.print(f"  {k}: {Status[k.upper()].message}", highlight=False, markup=False)


sim_options = [
    click.option("--samples", "n_samples", type=int, default=None, help="Number of samples (overrides simulation.n_samples)."),
    click.option("--seed", type=int, default=None, help="Random seed (overrides simulation.seed)."),
    click.option("--horizon", type=float, default=None, help="Years to simulate (overrides simulation.horizon_years)."),
]


report_option = click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                             help="Also write the run's self-contained HTML report to this file.")


def with_sim_options(func):
    for opt in reversed(sim_options):
        func = opt(func)
    return func


def preset_option(help_text: str):
    """``--preset NAME``, with ``--scenario NAME`` kept as a hidden alias of it."""
    def decorate(func):
        func = click.option("--scenario", "scenario_alias", default=None, hidden=True,
                            help="Old name of --preset.")(func)
        return click.option("--preset", default=None, help=help_text)(func)
    return decorate


def _preset(preset: str | None, scenario_alias: str | None) -> str | None:
    from rsilab.errors import ConfigError

    if preset is not None and scenario_alias is not None and preset != scenario_alias:
        raise ConfigError("--scenario", scenario_alias, f"the same as --preset ({preset!r}); --scenario is an old name of --preset")
    return preset if preset is not None else scenario_alias


@click.command(short_help="Forecast a takeoff: the story, the tables, the charts (--out).")
@click.argument("scenario_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@preset_option("A shipped scenario (see `rsilab presets`); default: the default scenario.")
@click.option("--returns-from", "returns_from", metavar="RUN|FILE", default=None,
              help="A stored fit's run id (`rsilab fit rounds --run N` prints it) or a saved fit JSON "
                   "(`rsilab fit ... --json > FIT.json`): use its measured returns as the prior.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the charts (PNG) into this directory. Without it no file is written.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON instead of tables.")
@with_sim_options
@report_option
@store_option
@friendly_errors
def forecast(scenario_file, preset, scenario_alias, returns_from, out_dir, as_json, n_samples, seed, horizon,
             report_path, store_path) -> None:
    """Forecast a takeoff: simulate a scenario (default: the heterogeneous-returns default) and
    print the story (how likely an explosive takeoff is, how far and how long it runs, where it
    ends), then the regime probabilities and threshold times; with --out, write the charts."""
    scenario = _scenario(scenario_file, _preset(preset, scenario_alias), required=False, command="forecast")
    # digits name a stored fit's run, anything else a saved fit file (./12 for a file named by digits)
    returns_prior = int(returns_from) if returns_from is not None and returns_from.isdigit() else returns_from
    result = _forecast(scenario, as_json=as_json, store_path=store_path, kind="forecast", returns_prior=returns_prior,
                       overrides={"n_samples": n_samples, "seed": seed, "horizon_years": horizon},
                       charts=out_dir, report=report_path)
    summary = result.summary()
    if as_json:
        echo_json(summary)
        return
    prior = summary.get("returns_prior")
    if prior is not None:
        param = prior["parameter"]
        origin = f"run {prior['run']}" if "run" in prior else prior["file"]
        click.echo(f"measured returns: {prior['quantity']} from {origin} ({prior['source']}) "
                   f"as {result.scenario.model.name}.{param}")
        if prior["draws_moved_into_range"]:
            declared = result.scenario.model.param(param)
            click.echo(f"  {prior['draws_moved_into_range']:.1%} of its draws lay outside {param}'s range "
                       f"[{declared.low:g}, {declared.high:g}] and were set to the nearest bound (the share above "
                       f"any value inside the range, P({param} > 1) included, is unchanged)")
    print_summary(summary)
    charts = summary.get("charts")
    click.echo("charts: " + ", ".join(charts) if charts else "charts: none written (--out DIR writes them)")
    _print_recorded(result.run_id, report_path)


def _print_recorded(run_id: int, report_path: Path | None) -> None:
    click.echo(f"recorded as run {run_id} (rsilab runs)")
    if report_path is not None:
        click.echo(f"report: {report_path}")


@click.command(short_help="Monte Carlo a scenario file or preset; print its summary.")
@click.argument("scenario_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@preset_option("Run a shipped scenario (see `rsilab presets`) instead of a file.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@with_sim_options
@report_option
@store_option
@friendly_errors
def simulate(scenario_file, preset, scenario_alias, as_json, n_samples, seed, horizon, report_path,
             store_path) -> None:
    """Monte Carlo a scenario (SCENARIO_FILE or --preset NAME); print its summary (tables, or --json)."""
    scenario = _scenario(scenario_file, _preset(preset, scenario_alias))
    result = _forecast(scenario, as_json=as_json, store_path=store_path, kind="simulate", report=report_path,
                       overrides={"n_samples": n_samples, "seed": seed, "horizon_years": horizon})
    if as_json:
        echo_json(result.summary())
        return
    print_summary(result.summary())
    _print_recorded(result.run_id, report_path)


@click.command(short_help="Sensitivity of an outcome to a scenario's parameters (Sobol or Shapley).")
@click.argument("scenario_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@preset_option("Analyse a shipped scenario (see `rsilab presets`) instead of a file.")
@click.option("--output", "output", default="p_explosion", show_default=True,
              help="What to explain: p_explosion, p_fizzle, p_ceiling, p_combustion, log_growth, or t_<multiple> (e.g. t_10); "
                   "for an outcome model, one of its metrics (e.g. ASI or milestones.ASI).")
@click.option("--method", type=click.Choice(["auto", "sobol", "shapley"]), default="auto", show_default=True,
              help="auto: Shapley effects when the scenario has [[correlations]], Sobol indices otherwise.")
@click.option("--base-samples", type=int, default=1024, show_default=True,
              help="N. Sobol: Saltelli base sample size, a power of two (N (D + 2) simulations for D free "
                   "parameters). Shapley: outer samples per subset of parameters for D up to 8 (3 N (2^D - 2) "
                   "simulations), random orderings of the parameters above (3 N (D - 1)).")
@click.option("--phase", type=click.Choice(["late", "early"]), default=None,
              help="Which half of the path the regime outputs read (default: the scenario's).")
@click.option("--json", "as_json", is_flag=True, help="Print the indices as JSON (with run_id, the store's id).")
@click.option("--seed", type=int, default=None, help="Random seed (overrides simulation.seed).")
@store_option
@friendly_errors
def sensitivity(scenario_file, preset, scenario_alias, output, method, base_samples, phase, as_json, seed,
                store_path) -> None:
    """Sobol indices (first and total order) of an outcome with respect to the parameters, or
    Shapley effects when the priors are correlated (--method)."""
    from rsilab.api import sensitivity as analyse

    scenario = _scenario(scenario_file, _preset(preset, scenario_alias), command="analyse")
    with _errors_name_flags(), _progress(f"analysing {scenario.name}", "simulations", as_json) as progress:
        result = analyse(scenario, output=output, base_samples=base_samples, method=method, seed=seed, phase=phase,
                         record=True, store=store_path, progress=progress)
    if as_json:
        echo_json(result.summary())
        return
    print_sensitivity(result.summary(), scenario.name)
    _print_recorded(result.run_id, None)


def print_sensitivity(result: dict[str, Any], name: str) -> None:
    from rich.console import Console
    from rich.table import Table

    output, shapley = result["output"], result["method"] == "shapley"
    what = "Shapley effects" if shapley else "Sobol indices"
    table = Table(title=f"{what} of {output} ({name}, {result['n_evaluations']:,} simulations)", title_justify="left")
    cols = ("parameter", "Shapley", "95% ±", "S1", "95% ±", "ST", "95% ±") if shapley else \
        ("parameter", "S1", "S1 95% ±", "ST", "ST 95% ±")
    for col in cols:
        table.add_column(col, justify="right" if col != "parameter" else "left")
    fmt = (lambda v: "-" if v is None else f"{v:.3f}")
    for row in result["indices"]:
        cells = [row["parameter"]] + ([fmt(row["shapley"]), fmt(row["shapley_conf"])] if shapley else [])
        table.add_row(*cells, fmt(row["S1"]), fmt(row["S1_conf"]), fmt(row["ST"]), fmt(row["ST_conf"]))
    console = Console()
    console.print(table)
    why = "the scenario has correlations" if result["correlated_priors"] else "independent priors"
    how = "auto, " + why if result["method_requested"] == "auto" else f"--method {result['method_requested']}"
    if shapley:
        detail = (f"{result['estimator']} estimator over {result['cost_estimates']:,} "
                  f"{'subsets' if result['estimator'] == 'exact' else 'orderings'}, "
                  f"{result['inner_samples']} inner samples each; the effects share Var({output}) and sum to "
                  f"{result['shapley_sum']:.3f}")
        if result["estimator"] == "exact":
            detail += "; S1, ST: Kucherenko's first-order and total indices (Sobol's when the priors are independent)"
    else:
        detail = "Saltelli design, SALib's estimator"
        if result["correlations_ignored"]:
            detail += "; the scenario's correlations are NOT applied: Sobol indices assume independent inputs"
    console.print(f"method: {result['method']} ({how}); {detail}.", highlight=False, markup=False)


@click.command(short_help="List the shipped scenarios.")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@friendly_errors
def presets(as_json: bool) -> None:
    """List the shipped scenarios."""
    from rsilab.simulate.scenario import load_preset, preset_names

    rows = []
    for name in preset_names():
        sc = load_preset(name)
        rows.append({"name": name, "model": sc.model.name, "title": sc.meta.get("title", "")})
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['name']:<24} {r['model']:<14} {r['title']}")


# `rsilab runs`: the columns in the order they are dropped when the terminal is too narrow
# (the last first); id, name and the headline always stay
RUN_COLUMNS = ("id", "kind", "name", "when", "headline", "seed", "status")
KEPT_COLUMNS = ("id", "name", "headline")
DROP_ORDER = ("status", "seed", "when", "kind")


def _table_width(rows: list[dict[str, str]], cols: list[str]) -> int:
    """Terminal columns the runs table of ``cols`` needs with no value wrapped, its cells measured
    as the escaping console shows them."""
    return table_width(cols, [[safe_text(r[c]) for c in cols] for r in rows])


def _fit_columns(rows: list[dict[str, str]], width: int) -> list[str]:
    """The columns shown in ``width`` terminal columns: all of them if no value has to wrap,
    else without status, seed, when and kind, dropped in that order until it fits."""
    cols = list(RUN_COLUMNS)
    for col in DROP_ORDER:
        if _table_width(rows, cols) <= width:
            break
        cols.remove(col)
    return cols


@click.command(short_help="List the runs recorded in the store.")
@click.option("--kind", default=None, help="Only runs of this kind (forecast, simulate, sensitivity, experiment:..., fit:...).")
@click.option("--limit", type=int, default=30, show_default=True, help="Show at most this many runs, newest first.")
@click.option("--wide", is_flag=True, help="Every column (id, kind, name, when, headline, seed, status), whatever the "
                                           "terminal's width; without it, the columns that fit.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@store_option
@friendly_errors
def runs(kind, limit, wide, as_json, store_path) -> None:
    """List the runs recorded in the store, newest first: the columns that fit the terminal
    (--wide: all of them; --json: every field)."""
    from rich.table import Table

    from rsilab.cli.untrusted import console as safe_console
    from rsilab.report.text import headline
    from rsilab.store import Store

    with Store(store_path) as store:
        records = store.list_runs(kind=kind, limit=limit)
    if as_json:
        echo_json([r.__dict__ for r in records])
        return
    rows = [{"id": str(r.id), "kind": r.kind, "name": r.name,
             "when": time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)),
             "headline": headline(r.summary), "seed": "" if r.seed is None else str(r.seed), "status": r.status}
            for r in records]
    console = safe_console()
    cols = list(RUN_COLUMNS) if wide else _fit_columns(rows, console.width)
    table = Table(title=f"runs in {store_path or 'the default store'}", title_justify="left")
    for col in cols:
        table.add_column(col, no_wrap=col not in KEPT_COLUMNS[1:])
    for r in rows:
        table.add_row(*(r[c] for c in cols))
    if wide:  # wider than the terminal rather than a value cut or wrapped
        console = safe_console(width=max(console.width, _table_width(rows, cols)))
    console.print(table)
    hidden = [c for c in RUN_COLUMNS if c not in cols]
    if hidden:
        click.echo(f"not shown at this width: {', '.join(hidden)} (--wide or --json shows them)")
