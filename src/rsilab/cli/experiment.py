"""``rsilab experiment run|show|export``: the self-improvement experiments.

Thin: every experiment is read from its declaration (``rsilab.experiments.registry``): its
profiles, its config, its run function, its chart and the columns its table leads with.
"""
from __future__ import annotations

from pathlib import Path

import click

from rsilab.cli.common import echo_json, friendly_errors, print_wide_table, store_option
from rsilab.experiments.registry import EXPERIMENTS, PROFILE_NAMES, get_experiment

# the round fields a run logged with rsilab.track has (it has no declaration)
TRACK_COLUMNS = ("capability", "compute_flop", "seconds")


@click.group(short_help="Run, show and export self-improvement experiments.")
def experiment() -> None:
    """Run, show and export self-improvement experiments."""


def _profiles_help() -> str:
    return ("mini: seconds (tests); quick: enough rounds for `rsilab fit rounds` in seconds (learned-optimizer); "
            "cpu: under 10 minutes on 2 cores; gpu: the paper's scale. Each experiment's: "
            + "; ".join(f"{name} {', '.join(e.profiles)}" for name, e in EXPERIMENTS.items()) + ".")


@experiment.command("run", short_help="Run an experiment (self-training, learned-optimizer, self-improver).",
                    help="Run experiment NAME: " + "; ".join(f"{n}, {e.about}" for n, e in EXPERIMENTS.items()) + ".")
@click.argument("name")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML config overriding the profile's defaults.")
@click.option("--profile", type=click.Choice(PROFILE_NAMES), default="cpu", show_default=True,
              help=_profiles_help())
@click.option("--resume", "resume_run", type=int, default=None, help="Resume run ID from its last finished round.")
@store_option
@friendly_errors
def run(name: str, config_path: Path | None, profile: str, resume_run: int | None, store_path: Path | None) -> None:
    """Run experiment NAME (self-training, learned-optimizer, self-improver)."""
    from rsilab.store import Store

    spec = get_experiment(name)
    run_function = spec.run_function()  # a missing optional package is one line here, before anything is written
    cfg = spec.build(profile, config_path, profile_field="--profile")
    with Store(store_path) as store:
        run_id = run_function(cfg, store, resume_run=resume_run, progress=True)
    click.echo(f"recorded as run {run_id}; see it with: rsilab experiment show {run_id}; "
               f"fit its k with: rsilab fit rounds --run {run_id}")


def _fmt(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


@experiment.command("show", short_help="Show a run's rounds as a table (and a PNG with --plot).")
@click.argument("run_id", type=int)
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also draw the run's chart as a PNG here (no file is written without it).")
@click.option("--wide", is_flag=True, help="Show every column, however wide the table gets.")
@click.option("--json", "as_json", is_flag=True, help="Print the run and its rounds (every field) as JSON.")
@store_option
@friendly_errors
def show(run_id: int, plot_path: Path | None, wide: bool, as_json: bool, store_path: Path | None) -> None:
    """Show a run's rounds as a table: the columns that fit the terminal, the rest with --wide or
    --json; --plot FILE draws the run's chart."""
    from rsilab.store import Store
    from rsilab.store.rounds import rounds_of

    with Store(store_path) as store:
        found = rounds_of(store, run_id)
    if as_json:
        echo_json({"run": found.run.__dict__, "rounds": found.rounds})
        return
    spec = EXPERIMENTS.get(found.experiment)
    lead = ["round", *(spec.columns if spec is not None else TRACK_COLUMNS)]
    # one column per field that is a number or a word in every round (and set in some); lists and
    # tables (accuracy per length, details) are in --json
    scalar = [k for k in dict.fromkeys(k for r in found.rounds for k in r)
              if all(isinstance(r.get(k), (int, float, str, type(None))) for r in found.rounds)
              and any(r.get(k) is not None for r in found.rounds)]
    header = [k for k in lead if k in scalar or k == "round"] + sorted(k for k in scalar if k not in lead)
    rows = [[_fmt(r.get(k)) for k in header] for r in found.rounds]
    print_wide_table(f"{found.label}, {found.run.status}, {len(rows)} round(s)", header, rows, wide=wide)
    if plot_path is not None:
        if not found.rounds:
            from rsilab.errors import ConfigError

            raise ConfigError("RUN_ID", run_id, "a run with at least one finished round to draw (--plot)")
        if spec is not None:
            from rsilab.experiments.spec import load

            load(spec.chart)(found.rounds, plot_path)
        else:
            from rsilab.cli.untrusted import safe_text
            from rsilab.report.experiments import capability_chart

            capability_chart(found.rounds, plot_path, title=f"run {run_id}: {safe_text(found.run.name)}")
        click.echo(f"wrote {plot_path}")


@experiment.command("export", short_help="Export a run's rounds as CSV for `rsilab fit rounds`.")
@click.argument("run_id", type=int)
@click.option("--rounds", "rounds_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="CSV to write: round, capability, compute_flop, seconds[, schedule] (for `rsilab fit rounds`).")
@store_option
@friendly_errors
def export(run_id: int, rounds_path: Path, store_path: Path | None) -> None:
    """Export a run's rounds for `rsilab fit rounds` (which also reads a stored run: --run ID)."""
    from rsilab.experiments.record import export_rounds
    from rsilab.store import Store

    with Store(store_path) as store:
        n = export_rounds(store, run_id, rounds_path)
    click.echo(f"wrote {n} rounds to {rounds_path}")
