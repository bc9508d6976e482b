"""Which compiled kernel serves a model, and the compiled per-doubling map.

``kernel_for(model)`` is what the solver asks. Three kernels serve models:
- every ODE model that declares ``rhs_one`` (its right-hand side for one sample): the
  Dormand-Prince integrator of ``solver._solve_ode``, run per sample
  (``rsilab.simulate.ode_kernels``);
- the doublings form of ``SoftwareRnd`` (one software doubling per step, ~50 scalar steps a
  sample, too little work per numpy operation for the numpy map): the map solver's iteration and
  bookkeeping (``solver._solve_map``: grid, thresholds, rates, statuses) for a map whose every
  step doubles capability, stepping the model's own one-sample forms (``first_doubling_one``,
  ``can_double_one``, ``next_doubling_one``) and computing its outputs (``outputs_one``);
- the compute-centric economy (``Ftm``, an outcome model: its kernel takes ``evaluate``'s
  place, ``rsilab.simulate.ftm_kernel``): every 0.1-year step of a sample in one compiled
  loop, where numpy spends most of a deterministic run on its per-call cost.
The tests hold each kernel equal to its numpy path sample by sample. The regime rule is not
repeated here: ``regimes.effective_returns`` reads a kernel's grid and stop values like any
other solution's. Models never import this module.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from rsilab.core.solution import Solution, Status
from rsilab.dynamics.base import Model, OdeModel, Outcomes
from rsilab.dynamics.ftm.model import Ftm
from rsilab.dynamics.software_rnd import SoftwareRnd
from rsilab.simulate import compiled, ode_kernels

LN2 = math.log(2.0)
BLOCK = 4096   # samples per work item handed to a thread (a sample is cheap: blocks larger than the ODE's)

Kernel = Callable[..., Solution]   # (model, prepared params, t_grid, ln_multiples, settings)


def kernel_for(model: Model) -> Kernel | None:
    """The compiled kernel that serves this model and options, or None (numpy solvers)."""
    if model.kind == "ode" and isinstance(model, OdeModel) and model.rhs_one is not None:
        return ode_kernels.solve_ode_compiled
    if model.kind == "map" and isinstance(model, SoftwareRnd):
        return solve_doublings
    if isinstance(model, Ftm):
        return evaluate_ftm
    return None


def solve_doublings(model: SoftwareRnd, p, t_grid: np.ndarray, ln_multiples: np.ndarray, settings) -> Solution:
    """The doublings form of ``SoftwareRnd`` through the compiled kernel: the same iteration
    and outputs as the numpy map solver, fused per sample."""
    n, g, q = len(p["f"]), len(t_grid), len(ln_multiples)
    par = np.ascontiguousarray(model.doubling_params(p), dtype=np.float64)
    # the most doublings any sample can make: the scratch row of doubling times
    max_doublings = int(min(np.ceil(model.doublings_to_ceiling(p).max(initial=0.0)), settings.max_steps))
    y_grid = np.empty((1, n, g))
    rate_grid = np.empty((n, g))
    status = np.empty(n, dtype=np.int8)
    t_stop, rate_stop = np.empty(n), np.empty(n)
    y_stop = np.empty((len(model.state), n))
    thr = np.empty((q, n))
    n_steps = np.empty(n, dtype=np.int64)
    outputs = np.empty((len(model.doubling_outputs), n))
    tg = np.ascontiguousarray(t_grid, dtype=np.float64)
    lm = np.ascontiguousarray(ln_multiples, dtype=np.float64)
    walk = compiled.jit(_doublings, model.name, _first=model.first_doubling_one,
                        _alive=model.can_double_one, _next=model.next_doubling_one, _outputs=model.outputs_one)
    st = (float(t_grid[-1]), int(settings.max_steps), max_doublings, float(np.log(settings.cap_multiple)))
    out = (y_grid[0], rate_grid, status, t_stop, y_stop, rate_stop, thr, n_steps, outputs)
    if n:
        compiled.in_threads(lambda lo, hi: walk(lo, hi, par, st, tg, lm, out), n, BLOCK)
    # the grid holds capability only (the map's other states are not needed along the path)
    return Solution(np.asarray(t_grid, dtype=float), y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr,
                    n_steps, extras={"outputs_one": outputs})


# -- the compute-centric economy (an outcome model) ------------------------------------------

def evaluate_ftm(model: Ftm, p, t_grid: np.ndarray, keep_rows: int) -> Outcomes:
    """``Ftm.evaluate`` with the steps taken by the compiled per-sample loop."""
    from rsilab.simulate.ftm_kernel import step_compiled

    return model.evaluate(p, t_grid, keep_rows, stepper=step_compiled)


# -- the doubling map ------------------------------------------------------------------------

def _first(par):
    """Stands for the model's ``first_doubling_one`` (``_alive``, ``_next``, ``_outputs``: the
    other one-sample forms), which ``compiled.jit`` binds to these names."""
    raise NotImplementedError("bound to the model's one-sample form when the kernel is compiled")


_alive = _next = _outputs = _first


def _doublings(lo, hi, par, st, tg, ln_mult, out):
    """Samples lo .. hi - 1: each one's doublings (what ``solver._walk`` iterates), then what
    ``solver._solve_map`` and the model's outputs derive from its doubling times (``st``:
    horizon, max_steps, the most doublings a sample can make, ln cap multiple). A sample's
    state beyond ln capability and its constants are the model's tuples (``first_doubling_one``);
    the state's first entry is the years its next doubling takes."""
    horizon, max_steps, max_doublings, ln_cap = st
    y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr_time, n_steps, outputs = out
    times = np.empty(max_doublings + 2)
    row = np.empty(outputs.shape[0])
    g = tg.shape[0]
    for i in range(lo, hi):
        state, consts = _first(par[i])
        times[0] = 0.0
        t, nd, code = 0.0, 0, Status.FINISHED
        while (t < horizon * (1.0 - 1e-12)) and _alive(nd, state, consts):
            if nd >= max_steps or nd + 1 >= times.shape[0]:
                code = Status.STEP_LIMIT
                break
            t_new = t + state[0]
            if not math.isfinite(t_new):
                break  # a doubling that never completes is not taken (as in the numpy path)
            nd += 1
            times[nd] = t_new
            state = _next(t_new, nd, times, state, consts)
            t = t_new
            if nd * LN2 >= ln_cap:
                code = Status.BLOWUP   # past the capability cap
                break
        n_steps[i] = nd
        status[i] = code
        t_last = times[nd]
        t_stop[i] = t_last if code == Status.BLOWUP else min(t_last, horizon)
        last_step = nd - 1 if nd > 0 else 0
        # grid: the state after the steps completed by each grid time
        c = 0
        for j in range(g):
            while c < nd and times[c + 1] <= tg[j]:
                c += 1
            y_grid[i, j] = c * LN2
            if code == Status.BLOWUP and tg[j] >= t_last:
                y_grid[i, j] = math.inf
            s = min(c, last_step)
            rate_grid[i, j] = LN2 / (times[s + 1] - times[s]) if nd > 0 else math.nan
        rate_stop[i] = LN2 / (times[last_step + 1] - times[last_step]) if nd > 0 else math.nan
        y_stop[0, i] = nd * LN2
        for s in range(y_stop.shape[0] - 1):   # the numpy map's state after ln capability
            y_stop[1 + s, i] = state[s]
        for q in range(ln_mult.shape[0]):
            if ln_mult[q] <= 0.0:
                thr_time[q, i] = 0.0
                continue
            need = int(math.ceil(ln_mult[q] / LN2 - 1e-12))
            thr_time[q, i] = times[need] if need <= nd else math.inf
        _outputs(times, nd, state, consts, row)
        for k in range(row.shape[0]):
            outputs[k, i] = row[k]
