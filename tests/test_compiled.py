"""rsilab.simulate.compiled: a kernel is compiled once, loaded from numba's disk cache by the
next process, compiled again when a function it inlines from another file changes (numba alone
checks only the kernel's own file), and says so in one line on stderr, never on stdout; and a
model of the user's own that declares ``rhs_one`` runs through the compiled integrator with
nothing in rsilab.simulate changed; and ``rsilab serve`` compiles the presets' kernels in a
second process that stops with it."""
from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from rsilab.dynamics.base import OdeModel, Param, Params, kernel_rows
from rsilab.simulate import compiled
from rsilab.simulate.kernels import kernel_for
from rsilab.simulate.ode_kernels import solve_ode_compiled
from rsilab.simulate.solver import SolverSettings, solve

KERNEL = "def apply(x, out):\n    out[0] = _f(x)\n"
RUN = """
import sys
import numpy as np
import pytest
sys.path.insert(0, {folder!r})
import kernel, model
from rsilab.simulate import compiled
out = np.zeros(1)
compiled.jit(kernel.apply, "test", _f=model.f)(2.0, out)
print(out[0])
"""


def _run(folder) -> tuple[float, bool]:
    """In a new process (no bytecode files: an edit within the same second must be seen):
    the kernel's result, and whether it said it was compiling."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(folder / "cache")}
    done = subprocess.run([sys.executable, "-B", "-c", RUN.format(folder=str(folder))], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return float(done.stdout), "rsilab: compiling the test kernel (first use only" in done.stderr


@pytest.mark.slow
def test_a_kernel_is_cached_and_compiled_again_when_a_function_it_inlines_changes(tmp_path):
    (tmp_path / "kernel.py").write_text(KERNEL)
    (tmp_path / "model.py").write_text("def f(x):\n    return x + 1.0\n")
    assert _run(tmp_path) == (3.0, True)     # compiled, and said so (stdout holds the result only)
    assert _run(tmp_path) == (3.0, False)    # loaded from numba's cache: nothing said
    (tmp_path / "model.py").write_text("def f(x):\n    return x + 2.0\n")
    assert _run(tmp_path) == (4.0, True)     # the edit is seen, not the stale kernel


def _plus_one(x):
    return x + 1.0


def _times_two(x):
    return 2.0 * x


def _apply(x, out):
    out[0] = _f(x)  # noqa: F821 (bound by compiled.jit)


def test_one_kernel_bound_to_two_functions_under_one_label_gives_two_kernels():
    out = np.zeros(1)
    compiled.jit(_apply, "two bindings", announce=False, _f=_plus_one)(3.0, out)
    assert out[0] == 4.0
    compiled.jit(_apply, "two bindings", announce=False, _f=_times_two)(3.0, out)
    assert out[0] == 6.0


class Logistic(OdeModel):
    """A model declared outside rsilab: d ln I / dt = c (1 - I / K), in its own file (here)."""

    name = "logistic_test"
    params = (
        Param("I0", "capability units", 1e-6, 1e6, 1.0, "capability at t = 0"),
        Param("c", "1/year", 0.0, 10.0, 1.0, "growth rate while far from K"),
        Param("K", "capability units", 1e-6, 1e9, 100.0, "carrying capacity"),
    )

    def rhs(self, t, y, p: Params) -> np.ndarray:
        return (p["c"] * (1.0 - np.exp(y[0] - np.log(p["K"]))))[None, :]

    @staticmethod
    def rhs_one(t, y, par, out):
        out[0] = par[0] * (1.0 - math.exp(y[0] - par[1]))

    def kernel_params(self, p: Params) -> np.ndarray:
        return kernel_rows(len(p["c"]), p["c"], np.log(p["K"]))


def test_a_users_own_model_runs_through_the_compiled_integrator():
    model = Logistic()
    assert kernel_for(model) is solve_ode_compiled
    n = 200
    rng = np.random.default_rng(3)
    p = {"I0": rng.uniform(0.5, 2.0, n), "c": rng.uniform(0.2, 2.0, n), "K": rng.uniform(10.0, 1e4, n)}
    t = np.linspace(0.0, 10.0, 21)
    fused = solve(model, p, t, np.log([5.0]), SolverSettings())
    plain = solve(model, p, t, np.log([5.0]), SolverSettings(), fused=False)
    # the logistic closed form: I(t) = K / (1 + (K / I0 - 1) e^(-c t)); both solvers within
    # 100 rtol of it (rtol per step compounded over the horizon, as in test_ode_kernels)
    exact = np.log(p["K"][:, None] / (1.0 + (p["K"][:, None] / p["I0"][:, None] - 1.0) * np.exp(-p["c"][:, None] * t)))
    for sol in (fused, plain):
        np.testing.assert_allclose(sol.y_grid[0], exact, rtol=100 * SolverSettings().rtol, atol=100 * SolverSettings().rtol)
    np.testing.assert_array_equal(fused.status, plain.status)


@pytest.mark.slow
def test_serve_compiles_the_presets_kernels_in_a_second_process_that_stops_with_it(tmp_path):
    import signal
    import time
    from pathlib import Path

    cache = tmp_path / "cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    server = subprocess.Popen([sys.executable, "-m", "rsilab.cli", "serve", "--port", "0", "--store",
                               str(tmp_path / "store.sqlite")], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert "http://127.0.0.1:" in server.stdout.readline()
        children = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == server.pid]
        assert len(children) == 1, children
        # the page's first preset (default: the returns model) is compiled first, into the cache
        deadline = time.monotonic() + 600
        while not list(cache.rglob("ode_kernels._integrate.returns-*.nbi")) and time.monotonic() < deadline:
            time.sleep(1)
        assert list(cache.rglob("ode_kernels._integrate.returns-*.nbi"))
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=60) == 0
        server.stdout.close()
    assert not _alive_warm_up(children[0]), "the warm-up process outlived the server"


def _alive_warm_up(proc) -> bool:
    try:
        return b"warm_up" in (proc / "cmdline").read_bytes()
    except OSError:
        return False


def _parent(proc) -> int:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1
