"""The compiled per-sample ODE integrator.

``solve_ode_compiled`` does, one sample at a time in a compiled loop (numba; blocks of samples
on one thread per core), what ``solver._solve_ode`` does for all samples at once with numpy:
the same Dormand-Prince 5(4) tableau (``rsilab.simulate.tableau``), error norm, step-size
control, initial step, landing on every output grid time through the method's continuous
extension, threshold and capability-cap location by Newton's method on that extension, and
the same statuses (``Status``: blow-up, collapsed step, step limit, invalid) with the same
precedence. Each sample keeps its own time and step size, so a sample that needs few steps
costs few, with no per-operation numpy overhead.

It serves every ODE model that declares ``rhs_one``, its right-hand side for one sample, and
``kernel_params``, the parameters that reads, both next to the model's numpy ``rhs`` in its own
file. The integrator is written once, here, and compiled once per model with that model's
``rhs_one`` in it (``rsilab.simulate.compiled``). The tests hold every model's compiled path
to the numpy solver sample by sample and to the same DOP853 references.

Imports numpy, ``rsilab.core``, ``rsilab.dynamics`` (the model base and the scalar helpers)
and ``rsilab.simulate.compiled`` and ``.tableau``; never imported by ``dynamics``.
"""
from __future__ import annotations

import math

import numpy as np

from rsilab.core.solution import Solution, Status
from rsilab.dynamics.base import OdeModel
from rsilab.dynamics.scalar import clip, nmax, nmin
from rsilab.simulate import compiled
from rsilab.simulate.tableau import A, B, C, E, P

BLOCK = 512  # samples per work item handed to a thread (small enough to keep every core busy
             # to the end of a chunk, large enough that handing it out costs nothing)


def solve_ode_compiled(model: OdeModel, p: dict[str, np.ndarray], t_grid: np.ndarray, ln_multiples: np.ndarray,
                       settings) -> Solution:
    """``solver._solve_ode`` for ``model`` (which declares ``rhs_one``), per sample."""
    y0 = np.ascontiguousarray(model.initial(p), dtype=np.float64)
    ns, n = y0.shape
    par = np.ascontiguousarray(model.kernel_params(p), dtype=np.float64)
    tg = np.ascontiguousarray(t_grid, dtype=np.float64)
    lvl = np.ascontiguousarray(ln_multiples, dtype=np.float64)
    g, m = tg.shape[0], lvl.shape[0]
    out = (np.empty((ns, n, g)), np.empty((n, g)), np.empty(n, dtype=np.int8), np.empty(n), np.empty((ns, n)),
           np.empty(n), np.empty((m, n)), np.empty((m, ns, n)), np.empty(n, dtype=np.int64))
    fixed = math.nan if settings.fixed_step is None else float(settings.fixed_step)
    st = (float(tg[-1]), float(settings.rtol), float(settings.atol), int(settings.max_steps),
          float(np.log(settings.cap_multiple)), fixed)
    live = model.live_states(p)
    live = np.full(n, ns, dtype=np.int64) if live is None else np.ascontiguousarray(live, dtype=np.int64)
    if n:
        integrate = compiled.jit(_integrate, model.name, _rhs=type(model).rhs_one, _dense=_dense, _extend=_extend,
                                 _root=_root)
        compiled.in_threads(lambda lo, hi: integrate(lo, hi, par, y0, live, tg, lvl, st, out), n, BLOCK)
    y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr_time, thr_state, n_steps = out
    return Solution(tg, y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr_time, n_steps,
                    threshold_states=thr_state)


def _rhs(t, y, par, out):
    """Stands for the model's ``rhs_one``, which ``compiled.jit`` binds to this name (and the
    functions below to theirs: ``_integrate`` calls only compiled functions)."""
    raise NotImplementedError("bound to a model's rhs_one when the integrator is compiled")


