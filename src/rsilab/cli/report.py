"""``rsilab report RUN --out FILE.html``: the self-contained HTML report of a stored run."""
from __future__ import annotations

from pathlib import Path

import click

from rsilab.cli.common import friendly_errors, store_option


@click.command(short_help="Write a run's self-contained HTML report (offline; charts and data).")
@click.argument("run_id", metavar="RUN", type=int)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The HTML file to write (one file; opens offline).")
@store_option
@friendly_errors
def report(run_id: int, out_path: Path, store_path: Path | None) -> None:
    """Write the HTML report of run RUN (see `rsilab runs`) from the store; nothing is re-run."""
    from rsilab.report.html import write_run_report
    from rsilab.store import Store

    with Store(store_path) as store:
        path = write_run_report(store, run_id, out_path)
    click.echo(f"report: {path}")
