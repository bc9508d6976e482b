"""Compiled kernels, registered per model class: a model whose per-sample loop is so cheap
that numpy's per-operation cost dominates runs through a fused compiled loop instead.

``kernel_for(model)`` is what the solver asks; ``register`` is how a kernel is attached to a
model class (with a predicate on the model's options: the SIE kernel serves the doublings form
only). Models never import this module: the registry is filled here, in ``simulate``.

Three kinds of kernel are registered:
- the per-doubling software intelligence explosion map (``SoftwareRnd``, form "doublings"):
  ~50 scalar steps per sample, which a fused loop does in well under a microsecond. It
  computes what ``solver._solve_map`` and ``SoftwareRnd.sample_outputs`` compute with numpy
  from ``SoftwareRnd.step`` (the iteration, grid, thresholds, rates and compression tests);
- the ODE models with a compiled right-hand side (criticality, returns, boxing, drift,
  controlled, multipolar; ``rsilab.simulate.ode_kernels``): the Dormand-Prince integrator of
  ``solver._solve_ode``, run per sample, each sample with its own steps;
- the compute-centric economy (``Ftm``, an outcome model: its kernel takes ``evaluate``'s
  place, ``rsilab.simulate.ftm_kernel``): every 0.1-year step of a sample in one compiled
  loop, where numpy spends most of a deterministic run on its per-call cost.
The tests hold each kernel equal to its numpy path sample by sample. The regime rule is not
repeated here: ``regimes.effective_returns`` reads a kernel's grid and stop values like any
other solution's. numba (a required dependency) is imported lazily, on first use, so that
commands which never simulate start fast.
"""
from __future__ import annotations

import math
import threading
from typing import Callable

import numpy as np

from rsilab.core.solution import Solution
from rsilab.dynamics import Boxing, Controlled, Criticality, Drift, Multipolar, Returns
from rsilab.dynamics.base import Model, Outcomes
from rsilab.dynamics.ftm.model import Ftm
from rsilab.dynamics.software_rnd import COMPRESSION_CONDITIONS, SoftwareRnd
from rsilab.simulate import ode_kernels

LN2 = math.log(2.0)

Kernel = Callable[..., Solution]   # (model, prepared params, t_grid, ln_multiples, settings)
_REGISTRY: list[tuple[type[Model], Callable[[Model], bool], Kernel]] = []


def register(model_class: type[Model], applies: Callable[[Model], bool], kernel: Kernel) -> None:
    """Attach ``kernel`` to ``model_class`` for the models (options) where ``applies`` holds."""
    _REGISTRY.append((model_class, applies, kernel))


def kernel_for(model: Model) -> Kernel | None:
    """The compiled kernel registered for this model and options, or None (numpy solvers)."""
    for model_class, applies, kernel in _REGISTRY:
        if type(model) is model_class and applies(model):
            return kernel
    return None


# -- the SIE per-doubling map ------------------------------------------------------------------
# rows of the parameter block handed to the kernel
_SIE_PARAMS = ("f", "r0", "limit_years", "p", "software_share", "recent_doubling_years", "f0", "boost_years")


def solve_sie_doublings(model: SoftwareRnd, p, t_grid: np.ndarray, ln_multiples: np.ndarray, settings) -> Solution:
    """The doublings form of ``SoftwareRnd`` through the compiled kernel: the same iteration
    and outputs as the numpy map solver, fused per sample."""
    n, g, q = len(p["f"]), len(t_grid), len(ln_multiples)
    par = np.ascontiguousarray(np.stack([np.broadcast_to(np.asarray(p[k], dtype=np.float64), (n,)) for k in _SIE_PARAMS]))
    windows = np.array([c[1] for c in COMPRESSION_CONDITIONS])
    multiples = np.array([c[2] for c in COMPRESSION_CONDITIONS])
    max_doublings = int(min(np.ceil(model.doublings_to_ceiling(p).max(initial=0.0)), settings.max_steps))
    y_grid = np.empty((1, n, g))
    rate_grid = np.empty((n, g))
    status = np.empty(n, dtype=np.int8)
    t_stop, rate_stop = np.empty(n), np.empty(n)
    y_stop = np.empty((4, n))
    thr = np.empty((q, n))
    n_steps = np.empty(n, dtype=np.int64)
    hits = np.empty((len(windows), n), dtype=np.bool_)
    years = np.empty(n)
    kernel = _compiled()
    with PARALLEL_LAUNCH:
        kernel(par, model.opt("retraining") == "on", model.opt("boost") == "gradual",
               float(t_grid[-1]), int(settings.max_steps), max_doublings, float(np.log(settings.cap_multiple)),
               np.ascontiguousarray(t_grid, dtype=np.float64), np.ascontiguousarray(ln_multiples, dtype=np.float64),
               windows, multiples, y_grid[0], rate_grid, status, t_stop, y_stop, rate_stop, thr, n_steps, hits, years)
    extras = {f"p_compress_{c[0]}": hits[k] for k, c in enumerate(COMPRESSION_CONDITIONS)}
    extras["years_compressed_in_1y"] = years
    # the grid holds capability only (the map's other states are not needed along the path)
    return Solution(np.asarray(t_grid, dtype=float), y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr,
                    n_steps, extras=extras)


