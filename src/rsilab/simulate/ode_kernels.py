"""The compiled per-sample ODE integrator and the compiled right-hand sides it serves.

``solve_ode_compiled`` does, one sample at a time in a compiled loop (numba; blocks of samples
on one thread per core), what ``solver._solve_ode`` does for all samples at once with numpy:
the same Dormand-Prince 5(4) tableau, error norm, step-size control, initial step, landing on
every output grid time through the method's continuous extension, threshold and capability-cap
location by Newton's method on that extension, and the same statuses (blow-up, collapsed step,
step limit, invalid) with the same precedence. Each sample keeps its own time and step size,
so a sample that needs few steps costs few, with no per-operation numpy overhead.

Each model served here has a scalar right-hand side ``_rhs_<model>(t, y, par, out)`` (one
sample: ``y`` its state, ``par`` its packed parameters) written from the model's numpy ``rhs``
operation for operation, and a ``_pack_<model>`` that lays the prepared parameter dict out as
one row of floats per sample (per-sample constants computed once, in numpy, as ``prepare``
does). ``rsilab.simulate.kernels`` registers them per model class; the tests hold every one to
the numpy solver sample by sample and to the same DOP853 references.

numba is imported lazily, on first use, so commands that never simulate start fast; every
compiled function is cached on disk. Imports numpy, ``rsilab.core`` and ``rsilab.dynamics``
(the model classes and their declared constants) only; never imported by ``dynamics``.
"""
from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from rsilab.core.solution import Solution
from rsilab.dynamics.base import OdeModel
from rsilab.dynamics.returns import SHAPES

BLOCK = 512  # samples per work item handed to a thread (small enough to keep every core busy
             # to the end of a chunk, large enough that handing it out costs nothing)

# Dormand-Prince 5(4), as in ``solver`` (written out: the compiled code unrolls the stages).
C2, C3, C4, C5 = 1 / 5, 3 / 10, 4 / 5, 8 / 9
A21 = 1 / 5
A31, A32 = 3 / 40, 9 / 40
A41, A42, A43 = 44 / 45, -56 / 15, 32 / 9
A51, A52, A53, A54 = 19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729
A61, A62, A63, A64, A65 = 9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656
B1, B3, B4, B5, B6 = 35 / 384, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84
E1, E3, E4, E5, E6, E7 = 71 / 57600, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40
# the continuous extension's coefficients (solver._P), by stage and power of x
P11, P12, P13 = -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432
P32, P33, P34 = 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799
P42, P43, P44 = -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072
P52, P53, P54 = 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632
P62, P63, P64 = -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844
P72, P73, P74 = 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423

FINISHED, BLOWUP, STEP_LIMIT, INVALID = 0, 1, 3, 4   # rsilab.core.solution.Status values


# -- numpy's NaN-propagating minimum, maximum and clip, for scalars ------------------------------
def _nmin(a, b):
    if a != a or b != b:
        return math.nan
    return a if a <= b else b


def _nmax(a, b):
    if a != a or b != b:
        return math.nan
    return a if a >= b else b


def _clip(v, lo, hi):
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v   # NaN stays NaN, as with np.clip


def _logaddexp(a, b):
    """np.logaddexp for scalars."""
    if a == b:
        return a + math.log(2.0)
    d = a - b
    if d > 0:
        return a + math.log1p(math.exp(-d))
    if d <= 0:
        return b + math.log1p(math.exp(d))
    return d   # nan


# -- one sample ----------------------------------------------------------------------------------
def _dense(k1, k3, k4, k5, k6, k7, s, q):
    """The continuous extension's coefficients for state s into q[s, 0..3] (solver._dense_q)."""
    a1, a3, a4, a5, a6, a7 = k1[s], k3[s], k4[s], k5[s], k6[s], k7[s]
    q[s, 0] = a1
    q[s, 1] = a1 * P11 + a3 * P32 + a4 * P42 + a5 * P52 + a6 * P62 + a7 * P72
    q[s, 2] = a1 * P12 + a3 * P33 + a4 * P43 + a5 * P53 + a6 * P63 + a7 * P73
    q[s, 3] = a1 * P13 + a3 * P34 + a4 * P44 + a5 * P54 + a6 * P64 + a7 * P74


