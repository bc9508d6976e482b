"""Optional packages: which pip extra provides each one, and the one error when one is missing.

Owns ``EXTRAS`` (optional package -> the extra that installs it), ``require``, which imports an
optional package or raises ``MissingExtraError`` (one line naming ``pip install 'rsilab[EXTRA]'``;
the CLI prints it and exits 2), and ``missing_extra``, which turns an ``ImportError`` of one of
these packages raised deeper down into the same error. Every entry point that needs an optional
package calls ``require`` before it writes anything; ``missing_extra`` is the CLI's net for an
import the entry point did not declare. Imports nothing of ours but errors.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from rsilab.errors import MissingExtraError

# Keep in step with [project.optional-dependencies] in pyproject.toml (tests/test_extras.py checks).
EXTRAS: dict[str, str] = {
    "torch": "experiments",
    "ray": "sweep",
    "starlette": "web",
    "uvicorn": "web",
    "pandas": "pandas",
    "pymc": "stats",
    "arviz": "stats",
}


def require(module: str, what: str) -> ModuleType:
    """Import optional package ``module`` for ``what`` (e.g. "rsilab serve"), or raise the one-line error."""
    if module not in EXTRAS:
        raise ValueError(f"internal: {module!r} is not an optional package (EXTRAS lists them)")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise _error(module, what, exc) from None


def missing_extra(exc: ImportError, what: str) -> MissingExtraError | None:
    """The error for an ImportError of an optional package (or of something it imports); None otherwise."""
    top = (exc.name or "").partition(".")[0]
    if top not in EXTRAS:
        return None
    return _error(top, what, exc)


def _error(module: str, what: str, exc: ImportError) -> MissingExtraError:
    # The package itself absent, or present but failing to import (a broken install): both are
    # fixed by installing the extra again, and the second says what failed.
    absent = isinstance(exc, ModuleNotFoundError) and (exc.name or "").partition(".")[0] == module
    problem = None if absent else f"which failed to import ({' '.join(str(exc).split())})"
    return MissingExtraError(what, module, EXTRAS[module], problem)