register(SoftwareRnd, lambda model: model.kind == "map", solve_sie_doublings)


# -- the compute-centric economy (an outcome model) ------------------------------------------

def evaluate_ftm(model: Ftm, p, t_grid: np.ndarray, keep_rows: int) -> Outcomes:
    """``Ftm.evaluate`` with the steps taken by the compiled per-sample loop."""
    from rsilab.dynamics.ftm.economy import finish
    from rsilab.dynamics.ftm.model import CHART_SOURCES
    from rsilab.simulate.ftm_kernel import step_compiled

    setup = model.setup(p, float(t_grid[-1]), CHART_SOURCES if keep_rows > 0 else ())
    return model.outcomes(finish(setup, step_compiled(setup)), p, t_grid, keep_rows)


register(Ftm, lambda model: True, evaluate_ftm)


# -- the ODE models: one compiled per-sample integrator, each model's compiled rhs --------------
def _ode_kernel(name: str) -> Kernel:
    def solve_compiled(model, p, t_grid, ln_multiples, settings) -> Solution:
        return ode_kernels.solve_ode_compiled(name, model, p, t_grid, ln_multiples, settings)

    solve_compiled.__name__ = f"solve_{name}_compiled"
    return solve_compiled


for _cls, _name in ((Criticality, "criticality"), (Returns, "returns"), (Boxing, "boxing"), (Drift, "drift"),
                    (Controlled, "controlled"), (Multipolar, "multipolar")):
    register(_cls, lambda model: model.kind == "ode", _ode_kernel(_name))


def _sie_kernel(par, retraining, gradual, horizon, max_steps, max_doublings, ln_cap, tg, ln_mult, windows,
                multiples, y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr_time, n_steps, hits, years_1y):
    n = par.shape[1]
    # samples in blocks, one scratch row of doubling times per block (allocated once)
    n_blocks = (n + BLOCK - 1) // BLOCK
    for blk in _prange(n_blocks):
        times = np.empty(max_doublings + 2)
        for i in range(blk * BLOCK, min(n, (blk + 1) * BLOCK)):
            nd, code, dt, r, f_cur, most_in_1y = _sie_walk(par[:, i], retraining, gradual, horizon, max_steps,
                                                           ln_cap, times)
            _sie_record(i, times, nd, code, dt, r, f_cur, most_in_1y, par[:, i], horizon, tg, ln_mult, windows,
                        multiples, y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr_time, n_steps, hits,
                        years_1y)