def _root(y0, q1, q2, q3, q4, h, level):
    """solver._dense_root for one sample: the fraction of the step where state 0 reaches level."""
    y1 = y0 + h * (q1 + q2 + q3 + q4)
    x = (level - y0) / (y1 - y0)
    if x != x:
        x = 0.5
    x = _clip(x, 0.0, 1.0)
    for _ in range(8):
        value = y0 + h * x * (q1 + x * (q2 + x * (q3 + x * q4))) - level
        slope = h * (q1 + x * (2 * q2 + x * (3 * q3 + x * 4 * q4)))
        if slope > 0:
            x = _clip(x - value / slope, 0.0, 1.0)
    return x


def _integrate(rhs, lo, hi, par_all, y0, live, tg, lvl, st, out):
    """Integrate samples lo .. hi - 1 over ``tg`` and write their results
    (``st``: horizon, rtol, atol, max_steps, ln cap multiple, fixed step or nan; ``out``: the
    Solution's arrays). ``lvl`` holds the thresholds' ln multiples (relative to the start);
    ``live`` how many leading states each sample integrates (the rest hold their start)."""
    ns = y0.shape[0]
    k1, k2, k3, k4, k5, k6, k7 = (np.empty(ns), np.empty(ns), np.empty(ns), np.empty(ns), np.empty(ns),
                                  np.empty(ns), np.empty(ns))
    ys = np.empty(ns)
    y_new = np.empty(ns)
    y = np.empty(ns)
    qs = np.empty((ns, 4))
    for i in range(lo, hi):
        for s in range(ns):
            y[s] = y0[s, i]
        _integrate_one(rhs, i, par_all[i], live[i], y, tg, lvl, st, out, k1, k2, k3, k4, k5, k6, k7, ys, y_new, qs)


