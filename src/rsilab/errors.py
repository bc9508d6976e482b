"""rsilab's error types.

Every error a user can cause is an ``RsilabError`` whose message names the field (or file,
row, column), the value given and what is allowed. The CLI turns these into one line on
stderr and a non-zero exit; anything else escaping is a bug in rsilab, not a user mistake.
This module imports nothing of ours.
"""
from __future__ import annotations

from typing import Any


class RsilabError(Exception):
    """Base of every error caused by input or state the user controls."""

    exit_code = 2


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ConfigError(RsilabError):
    """A scenario, config or parameter that is not allowed.

    ``field`` is a dotted path such as ``params.k.low``; ``allowed`` says what would be accepted.
    """

    def __init__(self, field: str, value: Any, allowed: str, *, source: str | None = None):
        self.field, self.value, self.allowed, self.source = field, value, allowed, source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field} = {_show(value)} is not allowed: {allowed}")


class DataError(RsilabError):
    """A data file (CSV, JSON) with missing columns, bad values or too few rows."""

    def __init__(self, path: str, problem: str, *, row: int | None = None, column: str | None = None):
        self.path, self.problem, self.row, self.column = path, problem, row, column
        where = path
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")


class EstimationError(RsilabError):
    """The data cannot support the requested estimate (too few rounds, no gains, ...)."""


class StoreError(RsilabError):
    """The store cannot be opened, is from a newer rsilab, or lacks the requested record."""


class BoxError(RsilabError):
    """The box refuses to run something (no namespaces and no explicit opt-in, bad limits...)."""


class ExperimentError(RsilabError):
    """An experiment config or run that cannot proceed."""


class MissingExtraError(RsilabError):
    """An optional package that a command needs is not installed (``rsilab.core.extras``)."""

    def __init__(self, what: str, module: str, extra: str, problem: str | None = None):
        self.what, self.module, self.extra = what, module, extra
        why = problem or "which is not installed"
        super().__init__(f"{what} needs {module}, {why}: pip install 'rsilab[{extra}]'")
