"""Shared fixtures: every test gets its own store file; nothing touches the user's data dir.

A test whose prerequisite is missing here (the published data folder, bubblewrap, chromium)
skips, except where the prerequisite is required (``skip_or_fail``): under CI (``CI=true``),
or for the published data also with ``RSILAB_REQUIRE_GOLDEN=1`` (``.ci/run`` sets it), it
fails instead: a CI run must not pass by skipping what it is there to check.
"""
from __future__ import annotations

import os
import shutil
import sys
from functools import lru_cache
from pathlib import Path
from typing import NoReturn

import pytest

# PyMC raises the recursion limit to 10,000 when it is imported (rsilab.estimate.pooled_sampler
# imports it on use); hypothesis fails a test during which the limit changes. Raising it here, once,
# makes PyMC's later call change nothing, whichever test imports it first.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path, monkeypatch):
    monkeypatch.setenv("RSILAB_STORE", str(tmp_path / "store.sqlite"))
    yield


@pytest.fixture
def store(tmp_path):
    from rsilab.store import Store

    with Store(tmp_path / "test-store.sqlite") as s:
        yield s


def under_ci(environ=os.environ) -> bool:
    return environ.get("CI", "").lower() == "true"


def golden_required(environ=os.environ) -> bool:
    """True under CI or RSILAB_REQUIRE_GOLDEN=1: then missing published data is a failure."""
    return environ.get("RSILAB_REQUIRE_GOLDEN", "") == "1" or under_ci(environ)


def skip_or_fail(missing: str, *, required: bool | None = None) -> NoReturn:
    """Skip the test because ``missing`` is missing here, or fail where it is required
    (``required``; default: under CI). The one rule for every prerequisite of a test."""
    if under_ci() if required is None else required:
        pytest.fail(f"{missing}; it is required here (CI=true, or RSILAB_REQUIRE_GOLDEN=1 for published data)")
    pytest.skip(missing)


def need_shared_data() -> Path:
    """../shared/data beside the project, or skip_or_fail (required under golden_required)."""
    if not SHARED_DATA.is_dir():
        skip_or_fail(f"shared data folder not found at {SHARED_DATA}", required=golden_required())
    return SHARED_DATA


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the project: published datasets we may read but not redistribute."""
    return need_shared_data()


@lru_cache(maxsize=1)
def bwrap_works() -> bool:
    import subprocess

    if shutil.which("bwrap") is None:
        return False
    try:
        r = subprocess.run(["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
                           capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0


def pytest_collection_modifyitems(config, items):
    gpu = [item for item in items if "gpu" in item.keywords]
    if not gpu:
        return  # importing torch takes seconds: only to know whether CUDA is present for a gpu test
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    for item in gpu:
        if not has_cuda:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))


def pytest_runtest_setup(item):
    if "bwrap" in item.keywords and not bwrap_works():
        skip_or_fail("bubblewrap cannot create namespaces here (.ci/run installs bubblewrap)")