def _integrate_one(rhs, i, par, nl, y, tg, lvl, st, out, k1, k2, k3, k4, k5, k6, k7, ys, y_new, qs):
    """One sample, from the state in ``y``; states nl.. have derivative 0 and are skipped
    (they add exactly 0 to every sum, and the error norm still counts them, as numpy's does)."""
    horizon, rtol, atol, max_steps, ln_cap_mult, fixed_step = st
    y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr_time, thr_state, n_steps = out
    ns = y.shape[0]
    g = tg.shape[0]
    m = lvl.shape[0]
    span = horizon if horizon > 1.0 else 1.0
    for s in range(nl, ns):   # the held states, as the rhs reads them at every stage
        ys[s] = y[s]
        y_new[s] = y[s]
    t = 0.0
    rhs(t, y, par, k1)
    for s in range(ns):
        y_grid[s, i, 0] = y[s]
        for j in range(1, g):
            y_grid[s, i, j] = math.nan if s < nl else y[s]
    rate_grid[i, 0] = k1[0]
    for j in range(1, g):
        rate_grid[i, j] = math.nan
    y00 = y[0]
    ln_cap = y00 + ln_cap_mult
    for r in range(m):
        thr_time[r, i] = math.inf
        for s in range(ns):
            thr_state[r, s, i] = y[s] if lvl[r] <= 0 else math.nan
    fixed = fixed_step == fixed_step
    if fixed:
        h = fixed_step
    else:
        d0 = 0.0
        d1 = 0.0
        for s in range(ns):
            sc = atol + rtol * abs(y[s])
            d0 += (y[s] / sc) ** 2
            d1 += (k1[s] / sc) ** 2   # 0 past nl: the rhs writes every state
        d0 = math.sqrt(d0 / ns)
        d1 = math.sqrt(d1 / ns)
        if d0 < 1e-5 or d1 < 1e-5:
            h0 = 1e-6
        else:
            h0 = 0.01 * d0 / _nmax(d1, 1e-300)
        h0 = _nmin(h0, horizon)
        # the second estimate (solver._ode_init): an Euler step of h0 and the slope's change
        for s in range(nl):
            ys[s] = y[s] + h0 * k1[s]
        rhs(t + h0, ys, par, k2)
        d2 = 0.0
        for s in range(ns):
            sc = atol + rtol * abs(y[s])
            d2 += ((k2[s] - k1[s]) / sc) ** 2
        d2 = math.sqrt(d2 / ns) / h0
        if math.isfinite(d2):
            big = _nmax(d1, d2)
            h1 = _nmax(1e-6, h0 * 1e-3) if big <= 1e-15 else (0.01 / big) ** 0.2
            h = _nmin(100 * h0, h1)
        else:
            h = h0
        h = _clip(h, 1e-9 * span, horizon / 10)
    next_g = 1
    steps = 0
    t_cross = 0.0
    rejected = False
    while True:
        hh = _nmin(h, horizon - t)
        # the stages (zero coefficients skipped, sums in the numpy solver's order)
        for s in range(nl):
            ys[s] = y[s] + hh * (A21 * k1[s])
        rhs(t + C2 * hh, ys, par, k2)
        for s in range(nl):
            ys[s] = y[s] + hh * (A31 * k1[s] + A32 * k2[s])
        rhs(t + C3 * hh, ys, par, k3)
        for s in range(nl):
            ys[s] = y[s] + hh * (A41 * k1[s] + A42 * k2[s] + A43 * k3[s])
        rhs(t + C4 * hh, ys, par, k4)
        for s in range(nl):
            ys[s] = y[s] + hh * (A51 * k1[s] + A52 * k2[s] + A53 * k3[s] + A54 * k4[s])
        rhs(t + C5 * hh, ys, par, k5)
        for s in range(nl):
            ys[s] = y[s] + hh * (A61 * k1[s] + A62 * k2[s] + A63 * k3[s] + A64 * k4[s] + A65 * k5[s])
        rhs(t + hh, ys, par, k6)
        finite = True
        for s in range(nl):
            y_new[s] = y[s] + hh * (B1 * k1[s] + B3 * k3[s] + B4 * k4[s] + B5 * k5[s] + B6 * k6[s])
            if not math.isfinite(y_new[s]):
                finite = False
        rhs(t + hh, y_new, par, k7)
        if fixed:
            accept = finite
        else:
            err = 0.0
            for s in range(nl):
                ev = hh * (E1 * k1[s] + E3 * k3[s] + E4 * k4[s] + E5 * k5[s] + E6 * k6[s] + E7 * k7[s])
                sc = atol + rtol * _nmax(abs(y[s]), abs(y_new[s]))
                err += (ev / sc) ** 2
            err = math.sqrt(err / ns)
            if not (finite and math.isfinite(err)):
                err = math.inf
            accept = err <= 1.0
            if err == 0:
                factor = 5.0
            else:
                factor = _clip(0.9 * err ** -0.2, 0.2, 5.0)
            h_next = hh * factor if math.isfinite(err) else hh * 0.2
            if accept and rejected:   # the step after a rejection may not grow
                h_next = _nmin(h_next, hh)
            rejected = not accept
            # a last step shortened to end on the horizon says nothing against the longer one
            h = _nmax(h, h_next) if accept and hh < h else h_next
        blow = False
        if accept:
            y0_old = y[0]
            y0_new = y_new[0]
            for r in range(m):
                level = y00 + lvl[r]
                if y0_new >= level and y0_old < level and not math.isfinite(thr_time[r, i]):
                    for s in range(nl):
                        _dense(k1, k3, k4, k5, k6, k7, s, qs)
                    frac = _root(y0_old, qs[0, 0], qs[0, 1], qs[0, 2], qs[0, 3], hh, level)
                    thr_time[r, i] = t + frac * hh
                    for s in range(ns):
                        thr_state[r, s, i] = y[s] + hh * frac * (qs[s, 0] + frac * (qs[s, 1] + frac * (qs[s, 2] + frac * qs[s, 3]))) if s < nl else y[s]
            steps += 1
            blow = y0_new >= ln_cap
            t_new = t + hh
            t_until = t_new
            if blow or (next_g < g and tg[next_g] <= t_new + 1e-12 * span):
                for s in range(nl):
                    _dense(k1, k3, k4, k5, k6, k7, s, qs)
            if blow:
                frac = _root(y0_old, qs[0, 0], qs[0, 1], qs[0, 2], qs[0, 3], hh, ln_cap)
                t_cross = t + frac * hh
                t_until = t_cross
                for s in range(nl):
                    y_new[s] = y[s] + hh * frac * (qs[s, 0] + frac * (qs[s, 1] + frac * (qs[s, 2] + frac * qs[s, 3])))
            # every grid time the step passed, from the continuous extension
            while next_g < g and tg[next_g] <= t_until + 1e-12 * span:
                x = _clip((tg[next_g] - t) / hh, 0.0, 1.0)
                for s in range(nl):
                    y_grid[s, i, next_g] = y[s] + hh * x * (qs[s, 0] + x * (qs[s, 1] + x * (qs[s, 2] + x * qs[s, 3])))
                rate_grid[i, next_g] = qs[0, 0] + x * (2 * qs[0, 1] + x * (3 * qs[0, 2] + x * 4 * qs[0, 3]))
                next_g += 1
            for s in range(nl):
                y[s] = y_new[s]
            if blow:
                rhs(t_cross, y, par, k1)
            else:
                for s in range(nl):
                    k1[s] = k7[s]
            t = t_new
        done = accept and t >= horizon * (1 - 1e-15)
        collapsed = (not accept) and (fixed or h < 1e-12 * span)   # a fixed step cannot shrink
        stalled = steps >= max_steps
        invalid = False
        if not accept:
            for s in range(nl):
                if not math.isfinite(k1[s]):
                    invalid = True
        if done or blow or collapsed or stalled or invalid:
            break
    code = FINISHED
    if stalled:
        code = STEP_LIMIT
    if collapsed and not invalid:
        code = BLOWUP
    if invalid:
        code = INVALID
    if blow:
        code = BLOWUP
    status[i] = code
    t_stop[i] = t_cross if blow else t
    for s in range(ns):
        y_stop[s, i] = y[s]
    rate_stop[i] = k1[0]
    n_steps[i] = steps
    # after a stop every state holds its value at the stop; beyond a blow-up capability is +inf
    for j in range(next_g, g):
        for s in range(nl):
            y_grid[s, i, j] = y[s]
    if code == BLOWUP:
        for j in range(g):
            if tg[j] > t_stop[i]:
                y_grid[0, i, j] = math.inf
    for r in range(m):
        if lvl[r] <= 0:
            thr_time[r, i] = 0.0


