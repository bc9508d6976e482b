"""Options and error handling shared by every command.

Every user error, rsilab's own and click's usage errors alike, reaches the user as one line on
stderr and exit code 2 (``user_error_line``):

    error: WHERE = VALUE is not allowed: WHAT IS ALLOWED     (a value that is not accepted)
    error: WHERE: PROBLEM                                    (nothing to show as a value)

WHERE is what the user typed or wrote: the flag (``--samples``), the argument (``FILE.csv``),
the config field (``params.k.low``) or the file, row and column.
"""
from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import click

from rsilab.cli.untrusted import console, safe_text
from rsilab.errors import RsilabError


def _store_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A mistyped ``--store`` is one line naming the flag, before the command does any work."""
    from rsilab.store.db import check_store_path

    return None if value is None else check_store_path(value, "--store")


def store_option(func: Callable) -> Callable:
    """``--store PATH``: which store file to use (default: $RSILAB_STORE or the user data dir).
    A missing file is created; a missing directory is an error (``rsilab.store.db``)."""
    return click.option(
        "--store",
        "store_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        callback=_store_path,
        help="Store file (SQLite). Default: $RSILAB_STORE or the user data directory.",
    )(func)


def friendly_errors(func: Callable) -> Callable:
    """Turn rsilab's errors into one line on stderr and exit code 2: never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RsilabError as exc:
            click.echo(safe_text(user_error_line(exc)), err=True)
            sys.exit(exc.exit_code)
        except ImportError as exc:
            # an optional package a command reached without declaring it: the same line as
            # rsilab.core.extras.require gives
            from rsilab.core.extras import missing_extra

            ctx = click.get_current_context(silent=True)
            missing = missing_extra(exc, ctx.command_path if ctx else "rsilab")
            if missing is None:
                raise
            click.echo(user_error_line(missing), err=True)
            sys.exit(missing.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted: finished work is saved (experiments resume with --resume RUN)", err=True)
            sys.exit(130)

    return wrapper


# click's messages for a value its type refused, e.g. "'x' is not a valid integer." or
# "File 'a.csv' does not exist.": split into the value and what would have been allowed
_CLICK_VALUE = re.compile(r"^(?:(?P<kind>File|Directory|Path) )?(?P<value>'[^']*'|\S+) "
                          r"(?P<verb>is not|does not|is) (?P<rest>.+?)\.?$", re.DOTALL)
_ALLOWED = {
    "a valid integer": "an integer",
    "a valid float": "a number",
    "a valid boolean": "true or false",
}


def _click_allowed(kind: str | None, verb: str, rest: str) -> str:
    if verb == "is not":
        return _ALLOWED.get(rest, rest)
    noun = {"File": "file", "Directory": "directory"}.get(kind or "", "path")
    if verb == "does not" and rest == "exist":
        return f"an existing {noun}"
    return f"a {noun} (this one {verb} {rest})"


def user_error_line(exc: BaseException, ctx: click.Context | None = None) -> str:
    """The one-line message for a user error (see the module docstring)."""
    if isinstance(exc, RsilabError):
        return f"error: {exc}"
    if isinstance(exc, click.BadParameter) and not isinstance(exc, click.MissingParameter):
        where = exc.param_hint if isinstance(exc.param_hint, str) else None
        if where is None and exc.param is not None:
            where = exc.param.opts[-1] if exc.param.opts and exc.param.opts[-1].startswith("-") \
                else (exc.param.metavar or exc.param.human_readable_name)
        m = _CLICK_VALUE.match(exc.message.strip())
        if where and m:
            return (f"error: {where} = {m['value']} is not allowed: "
                    f"{_click_allowed(m['kind'], m['verb'], m['rest'])}")
        if where:
            return f"error: {where}: {exc.message.strip().rstrip('.')}"
    if isinstance(exc, click.ClickException):
        command = exc.ctx.command_path if isinstance(exc, click.UsageError) and exc.ctx else \
            (ctx.command_path if ctx else "rsilab")
        text = " ".join(exc.format_message().split()).rstrip(".").replace(". (", " (")
        option = getattr(exc, "option_name", None)
        where = option if option and option in text else command
        return f"error: {where}: {text[:1].lower() + text[1:]} (see '{command} --help')"
    return f"error: {exc}"


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=True, default=_json_default))


def _json_default(obj: Any) -> Any:
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


# the columns of an estimator's ``table_rows()``
ESTIMATE_HEADER = ("parameter", "value", "std. error", "interval")


def print_table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]], width: int | None = None) -> None:
    """A titled rich table on stdout, ``width`` columns wide (default: the terminal's); every cell
    is shown as text, control characters escaped (``rsilab.cli.untrusted``). rich is imported on
    use: commands that print no table start faster."""
    from rich.table import Table

    t = Table(title=title)
    for h in header:
        t.add_column(h)
    for r in rows:
        t.add_row(*r)
    console(width=width).print(t)


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON values (numpy scalars and arrays, paths and the like converted)."""
    return json.loads(json.dumps(obj, default=_json_default))


def record_fit(store_path: Path | None, what: str, name: str, config: dict, summary: dict, seed: int | None,
               prior: dict | None = None) -> int:
    """Record a fit as a run of kind ``fit:<what>`` with its prior (what `rsilab forecast
    --returns-from RUN` reads); return its id."""
    from rsilab.store import Store
    from rsilab.store.priors import add_fit

    with Store(store_path) as store:
        return add_fit(store, f"fit:{what}", name, config=config, summary=jsonable(summary), seed=seed,
                       prior=None if prior is None else jsonable(prior))


def column_width(name: str, cells: Sequence[str]) -> int:
    """Terminal columns one column of a rich table takes with no value wrapped: its widest text,
    one space each side and a border (the table's first border is counted by ``table_width``)."""
    return max([len(name)] + [len(c) for c in cells]) + 3


def table_width(header: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """Terminal columns a rich table of these cells needs with no value wrapped."""
    return 1 + sum(column_width(h, [r[i] for r in rows]) for i, h in enumerate(header))


def columns_that_fit(header: Sequence[str], rows: Sequence[Sequence[str]], width: int | None = None) -> int:
    """How many leading columns of a table fit, uncut, in ``width`` characters (default: the
    terminal's, or $COLUMNS); always at least one. Columns come in the caller's order of
    importance; the rest go behind ``--wide`` or ``--json``."""
    import shutil

    width = width or shutil.get_terminal_size().columns
    used, n = 1, 0   # the table's first border, then each column as column_width counts it
    for i, h in enumerate(header):
        need = column_width(h, [r[i] for r in rows])
        if n and used + need > width:
            break
        used, n = used + need, n + 1
    return n


def print_wide_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]], *, wide: bool,
                     hidden_hint: str = "--wide or --json shows them") -> None:
    """A titled table with the leading columns that fit the terminal (all of them, uncut, with
    ``wide``), and one line naming the columns left out. Headers and cells are measured as they
    will be shown: control characters escaped (``rsilab.cli.untrusted``)."""
    import shutil

    header = [safe_text(h) for h in header]
    rows = [[safe_text(c) for c in r] for r in rows]
    n = len(header) if wide else columns_that_fit(header, rows)
    shown = [tuple(r[:n]) for r in rows]
    print_table(title, tuple(header[:n]), shown,
                width=max(table_width(header[:n], shown), shutil.get_terminal_size().columns) if wide else None)
    if n < len(header):
        import textwrap

        note = f"not shown at this width: {', '.join(header[n:])} ({hidden_hint})"
        click.echo(textwrap.fill(note, width=shutil.get_terminal_size().columns, break_on_hyphens=False))