def _sie_walk(pr, retraining, gradual, horizon, max_steps, ln_cap, times):
    """``SoftwareRnd.step`` and ``alive`` for one sample, scalar: fills ``times`` with each
    doubling's completion time; returns (doublings, status code, last dt, r, f, the most
    doublings completed within one year).

    The last is counted as the doublings complete: a window [times[k], times[nd]] that never
    shrinks, moved on by one doubling whenever it spans a year or more, ends as long as the
    longest run shorter than a year (the times increase). Done here, its work overlaps the
    step's exponential instead of costing a second pass over ``times``."""
    f, r0, limit_years, pp, share, t_rec, f0, boost_years = pr[0], pr[1], pr[2], pr[3], pr[4], pr[5], pr[6], pr[7]
    ceiling = limit_years / (t_rec * share)
    step_r = r0 / ceiling
    f_cur = f0 if gradual else f   # the boost at t = 0
    dt = t_rec / ((1.0 + f_cur) if gradual else f_cur)
    times[0] = 0.0
    t, r, nd, code = 0.0, r0, 0, 0
    k_year = 0   # first doubling of the longest window shorter than a year
    while (t < horizon * (1.0 - 1e-12)) and (nd * LN2 < ceiling * LN2 - 1e-12) and (r > 0.0):
        if nd >= max_steps or nd + 1 >= times.shape[0]:
            code = 3  # step limit
            break
        t_new = t + dt
        if not math.isfinite(t_new):
            break  # a doubling that never completes is not taken (as in the numpy path)
        r_new = r - step_r
        dt_new = dt
        if r_new > 0.0:
            e = pp * (1.0 / r_new - 1.0)
            if retraining:
                e = e / abs(e + 1.0)
            dt_new = dt * math.exp(e * LN2) if e < 1023.0 else math.inf
        if gradual:
            frac = min(t_new / boost_years, 1.0)
            f_new = f0 * math.exp(frac * math.log(f / f0))
            dt_new = dt_new * (1.0 + f_cur) / (1.0 + f_new)
            f_cur = f_new
        nd += 1
        times[nd] = t_new
        t, r, dt = t_new, r_new, dt_new
        if t_new - times[k_year] >= 1.0:
            k_year += 1
        if nd * LN2 >= ln_cap:
            code = 1  # blow-up: past the capability cap
            break
    return nd, code, dt, r, f_cur, nd - k_year


def _sie_record(i, times, nd, code, dt, r, f_cur, most_in_1y, pr, horizon, tg, ln_mult, windows, multiples,
                y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr_time, n_steps, hits, years_1y):
    """What ``solver._solve_map`` and ``SoftwareRnd.sample_outputs`` derive from one path."""
    g = tg.shape[0]
    per_year = 1.0 / (pr[5] * pr[4])
    n_steps[i] = nd
    status[i] = code
    t_last = times[nd]
    t_stop[i] = t_last if code == 1 else min(t_last, horizon)
    last_step = nd - 1 if nd > 0 else 0
    # grid: the state after the steps completed by each grid time
    c = 0
    for j in range(g):
        while c < nd and times[c + 1] <= tg[j]:
            c += 1
        y_grid[i, j] = c * LN2
        if code == 1 and tg[j] >= t_last:
            y_grid[i, j] = math.inf
        s = min(c, last_step)
        rate_grid[i, j] = LN2 / (times[s + 1] - times[s]) if nd > 0 else math.nan
    rate_stop[i] = LN2 / (times[last_step + 1] - times[last_step]) if nd > 0 else math.nan
    y_stop[0, i] = nd * LN2
    y_stop[1, i] = dt
    y_stop[2, i] = r
    y_stop[3, i] = f_cur
    for q in range(ln_mult.shape[0]):
        if ln_mult[q] <= 0.0:
            thr_time[q, i] = 0.0
            continue
        need = int(math.ceil(ln_mult[q] / LN2 - 1e-12))
        thr_time[q, i] = times[need] if need <= nd else math.inf
    # compression: some run of `needed` doublings in strictly less than the window
    for cidx in range(windows.shape[0]):
        needed = int(math.floor(windows[cidx] * multiples[cidx] * per_year + 1e-9))
        found = needed <= 0
        k = 0
        while not found and k + needed <= nd:
            if times[k + needed] - times[k] < windows[cidx]:
                found = True
            k += 1
        hits[cidx, i] = found
    years_1y[i] = most_in_1y / per_year


BLOCK = 256
_kernel = None
_prange = range
# Held by every launch of a numba parallel kernel (this one and rsilab.simulate.takeoff's), and
# while either is compiled on first use (so that two threads asking at once compile it once):
# chunks are summarised in threads and the web server runs requests in threads, and numba's
# fallback threading layer (workqueue, used where no OpenMP or TBB is installed) aborts the
# process when two threads launch parallel kernels at once. Each launch uses every core itself.
PARALLEL_LAUNCH = threading.Lock()


def _compiled():
    """The compiled SIE kernel (compiled on first use, cached on disk by numba; under the lock,
    so that two threads asking at once compile it once)."""
    global _kernel, _prange, _sie_walk, _sie_record
    with PARALLEL_LAUNCH:
        if _kernel is None:
            import numba

            _prange = numba.prange
            _sie_walk = numba.njit(cache=True, inline="always")(_sie_walk)
            _sie_record = numba.njit(cache=True, inline="always")(_sie_record)
            _kernel = numba.njit(parallel=True, cache=True)(_sie_kernel)
    return _kernel