# -- the right-hand sides, one sample (each mirrors its model's numpy ``rhs``) -------------------
def _rhs_criticality(t, y, par, out):
    # par: c, p
    out[0] = par[0] * math.exp((par[1] - 1.0) * y[0])


def _pack_criticality(model, p, y0):
    return _rows(y0.shape[1], p["c"], p["p"])


def _rhs_returns(t, y, par, out):
    # par: shape code, ln_i0, ln_c, ln_limit, finite_e, ln_e, finite_g, ln_g, r, beta,
    #      harvest_rate, pool_efolds, human_rate, ln_i_half, hill, tool_rate
    shape = par[0]
    ln_i = y[0]
    ln_i0 = par[1]
    x = ln_i - ln_i0
    ln_own = math.log(math.exp(ln_i) + y[1]) if shape == 4.0 else ln_i
    ln_useful = ln_own
    if par[4] != 0.0:
        ln_useful = ln_own + par[5] - _logaddexp(ln_own, par[5])
    r = par[8]
    beta = par[9]
    room_left = 1.0
    if shape == 1.0:
        room_left = _clip(1.0 - x / par[3], 0.0, 1.0)
        r = r * room_left
    g = math.exp(par[2] - beta * x + beta * r * (ln_useful - ln_i0))
    if shape == 1.0:
        g = g * room_left
    elif shape == 2.0:
        harvest = par[10] * _nmax(par[11] - y[1], 0.0) * math.exp(beta * par[8] * x)
        out[1] = harvest
        g = g + harvest
    elif shape == 3.0:
        frac = 1.0 / (1.0 + math.exp(par[14] * (par[13] - ln_i)))
        g = par[12] + frac * g
    elif shape == 4.0:
        out[1] = par[15] * math.exp(ln_own)
    if par[6] != 0.0:
        g = g * _clip(1.0 - math.exp(ln_i - par[7]), 0.0, 1.0)
    out[0] = g


def _pack_returns(model, p, y0):
    return _rows(y0.shape[1], float(SHAPES.index(model.opt("shape"))), p["_ln_i0"], p["_ln_c"], p["_ln_limit"],
                 p["_finite_e"], p["_ln_e"], p["_finite_g"], p["_ln_g"], p["r"], p["beta"], p["harvest_rate"],
                 p["pool_efolds"], p["human_rate"], np.log(p["I_half"]), p["hill"], p["tool_rate"])


def _rhs_boxing(t, y, par, out):
    # par: ln_i0, c, p, step, review_rate, review_speedup, ln_odds0, gap_sensitivity,
    #      ln_overseer_ratio, overseer_growth, rush_exponent
    x = y[0] - par[0]
    g = par[1] * math.exp((par[2] - 1.0) * x)
    review = par[4] * math.exp(par[5] * t)
    demand = review * par[3] + g
    if demand > 0:
        nu = g * review / demand
        load = g / demand
    else:
        nu = 0.0
        load = 1.0
    gap = x - par[8] - par[9] * t
    ln_odds = par[6] + par[7] * gap + par[10] * math.log(_nmax(load, 1e-300))
    per_iteration = _logaddexp(0.0, ln_odds)
    out[0] = nu * par[3]
    out[1] = nu * per_iteration
    out[2] = nu * math.exp(-y[1])