def _integrate(lo, hi, par_all, y0, live, tg, lvl, st, out):
    """Integrate samples lo .. hi - 1 over ``tg`` and write their results (``st``: horizon,
    rtol, atol, max_steps, ln cap multiple, fixed step or nan; ``out``: the Solution's arrays).
    ``lvl`` holds the thresholds' ln multiples (relative to the start); ``live`` how many
    leading states each sample integrates: states nl.. have derivative 0 and are skipped (they
    add exactly 0 to every sum, and the error norm still counts them, as numpy's does)."""
    horizon, rtol, atol, max_steps, ln_cap_mult, fixed_step = st
    y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr_time, thr_state, n_steps = out
    ns = y0.shape[0]
    g = tg.shape[0]
    m = lvl.shape[0]
    span = horizon if horizon > 1.0 else 1.0
    fixed = fixed_step == fixed_step
    k = np.empty((7, ns))   # the stages (k[0] is the slope at the step's start)
    ys = np.empty(ns)
    y_new = np.empty(ns)
    y = np.empty(ns)
    q = np.empty((ns, 4))   # the step's continuous extension, per state
    for i in range(lo, hi):
        for s in range(ns):
            y[s] = y0[s, i]
        par = par_all[i]
        nl = live[i]
        for s in range(nl, ns):   # the held states, as the rhs reads them at every stage
            ys[s] = y[s]
            y_new[s] = y[s]
        t = 0.0
        _rhs(t, y, par, k[0])
        for s in range(ns):
            y_grid[s, i, 0] = y[s]
            for j in range(1, g):
                y_grid[s, i, j] = math.nan if s < nl else y[s]
        rate_grid[i, 0] = k[0, 0]
        for j in range(1, g):
            rate_grid[i, j] = math.nan
        y00 = y[0]
        ln_cap = y00 + ln_cap_mult
        for r in range(m):
            thr_time[r, i] = math.inf
            for s in range(ns):
                thr_state[r, s, i] = y[s] if lvl[r] <= 0 else math.nan
        if fixed:
            h = fixed_step
        else:
            d0 = 0.0
            d1 = 0.0
            for s in range(ns):
                sc = atol + rtol * abs(y[s])
                d0 += (y[s] / sc) ** 2
                d1 += (k[0, s] / sc) ** 2   # 0 past nl: the rhs writes every state
            d0 = math.sqrt(d0 / ns)
            d1 = math.sqrt(d1 / ns)
            if d0 < 1e-5 or d1 < 1e-5:
                h0 = 1e-6
            else:
                h0 = 0.01 * d0 / nmax(d1, 1e-300)
            h0 = nmin(h0, horizon)
            # the second estimate (solver._ode_init): an Euler step of h0 and the slope's change
            for s in range(nl):
                ys[s] = y[s] + h0 * k[0, s]
            _rhs(t + h0, ys, par, k[1])
            d2 = 0.0
            for s in range(ns):
                sc = atol + rtol * abs(y[s])
                d2 += ((k[1, s] - k[0, s]) / sc) ** 2
            d2 = math.sqrt(d2 / ns) / h0
            if math.isfinite(d2):
                big = nmax(d1, d2)
                h1 = nmax(1e-6, h0 * 1e-3) if big <= 1e-15 else (0.01 / big) ** 0.2
                h = nmin(100 * h0, h1)
            else:
                h = h0
            h = clip(h, 1e-9 * span, horizon / 10)
        next_g = 1
        steps = 0
        t_cross = 0.0
        rejected = False
        while True:
            hh = nmin(h, horizon - t)
            # the stages (zero coefficients skipped, sums in the numpy solver's order)
            for stage in range(1, 6):
                for s in range(nl):
                    acc = A[stage, 0] * k[0, s]
                    for j in range(1, stage):
                        if A[stage, j] != 0.0:
                            acc += A[stage, j] * k[j, s]
                    ys[s] = y[s] + hh * acc
                _rhs(t + C[stage] * hh, ys, par, k[stage])
            finite = True
            for s in range(nl):
                acc = B[0] * k[0, s]
                for j in range(1, 7):
                    if B[j] != 0.0:
                        acc += B[j] * k[j, s]
                y_new[s] = y[s] + hh * acc
                if not math.isfinite(y_new[s]):
                    finite = False
            _rhs(t + hh, y_new, par, k[6])
            if fixed:
                accept = finite
            else:
                err = 0.0
                for s in range(nl):
                    acc = E[0] * k[0, s]
                    for j in range(1, 7):
                        if E[j] != 0.0:
                            acc += E[j] * k[j, s]
                    ev = hh * acc
                    sc = atol + rtol * nmax(abs(y[s]), abs(y_new[s]))
                    err += (ev / sc) ** 2
                err = math.sqrt(err / ns)
                if not (finite and math.isfinite(err)):
                    err = math.inf
                accept = err <= 1.0
                if err == 0:
                    factor = 5.0
                else:
                    factor = clip(0.9 * err ** -0.2, 0.2, 5.0)
                h_next = hh * factor if math.isfinite(err) else hh * 0.2
                if accept and rejected:   # the step after a rejection may not grow
                    h_next = nmin(h_next, hh)
                rejected = not accept
                # a last step shortened to end on the horizon says nothing against the longer one
                h = nmax(h, h_next) if accept and hh < h else h_next
            blow = False
            if accept:
                y0_old = y[0]
                y0_new = y_new[0]
                for r in range(m):
                    level = y00 + lvl[r]
                    if y0_new >= level and y0_old < level and not math.isfinite(thr_time[r, i]):
                        for s in range(nl):
                            _dense(k, s, q)
                        frac = _root(y0_old, q[0, 0], q[0, 1], q[0, 2], q[0, 3], hh, level)
                        thr_time[r, i] = t + frac * hh
                        for s in range(ns):
                            thr_state[r, s, i] = _extend(y, hh, frac, q, s) if s < nl else y[s]
                steps += 1
                blow = y0_new >= ln_cap
                t_new = t + hh
                t_until = t_new
                if blow or (next_g < g and tg[next_g] <= t_new + 1e-12 * span):
                    for s in range(nl):
                        _dense(k, s, q)
                if blow:
                    frac = _root(y0_old, q[0, 0], q[0, 1], q[0, 2], q[0, 3], hh, ln_cap)
                    t_cross = t + frac * hh
                    t_until = t_cross
                    for s in range(nl):
                        y_new[s] = _extend(y, hh, frac, q, s)
                # every grid time the step passed, from the continuous extension
                while next_g < g and tg[next_g] <= t_until + 1e-12 * span:
                    x = clip((tg[next_g] - t) / hh, 0.0, 1.0)
                    for s in range(nl):
                        y_grid[s, i, next_g] = _extend(y, hh, x, q, s)
                    rate_grid[i, next_g] = q[0, 0] + x * (2 * q[0, 1] + x * (3 * q[0, 2] + x * 4 * q[0, 3]))
                    next_g += 1
                for s in range(nl):
                    y[s] = y_new[s]
                if blow:
                    _rhs(t_cross, y, par, k[0])
                else:
                    for s in range(nl):
                        k[0, s] = k[6, s]
                t = t_new
            done = accept and t >= horizon * (1 - 1e-15)
            collapsed = (not accept) and (fixed or h < 1e-12 * span)   # a fixed step cannot shrink
            stalled = steps >= max_steps
            invalid = False
            if not accept:
                for s in range(nl):
                    if not math.isfinite(k[0, s]):
                        invalid = True
            if done or blow or collapsed or stalled or invalid:
                break
        code = Status.FINISHED
        if stalled:
            code = Status.STEP_LIMIT
        if collapsed and not invalid:
            code = Status.BLOWUP
        if invalid:
            code = Status.INVALID
        if blow:
            code = Status.BLOWUP
        status[i] = code
        t_stop[i] = t_cross if blow else t
        for s in range(ns):
            y_stop[s, i] = y[s]
        rate_stop[i] = k[0, 0]
        n_steps[i] = steps
        # after a stop every state holds its value at the stop; beyond a blow-up capability is +inf
        for j in range(next_g, g):
            for s in range(nl):
                y_grid[s, i, j] = y[s]
        if code == Status.BLOWUP:
            for j in range(g):
                if tg[j] > t_stop[i]:
                    y_grid[0, i, j] = math.inf
        for r in range(m):
            if lvl[r] <= 0:
                thr_time[r, i] = 0.0


