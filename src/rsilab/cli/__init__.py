"""The ``rsilab`` command line: thin, lazy, and free of tracebacks for user mistakes.

Each subcommand lives in its own module and is imported only when it is invoked, so
``rsilab --help`` and ``rsilab simulate`` never import torch (or matplotlib until a chart is
drawn). Shared options and the error handling live in ``rsilab.cli.common``. Nothing imports
this package.
"""
from __future__ import annotations

import importlib
import sys

import click

# name -> "module:attribute". Adding a command is one line here plus its module.
COMMANDS: dict[str, str] = {
    "forecast": "rsilab.cli.forecast:forecast",
    "simulate": "rsilab.cli.forecast:simulate",
    "sensitivity": "rsilab.cli.forecast:sensitivity",
    "presets": "rsilab.cli.forecast:presets",
    "runs": "rsilab.cli.forecast:runs",
    "report": "rsilab.cli.report:report",
    "serve": "rsilab.cli.serve:serve",
    "fit": "rsilab.cli.fit:fit",
    "box": "rsilab.cli.box:box",
    "approve": "rsilab.cli.box:approve",
    "audit": "rsilab.cli.box:audit",
    "experiment": "rsilab.cli.experiment:experiment",
    "evidence": "rsilab.cli.evidence:evidence",
    "sweep": "rsilab.cli.sweep:sweep",
}

# The root listing shows these without importing the modules; each equals its command's
# short_help (tests/test_cli_docs.py holds them equal).
HELP_LINES: dict[str, str] = {
    "forecast": "Forecast a takeoff: the story, the tables, the charts (--out).",
    "simulate": "Monte Carlo a scenario file or preset; print its summary.",
    "sensitivity": "Sensitivity of an outcome to a scenario's parameters (Sobol or Shapley).",
    "presets": "List the shipped scenarios.",
    "runs": "List the runs recorded in the store.",
    "report": "Write a run's self-contained HTML report (offline; charts and data).",
    "serve": "The local playground in the browser (needs rsilab[web]).",
    "fit": "Estimate scaling laws and returns (k, r) from data.",
    "box": "Run an untrusted candidate inside the box.",
    "approve": "List, approve or reject pending self-modification proposals.",
    "audit": "Show or verify the hash-chained audit log.",
    "experiment": "Run, show and export self-improvement experiments.",
    "evidence": "Published per-round results of self-improvement, and k pooled across them.",
    "sweep": "Run an experiment over a grid of config fields on Ray; show a sweep's cells.",
}


class LazyGroup(click.Group):
    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """As click's, except that every user error is one line and exit code 2 (the format in
        ``rsilab.cli.common``), click's usage errors included."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        from rsilab.cli.common import user_error_line
        from rsilab.cli.untrusted import safe_text
        from rsilab.errors import RsilabError

        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except (click.ClickException, RsilabError) as exc:
            click.echo(safe_text(user_error_line(exc, self._typed_command(args, prog_name))), err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        # click returns the exit code of ``ctx.exit`` (--help, --version) and None otherwise
        sys.exit(rv if isinstance(rv, int) else 0)

    def _typed_command(self, args, prog_name) -> click.Context:
        """The context of the (sub)command the user typed, for errors click raises without one."""
        ctx = click.Context(self, info_name=prog_name or "rsilab")
        for arg in (sys.argv[1:] if args is None else list(args)):
            group = ctx.command
            sub = group.get_command(ctx, arg) if isinstance(group, click.Group) else None
            if sub is None:
                break
            ctx = click.Context(sub, info_name=arg, parent=ctx)
        return ctx

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing help must not import every subcommand module.
        with formatter.section("Commands"):
            formatter.write_dl([(n, HELP_LINES.get(n, "")) for n in sorted(COMMANDS)])


@click.group(cls=LazyGroup)
@click.version_option(package_name="rsilab")
def cli() -> None:
    """rsilab: forecast, measure and estimate recursive self-improvement of AI."""


def main() -> None:
    cli(prog_name="rsilab")