def _pack_boxing(model, p, y0):
    with np.errstate(divide="ignore"):
        ln_odds0 = np.log(p["p_escape"]) - np.log1p(-p["p_escape"])
    return _rows(y0.shape[1], np.log(p["I0"]), p["c"], p["p"], p["step_efolds"], p["review_rate"], p["review_speedup"],
                 ln_odds0, p["gap_sensitivity"], np.log(p["overseer_ratio"]), p["overseer_growth"], p["rush_exponent"])


def _rhs_drift(t, y, par, out):
    # par: ln_i0, c, p, verify_ratio, throttle (1/0), align_rate, residual_drift, sigma^2 step
    x = y[0] - par[0]
    e = y[1] - x
    if e > 700.0:
        e = 700.0   # A / I capped: only min(1, .) is used
    cover = _nmin(1.0, math.exp(e) / par[3])
    throttle = cover if par[4] != 0.0 else 1.0
    d_ln_i = par[1] * math.exp((par[2] - 1.0) * x) * throttle
    out[0] = d_ln_i
    out[1] = par[5] * math.exp(x - y[1])
    unverified = par[6] + (1.0 - par[6]) * (1.0 - cover)
    out[2] = par[7] * unverified * d_ln_i


def _pack_drift(model, p, y0):
    return _rows(y0.shape[1], np.log(p["I0"]), p["c"], p["p"], p["verify_ratio"], float(model.opt("policy") == "throttle"),
                 p["align_rate"], p["residual_drift"], p["drift_sigma"] ** 2 * p["step_efolds"])


def _rhs_controlled(t, y, par, out):
    # par: ln_i0, c, p, align_rate, align_exponent
    x = y[0] - par[0]
    out[0] = par[1] * math.exp((par[2] - 1.0) * x)
    out[1] = par[3] * math.exp(par[4] * x - y[1])


def _pack_controlled(model, p, y0):
    return _rows(y0.shape[1], np.log(p["I0"]), p["c"], p["p"], p["align_rate"], p["align_exponent"])


def _rhs_multipolar(t, y, par, out):
    # par: p - 1, kappa, lambda, ln_i0, then c v per slot; last, the number of active slots.
    # Active slots come first, and in the numpy rhs an inactive one adds exactly 0 to every sum
    # and has derivative 0, so the loops stop at the active ones (the same numbers, to the bit).
    slots = y.shape[0] - 1
    pm1, kappa, lam, ln_i0 = par[0], par[1], par[2], par[3]
    n_act = int(par[4 + slots])
    top = y[1]
    for s in range(1, n_act):
        top = _nmax(top, y[1 + s])
    rel_sum = 0.0
    weight_sum = 0.0
    for s in range(n_act):
        z = y[1 + s] - top
        if z == 0.0:       # the largest (exp(0) and exp(lam 0) are exactly 1: two exponentials saved)
            rel = 1.0
            weight_sum += 1.0
        else:
            rel = math.exp(z)
            weight_sum += math.exp(lam * z)
        out[1 + s] = rel   # kept until the second pass overwrites it
        rel_sum += rel
    ln_weight_sum = math.log(weight_sum)
    total = 0.0
    for s in range(n_act):
        ln_i = y[1 + s]
        z = ln_i - top
        g = par[4 + s] * math.exp(pm1 * (ln_i - ln_i0) + kappa * (lam * z - ln_weight_sum))
        total += (out[1 + s] / rel_sum) * g
        out[1 + s] = g
    for s in range(n_act, slots):
        out[1 + s] = 0.0
    out[0] = total


def _pack_multipolar(model, p, y0):
    n, slots = y0.shape[1], y0.shape[0] - 1   # state: total, then ln I per slot
    act = model.active(p, slots).astype(float)
    cols = [p["p"] - 1.0, p["compute_elasticity"], p["compute_attraction"], np.log(p["I0"])]
    cols += list(p["c"] * model.speeds(p, slots) * act) + [act.sum(axis=0)]
    return _rows(n, *cols)


def _rows(n, *columns) -> np.ndarray:
    """One row of float64 per sample (C order: a sample's parameters are contiguous)."""
    out = np.empty((n, len(columns)))
    for j, col in enumerate(columns):
        out[:, j] = col
    return out


