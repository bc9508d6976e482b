"""The package's version and the git revision of its sources: what every record says wrote it.

Its own module so that the store, the experiments and the report read the version without
importing the package root. Imports nothing of ours.
"""
from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

__version__ = "0.1.0"


@lru_cache(maxsize=1)
def git_revision() -> str | None:
    """The git revision of the installed sources, or None outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
