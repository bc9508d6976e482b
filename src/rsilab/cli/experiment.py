"""``rsilab experiment run|show|export``: the self-improvement experiments."""
from __future__ import annotations

import importlib
from pathlib import Path

import click

from rsilab.cli.common import echo_json, friendly_errors, store_option
from rsilab.errors import ConfigError, ExperimentError


def _load(name: str):
    from rsilab.experiments import EXPERIMENTS

    if name not in EXPERIMENTS:
        raise ConfigError("NAME", name, f"an experiment: one of {', '.join(sorted(EXPERIMENTS))}")
    try:
        return importlib.import_module(EXPERIMENTS[name])
    except ImportError as exc:
        raise ExperimentError(
            f"NAME: experiment {name!r} needs the experiments extra (pip install 'rsilab[experiments]'): {exc}"
        ) from None


@click.group(short_help="Run, show and export self-improvement experiments.")
def experiment() -> None:
    """Run, show and export self-improvement experiments."""


@experiment.command("run", short_help="Run an experiment (self-training, learned-optimizer, self-improver).")
@click.argument("name")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="TOML config overriding the profile's defaults.")
@click.option("--profile", type=click.Choice(["cpu", "gpu", "mini"]), default="cpu", show_default=True,
              help="cpu: under 10 minutes on 2 cores; gpu: the paper's scale; mini: seconds (tests).")
@click.option("--resume", "resume_run", type=int, default=None, help="Resume run ID from its last finished round.")
@store_option
@friendly_errors
def run(name: str, config_path: Path | None, profile: str, resume_run: int | None, store_path: Path | None) -> None:
    """Run experiment NAME (self-training, learned-optimizer, self-improver)."""
    from rsilab.store import Store

    module = _load(name)
    with Store(store_path) as store:
        run_id = module.run_experiment(config_path=config_path, profile=profile, store=store,
                                       resume_run=resume_run, progress=True)
    click.echo(f"run {run_id} finished; see it with: rsilab experiment show {run_id}")


@experiment.command("show", short_help="Show a run's rounds as a table and a PNG.")
@click.argument("run_id", type=int)
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PNG path (default: run-<ID>.png in the current directory).")
@click.option("--json", "as_json", is_flag=True, help="Print the run and its rounds as JSON.")
@store_option
@friendly_errors
def show(run_id: int, plot_path: Path | None, as_json: bool, store_path: Path | None) -> None:
    """Show a run's rounds as a table and a PNG."""
    from rich.table import Table

    from rsilab.cli.untrusted import console
    from rsilab.store import Store

    with Store(store_path) as store:
        run_rec = store.get_run(run_id)
        rounds = store.rounds(run_id)
    if as_json:
        echo_json({"run": run_rec.__dict__, "rounds": rounds})
        return
    name = run_rec.kind.split(":", 1)[-1]
    table = Table(title=f"run {run_id}: {name} ({run_rec.status})")
    keys = ["round", "capability", "compute_flop", "seconds"]
    extra = sorted({k for r in rounds for k, v in r.items() if k not in keys and isinstance(v, (int, float, str))})
    for k in keys + extra:
        table.add_column(k)
    for r in rounds:
        table.add_row(*[_fmt(r.get(k)) for k in keys + extra])
    console().print(table)
    if not rounds:
        return
    from rsilab.report.experiments import ROUND_CHARTS

    path = plot_path or Path(f"run-{run_id}.png")
    if name in ROUND_CHARTS:
        ROUND_CHARTS[name](rounds, path)
    else:
        module = None if name == "track" else _load(name)  # runs logged with rsilab.track have no module
        if module is None or not hasattr(module, "plot_rounds"):
            return
        module.plot_rounds(rounds, path)
    click.echo(f"wrote {path}")


@experiment.command("export", short_help="Export a run's rounds as CSV for `rsilab fit rounds`.")
@click.argument("run_id", type=int)
@click.option("--rounds", "rounds_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="CSV to write: round, capability, compute_flop, seconds[, schedule] (for `rsilab fit rounds`).")
@store_option
@friendly_errors
def export(run_id: int, rounds_path: Path, store_path: Path | None) -> None:
    """Export a run's rounds for `rsilab fit rounds`."""
    from rsilab.experiments.record import export_rounds
    from rsilab.store import Store

    with Store(store_path) as store:
        n = export_rounds(store, run_id, rounds_path)
    click.echo(f"wrote {n} rounds to {rounds_path}")


def _fmt(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