# One compiled loop per model: numba caches a compiled function on disk only when the rhs it
# calls is one of its globals, not an argument.
def _run_criticality(lo, hi, par, y0, live, tg, lvl, st, out):
    _integrate(_rhs_criticality, lo, hi, par, y0, live, tg, lvl, st, out)


def _run_returns(lo, hi, par, y0, live, tg, lvl, st, out):
    _integrate(_rhs_returns, lo, hi, par, y0, live, tg, lvl, st, out)


def _run_boxing(lo, hi, par, y0, live, tg, lvl, st, out):
    _integrate(_rhs_boxing, lo, hi, par, y0, live, tg, lvl, st, out)


def _run_drift(lo, hi, par, y0, live, tg, lvl, st, out):
    _integrate(_rhs_drift, lo, hi, par, y0, live, tg, lvl, st, out)


def _run_controlled(lo, hi, par, y0, live, tg, lvl, st, out):
    _integrate(_rhs_controlled, lo, hi, par, y0, live, tg, lvl, st, out)


def _run_multipolar(lo, hi, par, y0, live, tg, lvl, st, out):
    _integrate(_rhs_multipolar, lo, hi, par, y0, live, tg, lvl, st, out)


# -- entry points --------------------------------------------------------------------------------
def solve_ode_compiled(name: str, model: OdeModel, p: dict[str, np.ndarray], t_grid: np.ndarray,
                       ln_multiples: np.ndarray, settings) -> Solution:
    """``solver._solve_ode`` for ``model`` (served by the compiled rhs ``name``), per sample."""
    y0 = np.ascontiguousarray(model.initial(p), dtype=np.float64)
    ns, n = y0.shape
    par = _PACK[name](model, p, y0)
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
        runner = _compiled(name)
        _in_threads(lambda lo, hi: runner(lo, hi, par, y0, live, tg, lvl, st, out), n)
    y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr_time, thr_state, n_steps = out
    return Solution(tg, y_grid, rate_grid, status, t_stop, y_stop, rate_stop, thr_time, n_steps,
                    threshold_states=thr_state)


# each model's parameter block: one row of float64 per sample, from the prepared parameters and
# the initial state (whose shape gives multipolar its slots)
_PACK = {"criticality": _pack_criticality, "returns": _pack_returns, "boxing": _pack_boxing, "drift": _pack_drift,
         "controlled": _pack_controlled, "multipolar": _pack_multipolar}
_RUNNERS: dict = {}
_POOL: list = []
_COMPILING = threading.Lock()


def cores() -> int:
    """The cores this process may run on (its affinity where the OS tells it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _in_threads(work, n: int) -> None:
    """``work(lo, hi)`` over 0..n in blocks, on one thread per core (the compiled loop releases
    the GIL). Each sample's result depends on that sample alone, so the split changes nothing."""
    threads = cores()
    if threads <= 1 or n <= BLOCK:
        work(0, n)
        return
    with _COMPILING:   # chunks in threads may get here together: one pool
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rsilab-ode"))
    list(_POOL[0].map(lambda lo: work(lo, min(n, lo + BLOCK)), range(0, n, BLOCK)))


_SHARED = ("_nmin", "_nmax", "_clip", "_logaddexp", "_dense", "_root")


def _compiled(name: str):
    """The compiled loop for model ``name`` (compiled on first use, cached on disk).

    Chunks are solved in threads, so two may ask at once: the lock makes one compile and the
    other wait (jitting a function twice is an error)."""
    runner = _RUNNERS.get(name)
    if runner is not None:
        return runner
    with _COMPILING:
        return _compile(name)


def _compile(name: str):
    runner = _RUNNERS.get(name)
    if runner is None:
        import numba

        g = globals()
        if not _RUNNERS:
            # the small helpers inlined where they are called, in numba's IR (criticality-continuous:
            # 7.5-7.6 against 8.3-8.4 CPU us a sample, the same numbers)
            for fn in _SHARED:
                g[fn] = numba.njit(cache=True, error_model="numpy", inline="always")(g[fn])
            # inlined into each model's loop, where the rhs is a global: a compiled function
            # passed on as a value would keep numba from caching the loop on disk
            for fn in ("_integrate_one", "_integrate"):
                g[fn] = numba.njit(cache=True, error_model="numpy", inline="always")(g[fn])
        g[f"_rhs_{name}"] = numba.njit(cache=True, error_model="numpy")(g[f"_rhs_{name}"])
        runner = numba.njit(cache=True, nogil=True, error_model="numpy")(g[f"_run_{name}"])
        _RUNNERS[name] = runner
    return runner
