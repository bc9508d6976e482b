"""``rsilab sweep SWEEP.toml`` and ``rsilab sweep show ID``: experiments over a grid, on Ray."""
from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from rsilab.cli.common import echo_json, friendly_errors, print_wide_table, store_option


class _RunByDefault(click.Group):
    """``rsilab sweep FILE`` and ``rsilab sweep --resume ID`` mean ``rsilab sweep run ...``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@click.group(cls=_RunByDefault, short_help="Run an experiment over a grid of config fields on Ray; show a sweep's cells.")
def sweep() -> None:
    """Run an experiment over a grid of its config fields (one run per cell), or show a sweep.

    \b
    rsilab sweep SWEEP.toml            run every cell (on a local Ray, or --address)
    rsilab sweep --resume ID           run only the cells of sweep ID not finished yet
    rsilab sweep show ID [--wide]      the cells: status, k with its interval, values, seconds
    """


@sweep.command("run", short_help="Run the cells of a sweep file, or resume a sweep.")
@click.argument("sweep_path", metavar="SWEEP.toml", required=False,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--resume", "resume_id", type=int, default=None,
              help="Run only the unfinished cells of sweep ID (failed, interrupted or never started).")
@click.option("--address", default=None,
              help="Ray cluster to run on (default: $RAY_ADDRESS, else a local Ray started here).")
@click.option("--cpus", type=int, default=None,
              help="CPUs of the local Ray (default: all cores); a cell uses one unless its config says more.")
@click.option("--cell-timeout", "cell_timeout", type=float, default=None,
              help="Seconds a cell may run before it is stopped and recorded failed (default: the file's timeout_s).")
@click.option("--yes", is_flag=True, help="Allow a grid of more than 10,000 cells.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@store_option
@friendly_errors
def run(sweep_path: Path | None, resume_id: int | None, address: str | None, cpus: int | None,
        cell_timeout: float | None, yes: bool, as_json: bool, store_path: Path | None) -> None:
    """Run the cells of SWEEP.toml (or of sweep --resume ID)."""
    from rsilab.errors import ConfigError
    from rsilab.store import Store
    from rsilab.sweep.engine import import_ray, create_sweep, run_sweep
    from rsilab.sweep.spec import load_spec

    if (sweep_path is None) == (resume_id is None):
        raise ConfigError("SWEEP.toml", None, "a sweep file, or --resume ID (one of the two)")
    if cpus is not None and cpus < 1:
        raise ConfigError("--cpus", cpus, "at least 1")
    if cell_timeout is not None and not cell_timeout > 0:
        raise ConfigError("--cell-timeout", cell_timeout, "a number of seconds > 0")
    spec = load_spec(sweep_path, yes=yes) if sweep_path is not None else None
    import_ray(spec.experiment if spec is not None else None)  # before anything is written: one line if missing
    with Store(store_path) as store:
        sweep_id = create_sweep(store, spec) if spec is not None else resume_id
        if not as_json:
            click.echo(f"sweep {sweep_id}: {'resuming' if spec is None else f'{len(spec.cells)} cells'}; "
                       f"stop with Ctrl-C and resume with: rsilab sweep --resume {sweep_id}", err=True)
        # SIGTERM stops a sweep as Ctrl-C does (a sweep started in the background with nohup
        # ignores Ctrl-C's SIGINT): running cells are cancelled and left to --resume
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            out = run_sweep(store, sweep_id, address=address, cpus=cpus, timeout_s=cell_timeout,
                            progress=not as_json and sys.stderr.isatty())
        except KeyboardInterrupt:
            click.echo(f"interrupted: finished cells are saved; resume with: rsilab sweep --resume {sweep_id}",
                       err=True)
            sys.exit(130)
        finally:
            signal.signal(signal.SIGTERM, previous)
    if as_json:
        echo_json(out.__dict__)
        return
    click.echo(f"sweep {sweep_id} {out.status}: {out.finished} cells finished, {out.failed} failed, "
               f"{out.skipped} already done, in {out.seconds:.0f} s; see it with: rsilab sweep show {sweep_id}")


@sweep.command("show", short_help="A sweep's cells: status, seconds, k with its interval.")
@click.argument("sweep_id", type=int)
@click.option("--wide", is_flag=True, help="Show every column, however wide the table gets.")
@click.option("--json", "as_json", is_flag=True, help="Print the sweep and its cells as JSON.")
@store_option
@friendly_errors
def show(sweep_id: int, wide: bool, as_json: bool, store_path: Path | None) -> None:
    """The cells of sweep SWEEP_ID: status, k with its interval, values, rounds, seconds, parameters,
    run and error; the columns that fit the terminal, the rest with --wide or --json."""
    from rsilab.store import Store
    from rsilab.sweep.results import cell_rows

    with Store(store_path) as store:
        data = cell_rows(store, sweep_id)
    if as_json:
        echo_json(data)
        return
    s = data["sweep"]
    counts = ", ".join(f"{n} {k}" for k, n in s["counts"].items() if n)
    fixed = s["spec"].get("fixed", {})
    rows = []
    for r in data["cells"]:
        if r["k"] is not None:
            lo, hi = r["k_interval"] or (float("nan"), float("nan"))
            k = f"{r['k']:.3g} [{lo:.3g}, {hi:.3g}] {r['regime']}"
        else:
            k = r["k_note"] or ""
        rows.append([str(r["cell"]), r["status"], k,
                     ", ".join(f"{a}={b}" for a, b in r["values"].items() if a not in fixed), str(r["rounds"] or ""),
                     "" if r["seconds"] is None else f"{r['seconds']:.1f}",
                     "" if r["parameters"] is None else f"{r['parameters']:.4g}",
                     "" if r["run_id"] is None else str(r["run_id"]), r["error"] or ""])
    print_wide_table(f"sweep {s['id']}: {s['experiment']} ({s['profile']} profile), {s['status']}: {counts}",
                     ["cell", "status", "k [90% interval] verdict", "values", "rounds", "seconds", "parameters", "run",
                      "error"], rows, wide=wide)
    if fixed:
        from rsilab.cli.untrusted import safe_text

        click.echo(safe_text("every cell also sets: " + ", ".join(f"{a}={b}" for a, b in fixed.items())))