def _dense(k, s, q):
    """The continuous extension's coefficients for state s into q[s, 0..3] (solver._dense_q;
    zero coefficients skipped, sums in stage order)."""
    for c in range(4):
        acc = k[0, s] * P[0, c]
        for j in range(1, 7):
            if P[j, c] != 0.0:
                acc += k[j, s] * P[j, c]
        q[s, c] = acc


def _extend(y, h, x, q, s):
    """State s at the fraction x of the step of h from y, by the continuous extension q."""
    return y[s] + h * x * (q[s, 0] + x * (q[s, 1] + x * (q[s, 2] + x * q[s, 3])))


def _root(y0, q1, q2, q3, q4, h, level):
    """solver._dense_root for one sample: the fraction of the step where state 0 reaches level."""
    y1 = y0 + h * (q1 + q2 + q3 + q4)
    x = (level - y0) / (y1 - y0)
    if x != x:
        x = 0.5
    x = clip(x, 0.0, 1.0)
    for _ in range(8):
        value = y0 + h * x * (q1 + x * (q2 + x * (q3 + x * q4))) - level
        slope = h * (q1 + x * (2 * q2 + x * (3 * q3 + x * 4 * q4)))
        if slope > 0:
            x = clip(x - value / slope, 0.0, 1.0)
    return x
